"""One SKU's stock over its streams (demandmatch.optimise.stock) against the brute-force split
of tests.optimise.conftest: the greedy allocation, the pooled ranking with streams before the
order's arrival, and the two-batch placement with expiry and arrival together."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from demandmatch.optimise.stock import (
    Placement,
    SkuStreams,
    best_allocation,
    place_stock,
    split_outcome,
    stock_curve,
    stream_marginals,
)
from tests.optimise.conftest import (
    best_split_value,
    negbin_pmf,
    poisson_pmf,
    random_pmf,
    stream_sales,
    survival,
    uniform_pmf,
)


def allocation_value(price, rate, pmfs, a) -> float:
    return sum(
        (price[j] - 2.0) * (1 - rate[j]) * stream_sales(pmfs[j], a[j]) for j in range(len(a))
    )


def test_allocation_is_exact_by_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        k = int(rng.integers(1, 4))
        pmfs = [random_pmf(rng) for _ in range(k)]
        price = rng.uniform(5, 30, k)
        rate = rng.uniform(0, 0.5, k)
        surv = [survival(p) for p in pmfs]
        margs = [stream_marginals(price[j], 2.0, rate[j], surv[j]) for j in range(k)]
        stock = int(rng.integers(0, 15))
        got = best_allocation(margs, stock)
        assert got.sum() <= stock
        brute = max(
            allocation_value(price, rate, pmfs, a)
            for a in itertools.product(*(range(stock + 1) for _ in range(k)))
            if sum(a) <= stock
        )
        assert allocation_value(price, rate, pmfs, got) == pytest.approx(brute, abs=1e-9)


def test_allocation_ties_go_to_the_earlier_stream() -> None:
    same = np.array([0.9, 0.5, 0.1])
    assert list(best_allocation([same, same], 3)) == [2, 1]
    assert list(best_allocation([same, same], 100)) == [3, 3]
    assert list(best_allocation([-same, same], 5)) == [0, 3]


# ---- two batches ------------------------------------------------------------------------


def random_streams(rng: np.random.Generator, kind: str) -> tuple[SkuStreams, list, int]:
    """A SKU with 1-4 streams whose batches differ by `kind`: "expiry" (stock on hand expires
    first: it serves a prefix of the ordered units' streams, and may lose its salvage),
    "arrival" (the order arrives late: it serves a suffix of the on-hand units' streams), or
    "both"."""
    k = int(rng.integers(1, 5))
    pmfs = []
    for _ in range(k):
        pick = rng.integers(3)
        if pick == 0:
            pmfs.append(poisson_pmf(float(rng.uniform(0.5, 4.0)), 8))
        elif pick == 1:
            pmfs.append(negbin_pmf(float(rng.uniform(1, 4)), float(rng.uniform(0.7, 3)), 8))
        else:
            lo = int(rng.integers(0, 3))
            pmfs.append(uniform_pmf(lo, int(rng.integers(lo, 7))))
    v = float(rng.uniform(0, 5))
    every = np.ones(k, dtype=bool)
    kept = rng.random(k) < 0.85 if kind != "arrival" else every
    on_hand_ends = int(rng.integers(0, k + 1)) if kind != "arrival" else k
    arrives = int(rng.integers(0, k + 1)) if kind != "expiry" else 0
    arrived = np.arange(k) >= arrives
    ok1 = kept & arrived
    ok0 = kept & (np.arange(k) < on_hand_ends)
    salvage = (float(rng.choice([0.0, v])), v) if kind != "arrival" else (v, v)
    st = SkuStreams(
        price=rng.uniform(1, 12, k),
        rate=rng.uniform(0, 0.5, k),
        survival=[survival(p) for p in pmfs],
        salvage=salvage,
        sellable=(ok0, ok1),
        arrived=arrived,
    )
    return st, pmfs, int(rng.integers(0, 5))


@pytest.mark.parametrize("kind", ["expiry", "arrival", "both"])
@pytest.mark.parametrize("seed", range(25))
def test_two_batch_placement_matches_brute_force(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    st, pmfs, n0 = random_streams(rng, kind)
    curve = stock_curve(st, n0)
    assert np.all(np.diff(curve.inc) <= 1e-12)  # concave in the units ordered
    for q in range(7):
        brute = best_split_value(
            pmfs, st.price, st.rate, *st.salvage, st.sellable[0], st.sellable[1], n0, q
        )
        via_curve = curve.head + st.salvage[1] * q + curve.inc[:q].sum()
        a0, a1 = place_stock(st, n0, q)
        assert a0.sum() <= n0 and a1.sum() <= q
        assert not (a0 > 0)[~st.sellable[0]].any() and not (a1 > 0)[~st.sellable[1]].any()
        assert via_curve == pytest.approx(brute, abs=1e-9)
        assert split_outcome(st, n0, q, a0, a1)[3] == pytest.approx(brute, abs=1e-9)


@pytest.mark.parametrize("seed", range(25))
def test_pooled_ranking_is_the_placement_of_one_unit_at_a_time(seed: int) -> None:
    # a late order and stock on hand worth the same: the greedy with at most n0 units in the
    # streams before the arrival gives the curve the exact placement gives
    st, _, n0 = random_streams(np.random.default_rng(100 + seed), "arrival")
    assert st.pooled
    fast = stock_curve(st, n0)
    pl = Placement(st)
    head = st.salvage[0] * n0
    for _ in range(n0):
        step = pl.place_on_hand()
        head += 0.0 if step is None else step[0]
    inc = []
    while (step := pl.place_ordered()) is not None:
        inc.append(step[0])
    assert fast.head == pytest.approx(head, abs=1e-9)
    assert fast.inc.size == len(inc)
    assert np.allclose(np.cumsum(fast.inc), np.cumsum(inc), atol=1e-9)


def test_stream_before_the_arrival_sells_only_stock_on_hand() -> None:
    # two streams with D uniform on 0..9 at price 20, salvage 2; 3 units on hand; the order
    # arrives between them. The on-hand units go to stream 0 (only they can), ordered to 1.
    surv = [survival(uniform_pmf(0, 9))] * 2
    st = SkuStreams(
        price=np.array([20.0, 20.0]),
        rate=np.zeros(2),
        survival=surv,
        salvage=(2.0, 2.0),
        sellable=(np.array([True, True]), np.array([False, True])),
        arrived=np.array([False, True]),
    )
    a0, a1 = place_stock(st, 3, 5)
    assert a0.tolist() == [3, 0] and a1.tolist() == [0, 5]
    # 8 on hand: the best 8 units are 4 + 4; stream 0 holds no more than the stock on hand
    a0, a1 = place_stock(st, 8, 0)
    assert (a0 + a1).tolist() == [4, 4] and a1.sum() == 0
    # with 2 on hand and 6 ordered the first stream keeps both units on hand
    a0, a1 = place_stock(st, 2, 6)
    assert a0.tolist() == [2, 0] and a1.tolist() == [0, 6]


def test_placement_with_caps_never_exceeds_them() -> None:
    rng = np.random.default_rng(5)
    for kind in ("expiry", "arrival", "both"):
        for _ in range(20):
            st, pmfs, n0 = random_streams(rng, kind)
            caps = rng.integers(0, 4, len(pmfs))
            pl = Placement(st, caps)
            for _ in range(n0):
                pl.place_on_hand()
            for _ in range(8):
                pl.place_ordered()
            a0, a1 = pl.split()
            assert (a0 + a1 <= caps).all()
            assert not (a1 > 0)[~st.sellable[1]].any()
