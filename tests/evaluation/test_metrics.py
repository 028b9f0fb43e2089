"""Scores for forecasts with known answers: pinball loss (realised and exact under a negative
binomial truth), coverage, PIT coverage, WAPE, bias and RMSSE with its M5 weighting."""

import numpy as np
import pytest
from scipy import stats

from demandmatch.evaluation.metrics import (
    bias,
    coverage_negbin,
    expected_pinball_negbin,
    pinball,
    pit_coverage,
    pit_coverage_negbin,
    rmsse,
    wape,
    weighted_rmsse,
)
from demandmatch.forecast.distributions import quantiles_negbin, survival_negbin

LEVELS = np.array([0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95])


def test_expected_pinball_matches_enumeration():
    mean, size = np.array([3.0, 60.0]), np.array([2.0, 6.0])
    q = np.array([[0.0, 0.5, 1.2, 2.0, 4.0, 6.5, 9.0], [20, 30, 45, 57, 75, 90, 101.0]])
    got = expected_pinball_negbin(q, LEVELS, mean, size)
    for i in range(2):
        n, p = size[i], size[i] / (size[i] + mean[i])
        y = np.arange(5000)
        pmf = stats.nbinom.pmf(y, n, p)
        want = (pmf[:, None] * pinball(y, np.repeat(q[[i]], len(y), 0), LEVELS)).sum(0)
        np.testing.assert_allclose(got[i], want, rtol=1e-9, atol=1e-12)


def test_true_quantiles_minimise_expected_pinball():
    mean, size = np.array([25.0]), np.array([3.0])
    best = quantiles_negbin(mean, size, LEVELS)
    base = expected_pinball_negbin(best, LEVELS, mean, size)
    for shift in (-2, -1, 1, 2):
        assert np.all(expected_pinball_negbin(best + shift, LEVELS, mean, size) >= base - 1e-12)


def test_coverage_and_simple_scores():
    mean, size = np.array([10.0]), np.array([4.0])
    n, p = 4.0, 4.0 / 14.0
    want = stats.nbinom.cdf(15, n, p) - stats.nbinom.cdf(4, n, p)
    np.testing.assert_allclose(coverage_negbin(np.array([5.0]), np.array([15.0]), mean, size), want)
    assert wape(np.array([10, 10]), np.array([8, 13])) == 0.25
    assert bias(np.array([10, 10]), np.array([8, 13])) == 0.05


def test_pit_coverage_is_exact_for_the_truth_and_tells_narrow_from_wide():
    mean = np.array([0.3, 2.0, 15.0, 200.0])
    size = np.array([0.5, 3.0, 1.0, 50.0])
    truth = survival_negbin(mean, size)
    # the truth's own PIT band holds 80%, where its q10-q90 interval holds more
    np.testing.assert_allclose(pit_coverage_negbin(truth, mean, size, 0.1, 0.9), 0.8, atol=1e-6)
    q = quantiles_negbin(mean, size, np.array([0.1, 0.9]))
    assert (coverage_negbin(q[:, 0], q[:, 1], mean, size) > 0.8).all()
    # too sure of itself: the outcome falls outside the band more often; too vague: less (a
    # mean of 0.3 is mostly zeros either way, so it is left out)
    m, s = mean[1:], size[1:]
    narrow = pit_coverage_negbin(survival_negbin(m, s * 100), m, s, 0.1, 0.9)
    wide = pit_coverage_negbin(survival_negbin(m, s / 3), m, s, 0.1, 0.9)
    assert (narrow < 0.71).all() and (wide > 0.87).all()


