import numpy as np
from scipy import stats

from demandmatch.evaluation import (
    bias,
    coverage_negbin,
    expected_pinball_negbin,
    pinball,
    pit_coverage,
    pit_coverage_negbin,
    wape,
)
from demandmatch.forecast.distributions import (
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
