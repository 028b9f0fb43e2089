"""Which rows a fit holds out: the latest share, and the first streams of launched SKUs."""

import numpy as np

from demandmatch.forecast.holdout import HoldOut


def test_the_latest_share_is_held_out_by_time_else_a_seeded_random_share():
    time = np.array([5, 1, 9, 3, 7, 2, 8, 0, 6, 4])
    late, launches = HoldOut(0.2, 1.0, seed=0).split(time, 10, None, None)
    assert set(time[late]) == {8, 9} and not launches.any()
    a = HoldOut(0.3, 1.0, seed=1).split(None, 1000, None, None)[0]
    b = HoldOut(0.3, 1.0, seed=1).split(None, 1000, None, None)[0]
    assert np.array_equal(a, b) and 0.25 < a.mean() < 0.35


def test_first_streams_of_skus_launched_after_the_burn_in_are_held_out():
    # 20 rows in time order: SKU a from the start, b first at row 4, c at row 10, d only late
    sku = np.array(list("aaaabaaaabcacbcacdbd"))
    time = np.arange(20)
    cold = np.zeros(20, bool)
    for s in "abcd":
        cold[np.flatnonzero(sku == s)[0]] = True
    late, launches = HoldOut(0.2, 1.0, seed=0).split(time, 20, sku, cold)
    assert late.tolist() == [False] * 16 + [True] * 4
    # a starts in the burn-in, d in the latest rows: only b's and c's first rows
    assert np.flatnonzero(launches).tolist() == [4, 10]
    none = HoldOut(0.2, 0.0, seed=0).split(time, 20, sku, cold)[1]
    assert not none.any()
