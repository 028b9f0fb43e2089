"""Service levels (a minimum expected fill rate per SKU): hand-computed answers, infeasible and
unreachable levels, brute force, and how the config reaches the optimiser's inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from demandmatch.config import ServiceLevels
from demandmatch.forecast import DemandForecast
from demandmatch.optimise import plan_orders
from demandmatch.pipeline import optimiser_inputs
from demandmatch.tables import Tables
from tests.test_optimise import newsvendor, random_instance, run, stream_sales


def with_level(inst, level: float | list[float]):
    inst.skus["min_fill_rate"] = level
    return inst


def test_fill_rate_raises_the_newsvendor_order() -> None:
    # D uniform on 0..9: E[min(D, q)] = sum_{u <= q} (10 - u) / 10, E[D] = 4.5;
    # fill 6 -> 3.9 / 4.5 = 0.867, 7 -> 4.2 / 4.5 = 0.933, 8 -> 4.4 / 4.5 = 0.978
    row = run(with_level(newsvendor(), 0.95)).plan.iloc[0]
    assert row["order_qty"] == 8
    assert row["fill_rate"] == pytest.approx(4.4 / 4.5)
    assert row["expected_profit"] == pytest.approx(16.2 * 4.4 + 2 * 8 - 8 * 8)
    assert row["flags"] == "service_level"
    assert run(with_level(newsvendor(), 0.9)).plan["order_qty"].iloc[0] == 7
    assert run(with_level(newsvendor(), 0.85)).plan["order_qty"].iloc[0] == 6  # profit-best


def test_case_pack_and_moq_round_the_required_order_up() -> None:
    assert run(with_level(newsvendor(case_pack=3), 0.95)).plan["order_qty"].iloc[0] == 9
    assert run(with_level(newsvendor(moq=10), 0.5)).plan["order_qty"].iloc[0] == 10


def test_stock_on_hand_that_meets_the_level_orders_nothing_more() -> None:
    row = run(with_level(newsvendor(on_hand=8), 0.95)).plan.iloc[0]
    assert row["order_qty"] == 0 and row["flags"] == ""


def test_a_level_no_order_can_reach_is_flagged() -> None:
    row = run(with_level(newsvendor(on_hand=3, orderable=False), 0.9)).plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "lead_time;service_unreachable"


def test_budget_too_small_for_every_level_drops_them_and_says_so() -> None:
    a, b = newsvendor(budget=100.0), newsvendor()
    b.items["sku_id"] = "k2"
    b.skus["sku_id"] = "k2"
    items = pd.concat([a.items, b.items], ignore_index=True)
    skus = pd.concat([a.skus, b.skus], ignore_index=True)
    surv = a.survival + b.survival
    plain = plan_orders(items, skus, a.merchants, surv)
    # 8 units each for 0.95: 2 x 64 yuan > 100
    result = plan_orders(items, skus.assign(min_fill_rate=0.95), a.merchants, surv)
    assert result.plan["order_qty"].tolist() == plain.plan["order_qty"].tolist()
    assert all("service_infeasible" in f for f in result.plan["flags"])
    assert not bool(result.shadow_prices["service_levels_met"].iloc[0])
    assert result.stats.n_service_infeasible == 1
    # a budget that pays for both levels meets them
    enough = a.merchants.assign(budget=130.0)
    met = plan_orders(items, skus.assign(min_fill_rate=0.95), enough, surv)
    assert met.plan["order_qty"].tolist() == [8, 8]
    assert bool(met.shadow_prices["service_levels_met"].iloc[0])


# ---- brute force ------------------------------------------------------------------------


def outcome_at(inst, sku: int, q: int) -> tuple[float, float]:
    """(best contract profit over every allocation, its expected sales) for order q."""
    s = inst.skus.iloc[sku]
    rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
    stock = int(s["on_hand"]) + q
    tables = [
        np.array([stream_sales(inst.pmfs[r], a) for a in range(min(stock, inst.pmfs[r].size) + 1)])
        for r in rows
    ]
    grids = np.meshgrid(*[np.arange(t.size) for t in tables], indexing="ij")
    revenue, sold, back = (np.zeros(grids[0].shape) for _ in range(3))
    for r, t, g in zip(rows, tables, grids, strict=True):
        it = inst.items.iloc[r]
        revenue += it["live_price"] * (1 - it["return_rate"]) * t[g]
        sold += t[g]
        back += it["return_rate"] * t[g]
    profit = revenue + s["salvage_value"] * (stock - sold + back) - s["unit_cost"] * q
    profit = np.where(sum(grids) <= stock, profit, -np.inf)
    at = np.unravel_index(np.argmax(profit), profit.shape)
    return float(profit[at]), float(sold[at])


@pytest.mark.parametrize("seed", range(12))
def test_service_levels_match_brute_force(seed: int) -> None:
    inst = random_instance(300 + seed, capacity_share=np.nan, allow_closed=False)
    rng = np.random.default_rng(seed)
    levels = rng.choice([np.nan, 0.5, 0.8], len(inst.skus))
    inst.skus["min_fill_rate"] = levels
    inst.skus["unit_volume_l"] = np.nan
    skus, budget = inst.skus, inst.merchants["budget"].iloc[0]
    options, table = [], []
    for i, s in skus.iterrows():
        rows = inst.items["sku_id"].to_numpy() == s["sku_id"]
        top = sum(inst.pmfs[r].size for r in np.flatnonzero(rows)) + int(s["case_pack"])
        qs = [0] + [q for q in range(s["case_pack"], top + 1, s["case_pack"]) if q >= s["moq"]]
        demand = sum(
            float(np.arange(inst.pmfs[r].size) @ inst.pmfs[r]) for r in np.flatnonzero(rows)
        )
        out = {q: outcome_at(inst, i, q) for q in qs}
        fill = {q: sales / demand if demand > 0 else 1.0 for q, (_, sales) in out.items()}
        options.append(qs)
        table.append((out, fill))
    cost = skus["unit_cost"].to_numpy()

    def best_plan(use_levels: bool) -> tuple[float, list]:
        best, argmax = -np.inf, []
        for qs in itertools.product(*options):
            if not np.isnan(budget) and float(cost @ np.array(qs)) > budget:
                continue
            ok = all(
                np.isnan(levels[i]) or table[i][1][q] >= levels[i] - 1e-12 for i, q in enumerate(qs)
            )
            if use_levels and not ok:
                continue
            total = sum(table[i][0][q][0] for i, q in enumerate(qs))
            if total > best + 1e-9:
                best, argmax = total, [qs]
            elif total > best - 1e-9:
                argmax.append(qs)
        return best, argmax

    best, argmax = best_plan(True)
    result = run(inst)
    reachable = all(
        np.isnan(levels[i]) or max(table[i][1].values()) >= levels[i] - 1e-12
        for i in range(len(skus))
    )
    met = bool(result.shadow_prices["service_levels_met"].iloc[0])
    if reachable and met:
        assert tuple(result.plan["order_qty"]) in argmax
        assert result.stats.objective == pytest.approx(best, abs=1e-6)
        fills = result.plan["fill_rate"].to_numpy()
        assert all(np.isnan(v) or f >= v - 1e-9 for f, v in zip(fills, levels, strict=True))
    elif not met:  # the budget cannot pay for every level: the plan ignores them
        assert best == -np.inf or best < best_plan(False)[0] + 1e-9
        assert result.stats.objective == pytest.approx(best_plan(False)[0], abs=1e-6)


# ---- from the config to the optimiser's inputs ------------------------------------------


def tiny_forecast() -> tuple[DemandForecast, Tables]:
    as_of = pd.Timestamp("2024-05-01 00:00", tz="UTC")
    catalog = pd.DataFrame(
        {
            "merchant_id": ["m", "m", "m"],
            "sku_id": ["a", "b", "c"],
            "category": ["fresh", "fresh", "home"],
            "unit_cost": [5.0, 5.0, 5.0],
            "salvage_value": [1.0, 1.0, 1.0],
            "on_hand": [0, 0, 0],
            "case_pack": [1, 1, 1],
            "moq": [0, 0, 0],
            "lead_time_days": [1, 3, 0],
            "shelf_life_days": [4.0, 4.0, np.nan],
            "unit_volume_l": [1.0, 1.0, 1.0],
        }
    )
    lineup = pd.DataFrame(
        {
            "stream_id": ["s1", "s1", "s1"],
            "sku_id": ["a", "b", "c"],
            "merchant_id": ["m", "m", "m"],
            "start_time": [as_of + pd.Timedelta(days=2)] * 3,
            "live_price": [10.0, 10.0, 10.0],
        }
    )
    forecasts = pd.DataFrame({"return_rate": [0.0, 0.0, 0.0]})
    fc = DemandForecast(as_of, 14, lineup, forecasts, [np.array([0.5])] * 3, 0)
    merchants = pd.DataFrame({"merchant_id": ["m"], "budget": [np.nan], "capacity_l": [np.nan]})
    empty = pd.DataFrame()
    return fc, Tables(merchants, catalog, empty, empty, empty, empty)


def test_optimiser_inputs_carry_expiry_and_service_levels() -> None:
    fc, tables = tiny_forecast()
    levels = ServiceLevels(default=0.5, categories={"fresh": 0.8}, skus={"a": 0.9})
    _, skus, _ = optimiser_inputs(fc, tables, levels)
    assert skus["min_fill_rate"].tolist() == [0.9, 0.8, 0.5]
    assert skus["orderable"].tolist() == [True, False, True]
    day = pd.Timedelta(days=1)
    assert skus["order_expires_at"].iloc[0] == fc.as_of + 5 * day  # arrives day 1, keeps 4
    assert skus["on_hand_expires_at"].iloc[0] == fc.as_of + 4 * day
    assert pd.isna(skus["order_expires_at"].iloc[2])
    assert (skus["salvage_at"] == fc.as_of + 14 * day).all()
    _, plain, _ = optimiser_inputs(fc, tables)
    assert plain["min_fill_rate"].isna().all()
