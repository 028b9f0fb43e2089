"""Demand distributions in the one form the optimiser needs: P(D >= u) for u = 1, 2, ...

Two sources: a forecast's quantiles (a continuous quantile function interpolated through them,
with an exponential upper tail) and a negative binomial with known mean and size (the demo
world's truth, or a mean model with a dispersion).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import stats

MIXTURE_NODES = 21  # Gauss-Hermite nodes of a lognormal mean

N_GRID = 200  # quantile levels used to represent a forecast distribution


def quantile_grid(levels: np.ndarray, q: np.ndarray, n_grid: int = N_GRID) -> np.ndarray:
    """Quantile function of each row at levels (s - 0.5) / n_grid, s = 1..n_grid.

    Linear between the given quantiles; below the lowest level linear down to
    max(0, q_lo - (q_2 - q_lo)); above the highest, an exponential tail whose scale matches the
    spacing of the two highest quantiles. Rows of `q` must be non-decreasing.
    """
    levels = np.asarray(levels, dtype=float)
    q = np.atleast_2d(np.asarray(q, dtype=float))
    tau = (np.arange(n_grid) + 0.5) / n_grid
    lo_q = np.maximum(0.0, q[:, 0] - (q[:, 1] - q[:, 0]))
    hi_scale = (q[:, -1] - q[:, -2]) / np.log((1 - levels[-2]) / (1 - levels[-1]))
    out = np.empty((q.shape[0], n_grid))
    inner = (tau >= levels[0]) & (tau <= levels[-1])
    # interpolate the inner part row by row via searchsorted (same knots for every row)
    idx = np.clip(np.searchsorted(levels, tau[inner], side="right") - 1, 0, len(levels) - 2)
    w = (tau[inner] - levels[idx]) / (levels[idx + 1] - levels[idx])
    out[:, inner] = q[:, idx] * (1 - w) + q[:, idx + 1] * w
    low = tau < levels[0]
    out[:, low] = lo_q[:, None] + (q[:, [0]] - lo_q[:, None]) * (tau[low] / levels[0])
    high = tau > levels[-1]
    out[:, high] = q[:, [-1]] + hi_scale[:, None] * np.log((1 - levels[-1]) / (1 - tau[high]))
    return np.maximum(out, 0.0)


def survival_from_grid(grid: np.ndarray) -> list[np.ndarray]:
    """Per row, s[u-1] = E[min(D, u)] - E[min(D, u-1)] for a distribution given by equally
    weighted quantile points: the expected extra sale from the u-th unit of stock."""
    out = []
    for row in np.atleast_2d(grid):
        top = int(np.ceil(row.max())) if row.size else 0
        if top <= 0:
            out.append(np.zeros(0))
            continue
        u = np.arange(1, top + 1, dtype=float)
        out.append(np.clip(row[None, :] - (u[:, None] - 1.0), 0.0, 1.0).mean(axis=1))
    return out


def survival_from_quantiles(levels: np.ndarray, q: np.ndarray) -> list[np.ndarray]:
    return survival_from_grid(quantile_grid(levels, q))


def negbin_params(mean: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy's (n, p) for a negative binomial with the given mean and size (variance
    mean + mean^2 / size)."""
    mean = np.asarray(mean, dtype=float)
    size = np.asarray(size, dtype=float)
    return size, size / (size + np.maximum(mean, 1e-12))


def survival_negbin(mean: np.ndarray, size: np.ndarray, tail: float = 1e-7) -> list[np.ndarray]:
    """Exact P(D >= u), u = 1.., for negative binomial demand, cut where it drops below `tail`."""
    mean = np.asarray(mean, dtype=float)
    n, p = (np.broadcast_to(a, mean.shape) for a in negbin_params(mean, size))
    out = [np.zeros(0) for _ in range(len(mean))]
    live = np.flatnonzero(mean > 0)
    tops = stats.nbinom.isf(tail, n[live], p[live]).astype(int) + 1
    for i, top in zip(live, tops, strict=True):
        out[i] = np.maximum(1.0 - _negbin_cdf(top, n[i], p[i]), 0.0)
    return out


def _negbin_cdf(top: int, n: np.ndarray | float, p: np.ndarray | float) -> np.ndarray:
    """P(D <= k), k = 0..top-1, of NB(n, p) (scipy's parameters), a row per entry of p: the
    pmf by its ratio P(D = k + 1) / P(D = k) = (k + n)(1 - p) / (k + 1), summed in logs, then
    summed up. Within 1e-12 of scipy's incomplete beta at a small part of its cost."""
    n = np.asarray(n, dtype=float)[..., None]
    p = np.asarray(p, dtype=float)[..., None]
    k = np.arange(top - 1, dtype=float)
    with np.errstate(divide="ignore"):  # p = 1 (mean 0): all of the mass at 0
        steps = np.log((k + n) / (k + 1.0)) + np.log1p(-p)
        first = n * np.log(p)
    log_pmf = np.concatenate([np.broadcast_to(first, p.shape), first + np.cumsum(steps, -1)], -1)
    return np.minimum(np.cumsum(np.exp(log_pmf), axis=-1), 1.0)


