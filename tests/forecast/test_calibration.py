"""Held-out calibration: the scale of the mean (sold-out rows imputed at the rescaled mean), a
new SKU's scale apart, and the share of the prior's spread a new SKU's level really has."""

import numpy as np
import pytest

from demandmatch.forecast.calibration import (
    MIN_LEAD_ROWS,
    NEW_SKU_CREDIBILITY,
    SCALES,
    HeldOutCalibration,
    new_sku_weight,
    typical_means,
)


def test_the_mean_scale_imputes_sold_out_rows_at_the_rescaled_mean():
    # held-out demand is 1.3 x what the model says, and most big rows sold out: imputing their
    # demand at the model's own (low) mean finds too small a scale; solved where the imputed
    # demand agrees with the rescaled mean, the scale is the true 1.3 and the size the true 3
    rng = np.random.default_rng(15)
    n = 40000
    f = rng.normal(2.0, 0.8, n)
    mu = 1.3 * np.exp(f)
    d = rng.negative_binomial(3.0, 3.0 / (3.0 + mu)).astype(float)
    stock = np.floor(np.exp(f) * rng.uniform(0.6, 1.5, n))
    cens = d >= stock
    y = np.where(cens, stock, d)
    assert cens.mean() > 0.4
    one, none = np.ones((n, 1)), np.zeros(n)
    held_out = HeldOutCalibration(one, y, cens, new=none > 0, new_weight=0.0)
    step = held_out.fit(f, none).scale
    solved = held_out.fit(f, none, solve=True)
    assert step < 1.15
    assert solved.scale == pytest.approx(1.3, rel=0.02)
    assert solved.dispersion.size(one[:1])[0] == pytest.approx(3.0, rel=0.05)


def test_new_skus_get_their_own_scale_only_when_rescaled_apart():
    # no sold-out rows: each scale is the held-out demand's sum over the model's, exactly
    f = np.log(np.array([2.0, 4.0, 6.0, 8.0]))
    y = np.array([3.0, 5.0, 12.0, 16.0])
    new = np.array([False, False, True, True])
    sd, one, cens = np.zeros(4), np.ones((4, 1)), np.zeros(4, bool)
    apart = HeldOutCalibration(one, y, cens, new, new_weight=1.0).fit(f, sd)
    assert (apart.scale, apart.new_sku_scale) == pytest.approx((8 / 6, 28 / 14))
    together = HeldOutCalibration(one, y, cens, new, new_weight=0.0).fit(f, sd)
    # one scale for all rows: a new SKU's is the others'
    assert (together.scale, together.new_sku_scale) == pytest.approx((36 / 20, 36 / 20))
    # half its own: the geometric middle of its own and the others'
    half = HeldOutCalibration(one, y, cens, new, new_weight=0.5).fit(f, sd)
    assert (half.scale, half.new_sku_scale) == pytest.approx((8 / 6, np.sqrt(2 * 8 / 6)))
    # a scale stays within its bounds however far off the model is
    low = HeldOutCalibration(one, y * 10, cens, new, new_weight=0.0).fit(f, sd)
    assert low.scale == SCALES[1]


@pytest.mark.parametrize("level_sd, lo, hi", [(0.0, 0.0, 0.5), (1.0, 1.5, 2.0)])
def test_calibrate_chooses_how_much_of_the_prior_spread_a_new_level_has(level_sd, lo, hi):
    # new SKUs' levels spread level_sd around the model's mean; the prior says 0.5: the held-out
    # likelihood prefers about level_sd / 0.5 of it
    rng = np.random.default_rng(3)
    n = 6000
    f = rng.normal(1.5, 0.5, n)
    level = f + level_sd * rng.normal(size=n) - 0.5 * level_sd**2
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + np.exp(level))).astype(float)
    new = np.ones(n, bool)
    held_out = HeldOutCalibration(np.ones((n, 1)), y, np.zeros(n, bool), new, new_weight=1.0)
    chosen = held_out.calibrate(f, np.full(n, 0.5), (0.0, 0.5, 1.0, 1.5, 2.0))
    assert lo <= chosen.spread_factor <= hi
    assert chosen.fit.dispersion.size(np.ones((1, 1)))[0] == pytest.approx(5.0, rel=0.25)
    # one factor: no choice
    assert held_out.calibrate(f, np.full(n, 0.5), (1.0,)).spread_factor == 1.0


def test_a_scale_counts_each_sku_once_when_the_rows_skus_are_given():
    # SKU a sells 10 where the model says 5 in three lineups, SKU b 2 where it says 2 in one:
    # per row a's lineups count three times (32 / 17); per SKU each average once (12 / 7)
    f = np.log(np.array([5.0, 5.0, 5.0, 2.0]))
    y = np.array([10.0, 10.0, 10.0, 2.0])
    one, sd, cens, none = np.ones((4, 1)), np.zeros(4), np.zeros(4, bool), np.zeros(4, bool)
    rows = HeldOutCalibration(one, y, cens, none, new_weight=0.0).fit(f, sd)
    skus = HeldOutCalibration(one, y, cens, none, 0.0, sku=np.array(["a", "a", "a", "b"]))
    assert rows.scale == pytest.approx(32 / 17)
    assert skus.fit(f, sd).scale == pytest.approx(12 / 7)


