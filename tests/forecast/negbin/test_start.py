"""The log-linear start with random effects: recovered effects, shrinkage of thinly seen levels,
a stationary penalised fit, and a start laid out for new levels."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from demandmatch.forecast.negbin.likelihood import grad_hess
from demandmatch.forecast.negbin.start import EVENT_EFFECT, effect_keys, fit_log_linear, moved_to


def _one_hot(codes: np.ndarray, n_levels: int):
    return sparse.csr_matrix(
        (np.ones(len(codes)), (np.arange(len(codes)), codes)), (len(codes), n_levels)
    )


def test_log_linear_start_recovers_a_rare_effect_under_censoring():
    # 4% of rows carry a x2.5 lift (a festival) and sell out far more often than the rest
    rng = np.random.default_rng(3)
    n, r = 40000, 3.0
    x = (rng.random(n) < 0.04).astype(float)
    mu = np.exp(2.0 + 0.9 * x)
    demand = rng.negative_binomial(r, r / (r + mu)).astype(float)
    stock = np.round(np.exp(2.0) * 1.5)
    sold, censored = np.minimum(demand, stock), demand >= stock
    design = np.column_stack([np.ones(n), x])
    theta = fit_log_linear(design, sold, np.full(n, r), censored)
    assert theta == pytest.approx([2.0, 0.9], abs=0.06)
    naive = fit_log_linear(design, sold, np.full(n, r), np.zeros(n, bool))
    assert naive[1] < 0.6  # without the sell-outs as lower bounds the lift is lost
    one = fit_log_linear(design[:, :1], sold, np.full(n, r), censored)
    assert one == pytest.approx([np.log(sold.mean())])


def test_random_effects_recover_group_levels_and_shrink_the_thinly_seen():
    rng = np.random.default_rng(7)
    k, r = 30, 5.0
    true = rng.normal(0.0, 0.5, k)
    counts = np.r_[np.full(k - 1, 300), 1]  # the last group is seen once
    g = np.repeat(np.arange(k), counts)
    mu = np.exp(1.5 + true[g])
    y = rng.negative_binomial(r, r / (r + mu)).astype(float)
    y[-1] = 60.0  # its one outcome is far above the rest: exp(1.5) x 13
    stock = np.quantile(y, 0.8)
    sold, censored = np.minimum(y, stock), y >= stock
    design = np.ones((len(y), 1))
    theta = fit_log_linear(design, sold, np.full(len(y), r), censored, _one_hot(g, k), 4.0)
    est = theta[1:] + theta[0] - 1.5
    assert np.abs(est[:-1] - true[:-1]).max() < 0.15  # 300 rows each: close to the truth
    assert theta[-1] < 0.5 * np.log(60.0 / np.exp(1.5))  # one row: pulled well toward 0
    # a prior with no room leaves only the shared level
    flat = fit_log_linear(design, sold, np.full(len(y), r), censored, _one_hot(g, k), 1e9)
    assert np.abs(flat[1:]).max() < 1e-3


def test_log_linear_fit_is_stationary_with_random_effects_and_censoring():
    # the penalised censored likelihood's gradient vanishes at the fit: Newton steps converged
    rng = np.random.default_rng(2)
    n, k, r = 5000, 200, 3.0
    x = rng.normal(size=n)
    g = rng.integers(0, k, n)
    mu = np.exp(1.0 + 0.4 * x + rng.normal(0, 0.5, k)[g])
    y = rng.negative_binomial(r, r / (r + mu)).astype(float)
    stock = rng.integers(1, 20, n)
    sold, censored = np.minimum(y, stock), y >= stock
    design = np.column_stack([np.ones(n), x])
    effects = _one_hot(g, k)
    theta = fit_log_linear(design, sold, np.full(n, r), censored, effects, 4.0)
    grad, _ = grad_hess(design @ theta[:2] + effects @ theta[2:], sold, np.full(n, r), censored)
    pen = np.r_[0.0, 0.0, np.full(k, 4.0)]
    total = np.r_[design.T @ grad, effects.T @ grad] + pen * theta
    assert np.abs(total).max() < 1e-4
    assert theta[1] == pytest.approx(0.4, abs=0.05)
    # started near the solution (as the final start is, from the held-out one's) or far from
    # it, the solver lands on the same optimum
    for start in (theta + rng.normal(0, 0.3, len(theta)), np.zeros(len(theta))):
        again = fit_log_linear(design, sold, np.full(n, r), censored, effects, 4.0, start=start)
        np.testing.assert_allclose(again, theta, atol=1e-6)
        kept = fit_log_linear(
            design, sold, np.full(n, r), censored, effects, 4.0, max_iter=0, start=start
        )
        np.testing.assert_array_equal(kept, start)  # no step taken: the start itself


def test_a_start_moves_to_new_levels_by_name():
    theta = np.array([1.0, 2.0, 10.0, 11.0, 20.0])  # two design terms, SKUs a b, stream s
    levels = {"sku": pd.Index(["a", "b"]), "stream": pd.Index(["s"])}
    new = {"sku": pd.Index(["b", "c", "a"]), "stream": pd.Index(["t", "s"])}
    np.testing.assert_array_equal(
        moved_to(theta, levels, 2, new), [1.0, 2.0, 11.0, 0.0, 10.0, 0.0, 20.0]
    )


def test_a_level_none_of_the_fitted_rows_has_reads_as_the_reference():
    # the terms know level "c" (from every row), the start is fitted on rows without it (a
    # held-out fit that holds out all of c): its column is flat there, so it gets no effect
    # instead of an arbitrary one traded against the intercept
    from demandmatch.forecast.negbin.offset_terms import OffsetTerms
    from demandmatch.forecast.negbin.start import RandomEffectsStart

    rng = np.random.default_rng(4)
    k = np.array(["a"] * 3000 + ["b"] * 1500 + ["c"] * 500)
    X = pd.DataFrame({"k": k})
    mu = np.exp(1.0 + 0.7 * (k == "b") - 2.0 * (k == "c"))
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + mu)).astype(float)
    terms = OffsetTerms(("cat:k",)).fit(X)
    fit = k != "c"
    start = RandomEffectsStart(terms, effect_sd=0.5)
    start.fit_transform(X[fit], {}, y[fit], np.zeros(fit.sum(), bool), np.full(fit.sum(), 4.0))
    f = start.log_mean(pd.DataFrame({"k": ["a", "b", "c"]}), {})
    assert f[2] == pytest.approx(f[0], abs=1e-12)
    assert f[0] == pytest.approx(1.0, abs=0.05) and f[1] - f[0] == pytest.approx(0.7, abs=0.08)
    # fitted on every row, c's own level is learnt
    start.fit_transform(X, {}, y, np.zeros(len(y), bool), np.full(len(y), 4.0))
    f = start.log_mean(pd.DataFrame({"k": ["a", "c"]}), {})
    assert f[1] - f[0] == pytest.approx(-2.0, abs=0.15)


def test_the_stream_levels_come_last_whatever_the_specs_order():
    # each Newton step eliminates the last effect's levels exactly: that must be the stream's,
    # the effect with a level per past stream, even when another effect is listed after it
    X = pd.DataFrame(
        {"stream_id": ["a", "a", "b"], "sku_id": ["x", "y", "x"], "launch_stream": [0, 1, 0]}
    )
    keys = effect_keys(X, ["sku_id", EVENT_EFFECT, "launch_stream"], effect_sd=0.5)
    assert list(keys) == ["sku_id", "launch_stream", EVENT_EFFECT]
    assert list(keys[EVENT_EFFECT]) == ["a", "a", "b"]
    assert list(effect_keys(X, ["sku_id"], effect_sd=0.5)) == ["sku_id"]


def test_a_new_streamers_level_is_as_uncertain_as_the_seen_streamers_levels_spread():
    # 40 streamers whose levels spread by 0.4, each seen in 400 rows: their fitted levels
    # spread by about as much, and a streamer with no past stream is uncertain by that spread;
    # a seen streamer, or an unseen one whose rows do not say it is new, by nothing
    from demandmatch.forecast.negbin.offset_terms import OffsetTerms
    from demandmatch.forecast.negbin.start import RandomEffectsStart

    rng = np.random.default_rng(5)
    true = rng.normal(0.0, 0.4, 40)
    host = np.repeat(np.arange(40), 400)
    X = pd.DataFrame({"streamer_id": [f"H{h}" for h in host], "one": 1.0})
    mu = np.exp(1.5 + true[host])
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + mu)).astype(float)
    start = RandomEffectsStart(OffsetTerms(("one",)).fit(X), effect_sd=1.0)
    keys = effect_keys(X, ["streamer_id"], effect_sd=1.0)
    start.fit_transform(X, keys, y, np.zeros(len(y), bool), np.full(len(y), 5.0))
    levels = start.theta_[-40:]
    new = pd.DataFrame({"streamer_id": ["H0", "Hnew", "Hnew"], "cold_streamer": [0, 1, 0]})
    spread = start.host_spread(effect_keys(new, ["streamer_id"], 1.0), new)
    assert spread[0] == 0.0 and spread[2] == 0.0
    assert spread[1] == pytest.approx(np.sqrt(np.mean(levels**2)), rel=1e-12)
    assert spread[1] == pytest.approx(np.sqrt(np.mean((true - true.mean()) ** 2)), abs=0.05)
