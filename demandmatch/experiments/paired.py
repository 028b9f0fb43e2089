"""Paired comparison statistics: two forecasters scored on the same rows.

A metric is a function of sums over rows (a mean loss is sum(loss) / sum(1), WAPE is
sum|err| / sum(y), the PIT band's error |sum(in band) / n - 0.8|, ...). Rows are grouped in
blocks that share their noise (one stream at one origin: its items, its leads, every model
seed); the block bootstrap resamples whole blocks, recomputes the metric of each side from the
resampled sums and takes the percentile interval of the difference (challenger - baseline).
A difference whose interval holds 0 is within noise.

The Diebold-Mariano test (with the Harvey-Leybourne-Newbold small-sample correction and a
Newey-West variance) applies to metrics that are a mean loss per row: the loss differential
of each block, in time order, is tested for mean 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

Parts = Callable[[pd.DataFrame, str], np.ndarray]  # (frame, side suffix) -> (n, k)
Finish = Callable[[np.ndarray], np.ndarray]  # (..., k) sums -> (...) metric
PIT_TARGET = 0.8
MIN_BLOCKS = 8  # fewer blocks than this: the bootstrap cannot tell noise from a difference


@dataclass(frozen=True)
class Metric:
    name: str
    table: str  # "rows" (forecasts) or "plans" (per-SKU plan outcomes)
    needs: tuple[str, ...]  # per-side columns (without suffix) the metric reads
    parts: Parts
    finish: Finish
    better: str | None  # "lower", "higher" or None (no better side: coverage)
    mean_loss: bool  # a mean per row: the DM test applies
    label: str


@dataclass(frozen=True)
class Result:
    metric: str
    baseline_value: float
    challenger_value: float
    diff: float  # challenger - baseline
    low: float
    high: float
    dm_p: float  # NaN when the metric is not a mean loss or there are too few blocks
    n_rows: int
    n_blocks: int
    verdict: str  # "better", "worse", "differs" or "within noise" (of the challenger)


def _ratio(s: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return s[..., 0] / s[..., 1]


def _abs_ratio(s: np.ndarray) -> np.ndarray:
    return np.abs(_ratio(s))


def _band_error(s: np.ndarray) -> np.ndarray:
    return np.abs(_ratio(s) - PIT_TARGET)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=float)


def _masked(value: str, obs: bool = False) -> Parts:
    """Parts (value where known, 1 where known): the mean of `value` over known rows (and,
    with `obs`, rows whose outcome was observed: not sold out)."""

    def parts(f: pd.DataFrame, s: str) -> np.ndarray:
        v = _col(f, value + s)
        ok = ~np.isnan(v)
        if obs:
            ok &= f["obs" + s].to_numpy(bool)
        return np.column_stack([np.where(ok, v, 0.0), ok])

    return parts


def _over(num: str, den: str, absolute: bool = False) -> Parts:
    """Parts (num, den) on rows where both are known (`absolute`: |num|)."""

    def parts(f: pd.DataFrame, s: str) -> np.ndarray:
        n, d = _col(f, num + s), _col(f, den + s)
        ok = ~np.isnan(n) & ~np.isnan(d)
        n = np.abs(n) if absolute else n
        return np.column_stack([np.where(ok, n, 0.0), np.where(ok, d, 0.0)])

    return parts


def _mean(name: str, col: str, better: str | None, label: str, **kw: object) -> Metric:
    """The mean of a per-row column (a loss, a 0/1 hit) over the rows where it is known."""
    obs = bool(kw.pop("obs", False))
    finish = kw.pop("finish", _ratio)
    table = str(kw.pop("table", "rows"))
    mean_loss = bool(kw.pop("mean_loss", finish is _ratio and better is not None))
    needs = (col, "obs") if obs else (col,)
    return Metric(name, table, needs, _masked(col, obs), finish, better, mean_loss, label)  # type: ignore[arg-type]


def _share(name: str, num: str, den: str, finish: Finish, label: str, **kw: object) -> Metric:
    """sum(num) / sum(den) over the rows where both are known, then `finish`."""
    parts = _over(num, den, bool(kw.get("absolute", False)))
    table = str(kw.get("table", "rows"))
    better = str(kw.get("better", "lower"))
    return Metric(name, table, (num, den), parts, finish, better, False, label)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _mean("pinball", "pinball_row", "lower", "mean pinball loss, rows that did not sell out"),
        _mean("true_pinball", "true_pinball_row", "lower", "expected pinball loss under the truth"),
        _share(
            "pinball_vs_oracle",
            "true_pinball_row",
            "oracle_pinball_row",
            _ratio,
            "expected pinball / the truth's own",
        ),
        _share(
            "wape",
            "err",
            "units_sold",
            _ratio,
            "sum |mean - sold| / sum sold, rows that did not sell out",
            absolute=True,
        ),
        _share(
            "abs_bias",
            "err",
            "units_sold",
            _abs_ratio,
            "|sum(mean - sold) / sum sold|, rows that did not sell out",
        ),
        _share(
            "true_abs_bias",
            "true_err",
            "true_mean",
            _abs_ratio,
            "|sum(mean - true mean) / sum true mean|",
        ),
        _mean(
            "coverage_10_90",
            "covered_10_90",
            None,
            "share of outcomes in [q10, q90] (a count's is above 0.8 when calibrated)",
        ),
        _mean(
            "pit_band_error",
            "pit_10_90",
            "lower",
            "|PIT 10-90% band coverage - 0.8|",
            obs=True,
            finish=_band_error,
        ),
        _mean(
            "true_pit_band_error",
            "true_pit_10_90",
            "lower",
            "|PIT 10-90% band coverage under the truth - 0.8|",
            finish=_band_error,
        ),
        _mean(
            "msse",
            "scaled_sq_err",
            "lower",
            "mean squared error over each series' naive scale (RMSSE squared; daily data)",
        ),
        _mean(
            "profit",
            "profit",
            "higher",
            "plan profit per SKU and origin (expected under the truth, or replayed)",
            table="plans",
        ),
        _share(
            "profit_vs_reference",
            "profit",
            "reference_profit",
            _ratio,
            "plan profit / the oracle plan's (truth) or the hindsight plan's (replayed)",
            table="plans",
            better="higher",
        ),
        _mean(
            "leftover_cost",
            "leftover_cost",
            "lower",
            "cost of the units left over per SKU and origin",
            table="plans",
        ),
    )
}


def block_sums(parts: np.ndarray, codes: np.ndarray, n_blocks: int) -> np.ndarray:
    """(n_blocks, k) sums of the parts of each block's rows."""
    out = np.zeros((n_blocks, parts.shape[1]))
    np.add.at(out, codes, parts)
    return out


