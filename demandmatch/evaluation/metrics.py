"""Scores for forecasts: pinball loss, coverage, bias, realised or exact under a known truth."""

from __future__ import annotations

import numpy as np
from scipy import stats

from demandmatch.forecast.distributions import negbin_params, survival_negbin


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


def _band_share(survival: np.ndarray, top: int, lo: float, hi: float) -> np.ndarray:
    """For k = 0..top-1, the share of the randomised PIT of Y = k that lies in [lo, hi] under a
    forecast with survival curve `survival` (P(D >= u) at u - 1): the PIT of Y = k is uniform on
    [F(k - 1), F(k)] of the forecast's cdf F, or F(k) itself where the forecast gives k no mass."""
    sf = np.asarray(survival, dtype=float)[:top]
    cdf = 1.0 - np.pad(sf, (0, top - len(sf)))
    left = np.concatenate([[0.0], cdf[:-1]])
    width = cdf - left
    inside = np.clip(np.minimum(cdf, hi) - np.maximum(left, lo), 0.0, None)
    point = (cdf >= lo) & (cdf <= hi)
    return np.where(width > 0, inside / np.where(width > 0, width, 1.0), point)


def pit_coverage(survival: list[np.ndarray], y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Per row, the share of the randomised PIT of the outcome y (a count) in [lo, hi] under the
    forecast's survival curve (survival[i][u - 1] = P(D >= u)); NaN where y is. Averaged over
    rows it is the coverage of the PIT's [lo, hi] band: hi - lo for a calibrated forecast
    whatever the discreteness, where the coverage of its own quantiles, P(q_lo <= Y <= q_hi), is
    above it (a q10-q90 interval that includes its ends holds more than 80% of a count). So it
    tells a calibrated count forecast from a wide one (Czado, Gneiting and Held 2009)."""
    y = np.asarray(y, dtype=float)
    out = np.full(len(y), np.nan)
    for i in np.flatnonzero(~np.isnan(y)):
        k = int(y[i])
        out[i] = _band_share(survival[i], k + 1, lo, hi)[k]
    return out


def pit_coverage_negbin(
    survival: list[np.ndarray], mean: np.ndarray, size: np.ndarray, lo: float, hi: float
) -> np.ndarray:
    """`pit_coverage` in expectation over negative binomial Y(mean, size), per row: exactly
    hi - lo when the forecast is that distribution."""
    return pit_coverage_expected(survival, survival_negbin(mean, size, tail=1e-12), lo, hi)


def pit_coverage_expected(
    survival: list[np.ndarray], truth: list[np.ndarray], lo: float, hi: float
) -> np.ndarray:
    """`pit_coverage` in expectation over Y whose survival curves are `truth` (same layout as
    the forecast's), per row; cut the truth's tail finely (see pit_coverage_negbin)."""
    out = np.empty(len(truth))
    for i, (sf, st) in enumerate(zip(survival, truth, strict=True)):
        top = max(len(sf), len(st)) + 1
        pmf = np.diff(1.0 - np.pad(st, (0, top - len(st))), prepend=0.0)
        out[i] = float(pmf @ _band_share(sf, top, lo, hi))
    return out


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
