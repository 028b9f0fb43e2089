"""The censored negative binomial likelihood, its derivatives in log mu and the truncated
means of sold-out rows: known answers and finite differences."""

import numpy as np
import pytest
from scipy import stats

from demandmatch.forecast.distributions import negbin_params
from demandmatch.forecast.negbin import likelihood as negbin
from demandmatch.forecast.negbin.dispersion import Dispersion


def nll(f, y, r, censored):
    return -negbin.loglik(y, np.exp(f), r, censored)


@pytest.mark.parametrize("censored", [False, True])
def test_gradient_and_hessian_match_finite_differences(censored):
    y = np.array([0.0, 1.0, 3.0, 7.0, 20.0, 55.0])
    f = np.log(np.array([0.5, 2.0, 3.0, 9.0, 15.0, 40.0]))
    r = np.array([0.7, 1.0, 2.5, 3.0, 8.0, 30.0])
    c = np.full(len(y), censored)
    g, h = negbin.grad_hess(f, y, r, c)
    e = 1e-5
    g_num = (nll(f + e, y, r, c) - nll(f - e, y, r, c)) / (2 * e)
    h_num = (nll(f + e, y, r, c) - 2 * nll(f, y, r, c) + nll(f - e, y, r, c)) / e**2
    if censored:  # P(D >= 0) = 1 carries no information
        assert g[0] == 0.0
    np.testing.assert_allclose(g, g_num, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(h, np.maximum(h_num, 1e-6), rtol=1e-3, atol=1e-5)


def test_censored_row_pushes_the_mean_up_and_uncensored_pulls_toward_y():
    f = np.log(np.array([10.0, 10.0]))
    g, _ = negbin.grad_hess(f, np.array([10.0, 10.0]), np.array([3.0, 3.0]), np.array([0, 1], bool))
    assert g[0] == pytest.approx(0.0, abs=1e-12)  # mean = y: at the optimum
    assert g[1] < 0  # "at least 10" at mean 10: raise the mean


def test_impute_mean_equals_the_truncated_expectation():
    mu, r = np.array([4.0, 12.0, 30.0]), np.array([2.0, 5.0, 1.5])
    s = np.array([3.0, 15.0, 1.0])
    n, p = negbin_params(mu, r)
    d = np.arange(0, 5000)
    for i in range(3):
        pmf = stats.nbinom.pmf(d, n[i], p[i])
        keep = d >= s[i]
        expected = (d[keep] * pmf[keep]).sum() / pmf[keep].sum()
        assert negbin.impute_mean(s[i : i + 1], mu[i : i + 1], r[i : i + 1])[0] == pytest.approx(
            expected, rel=1e-9
        )


def test_mixed_impute_mean_is_the_truncated_expectation_over_the_lognormal_level():
    # dense integral over the level: z on a fine grid, E[D | D >= s] of the NB mixed over
    # mu = mean exp(sd z - sd^2 / 2); sd 0 is the plain NB's
    mean, r = np.array([5.0, 20.0, 3.0]), np.array([3.0, 8.0, 1.0])
    s, sd = np.array([9.0, 15.0, 4.0]), np.array([0.8, 0.5, 0.0])
    d = np.arange(0, 4000)
    z = np.linspace(-6.0, 6.0, 481)
    phi = stats.norm.pdf(z)
    got = negbin.impute_mean_mixed(s, mean, r, sd)
    for i in range(3):
        mu = mean[i] * np.exp(sd[i] * z - 0.5 * sd[i] ** 2)
        n, p = negbin_params(mu[:, None], r[i])
        pmf = stats.nbinom.pmf(d[None, :], n, p) * phi[:, None]
        keep = d >= s[i]
        expected = (pmf[:, keep] * d[keep]).sum() / pmf[:, keep].sum()
        assert got[i] == pytest.approx(expected, rel=1e-4)
    plain = negbin.impute_mean(s, mean, r)
    assert got[2] == pytest.approx(plain[2], rel=1e-12)
    assert got[0] > 1.3 * plain[0]  # a sell-out points to a high level: the tail sits higher


def test_censored_gradient_stays_finite_far_in_the_tail():
    # sold out at 400 units when the model says 0.007: both P(D = 399) and P(D >= 400)
    # underflow, and the gradient must still push the mean up, not turn into NaN
    f = np.array([-5.0, -5.0, 2.0])
    y = np.array([400.0, 5000.0, 900.0])
    r = np.array([30.0, 500.0, 500.0])
    grad, hess = negbin.grad_hess(f, y, r, np.ones(3, bool))
    assert np.isfinite(grad).all() and np.isfinite(hess).all()
    assert (grad < 0).all() and (hess > 0).all()


def test_mixed_likelihood_integrates_the_level_and_the_dispersion_fit_sees_through_it():
    # sd 0 is the plain NB; sd > 0 matches a dense integral over the lognormal level
    y, mean, r = np.array([0.0, 4.0, 30.0]), np.array([2.0, 5.0, 9.0]), np.array([3.0, 3.0, 3.0])
    cens = np.array([False, False, True])
    np.testing.assert_allclose(
        negbin.loglik_mixed(y, mean, r, cens, np.zeros(3)), negbin.loglik(y, mean, r, cens)
    )
    z = np.linspace(-8.0, 8.0, 4001)
    dens = stats.norm.pdf(z) / np.trapezoid(stats.norm.pdf(z), z)
    for i in range(3):
        mu = mean[i] * np.exp(0.6 * z - 0.18)
        lik = np.exp(negbin.loglik(np.full(len(z), y[i]), mu, r[i], np.full(len(z), cens[i])))
        expect = np.log(np.trapezoid(lik * dens, z))
        assert negbin.loglik_mixed(
            y[i : i + 1], mean[i : i + 1], r[i : i + 1], cens[i : i + 1], np.array([0.6])
        )[0] == pytest.approx(expect, abs=1e-6)
    # demand NB(size 4) around levels that are lognormal (sd 0.5): told the spread, the fit
    # finds the NB's own size; blind to it, a smaller size absorbs the level's spread
    rng = np.random.default_rng(11)
    n = 20000
    m = np.exp(rng.normal(1.5, 0.3, n))
    level = m * np.exp(0.5 * rng.normal(size=n) - 0.125)
    d = rng.negative_binomial(4.0, 4.0 / (4.0 + level)).astype(float)
    one = np.ones((n, 1))
    told = Dispersion().fit(one, d, m, np.zeros(n, bool), np.full(n, 0.5))
    blind = Dispersion().fit(one, d, m, np.zeros(n, bool))
    assert told.size(one[:1])[0] == pytest.approx(4.0, rel=0.1)
    assert blind.size(one[:1])[0] < 0.6 * 4.0


@pytest.mark.parametrize(
    "shape, cores", [((3,), 2), ((20_000,), 2), ((9_000, 3), 4), ((40_001,), 3), ((30_000,), 1)]
)
def test_survival_on_several_threads_is_scipys_to_the_bit(monkeypatch, shape, cores):
    monkeypatch.setattr(negbin, "_cores", lambda: cores)
    rng = np.random.default_rng(1)
    k = rng.integers(-1, 80, shape).astype(float)  # k = -1: P(D > -1) = 1
    r, p = rng.uniform(0.3, 30, shape), rng.uniform(0, 1, shape)
    p.flat[:5] = [0.0, 1.0, 1e-300, 1 - 1e-16, np.nan]
    out = negbin.nb_logsf(k, r, p)
    assert out.shape == shape
    np.testing.assert_array_equal(out, stats.nbinom.logsf(k, r, p))
    # scalars broadcast against the rows, as scipy's do
    np.testing.assert_array_equal(negbin.nb_logsf(k, 2.5, 0.3), stats.nbinom.logsf(k, 2.5, 0.3))


def test_a_forked_process_gets_threads_of_its_own():
    import multiprocessing

    k = np.arange(50_000, dtype=float) % 70
    negbin.nb_logsf(k, 3.0, 0.2)  # the parent's threads exist before the fork
    with multiprocessing.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(negbin.nb_logsf, (k, 3.0, 0.2)).get(timeout=60)
    np.testing.assert_array_equal(child, stats.nbinom.logsf(k, 3.0, 0.2))
