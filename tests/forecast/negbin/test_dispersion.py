"""The negative binomial's size model: recovered sizes, the penalised optimum, trigamma."""

import numpy as np
import pytest
from scipy import optimize, special

from demandmatch.forecast.distributions import negbin_params
from demandmatch.forecast.negbin.dispersion import Dispersion, trigamma
from demandmatch.forecast.negbin.likelihood import loglik_mixed


@pytest.mark.parametrize("censor", [False, True])
def test_dispersion_recovers_the_true_size_per_group(censor):
    rng = np.random.default_rng(0)
    n = 20000
    group = rng.integers(0, 2, n)
    size = np.where(group == 0, 2.0, 8.0)
    mu = rng.uniform(3, 30, n)
    n_, p_ = negbin_params(mu, size)
    d = rng.negative_binomial(n_, p_).astype(float)
    stock = np.where(censor, np.round(mu * 1.2), np.inf)
    y = np.minimum(d, stock)
    censored = d >= stock
    design = np.column_stack([np.ones(n), group == 1]).astype(float)
    fitted = Dispersion(ridge=0.0).fit(design, y, mu, censored)
    got = fitted.size(np.array([[1.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_allclose(got, [2.0, 8.0], rtol=0.1)


def test_dispersion_newton_reaches_the_penalised_likelihood_optimum():
    # censored and mixed rows (numerical derivatives) next to plain ones (closed form), three
    # groups under a ridge: the fit must land where an independent optimiser of the same
    # objective does
    rng = np.random.default_rng(21)
    n = 3000
    group = rng.integers(0, 3, n)
    design = np.column_stack([np.ones(n), group == 1, group == 2]).astype(float)
    mu = rng.uniform(2, 25, n)
    sd = np.where(rng.random(n) < 0.2, 0.6, 0.0)
    n_, p_ = negbin_params(mu * np.exp(sd * rng.normal(size=n) - 0.5 * sd**2), 3.0 * (1 + group))
    d = rng.negative_binomial(n_, p_).astype(float)
    stock = np.round(mu * rng.uniform(0.8, 2.0, n))
    y, cens = np.minimum(d, stock), d >= stock
    ridge = 5.0
    fitted = Dispersion(ridge=ridge).fit(design, y, mu, cens, sd)

    def objective(theta):
        r = np.exp(np.clip(design @ theta, np.log(0.05), np.log(500.0)))
        ll = loglik_mixed(y, mu, r, cens, sd).sum()
        return (-ll + 0.5 * ridge * np.sum(theta[1:] ** 2)) / n

    ref = optimize.minimize(
        objective, np.zeros(3), method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-13}
    )
    assert fitted.converged_
    np.testing.assert_allclose(fitted.theta_, ref.x, atol=1e-5)
    assert objective(fitted.theta_) <= ref.fun + 1e-12


def test_a_fit_started_from_a_nearby_one_lands_where_a_cold_one_does():
    # the held-out calibration refits the size at means a little apart, each from the last
    # fit's sizes: the same optimum as from the default start, in fewer Newton steps
    rng = np.random.default_rng(5)
    n = 4000
    group = rng.integers(0, 2, n)
    design = np.column_stack([np.ones(n), group == 1]).astype(float)
    mu = rng.uniform(2, 25, n)
    n_, p_ = negbin_params(mu, np.where(group == 0, 3.0, 9.0))
    d = rng.negative_binomial(n_, p_).astype(float)
    stock = np.round(mu * rng.uniform(0.8, 2.0, n))
    y, cens = np.minimum(d, stock), d >= stock
    near = Dispersion(ridge=1.0).fit(design, y, mu * 1.05, cens)
    cold = Dispersion(ridge=1.0).fit(design, y, mu, cens)
    warm = Dispersion(ridge=1.0).fit(design, y, mu, cens, start=near.theta_)
    assert cold.converged_ and warm.converged_
    np.testing.assert_allclose(warm.theta_, cold.theta_, atol=1e-6)
    assert warm.n_iter_ < cold.n_iter_


def test_trigamma_matches_scipy_from_tiny_to_huge_arguments():
    x = np.r_[np.geomspace(1e-3, 1e7, 5000), np.arange(1, 700) + 0.5]
    np.testing.assert_allclose(trigamma(x), special.polygamma(1, x), rtol=1e-9)


def test_a_start_at_a_bound_does_not_hold_the_fit_there():
    # a warm start from a fit whose size ended at the upper bound: the size there is clipped and
    # has no slope, so starting there would stay there; the fit starts afresh instead
    rng = np.random.default_rng(4)
    n = 4000
    mu = np.exp(rng.normal(1.5, 0.5, n))
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + mu)).astype(float)
    one, cens = np.ones((n, 1)), np.zeros(n, bool)
    cold = Dispersion().fit(one, y, mu, cens)
    at_bound = np.array([np.log(500.0) + 1.0])
    warm = Dispersion().fit(one, y, mu, cens, start=at_bound)
    assert cold.size(one[:1])[0] == pytest.approx(5.0, rel=0.2)
    assert warm.size(one[:1])[0] == pytest.approx(cold.size(one[:1])[0], rel=1e-6)