def test_pit_coverage_by_hand():
    # forecast P(D=0) = 0.05, P(D=1) = 0.95; Y = 1 for sure (a mean of ~0, size huge, is Y = 0)
    fc = [np.array([0.95])]
    # Y = 0: the PIT is uniform on [0, 0.05], none of it in [0.1, 0.9]
    assert pit_coverage_negbin(fc, np.array([1e-12]), np.array([1e6]), 0.1, 0.9)[0] < 1e-9
    # Y ~ Poisson-like(1): P(Y = 0) = e^-1 scores 0, P(Y = 1) scores 0.8 / 0.95 and Y >= 2 falls
    # where the forecast has no mass, at F = 1, outside the band
    p0 = np.exp(-1.0)
    got = pit_coverage_negbin(fc, np.array([1.0]), np.array([1e9]), 0.1, 0.9)[0]
    np.testing.assert_allclose(got, p0 * 0.8 / 0.95, rtol=1e-6)
    # the realised share of each outcome, the same by hand
    realised = pit_coverage(fc * 4, np.array([0.0, 1.0, 2.0, np.nan]), 0.1, 0.9)
    np.testing.assert_allclose(realised[:3], [0.0, 0.8 / 0.95, 0.0])
    assert np.isnan(realised[3])


def test_realised_pit_coverage_averages_to_the_expected_one():
    rng = np.random.default_rng(0)
    mean, size = np.full(20000, 4.0), np.full(20000, 2.0)
    y = rng.negative_binomial(size, size / (size + mean))
    fc = survival_negbin(mean, size * 3)  # too sure of itself
    want = pit_coverage_negbin(fc[:1], mean[:1], size[:1], 0.1, 0.9)[0]
    got = pit_coverage(fc, y, 0.1, 0.9).mean()
    assert abs(got - want) < 0.01 and want < 0.75


def test_rmsse_hand_computed_scale_skips_leading_zeros():
    # first non-zero at index 2: diffs counted are 2->0, 0->4, 4->2 : 4, 16, 4 -> scale 8
    history = np.array([[0.0, 0.0, 2.0, 0.0, 4.0, 2.0]])
    y = np.array([[1.0, 3.0]])
    yhat = np.array([[3.0, 3.0]])  # squared errors 4, 0 -> mean 2
    assert rmsse(history, y, yhat) == pytest.approx([np.sqrt(2.0 / 8.0)])


def test_rmsse_equals_naive_relative_error_per_series():
    history = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 7.0, 5.0]])
    # series 0: diffs 1,1,1 -> scale 1; series 1: 0,4,4 -> scale 8/3
    y = np.array([[5.0, 6.0], [5.0, 5.0]])
    yhat = np.array([[4.0, 4.0], [7.0, 3.0]])  # mse 2.5 and 4
    expect = [np.sqrt(2.5), np.sqrt(4.0 / (8.0 / 3.0))]
    assert rmsse(history, y, yhat) == pytest.approx(expect)


def test_rmsse_nan_without_a_scale_and_weights_renormalise():
    history = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 3.0], [0.0, 1.0, 3.0]])
    y = np.ones((3, 2))
    yhat = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 3.0]])  # series 2: mse 2, scale 1->3: 4
    r = rmsse(history, y, yhat)
    assert np.isnan(r[0]) and np.isnan(r[1])
    assert r[2] == pytest.approx(np.sqrt(2.0 / 4.0))
    assert weighted_rmsse(history, y, yhat, np.array([0.5, 0.3, 0.2])) == pytest.approx(r[2])


def test_weighted_rmsse_is_the_weighted_mean_and_perfect_forecast_scores_zero():
    history = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 7.0, 5.0]])
    y = np.array([[5.0, 6.0], [5.0, 5.0]])
    yhat = np.array([[4.0, 4.0], [7.0, 3.0]])
    r = rmsse(history, y, yhat)
    assert weighted_rmsse(history, y, yhat, np.array([3.0, 1.0])) == pytest.approx(
        0.75 * r[0] + 0.25 * r[1]
    )
    assert weighted_rmsse(history, y, y, np.array([1.0, 1.0])) == 0.0
    with pytest.raises(ValueError):
        weighted_rmsse(history[:1] * 0, y[:1], y[:1], np.array([1.0]))
