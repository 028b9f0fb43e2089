"""Scores for forecasts: pinball loss, coverage, bias, realised or exact under a known truth."""

from __future__ import annotations

import numpy as np
from scipy import stats

from .distributions import negbin_params


def pinball(y: np.ndarray, q: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Pinball loss of quantile forecasts q (n, L) against realised y (n,): shape (n, L)."""
    diff = np.asarray(y, dtype=float)[:, None] - np.asarray(q, dtype=float)
    tau = np.asarray(levels, dtype=float)[None, :]
    return np.maximum(tau * diff, (tau - 1) * diff)


def expected_pinball_negbin(
    q: np.ndarray, levels: np.ndarray, mean: np.ndarray, size: np.ndarray
) -> np.ndarray:
    """Exact E[pinball(Y, q)] for Y negative binomial(mean, size): shape (n, L).

    E[rho_tau(Y - q)] = tau (mu - q) + E[(q - Y)+], and for q >= 0 with k = floor(q):
    E[(q - Y)+] = q F(k) - mu F'(k - 1), where F' is the NB cdf with size + 1 (same p),
    because y P(Y = y) = mu P(Y' = y - 1).
    """
    q = np.maximum(np.asarray(q, dtype=float), 0.0)
    mu = np.asarray(mean, dtype=float)[:, None]
    n, p = negbin_params(mean, size)
    n, p = n[:, None], p[:, None]
    tau = np.asarray(levels, dtype=float)[None, :]
    k = np.floor(q)
    below = q * stats.nbinom.cdf(k, n, p) - mu * stats.nbinom.cdf(k - 1, n + 1, p)
    return tau * (mu - q) + below


def coverage_negbin(
    lo: np.ndarray, hi: np.ndarray, mean: np.ndarray, size: np.ndarray
) -> np.ndarray:
    """P(lo <= Y <= hi) for negative binomial Y, per row."""
    n, p = negbin_params(mean, size)
    return stats.nbinom.cdf(np.floor(hi), n, p) - stats.nbinom.cdf(np.ceil(lo) - 1, n, p)


def wape(y: np.ndarray, yhat: np.ndarray) -> float:
    y = np.asarray(y, dtype=float)
    return float(np.abs(y - np.asarray(yhat, dtype=float)).sum() / max(np.abs(y).sum(), 1e-12))


def bias(y: np.ndarray, yhat: np.ndarray) -> float:
    """Relative bias of a mean forecast: sum(yhat - y) / sum(y)."""
    y = np.asarray(y, dtype=float)
    return float((np.asarray(yhat, dtype=float) - y).sum() / max(y.sum(), 1e-12))


def rmsse(history: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    """Root mean squared scaled error per series (the M5 accuracy measure), shape (n,).

    history (n, T): each series' training values; y, yhat (n, h): actuals and forecasts. The
    scale is the mean squared one-step naive difference over the history from the series' first
    non-zero value on (leading zeros are days before it existed). A series with no such
    difference, or a zero scale, gets NaN.
    """
    hist = np.atleast_2d(np.asarray(history, dtype=float))
    err = np.atleast_2d(np.asarray(y, dtype=float) - np.asarray(yhat, dtype=float))
    nonzero = hist != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), hist.shape[1])
    diff2 = np.diff(hist, axis=1) ** 2
    valid = np.arange(diff2.shape[1])[None, :] >= first[:, None]
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(valid, diff2, 0.0).sum(axis=1) / count
        out = np.sqrt((err**2).mean(axis=1) / scale)
    return np.where((count > 0) & (scale > 0), out, np.nan)


def weighted_rmsse(
    history: np.ndarray, y: np.ndarray, yhat: np.ndarray, weights: np.ndarray
) -> float:
    """sum_i w_i RMSSE_i with the weights normalised over the series that have a scale
    (M5 level 12 when w_i is each series' dollar sales over the last 28 training days)."""
    r = rmsse(history, y, yhat)
    w = np.where(np.isfinite(r), np.asarray(weights, dtype=float), 0.0)
    if w.sum() <= 0:
        raise ValueError("no series with a positive weight and a usable RMSSE scale")
    return float(np.nansum(w * np.nan_to_num(r)) / w.sum())
