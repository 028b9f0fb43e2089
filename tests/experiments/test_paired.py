"""The paired comparison on constructed pairs: a known difference is covered by its interval,
no difference gives an interval that holds 0 about 95% of the time (checked by simulation),
and the blocks matter where rows share noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.experiments.compare import _blocks, compare_pair
from demandmatch.experiments.paired import (
    METRICS,
    bootstrap_weights,
    compare_metric,
    diebold_mariano,
    verdict,
)

from .conftest import pair_frame, side_plans, side_rows


def _compare(frame: pd.DataFrame, metric: str, reps: int, rng: np.random.Generator):
    codes, order = _blocks(frame, "rows")
    weights = bootstrap_weights(int(codes.max()) + 1, reps, rng)
    return compare_metric(frame, METRICS[metric], codes, order, weights)


def test_known_difference_is_estimated_and_told_from_noise() -> None:
    rng = np.random.default_rng(1)
    rows, _ = side_rows(rng, n_streams=80, delta=0.4)
    frame = pair_frame(rows)
    res = _compare(frame, "pinball", 2000, rng)
    realised = frame["pinball_row_b"].mean() - frame["pinball_row_a"].mean()
    assert res.diff == pytest.approx(realised)
    assert res.low <= realised <= res.high
    assert res.low > 0  # the challenger's loss is higher, and that is not noise
    assert res.verdict == "worse"
    assert res.dm_p < 0.01
    assert res.n_blocks == 80


def _coverage(delta: float, reps: int, seed: int) -> tuple[float, float, float]:
    """Over `reps` constructed pairs on 60 streams whose rows share noise (sd 0.5 per stream,
    0.2 per row): the share of block intervals holding `delta`, of row-level intervals (every
    row its own block) holding it, and of DM tests rejecting at 5%."""
    rng = np.random.default_rng(seed)
    frame = pair_frame(side_rows(rng, n_streams=60, delta=delta)[0])
    codes, order = _blocks(frame, "rows")
    n, n_blocks = len(frame), int(codes.max()) + 1
    single = np.arange(n)
    metric = METRICS["pinball"]
    covered = row_covered = rejected = 0
    for _ in range(reps):
        loss = rng.gamma(2.0, 1.0, n)
        frame["pinball_row_a"] = loss
        frame["pinball_row_b"] = loss + delta + rng.normal(0, 0.5, n_blocks)[codes]
        frame["pinball_row_b"] += rng.normal(0, 0.2, n)
        res = compare_metric(frame, metric, codes, order, bootstrap_weights(n_blocks, 400, rng))
        covered += res.low <= delta <= res.high
        rejected += res.dm_p < 0.05
        r1 = compare_metric(frame, metric, single, single, bootstrap_weights(n, 400, rng))
        row_covered += r1.low <= delta <= r1.high
    return covered / reps, row_covered / reps, rejected / reps


@pytest.mark.slow
def test_known_difference_is_covered_about_95_percent_of_the_time() -> None:
    """200 pairs built with a difference of 0.4: the interval holds 0.4 in [0.90, 0.99] of
    them (standard error sqrt(0.95 * 0.05 / 200) = 0.015) and DM rejects "no difference"
    in nearly all."""
    covered, _, rejected = _coverage(0.4, 200, seed=11)
    assert 0.90 <= covered <= 0.99
    assert rejected >= 0.95


@pytest.mark.slow
def test_no_difference_holds_zero_about_95_percent_of_the_time() -> None:
    """300 pairs with no difference. With 300 replications the share of intervals holding 0
    has a standard error of sqrt(0.95 * 0.05 / 300) = 0.013; a percentile bootstrap over 60
    blocks covers a little under its nominal level, so the share must lie in [0.90, 0.99]
    (about -4 to +3 standard errors). Resampling single rows instead of streams ignores the
    noise a stream's rows share and covers far less: the blocks make the interval honest."""
    covered, row_covered, rejected = _coverage(0.0, 300, seed=7)
    assert 0.90 <= covered <= 0.99
    assert row_covered < 0.80
    assert 0.01 <= rejected <= 0.10  # DM's size at 5%, the same tolerance reasoning


def test_ratio_metric_and_profit_side_by_side() -> None:
    rng = np.random.default_rng(3)
    rows, _ = side_rows(rng, n_streams=50, delta=-0.5, block_sd=0.3)
    plans = side_plans(rng, n_merchants=4, delta=25.0)
    results, breakdowns, by_origin = compare_pair(pair_frame(rows), pair_frame(plans), reps=1000)
    r = results.set_index("metric")
    assert r.loc["pinball", "verdict"] == "better"
    assert r.loc["true_pinball", "verdict"] == "better"
    assert r.loc["profit", "low"] <= 25.0 <= r.loc["profit", "high"]
    assert r.loc["profit", "verdict"] == "better"  # 16 merchant-origin blocks
    ratio = pair_frame(plans)
    expect = ratio["profit_b"].sum() / ratio["reference_profit_b"].sum()
    assert r.loc["profit_vs_reference", "challenger_value"] == pytest.approx(expect)
    assert set(breakdowns["by"]) == {"segment", "category"}  # one lead, one scenario
    assert set(by_origin.loc[by_origin["metric"] == "pinball", "win"]) <= {0.0, 0.5, 1.0}


def test_verdicts() -> None:
    assert verdict(-1.0, -2.0, -0.5, "lower") == "better"
    assert verdict(-1.0, -2.0, -0.5, "higher") == "worse"
    assert verdict(0.1, -0.2, 0.4, "lower") == "within noise"
    assert verdict(0.3, 0.1, 0.4, None) == "differs"
    assert verdict(0.3, np.nan, np.nan, "lower") == "within noise"


def test_too_few_blocks_is_not_a_verdict() -> None:
    rng = np.random.default_rng(0)
    rows, _ = side_rows(rng, n_streams=5, delta=5.0, block_sd=0.0, row_sd=0.01)
    res = _compare(pair_frame(rows), "pinball", 500, rng)
    assert res.low > 0  # clearly apart, yet 5 streams cannot carry a verdict
    assert res.verdict == "too few blocks"


def test_diebold_mariano_on_known_series() -> None:
    rng = np.random.default_rng(5)
    assert diebold_mariano(rng.normal(1.0, 1.0, 200)) < 1e-6
    assert diebold_mariano(np.array([1.0, 2.0])) != diebold_mariano(np.array([1.0, 2.0]))  # NaN
    assert np.isnan(diebold_mariano(np.zeros(10)))


def test_calibration_of_the_truths_own_quantiles() -> None:
    """The true distribution's quantiles: P(Y <= q_tau) is at least tau (a count's cdf jumps
    over it), and 4,000 draws land within sampling error of that expectation."""
    from scipy import stats

    from demandmatch.experiments.compare import calibration

    rng = np.random.default_rng(0)
    n = 4000
    mu, size = rng.gamma(2.0, 5.0, n), np.full(n, 3.0)
    p = size / (size + mu)
    levels = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    frame = pd.DataFrame({f"q{round(t * 100):02d}_a": stats.nbinom.ppf(t, size, p) for t in levels})
    frame["obs_a"] = True
    frame["units_sold_a"] = rng.negative_binomial(size, p).astype(float)
    frame["true_mean_a"], frame["true_size_a"] = mu, size
    calib = calibration(frame, "_a")
    assert (calib["expected"] >= calib["level"] - 1e-12).all()
    sd = np.sqrt(calib["expected"] * (1 - calib["expected"]) / n)
    assert (abs(calib["observed"] - calib["expected"]) < 4 * sd).all()
