"""Shelf life in the outcome model and the optimiser, against hand-computed answers, a brute
force straight from the pmfs and Monte Carlo.

The brute force here knows nothing of demandmatch.outcomes: per stream it tabulates, from the
pmf, the contract's profit of every split (a0 on-hand units first, then a1 ordered units; a unit
sells only in a stream that starts before it expires; an expired leftover is worth nothing),
and a dynamic programme over the streams finds the best split of every stock.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from demandmatch.optimise import OptimiserSettings, plan_orders
from demandmatch.outcomes import (
    Placement,
    SkuStreams,
    expected_outcomes,
    place_stock,
    split_outcome,
    stock_curve,
)
from tests.test_optimise import negbin_pmf, poisson_pmf, uniform_pmf

T0 = pd.Timestamp("2024-05-01 00:00", tz="UTC")


def day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


def survival(pmf: np.ndarray) -> np.ndarray:
    return np.cumsum(pmf[::-1])[::-1][1:]


# ---- brute force ------------------------------------------------------------------------


def stream_table(pmf, price, rate, v0, v1, ok0, ok1, n0, q) -> np.ndarray:
    """T[a0, a1]: one stream's expected kept revenue less the salvage its sales use up, for
    a0 on-hand units offered first and a1 ordered units after them."""
    d = np.arange(pmf.size)
    table = np.full((n0 + 1, q + 1), -np.inf)
    for a0 in range(n0 + 1 if ok0 else 1):
        for a1 in range(q + 1 if ok1 else 1):
            s = np.minimum(d, a0 + a1)
            s0 = np.minimum(d, a0)
            kept, kept0 = (1 - rate) * s, (1 - rate) * s0
            value = price * kept - v0 * kept0 - v1 * (kept - kept0)
            table[a0, a1] = float(pmf @ value)
    return table


def best_split_value(pmfs, price, rate, v0, v1, ok0, ok1, n0, q) -> float:
    """Best expected value (sales plus leftovers) of n0 on-hand and q ordered units over every
    split between the streams."""
    best = np.full((n0 + 1, q + 1), -np.inf)
    best[0, 0] = 0.0
    for k, pmf in enumerate(pmfs):
        t = stream_table(pmf, price[k], rate[k], v0, v1, ok0[k], ok1[k], n0, q)
        nxt = np.full_like(best, -np.inf)
        for u0, u1 in itertools.product(range(n0 + 1), range(q + 1)):
            if best[u0, u1] == -np.inf:
                continue
            sub = t[: n0 + 1 - u0, : q + 1 - u1]
            cand = best[u0, u1] + sub
            view = nxt[u0:, u1:]
            np.maximum(view, cand, out=view)
        best = nxt
    return float(best.max()) + v0 * n0 + v1 * q


def random_streams(rng: np.random.Generator) -> tuple[SkuStreams, list[np.ndarray], int]:
    k = int(rng.integers(1, 4))
    pmfs = []
    for _ in range(k):
        kind = rng.integers(3)
        if kind == 0:
            pmfs.append(poisson_pmf(float(rng.uniform(0.5, 4.0)), 8))
        elif kind == 1:
            pmfs.append(negbin_pmf(float(rng.uniform(1, 4)), float(rng.uniform(0.7, 3)), 8))
        else:
            lo = int(rng.integers(0, 3))
            pmfs.append(uniform_pmf(lo, int(rng.integers(lo, 7))))
    v = float(rng.uniform(0, 5))
    salvage = (float(rng.choice([0.0, v])), v)
    ok1 = rng.random(k) < 0.8
    ok0 = ok1 & (np.arange(k) < int(rng.integers(0, k + 1)))
    st = SkuStreams(
        price=rng.uniform(1, 12, k),
        rate=rng.uniform(0, 0.5, k),
        survival=[survival(p) for p in pmfs],
        salvage=salvage,
        sellable=(ok0, ok1),
    )
    return st, pmfs, int(rng.integers(0, 4))


@pytest.mark.parametrize("seed", range(40))
def test_two_batch_placement_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    st, pmfs, n0 = random_streams(rng)
    curve = stock_curve(st, n0)
    assert np.all(np.diff(curve.inc) <= 1e-12)  # concave in the units ordered
    for q in range(6):
        brute = best_split_value(
            pmfs, st.price, st.rate, *st.salvage, st.sellable[0], st.sellable[1], n0, q
        )
        via_curve = curve.head + st.salvage[1] * q + curve.inc[:q].sum()
        a0, a1 = place_stock(st, n0, q)
        assert a0.sum() <= n0 and a1.sum() <= q
        assert not (a0 > 0)[~st.sellable[0]].any() and not (a1 > 0)[~st.sellable[1]].any()
        assert via_curve == pytest.approx(brute, abs=1e-9)
        assert split_outcome(st, n0, q, a0, a1)[3] == pytest.approx(brute, abs=1e-9)


def test_placement_with_caps_never_exceeds_them() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        st, pmfs, n0 = random_streams(rng)
        caps = rng.integers(0, 4, len(pmfs))
        pl = Placement(st, caps)
        for _ in range(n0):
            pl.place_on_hand()
        for _ in range(8):
            pl.place_ordered()
        a0, a1 = pl.split()
        assert (a0 + a1 <= caps).all()


# ---- hand-computed answers --------------------------------------------------------------


def perishable(
    starts: list[float],
    order_expires: float | None,
    on_hand: int = 0,
    on_hand_expires: float | None = None,
    salvage_at: float = 14.0,
    cost: float = 8.0,
    lead_ok: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[np.ndarray]]:
    """One SKU, D uniform on 0..9 in every stream, price 20, salvage 2, no returns."""
    n = len(starts)
    items = pd.DataFrame(
        {
            "stream_id": [f"s{k}" for k in range(n)],
            "sku_id": "k",
            "merchant_id": "m1",
            "start_time": [day(s) for s in starts],
            "live_price": 20.0,
            "return_rate": 0.0,
        }
    )
    skus = pd.DataFrame(
        {
            "merchant_id": ["m1"],
            "sku_id": ["k"],
            "unit_cost": [cost],
            "salvage_value": [2.0],
            "on_hand": [on_hand],
            "case_pack": [1],
            "moq": [0],
            "orderable": [lead_ok],
            "on_hand_expires_at": [pd.NaT if on_hand_expires is None else day(on_hand_expires)],
            "order_expires_at": [pd.NaT if order_expires is None else day(order_expires)],
            "salvage_at": [day(salvage_at)],
        }
    )
    merchants = pd.DataFrame({"merchant_id": ["m1"], "budget": [np.nan], "capacity_l": [np.nan]})
    return items, skus, merchants, [survival(uniform_pmf(0, 9))] * n


def test_expired_leftovers_have_no_salvage_value() -> None:
    # keeps: unit u earns 18 P(D >= u) = 18 (10 - u) / 10 against c - v = 6 -> 6 units
    # expires before salvage (day 5 < day 14): 20 (10 - u) / 10 against 8 -> still 6 units
    # (unit 6: 8 > 8 is false; ties stop) so 5; the profit loses the salvage of leftovers
    keeps = plan_orders(*perishable([1.0], None))
    assert keeps.plan["order_qty"].iloc[0] == 6
    expires = plan_orders(*perishable([1.0], 5.0))
    row = expires.plan.iloc[0]
    assert row["order_qty"] == 5
    sales = 0.9 + 0.8 + 0.7 + 0.6 + 0.5
    assert row["expected_profit"] == pytest.approx(20 * sales - 8 * 5)
    assert row["expected_leftover"] == pytest.approx(5 - sales)


def test_a_stream_after_expiry_gets_nothing() -> None:
    # the second stream starts on day 6, after the units expire on day 5: only stream 1 sells
    result = plan_orders(*perishable([1.0, 6.0], 5.0))
    assert result.plan["order_qty"].iloc[0] == 5
    assert result.allocation["allocated_units"].tolist() == [5, 0]
    assert result.plan["expected_demand"].iloc[0] == pytest.approx(9.0)
    keeps = plan_orders(*perishable([1.0, 6.0], None))
    assert keeps.allocation["allocated_units"].tolist() == [6, 6]


def test_units_that_expire_before_every_stream_are_not_bought() -> None:
    result = plan_orders(*perishable([3.0, 4.0], 2.0))
    row = result.plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "shelf_life"
    assert row["expected_sales"] == 0.0


def test_on_hand_that_expires_first_serves_the_early_stream() -> None:
    # 4 units on hand expire on day 2 (before stream 2 on day 3); ordered units last to day 9.
    # On-hand units can only go to stream 1 and are worth 0 at the end, ordered ones 2.
    items, skus, merchants, surv = perishable(
        [1.0, 3.0], 9.0, on_hand=4, on_hand_expires=2.0, salvage_at=5.0
    )
    result = plan_orders(items, skus, merchants, surv)
    alloc = result.allocation["allocated_units"].tolist()
    q = int(result.plan["order_qty"].iloc[0])
    st = SkuStreams(
        price=np.array([20.0, 20.0]),
        rate=np.zeros(2),
        survival=surv,
        salvage=(0.0, 2.0),
        sellable=(np.array([True, False]), np.array([True, True])),
    )
    pmfs = [uniform_pmf(0, 9)] * 2
    values = {
        n: best_split_value(pmfs, st.price, st.rate, 0.0, 2.0, *st.sellable, 4, n) - 8 * n
        for n in range(16)
    }
    assert q == max(values, key=lambda n: (values[n], -n))
    assert result.plan["expected_profit"].iloc[0] == pytest.approx(values[q], abs=1e-9)
    assert alloc[0] >= 4  # the on-hand units sell where they can


def test_expected_outcomes_with_batches_match_monte_carlo() -> None:
    # on hand (3) expires on day 2, ordered units (6) on day 7, leftovers valued on day 6.5:
    # only stream 0 (day 1) can sell on-hand units, and only ordered leftovers keep salvage
    items, skus, merchants, surv = perishable(
        [1.0, 3.0, 6.0], 7.0, on_hand=3, on_hand_expires=2.0, salvage_at=6.5
    )
    items["return_rate"] = [0.2, 0.1, 0.3]
    items["live_price"] = [20.0, 15.0, 25.0]
    out = expected_outcomes(items, skus, surv, pd.Series([6]), pd.Series([4, 3, 2])).iloc[0]
    # the best split of that allocation: stream 0 gets the 3 on-hand units (sold first) and 1
    # ordered unit, streams 1 and 2 get 3 and 2 ordered units; simulated with binomial returns
    rng = np.random.default_rng(1)
    n = 400_000
    kept0, kept1, revenue, sold = (np.zeros(n) for _ in range(4))
    for k, (a0, a1) in enumerate([(3, 1), (0, 3), (0, 2)]):
        d = rng.integers(0, 10, n)
        s0 = np.minimum(d, a0)
        s1 = np.minimum(d, a0 + a1) - s0
        r = items["return_rate"].iloc[k]
        k0 = s0 - rng.binomial(s0, r)
        k1 = s1 - rng.binomial(s1, r)
        revenue += items["live_price"].iloc[k] * (k0 + k1)
        kept0, kept1, sold = kept0 + k0, kept1 + k1, sold + s0 + s1
    profit = revenue + 0.0 * (3 - kept0) + 2.0 * (6 - kept1) - 8.0 * 6
    for col, sample in [("expected_sales", sold), ("expected_profit", profit)]:
        tol = 5 * sample.std() / math.sqrt(n)
        assert abs(out[col] - sample.mean()) <= tol, col


# ---- the optimiser against brute force --------------------------------------------------


def random_perishable_instance(seed: int) -> tuple:
    """1-3 SKUs of one merchant, 1-3 streams, expiry dates that cut streams and salvage."""
    rng = np.random.default_rng(seed)
    items, skus, pmfs = [], [], []
    for i in range(int(rng.integers(1, 4))):
        cost = float(rng.uniform(3, 10))
        k = int(rng.integers(1, 4))
        starts = np.sort(rng.uniform(0.5, 6, k))
        order_exp = float(rng.choice([np.nan, rng.uniform(1, 8)]))
        skus.append(
            {
                "merchant_id": "m1",
                "sku_id": f"k{i}",
                "unit_cost": round(cost, 2),
                "salvage_value": round(float(rng.uniform(0, 0.6 * cost)), 2),
                "on_hand": int(rng.integers(0, 4)),
                "case_pack": int(rng.integers(1, 3)),
                "moq": int(rng.choice([0, 0, 3])),
                "unit_volume_l": 1.0,
                "order_expires_at": pd.NaT if np.isnan(order_exp) else day(order_exp),
                "on_hand_expires_at": pd.NaT
                if np.isnan(order_exp)
                else day(order_exp - float(rng.uniform(0, 3))),
                "salvage_at": day(float(rng.uniform(2, 9))),
            }
        )
        for j in range(k):
            items.append(
                {
                    "stream_id": f"s{i}{j}",
                    "sku_id": f"k{i}",
                    "merchant_id": "m1",
                    "start_time": day(float(starts[j])),
                    "live_price": round(float(rng.uniform(1.2, 3.0) * cost), 2),
                    "return_rate": round(float(rng.uniform(0, 0.4)), 3),
                }
            )
            pmfs.append(poisson_pmf(float(rng.uniform(0.5, 4)), 7))
    skus = pd.DataFrame(skus)
    budget = float(rng.choice([np.nan, 0.5 * skus["unit_cost"].mean() * len(pmfs) * 2]))
    merchants = pd.DataFrame({"merchant_id": ["m1"], "budget": [budget], "capacity_l": [np.nan]})
    return pd.DataFrame(items), skus, merchants, pmfs


def brute_force_orders(items, skus, merchants, pmfs) -> tuple[float, set]:
    values = []
    for _, s in skus.iterrows():
        rows = np.flatnonzero(items["sku_id"].to_numpy() == s["sku_id"])
        starts = items["start_time"].iloc[rows]
        e0, e1, at = s["on_hand_expires_at"], s["order_expires_at"], s["salvage_at"]
        ok0 = np.ones(rows.size, bool) if pd.isna(e0) else (starts < e0).to_numpy()
        ok1 = np.ones(rows.size, bool) if pd.isna(e1) else (starts < e1).to_numpy()
        v = s["salvage_value"]
        v0 = v if pd.isna(e0) or e0 > at else 0.0
        v1 = v if pd.isna(e1) or e1 > at else 0.0
        price = items["live_price"].to_numpy()[rows]
        rate = items["return_rate"].to_numpy()[rows]
        opts = {}
        cp, top = int(s["case_pack"]), 8 * rows.size + 2
        for q in [0] + [q for q in range(cp, top, cp) if q >= s["moq"]]:
            val = best_split_value(
                [pmfs[r] for r in rows], price, rate, v0, v1, ok0, ok1, int(s["on_hand"]), q
            )
            opts[q] = val - s["unit_cost"] * q
        values.append(opts)
    budget = merchants["budget"].iloc[0]
    best, argmax = -np.inf, set()
    for qs in itertools.product(*(sorted(v) for v in values)):
        if not np.isnan(budget) and float(skus["unit_cost"].to_numpy() @ np.array(qs)) > budget:
            continue
        total = sum(v[q] for v, q in zip(values, qs, strict=True))
        if total > best + 1e-9:
            best, argmax = total, {qs}
        elif total > best - 1e-9:
            argmax.add(qs)
    return best, argmax


@pytest.mark.parametrize("seed", range(15))
def test_perishable_plans_match_brute_force(seed: int) -> None:
    items, skus, merchants, pmfs = random_perishable_instance(seed)
    surv = [survival(p) for p in pmfs]
    result = plan_orders(items, skus, merchants, surv, OptimiserSettings())
    best, argmax = brute_force_orders(items, skus, merchants, pmfs)
    assert tuple(result.plan["order_qty"]) in argmax
    assert result.stats.objective == pytest.approx(best, abs=1e-6)
    again = expected_outcomes(
        items, skus, surv, result.plan["order_qty"], result.allocation["allocated_units"]
    )
    assert again["expected_profit"].sum() == pytest.approx(best, abs=1e-6)