def bootstrap_weights(n_blocks: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """(reps, n_blocks) counts: each row a resample of the blocks with replacement."""
    return rng.multinomial(n_blocks, np.full(n_blocks, 1.0 / n_blocks), size=reps).astype(float)


def compare_metric(
    frame: pd.DataFrame,
    metric: Metric,
    codes: np.ndarray,
    order: np.ndarray,
    weights: np.ndarray,
    confidence: float = 0.95,
) -> Result:
    """Challenger (suffix _b) against baseline (suffix _a) on paired rows.

    `codes[i]` is row i's block (0..n_blocks-1), `order` the blocks in time order (for the DM
    test), `weights` the bootstrap's block counts (bootstrap_weights)."""
    n_blocks = weights.shape[1]
    sa = block_sums(metric.parts(frame, "_a"), codes, n_blocks)
    sb = block_sums(metric.parts(frame, "_b"), codes, n_blocks)
    a, b = float(metric.finish(sa.sum(0))), float(metric.finish(sb.sum(0)))
    boot = metric.finish(weights @ sb) - metric.finish(weights @ sa)
    tail = (1.0 - confidence) / 2.0
    boot = boot[np.isfinite(boot)]
    low, high = (
        (float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail)))
        if len(boot)
        else (np.nan, np.nan)
    )
    dm = np.nan
    if metric.mean_loss:
        used = sa[:, 1] > 0
        d = np.where(used, (sb[:, 0] - sa[:, 0]) / np.where(used, sa[:, 1], 1.0), np.nan)
        dm = diebold_mariano(d[order][used[order]])
    known = frame[metric.needs[0] + "_a"].notna().to_numpy()
    n_used = len(np.unique(codes[known]))
    call = verdict(b - a, low, high, metric.better)
    if n_used < MIN_BLOCKS:
        call = "too few blocks"
    return Result(metric.name, a, b, b - a, low, high, dm, int(known.sum()), n_used, call)


def verdict(diff: float, low: float, high: float, better: str | None) -> str:
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
        return "within noise"
    if better is None:
        return "differs"
    lower_wins = better == "lower"
    return "better" if (diff < 0) == lower_wins else "worse"


def diebold_mariano(d: np.ndarray, lag: int | None = None) -> float:
    """Two-sided p-value that the loss differential series `d` (in time order) has mean 0:
    DM with a Newey-West variance of `lag` lags (default T^(1/3)), the Harvey-Leybourne-Newbold
    correction, and Student's t with T - 1 degrees of freedom. NaN below 3 values or with no
    variation."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    t = len(d)
    if t < 3:
        return np.nan
    h = int(np.floor(t ** (1 / 3))) if lag is None else lag
    e = d - d.mean()
    var = e @ e / t
    for k in range(1, h + 1):
        var += 2 * (1 - k / (h + 1)) * (e[k:] @ e[:-k]) / t
    if var <= 0:
        return np.nan
    dm = d.mean() / np.sqrt(var / t)
    horizon = h + 1
    dm *= np.sqrt((t + 1 - 2 * horizon + horizon * (horizon - 1) / t) / t)
    return float(2 * stats.t.sf(abs(dm), df=t - 1))


def per_group(frame: pd.DataFrame, metric: Metric, by: pd.Series) -> pd.DataFrame:
    """Each side's metric per group of `by` (e.g. per origin): group, baseline_value,
    challenger_value, and whether the challenger wins there (None: the metric has no better
    side)."""
    out = []
    for key, idx in frame.groupby(by.to_numpy(), sort=True).indices.items():
        part = frame.iloc[idx]
        a = float(metric.finish(metric.parts(part, "_a").sum(0)))
        b = float(metric.finish(metric.parts(part, "_b").sum(0)))
        win = np.nan
        if metric.better is not None and np.isfinite(a) and np.isfinite(b):
            win = 0.5 if a == b else float((b < a) == (metric.better == "lower"))
        out.append({"group": key, "baseline_value": a, "challenger_value": b, "win": win})
    return pd.DataFrame(out)