def quantiles_negbin(mean: np.ndarray, size: np.ndarray, levels: np.ndarray) -> np.ndarray:
    n, p = negbin_params(mean, size)
    return stats.nbinom.ppf(np.asarray(levels)[None, :], n[:, None], p[:, None])


def lognormal_nodes(
    mean: np.ndarray | float, sd: np.ndarray | float, nodes: int = MIXTURE_NODES
) -> tuple[np.ndarray, np.ndarray]:
    """Means and weights of the Gauss-Hermite nodes of mu = m exp(sd Z), Z standard normal,
    with E[mu] = mean (so m = mean exp(-sd^2 / 2), the median)."""
    z, w = hermite_nodes(nodes)
    return mean * np.exp(sd * z - 0.5 * sd * sd), w / w.sum()


@functools.cache
def hermite_nodes(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """numpy's Gauss-Hermite (probabilists') nodes and weights, computed once per count (an
    eigenvalue problem, asked for by every row of a mixture): read-only."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    z.flags.writeable = False
    w.flags.writeable = False
    return z, w


def survival_negbin_mixed(
    mean: np.ndarray,
    size: np.ndarray,
    sd: np.ndarray,
    tail: float = 1e-7,
    nodes: int = MIXTURE_NODES,
) -> list[np.ndarray]:
    """P(D >= u), u = 1.., for D ~ NB(mu, size) whose mean mu is itself lognormal around
    `mean` with log spread `sd` (an unknown level); E[D] = mean. sd = 0: the NB."""
    mean, size, sd = _mixture_arrays(mean, size, sd)
    out = survival_negbin(np.where(sd > 0, 0.0, mean), size, tail)
    rows, w, p = _mixed_rows(mean, size, sd, nodes)
    for i, top, p_i in zip(rows, _mixture_tops(w, size[rows], p, tail), p, strict=True):
        out[i] = np.maximum(1.0 - w @ _negbin_cdf(top, size[i], p_i), 0.0)
    return out


def quantiles_negbin_mixed(
    mean: np.ndarray,
    size: np.ndarray,
    sd: np.ndarray,
    levels: np.ndarray,
    nodes: int = MIXTURE_NODES,
) -> np.ndarray:
    """Quantiles (smallest k with P(D <= k) >= level) of the mixture of survival_negbin_mixed."""
    mean, size, sd = _mixture_arrays(mean, size, sd)
    levels = np.asarray(levels, dtype=float)
    q = quantiles_negbin(mean, size, levels)
    rows, w, p = _mixed_rows(mean, size, sd, nodes)
    tops = _mixture_tops(w, size[rows], p, (1.0 - levels.max()) / (10 * len(w)))
    for i, top, p_i in zip(rows, tops, p, strict=True):
        cdf = w @ _negbin_cdf(top + 1, size[i], p_i)
        q[i] = np.minimum(np.searchsorted(cdf, levels - 1e-12), top)
    return q


def _mixture_arrays(
    mean: np.ndarray, size: np.ndarray, sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean, size = np.asarray(mean, dtype=float), np.asarray(size, dtype=float)
    return mean, size, np.broadcast_to(np.asarray(sd, dtype=float), mean.shape)


def _mixed_rows(
    mean: np.ndarray, size: np.ndarray, sd: np.ndarray, nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the rows with sd > 0 and a mean > 0, the node weights, scipy's p of each row's nodes
    (rows x nodes))."""
    rows = np.flatnonzero((sd > 0) & (mean > 0))
    mu, w = lognormal_nodes(mean[rows, None], sd[rows, None], nodes)
    return rows, w, size[rows, None] / (size[rows, None] + mu)


def _mixture_tops(w: np.ndarray, size: np.ndarray, p: np.ndarray, tail: float) -> list[int]:
    """Per row (its size, its nodes' p), a count past which every node adds at most `tail` to
    the mixture's survival (a far node of tiny weight would otherwise stretch the curve to many
    times the mean). scipy's tail quantiles of every row at once: one call, not one per row."""
    share = np.minimum(tail / np.maximum(w, 1e-300), 1.0)
    isf = np.maximum(stats.nbinom.isf(share[None, :], size[:, None], p), 0.0)
    return [int(np.nanmax(row)) + 1 for row in isf]


def expected_demand(survival: list[np.ndarray]) -> np.ndarray:
    return np.array([s.sum() for s in survival])
