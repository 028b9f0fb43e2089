"""Orders arrive when they arrive: an order placed now serves only the streams that start at
or after its arrival, earlier streams sell from stock on hand only, and `lead_time` is left for
SKUs no order can reach. Plans against the brute-force oracle (tests.optimise.conftest) with
MOQs, case packs, budgets and shelf life, and hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.optimise import OptimiserSettings
from tests.optimise.conftest import (
    Instance,
    assert_feasible,
    batches,
    brute_force,
    day,
    newsvendor,
    plan_profit,
    random_pmf,
    run,
    uniform_pmf,
)


def landing_between(seed: int, perishable: bool = False, budget: bool = True) -> Instance:
    """2-3 SKUs of one merchant with 2-4 streams a day apart; every order lands strictly between
    two of its SKU's streams. Stock on hand, packs, MOQs, returns, a budget that binds about
    half the time and, when `perishable`, expiry dates that cut streams and salvage."""
    rng = np.random.default_rng(seed)
    items, skus, pmfs = [], [], []
    for i in range(int(rng.integers(2, 4))):
        k = int(rng.integers(2, 5))
        cost = float(rng.uniform(3, 12))
        arrives = int(rng.integers(0, k - 1)) + float(rng.uniform(0.1, 0.9))
        row = {
            "merchant_id": "m1",
            "sku_id": f"k{i}",
            "unit_cost": round(cost, 2),
            "salvage_value": round(float(rng.uniform(0, 0.5 * cost)), 2),
            "on_hand": int(rng.integers(0, 5)),
            "case_pack": int(rng.choice([1, 2, 3])),
            "moq": int(rng.choice([0, 0, 3, 6])),
            "unit_volume_l": 1.0,
            "order_arrives_at": day(arrives),
        }
        if perishable:
            keeps = float(rng.uniform(1.0, 3.0))
            row["order_expires_at"] = day(arrives + keeps)
            row["on_hand_expires_at"] = day(float(rng.uniform(0.5, arrives + keeps)))
            row["salvage_at"] = day(float(rng.uniform(1.0, k + 1.0)))
        skus.append(row)
        for j in range(k):
            items.append(
                {
                    "stream_id": f"s{j}",
                    "sku_id": f"k{i}",
                    "merchant_id": "m1",
                    "start_time": day(j),
                    "live_price": round(float(rng.uniform(1.2, 3.0) * cost), 2),
                    "return_rate": round(float(rng.choice([0.0, rng.uniform(0, 0.4)])), 3),
                }
            )
            pmfs.append(random_pmf(rng, 7))
    skus_df = pd.DataFrame(skus)
    share = float(rng.choice([0.1, 0.2])) if budget else np.nan
    spend = float(skus_df["unit_cost"].mean()) * sum(p.size for p in pmfs) / 2
    merchants = pd.DataFrame(
        {"merchant_id": ["m1"], "budget": [share * spend], "capacity_l": [np.nan]}
    )
    return Instance(pd.DataFrame(items), skus_df, merchants, pmfs)


def assert_matches_brute_force(inst: Instance, **settings: object) -> None:
    result = run(inst, **settings)
    best, argmax, _ = brute_force(inst)
    assert_feasible(inst, result)  # includes: no ordered unit before the arrival
    assert tuple(result.plan["order_qty"]) in argmax
    assert result.stats.objective == pytest.approx(best, abs=1e-6)
    assert plan_profit(inst, result) == pytest.approx(best, abs=1e-6)
    alloc = result.allocation
    starts = inst.items["start_time"]
    for i, s in inst.skus.iterrows():
        rows = batches(inst, i).rows
        before = (starts.iloc[rows] < s["order_arrives_at"]).to_numpy()
        assert before.any() and not before.all()  # the order lands between two streams
        assert (alloc["from_order"].to_numpy()[rows][before] == 0).all()
        first = starts.iloc[rows][~before].min()
        reaches = result.plan["order_reaches_from"].iloc[i]
        if "order_expires_at" not in inst.skus:
            assert reaches == first
        flags = result.plan["flags"].iloc[i].split(";")
        assert "late_arrival" in flags and "lead_time" not in flags


@pytest.mark.parametrize("seed", range(20))
def test_orders_landing_between_streams_match_brute_force(seed: int) -> None:
    assert_matches_brute_force(landing_between(seed, budget=seed % 4 != 0))


@pytest.mark.parametrize("seed", range(12))
def test_late_orders_of_perishables_match_brute_force(seed: int) -> None:
    assert_matches_brute_force(landing_between(500 + seed, perishable=True))


@pytest.mark.parametrize("seed", range(4))
def test_late_orders_on_the_lagrangian_path_stay_feasible_and_bounded(seed: int) -> None:
    inst = landing_between(900 + seed)
    result = run(inst, mip_max_skus=0)
    best, _, _ = brute_force(inst)
    assert_feasible(inst, result)
    assert result.stats.objective <= best + 1e-6 <= result.stats.best_bound + 2e-6


# ---- hand-computed answers --------------------------------------------------------------


def two_streams(on_hand: int, arrives: float | None, **kw: object) -> Instance:
    """Streams on day 0 and day 2, each D uniform on 0..9 at price 20, salvage 2, 10% returns,
    cost 8 (a lone stream's newsvendor stocks 6)."""
    inst = newsvendor(on_hand=on_hand, arrives=arrives, **kw)
    second = inst.items.assign(stream_id="s2", start_time=day(2))
    inst.items = pd.concat([inst.items, second], ignore_index=True)
    inst.pmfs = [uniform_pmf(0, 9)] * 2
    return inst


def test_an_order_landing_between_two_streams_serves_the_second() -> None:
    # the order arrives on day 1: stream 0 sells the 2 units on hand, stream 1 gets the
    # newsvendor's 6 ordered units. Before, the plan ordered nothing (flag lead_time).
    result = run(two_streams(on_hand=2, arrives=1.0))
    row = result.plan.iloc[0]
    assert row["order_qty"] == 6
    assert row["flags"] == "late_arrival"
    assert row["order_reaches_from"] == day(2)
    assert result.allocation["from_on_hand"].tolist() == [2, 0]
    assert result.allocation["from_order"].tolist() == [0, 6]
    sales = sum((10 - u) / 10 for u in (1, 2)) + sum((10 - u) / 10 for u in range(1, 7))
    assert row["expected_sales"] == pytest.approx(sales)
    assert row["expected_profit"] == pytest.approx(16.2 * sales + 2 * 8 - 8 * 6)


def test_stock_on_hand_beyond_the_first_stream_goes_to_the_second() -> None:
    # 9 on hand: stream 0 gets the 6 that beat salvage there, ... and units past what stream 0
    # needs reduce the order for stream 1 one for one
    result = run(two_streams(on_hand=9, arrives=1.0))
    alloc = result.allocation
    assert (alloc["allocated_units"]).tolist() == [6, 6]
    assert alloc["from_on_hand"].tolist() == [6, 3]
    assert alloc["from_order"].tolist() == [0, 3]
    assert result.plan["order_qty"].iloc[0] == 3


def test_moq_and_case_pack_on_a_late_order() -> None:
    # packs of 4, MOQ 8: for stream 1 alone, 8 units earn 16.2 * 4.4 + 16 - 64 = 23.28 > 0
    row = run(two_streams(on_hand=0, arrives=1.0, case_pack=4, moq=8)).plan.iloc[0]
    assert row["order_qty"] == 8
    # an MOQ of 20 does not pay for one stream (16.2 * 4.5 + 40 - 160 < 0) though it would
    # for two; the flag says why nothing is ordered, then that the order would come late
    row = run(two_streams(on_hand=0, arrives=1.0, moq=20)).plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "moq_exceeds_demand;late_arrival"
    assert run(two_streams(on_hand=0, arrives=None, moq=20)).plan["order_qty"].iloc[0] == 20


def test_budget_on_a_late_order_prices_the_second_stream() -> None:
    # 20 yuan buy 2 units; the 3rd would earn 16.2 * 0.7 - 6 = 5.34 in stream 1
    result = run(two_streams(on_hand=2, arrives=1.0, budget=20.0))
    assert result.plan["order_qty"].iloc[0] == 2
    assert result.plan["flags"].iloc[0] == "late_arrival;budget_binds"
    assert result.shadow_prices["budget_shadow_price"].iloc[0] == pytest.approx(5.34 / 8)


def test_lead_time_only_when_no_stream_is_reachable() -> None:
    row = run(two_streams(on_hand=2, arrives=2.5)).plan.iloc[0]
    assert row["order_qty"] == 0 and row["flags"] == "lead_time"
    assert pd.isna(row["order_reaches_from"])
    exact = run(two_streams(on_hand=2, arrives=2.0)).plan.iloc[0]  # arrives at its start
    assert exact["order_qty"] == 6 and exact["order_reaches_from"] == day(2)


def test_a_service_level_only_stock_on_hand_can_serve_is_unreachable() -> None:
    # stream 0 needs 9 units for a 0.99 fill rate but only 2 are on hand
    inst = two_streams(on_hand=2, arrives=1.0)
    inst.skus["min_fill_rate"] = 0.99
    row = run(inst).plan.iloc[0]
    assert row["flags"] == "late_arrival;service_unreachable"
    inst.skus["min_fill_rate"] = 0.6  # reachable by ordering for stream 1 only
    result = run(inst, time_limit_s=10.0)
    assert result.plan["fill_rate"].iloc[0] >= 0.6
    assert "service_unreachable" not in result.plan["flags"].iloc[0]


def test_settings_do_not_change_a_late_plan() -> None:
    inst = landing_between(3)
    a = run(inst).plan["order_qty"].tolist()
    b = run(inst, **OptimiserSettings(max_breakpoints=200).__dict__).plan["order_qty"].tolist()
    assert a == b
