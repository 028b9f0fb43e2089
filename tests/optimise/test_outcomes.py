"""Expected outcomes of a given plan (demandmatch.optimise.outcomes) against Monte Carlo and
the brute-force oracle, with orders that arrive between streams and stock that expires."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from demandmatch.optimise import expected_outcomes
from demandmatch.optimise.outcomes import OUTCOME_COLUMNS, allocate, plan_inputs
from tests.optimise.conftest import (
    Instance,
    batches,
    day,
    newsvendor,
    order_values,
    random_instance,
    survival,
    uniform_pmf,
)


def test_expected_outcomes_match_monte_carlo() -> None:
    inst = random_instance(11, n_skus=3, late_share=0.0)
    q = pd.Series([3, 0, 5][: len(inst.skus)], index=inst.skus.index) * inst.skus["case_pack"]
    out = expected_outcomes(inst.items, inst.skus, inst.survival, q)
    assert list(out.columns) == list(OUTCOME_COLUMNS)
    alloc = allocate(inst.items, inst.skus, inst.survival, q).to_numpy()
    rng = np.random.default_rng(0)
    n = 200_000
    for i, s in inst.skus.iterrows():
        rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
        stock = s["on_hand"] + q[i]
        sold = np.zeros(n)
        back = np.zeros(n)
        demand = np.zeros(n)
        kept_value = np.zeros(n)
        for r in rows:
            pmf, it = inst.pmfs[r], inst.items.iloc[r]
            d = rng.choice(pmf.size, size=n, p=pmf)
            sales = np.minimum(d, alloc[r])
            returned = rng.binomial(sales, it["return_rate"])
            demand, sold, back = demand + d, sold + sales, back + returned
            kept_value += it["live_price"] * (sales - returned)
        leftover = stock - sold + back
        profit = kept_value + s["salvage_value"] * leftover - s["unit_cost"] * q[i]
        for col, sample in [
            ("expected_demand", demand),
            ("expected_sales", sold),
            ("expected_leftover", leftover),
            ("expected_lost_sales", demand - sold),
            ("expected_profit", profit),
        ]:
            tol = 5 * sample.std() / math.sqrt(n) + 1e-12
            assert abs(out[col].iloc[i] - sample.mean()) <= tol, col


def test_expected_outcomes_accepts_keyed_series_and_rejects_overallocation() -> None:
    inst = newsvendor(on_hand=2)
    q = pd.Series(
        [4], index=pd.MultiIndex.from_tuples([("m1", "k")], names=["merchant_id", "sku_id"])
    )
    out = expected_outcomes(inst.items, inst.skus, inst.survival, q)
    assert out["stock_after"].iloc[0] == 6
    keyed = pd.Series(
        [3], index=pd.MultiIndex.from_tuples([("s1", "k")], names=["stream_id", "sku_id"])
    )
    out = expected_outcomes(inst.items, inst.skus, inst.survival, q, keyed)
    assert out["expected_sales"].iloc[0] == pytest.approx(0.9 + 0.8 + 0.7)
    with pytest.raises(ValueError, match="exceeds its stock"):
        expected_outcomes(inst.items, inst.skus, inst.survival, q, pd.Series([7]))


@pytest.mark.parametrize("seed", range(12))
def test_best_outcome_with_late_orders_matches_brute_force(seed: int) -> None:
    inst = random_instance(400 + seed, late_share=0.7, perishable=bool(seed % 2))
    for i in range(len(inst.skus)):
        values = order_values(inst, i)
        q = pd.Series(0, index=inst.skus.index)
        for qty in list(values)[:4]:
            q.iloc[i] = qty
            out = expected_outcomes(inst.items, inst.skus, inst.survival, q)
            assert out["expected_profit"].iloc[i] == pytest.approx(values[qty], abs=1e-9)


def late_pair(on_hand: int) -> Instance:
    """Two streams (days 0 and 2) with D uniform on 0..9, price 20, salvage 2, no returns; an
    order placed now arrives on day 1."""
    inst = newsvendor(on_hand=on_hand, arrives=1.0)
    inst.items = pd.concat(
        [inst.items, inst.items.assign(stream_id="s2", start_time=day(2))], ignore_index=True
    ).assign(return_rate=0.0)
    inst.pmfs = [uniform_pmf(0, 9)] * 2
    return inst


def test_a_given_allocation_before_the_arrival_is_served_from_stock_on_hand_only() -> None:
    # 3 on hand, 5 ordered; the plan offers 6 units in stream 0 and 2 in stream 1: stream 0 can
    # only get the 3 on hand, stream 1 gets 2 ordered units, 3 ordered units are left over
    inst = late_pair(on_hand=3)
    out = expected_outcomes(
        inst.items, inst.skus, inst.survival, pd.Series([5]), pd.Series([6, 2])
    ).iloc[0]
    sales = sum((10 - u) / 10 for u in range(1, 4)) + sum((10 - u) / 10 for u in range(1, 3))
    assert out["expected_sales"] == pytest.approx(sales)
    assert out["expected_profit"] == pytest.approx(20 * sales + 2 * (8 - sales) - 8 * 5)
    # the same as the plan that offers what each stream can get
    exact = expected_outcomes(
        inst.items, inst.skus, inst.survival, pd.Series([5]), pd.Series([3, 2])
    ).iloc[0]
    assert exact["expected_profit"] == pytest.approx(out["expected_profit"])


def test_plan_inputs_say_where_an_order_can_be_sold() -> None:
    inst = late_pair(on_hand=1)
    inputs = plan_inputs(inst.items, inst.skus, inst.survival)
    assert inputs.order_reaches_from[0] == day(2)
    assert inputs.sellable[0].tolist() == [True, True]
    assert inputs.sellable[1].tolist() == [False, True]
    assert inputs.early_rows.tolist() == [True, False]
    assert inputs.pooled.tolist() == [True] and inputs.reached.tolist() == [True]
    never = plan_inputs(inst.items, inst.skus.assign(order_arrives_at=day(3)), inst.survival)
    assert pd.isna(never.order_reaches_from[0]) and never.reached.tolist() == [False]
    b = batches(inst, 0)
    assert b.ok1.tolist() == inputs.sellable[1].tolist()


def test_expected_outcomes_with_batches_match_monte_carlo() -> None:
    # 3 on hand expire on day 2; the order arrives on day 2 and keeps to day 7; leftovers are
    # valued on day 6.5: stream 0 (day 1) sells only on-hand units, streams 1 (day 3) and 2
    # (day 6) only ordered ones, and only ordered leftovers keep their salvage
    items = pd.DataFrame(
        {
            "stream_id": ["s0", "s1", "s2"],
            "sku_id": "k",
            "merchant_id": "m1",
            "start_time": [day(1), day(3), day(6)],
            "live_price": [20.0, 15.0, 25.0],
            "return_rate": [0.2, 0.1, 0.3],
        }
    )
    skus = pd.DataFrame(
        {
            "merchant_id": ["m1"],
            "sku_id": ["k"],
            "unit_cost": [8.0],
            "salvage_value": [2.0],
            "on_hand": [3],
            "case_pack": [1],
            "moq": [0],
            "on_hand_expires_at": [day(2)],
            "order_expires_at": [day(7)],
            "order_arrives_at": [day(2)],
            "salvage_at": [day(6.5)],
        }
    )
    surv = [survival(uniform_pmf(0, 9))] * 3
    out = expected_outcomes(items, skus, surv, pd.Series([6]), pd.Series([4, 3, 2])).iloc[0]
    # stream 0 gets the 3 units on hand (its 4th unit cannot come from the order), streams 1
    # and 2 get 3 and 2 ordered units; simulated with binomial returns
    rng = np.random.default_rng(1)
    n = 400_000
    kept0, kept1, revenue, sold = (np.zeros(n) for _ in range(4))
    for k, (a0, a1) in enumerate([(3, 0), (0, 3), (0, 2)]):
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
