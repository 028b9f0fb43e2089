import numpy as np
import pytest
from scipy import stats

from demandmatch.forecast.distributions import (
    hermite_nodes,
    quantile_grid,
    quantiles_negbin,
    quantiles_negbin_mixed,
    survival_from_grid,
    survival_from_quantiles,
    survival_negbin,
    survival_negbin_mixed,
)

LEVELS = np.array([0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95])


def test_negbin_survival_sums_to_mean_and_matches_scipy():
    mean, size = np.array([0.7, 12.0, 300.0]), np.array([1.5, 4.0, 8.0])
    surv = survival_negbin(mean, size)
    np.testing.assert_allclose([s.sum() for s in surv], mean, rtol=1e-5)
    n, p = size[1], size[1] / (size[1] + mean[1])
    np.testing.assert_allclose(surv[1][:5], stats.nbinom.sf(np.arange(5), n, p))
    assert all(np.all(np.diff(s) <= 1e-15) for s in surv)


def test_point_mass_grid_gives_unit_survival():
    surv = survival_from_grid(np.full((1, 10), 4.0))
    np.testing.assert_allclose(surv[0], [1, 1, 1, 1])


def test_quantile_grid_passes_through_the_quantiles_and_is_monotone():
    q = np.array([[1, 2, 4, 7, 11, 16, 20.0]])
    grid = quantile_grid(LEVELS, q, n_grid=1000)
    tau = (np.arange(1000) + 0.5) / 1000
    assert np.all(np.diff(grid[0]) >= 0)
    np.testing.assert_allclose(np.interp(LEVELS, tau, grid[0]), q[0], atol=0.05)


def test_survival_from_true_quantiles_recovers_the_mean():
    mean, size = np.array([40.0, 150.0]), np.array([5.0, 3.0])
    q = quantiles_negbin(mean, size, LEVELS)
    got = [s.sum() for s in survival_from_quantiles(LEVELS, q)]
    np.testing.assert_allclose(got, mean, rtol=0.05)


def _mixture_cdf_by_dense_grid(mean, size, sd, k):
    """P(D <= k) of the NB mixed over mu = mean exp(sd Z - sd^2 / 2), by a fine rule in Z."""
    z = np.linspace(-8.0, 8.0, 4001)
    dens = stats.norm.pdf(z)
    mu = mean * np.exp(sd * z - 0.5 * sd * sd)
    cdf = stats.nbinom.cdf(np.asarray(k)[:, None], size, size / (size + mu[None, :]))
    return np.trapezoid(cdf * dens, z, axis=1) / np.trapezoid(dens, z)


def test_lognormal_mixture_matches_a_dense_integral_and_keeps_the_mean():
    mean, size, sd = np.array([3.0, 40.0, 2.0]), np.array([2.0, 6.0, 4.0]), np.array([0.5, 0.7, 0])
    surv = survival_negbin_mixed(mean, size, sd)
    np.testing.assert_allclose([s.sum() for s in surv], mean, rtol=1e-5)
    np.testing.assert_allclose(surv[2], survival_negbin(mean[2:], size[2:])[0])  # sd 0: the NB
    for i in (0, 1):
        k = np.arange(len(surv[i]))
        exact = 1.0 - _mixture_cdf_by_dense_grid(mean[i], size[i], sd[i], k)
        np.testing.assert_allclose(surv[i], exact, atol=2e-4)
    q = quantiles_negbin_mixed(mean, size, sd, LEVELS)
    for i in (0, 1):
        cdf = _mixture_cdf_by_dense_grid(mean[i], size[i], sd[i], q[i])
        below = _mixture_cdf_by_dense_grid(mean[i], size[i], sd[i], q[i] - 1)
        assert (cdf >= LEVELS - 1e-3).all() and (below < LEVELS + 1e-3).all()
    # the same mean with an uncertain level: a lower median and a longer right tail
    plain = quantiles_negbin(mean, size, LEVELS)
    assert q[1, 3] < plain[1, 3] and q[1, -1] > plain[1, -1]
    np.testing.assert_array_equal(q[2], plain[2])


def test_negbin_cdf_by_its_pmf_ratio_matches_scipy_where_it_is_hard():
    from demandmatch.forecast.distributions import _negbin_cdf

    # tiny and huge sizes, means from near 0 to the thousands, and a mean of exactly 0 (p = 1)
    for mean, size in [(0.01, 0.05), (5.0, 0.05), (2000.0, 0.3), (800.0, 500.0), (3.0, 1e4)]:
        n, p = size, size / (size + mean)
        top = int(stats.nbinom.isf(1e-9, n, p)) + 1
        np.testing.assert_allclose(
            _negbin_cdf(top, n, p), stats.nbinom.cdf(np.arange(top), n, p), rtol=0, atol=1e-12
        )
    np.testing.assert_array_equal(_negbin_cdf(4, 2.0, 1.0), [1.0, 1.0, 1.0, 1.0])
    nodes = _negbin_cdf(6, 3.0, np.array([0.2, 0.5, 0.9]))  # one row per node
    np.testing.assert_allclose(nodes, stats.nbinom.cdf(np.arange(6), 3.0, [[0.2], [0.5], [0.9]]))


def test_hermite_nodes_are_numpys_computed_once_and_read_only():
    z, w = hermite_nodes(5)
    z_np, w_np = np.polynomial.hermite_e.hermegauss(5)
    np.testing.assert_array_equal(z, z_np)
    np.testing.assert_array_equal(w, w_np)
    assert hermite_nodes(5)[0] is z  # cached
    np.testing.assert_allclose(w.sum(), np.sqrt(2 * np.pi))  # the standard normal's mass
    np.testing.assert_allclose(z, -z[::-1], atol=1e-12)  # symmetric about 0
    with pytest.raises(ValueError):
        z[0] = 1.0
