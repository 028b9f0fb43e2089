"""Shelf life in the plan: hand-computed answers and perishable plans against the brute-force
oracle (tests.optimise.conftest), which knows the expiry rules from the contract alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.optimise import OptimiserSettings, plan_orders
from demandmatch.optimise.outcomes import expected_outcomes
from tests.optimise.conftest import (
    assert_feasible,
    best_split_value,
    brute_force,
    day,
    random_instance,
    survival,
    uniform_pmf,
)


def perishable(
    starts: list[float],
    order_expires: float | None,
    on_hand: int = 0,
    on_hand_expires: float | None = None,
    salvage_at: float = 14.0,
    cost: float = 8.0,
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


def test_a_late_order_is_not_blamed_on_shelf_life() -> None:
    # the order arrives on day 3.5, after both streams: lead time, not shelf life
    items, skus, merchants, surv = perishable([1.0, 3.0], 5.0)
    skus["order_arrives_at"] = day(3.5)
    assert plan_orders(items, skus, merchants, surv).plan["flags"].iloc[0] == "lead_time"


def test_on_hand_that_expires_first_serves_the_early_stream() -> None:
    # 4 units on hand expire on day 2 (before stream 2 on day 3); ordered units last to day 9.
    # On-hand units can only go to stream 1 and are worth 0 at the end, ordered ones 2.
    items, skus, merchants, surv = perishable(
        [1.0, 3.0], 9.0, on_hand=4, on_hand_expires=2.0, salvage_at=5.0
    )
    result = plan_orders(items, skus, merchants, surv)
    alloc = result.allocation
    q = int(result.plan["order_qty"].iloc[0])
    pmfs = [uniform_pmf(0, 9)] * 2
    price, rate = np.array([20.0, 20.0]), np.zeros(2)
    ok0, ok1 = np.array([True, False]), np.array([True, True])
    values = {
        n: best_split_value(pmfs, price, rate, 0.0, 2.0, ok0, ok1, 4, n) - 8 * n for n in range(16)
    }
    assert q == max(values, key=lambda n: (values[n], -n))
    assert result.plan["expected_profit"].iloc[0] == pytest.approx(values[q], abs=1e-9)
    assert alloc["from_on_hand"].tolist() == [4, 0]  # the on-hand units sell where they can


@pytest.mark.parametrize("seed", range(15))
def test_perishable_plans_match_brute_force(seed: int) -> None:
    inst = random_instance(700 + seed, capacity_share=np.nan, perishable=True)
    result = plan_orders(*inst.inputs(), OptimiserSettings())
    best, argmax, _ = brute_force(inst)
    assert_feasible(inst, result)
    assert tuple(result.plan["order_qty"]) in argmax
    assert result.stats.objective == pytest.approx(best, abs=1e-6)
    again = expected_outcomes(
        inst.items,
        inst.skus,
        inst.survival,
        result.plan["order_qty"],
        result.allocation["allocated_units"],
    )
    assert again["expected_profit"].sum() == pytest.approx(best, abs=1e-6)