def test_a_new_skus_own_rows_set_its_scale_more_the_more_skus_they_are():
    assert new_sku_weight(0) == 0.0
    assert new_sku_weight(NEW_SKU_CREDIBILITY) == pytest.approx(0.5)
    assert new_sku_weight(9 * NEW_SKU_CREDIBILITY) == pytest.approx(0.9)


def test_typical_means_are_each_skus_other_rows_and_the_median_sku_for_one_row():
    y = np.array([1.0, 3.0, 5.0, 10.0])
    sku = np.array(["a", "a", "a", "b"])
    # a: the mean of its two other rows; b, seen once: the median of the SKUs' averages (3, 10)
    assert typical_means(y, sku) == pytest.approx([4.0, 3.0, 2.0, 6.5])


def test_each_training_lead_gets_the_factor_at_which_its_rows_agree_with_their_demand():
    # the model says 1.25 x the demand at 6 h and 0.8 x at 168 h; one scale for both leads is
    # right on their sum only, the factors put each lead right on its own rows
    n = MIN_LEAD_ROWS
    y = np.tile(np.arange(1.0, 11.0), n // 5)
    lead = np.repeat([6.0, 168.0], n)
    f = np.log(y * np.where(lead == 6.0, 1.25, 0.8))
    one, sd, none = np.ones((2 * n, 1)), np.zeros(2 * n), np.zeros(2 * n, bool)
    held_out = HeldOutCalibration(one, y, censored=none, new=none, new_weight=0.0, lead=lead)
    fit = held_out.fit(f, sd)
    assert fit.scale == pytest.approx(2.0 / 2.05)
    scales = held_out.by_lead(f, sd, fit)
    assert scales.hours.tolist() == [6.0, 168.0]
    assert scales.factors * fit.scale == pytest.approx([1 / 1.25, 1 / 0.8])
    # between the leads interpolated in log hours, beyond them the nearest's
    mid = np.sqrt(6.0 * 168.0)
    at = scales.at(np.array([1.0, 6.0, mid, 168.0, 336.0]))
    f6, f168 = scales.factors
    assert at == pytest.approx([f6, f6, np.sqrt(f6 * f168), f168, f168])


def test_a_lead_with_too_few_rows_of_seen_skus_gets_no_factor():
    n = MIN_LEAD_ROWS
    y = np.ones(2 * n)
    lead = np.repeat([6.0, 168.0], n)
    f = np.log(np.where(lead == 6.0, 2.0, 0.5))
    new = (lead == 168.0) & (np.arange(2 * n) % 2 == 0)  # half the 168 h rows: new SKUs
    one, sd, cens = np.ones((2 * n, 1)), np.zeros(2 * n), np.zeros(2 * n, bool)
    held_out = HeldOutCalibration(one, y, cens, new, 1.0, lead=lead)
    scales = held_out.by_lead(f, sd, held_out.fit(f, sd))
    assert len(scales.hours) == 0
    assert scales.at(np.array([6.0, 100.0])).tolist() == [1.0, 1.0]
    # no leads given: none either
    plain = HeldOutCalibration(one, y, cens, new, 1.0)
    assert len(plain.by_lead(f, sd, plain.fit(f, sd)).hours) == 0


def test_one_blockbuster_among_the_held_out_new_skus_does_not_set_every_new_skus_scale():
    # forty new SKUs, four held-out rows each: thirty-nine sell as the model says, their levels
    # spread as it says (sd 0.6 in log) around its mean; one sold twenty times that mean. The
    # sum of their demand over the model's means puts every new SKU a third or more higher;
    # their likelihood, in which the rows of a SKU share one level, puts that SKU's level high
    # and keeps the scale near the others' 1
    rng = np.random.default_rng(11)
    skus, per = 40, 4
    sku = np.repeat(np.arange(skus), per)
    sd = np.full(skus * per, 0.6)
    f = np.log(np.full(skus * per, 5.0)) - 0.5 * sd**2  # the mean, before the spread: 5
    level = rng.normal(0.0, 0.6, skus)[sku] - 0.18
    mu = np.exp(np.log(5.0) + level)
    mu[sku == 0] = 100.0  # the blockbuster: twenty times the mean
    y = rng.negative_binomial(20.0, 20.0 / (20.0 + mu)).astype(float)
    one, cens, new = np.ones((len(y), 1)), np.zeros(len(y), bool), np.ones(len(y), bool)
    fit = HeldOutCalibration(one, y, cens, new, 1.0, sku=sku).fit(f, sd, solve=True)
    by_sum = y.sum() / (5.0 * len(y))
    assert by_sum > 1.3
    assert fit.new_sku_scale == pytest.approx(1.0, abs=0.2)
