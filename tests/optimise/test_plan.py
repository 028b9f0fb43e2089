"""The purchase plan against the brute-force oracle (tests.optimise.conftest) and hand-computed
answers: packs, MOQs, budget, space, arrivals, flags, shadow prices and solver statuses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.linear_solver import pywraplp

from demandmatch.data.schema import ALLOCATION_COLUMNS, PLAN_COLUMNS
from demandmatch.optimise import OptimiserError, interpret_status, merchant, mip, plan_orders
from demandmatch.optimise.types import ALLOCATION_EXTRA_COLUMNS, PLAN_EXTRA_COLUMNS
from tests.optimise.conftest import (
    assert_feasible,
    batches,
    brute_force,
    newsvendor,
    plan_profit,
    random_instance,
    run,
)

# ---- brute force ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_matches_brute_force_on_random_instances(seed: int) -> None:
    inst = random_instance(seed)
    result = run(inst)
    best, argmax, runner_up = brute_force(inst)
    assert list(result.plan.columns) == [*PLAN_COLUMNS, *PLAN_EXTRA_COLUMNS]
    assert list(result.allocation.columns) == [*ALLOCATION_COLUMNS, *ALLOCATION_EXTRA_COLUMNS]
    assert_feasible(inst, result)
    got = plan_profit(inst, result)
    assert got == pytest.approx(best, abs=1e-6)
    assert result.plan["expected_profit"].sum() == pytest.approx(got, abs=1e-9)
    assert result.stats.objective == pytest.approx(best, abs=1e-6)
    assert result.stats.best_bound >= best - 1e-6
    assert tuple(result.plan["order_qty"]) in argmax
    if len(argmax) == 1 and runner_up < best - 1e-6:
        assert tuple(result.plan["order_qty"]) == argmax[0]


@pytest.mark.parametrize("seed", range(6))
def test_tight_budget_and_capacity_together(seed: int) -> None:
    inst = random_instance(100 + seed, n_skus=3, budget_share=0.4, capacity_share=0.4)
    result = run(inst)
    best, argmax, _ = brute_force(inst)
    assert_feasible(inst, result)
    assert plan_profit(inst, result) == pytest.approx(best, abs=1e-6)
    assert tuple(result.plan["order_qty"]) in argmax


@pytest.mark.parametrize("seed", range(6))
def test_thinned_breakpoints_stay_feasible_and_close(seed: int) -> None:
    inst = random_instance(200 + seed, n_skus=3, budget_share=0.5, late_share=0.0)
    inst.skus["case_pack"] = 1
    inst.skus["moq"] = [0, 3, 5]
    result = run(inst, max_breakpoints=3)
    best, _, _ = brute_force(inst)
    assert_feasible(inst, result)
    got = plan_profit(inst, result)
    assert got <= best + 1e-6
    assert got >= best - 0.02 * abs(best) - 1e-6
    assert result.stats.best_bound >= best - 1e-6
    assert result.stats.objective <= result.stats.best_bound + 1e-9


# ---- hand-computed answers --------------------------------------------------------------


def test_newsvendor_critical_fractile() -> None:
    # u-th unit is worth 18 * 0.9 * P(D >= u) = 16.2 (10 - u) / 10 against c - v = 6:
    # unit 6 earns 6.48 > 6, unit 7 earns 4.86 < 6, so stock 6.
    result = run(newsvendor())
    row = result.plan.iloc[0]
    assert row["order_qty"] == 6
    assert row["expected_sales"] == pytest.approx(3.9)
    assert row["expected_demand"] == pytest.approx(4.5)
    assert row["expected_leftover"] == pytest.approx(6 - 3.9 + 0.39)
    assert row["expected_lost_sales"] == pytest.approx(0.6)
    assert row["fill_rate"] == pytest.approx(3.9 / 4.5)
    assert row["expected_profit"] == pytest.approx(16.2 * 3.9 + 2 * 6 - 8 * 6)
    assert row["flags"] == ""
    assert row["order_reaches_from"] == newsvendor().items["start_time"].iloc[0]
    assert result.allocation["allocated_units"].tolist() == [6]
    assert result.stats.status == "OPTIMAL"
    assert result.stats.solver == "enumeration"


def test_newsvendor_with_stock_on_hand_orders_the_difference() -> None:
    result = run(newsvendor(on_hand=4))
    assert result.plan["order_qty"].iloc[0] == 2
    assert result.allocation[["from_on_hand", "from_order"]].iloc[0].tolist() == [4, 2]


def test_case_pack_rounds_to_the_better_pack_count() -> None:
    # 4 units: 16.2 * 3.0 + 8 - 32 = 24.6; 8 units: 16.2 * 4.4 + 16 - 64 = 23.28
    row = run(newsvendor(case_pack=4)).plan.iloc[0]
    assert row["order_qty"] == 4
    assert row["expected_profit"] == pytest.approx(24.6)


def test_moq_that_exceeds_demand_is_flagged() -> None:
    # 20 units: 16.2 * 4.5 + 40 - 160 < 0
    row = run(newsvendor(moq=20)).plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "moq_exceeds_demand"


def test_thin_margin_is_flagged() -> None:
    # the best unit earns 16.2 * 0.9 + 2 = 16.58 < 19.5
    row = run(newsvendor(cost=19.5)).plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "no_margin"


def test_budget_cuts_the_newsvendor_and_prices_the_budget() -> None:
    # 2 units (16 yuan) fit; the 3rd unit would earn 16.2 * 0.7 - 6 = 5.34 for 8 yuan
    result = run(newsvendor(budget=20.0))
    row = result.plan.iloc[0]
    assert row["order_qty"] == 2
    assert row["flags"] == "budget_binds"
    prices = result.shadow_prices.iloc[0]
    assert bool(prices["budget_binds"]) and not bool(prices["capacity_binds"])
    assert prices["budget_shadow_price"] == pytest.approx(5.34 / 8)
    assert prices["capacity_shadow_price"] == 0.0


def test_an_order_that_arrives_after_the_last_stream_is_not_placed() -> None:
    # the stream starts on day 0; an order arriving at its start still sells there
    result = run(newsvendor(on_hand=3, arrives=0.5))
    row = result.plan.iloc[0]
    assert row["order_qty"] == 0 and row["stock_after"] == 3
    assert row["flags"] == "lead_time"
    assert pd.isna(row["order_reaches_from"])
    assert run(newsvendor(on_hand=3, arrives=0.0)).plan["order_qty"].iloc[0] == 3


def test_capacity_exceeded_by_stock_on_hand() -> None:
    inst = newsvendor(on_hand=5)
    inst.merchants["capacity_l"] = 4.0
    result = run(inst)
    assert result.plan["order_qty"].iloc[0] == 0
    assert result.plan["flags"].iloc[0] == "capacity_exceeded"
    assert bool(result.shadow_prices["capacity_binds"].iloc[0])


def test_merchants_solve_independently_and_absent_means_no_limit() -> None:
    a, b = newsvendor(budget=20.0), newsvendor()
    b.items["merchant_id"] = "m2"
    b.skus["merchant_id"] = "m2"
    items = pd.concat([a.items, b.items], ignore_index=True)
    skus = pd.concat([a.skus, b.skus], ignore_index=True)
    result = plan_orders(items, skus, a.merchants, a.survival + b.survival)
    assert result.plan["order_qty"].tolist() == [2, 6]
    assert result.shadow_prices["merchant_id"].tolist() == ["m1", "m2"]


def test_two_streams_share_stock_by_marginal_value() -> None:
    inst = newsvendor(on_hand=6, arrives=3.0)
    second = inst.items.assign(stream_id="s2", live_price=11.0, return_rate=0.0)
    inst.items = pd.concat([inst.items, second], ignore_index=True)
    inst.pmfs = inst.pmfs * 2
    # stream 1 unit u: 16.2 P(D>=u) = 14.58, 12.96, 11.34, 9.72, 8.1, 6.48, ...
    # stream 2 unit u:  9.0 P(D>=u) =  8.1,  7.2,  6.3, ...
    result = run(inst)
    assert result.allocation["allocated_units"].tolist() == [5, 1]


# ---- properties -------------------------------------------------------------------------

SMALL = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@SMALL
@given(st.integers(0, 10**6), st.floats(0.05, 1.0), st.floats(1.0, 3.0))
def test_more_budget_never_lowers_profit(seed: int, share: float, more: float) -> None:
    inst = random_instance(seed, budget_share=share, capacity_share=np.nan)
    low = run(inst).stats.objective
    inst.merchants["budget"] *= more
    assert run(inst).stats.objective >= low - 1e-6


@SMALL
@given(st.integers(0, 10**6))
def test_zero_budget_orders_nothing(seed: int) -> None:
    inst = random_instance(seed, budget_share=0.0)
    assert (run(inst).plan["order_qty"] == 0).all()


@SMALL
@given(st.integers(0, 10**6), st.sampled_from([np.nan, 0.3, 1.0]), st.sampled_from([0.2, 0.7]))
def test_orders_respect_packs_moq_limits_and_arrivals(
    seed: int, budget_share: float, capacity_share: float
) -> None:
    inst = random_instance(seed, budget_share=budget_share, capacity_share=capacity_share)
    result = run(inst)
    assert_feasible(inst, result)
    for i, flags in enumerate(result.plan["flags"]):
        reach = batches(inst, i).ok1
        assert ("lead_time" in flags.split(";")) == (not reach.any())
        assert ("late_arrival" in flags.split(";")) == bool(reach.any() and not reach.all())
        if not reach.any():
            assert result.plan["order_qty"].iloc[i] == 0


def test_zero_demand_has_full_fill_rate() -> None:
    inst = newsvendor()
    inst.pmfs = [np.array([1.0])]
    row = run(inst).plan.iloc[0]
    assert row["order_qty"] == 0 and row["fill_rate"] == 1.0
    assert row["flags"] == "no_margin"


# ---- inputs and solver statuses ---------------------------------------------------------


def test_bad_survival_is_rejected() -> None:
    inst = newsvendor()
    with pytest.raises(ValueError, match="increases"):
        plan_orders(inst.items, inst.skus, inst.merchants, [np.array([0.2, 0.5])])
    with pytest.raises(ValueError, match="survival has 0 arrays"):
        plan_orders(inst.items, inst.skus, inst.merchants, [])


def test_items_without_a_sku_row_are_rejected() -> None:
    inst = newsvendor()
    inst.items["sku_id"] = "other"
    with pytest.raises(ValueError, match="has no skus row"):
        run(inst)


def test_the_old_orderable_column_is_a_clear_error() -> None:
    inst = newsvendor()
    inst.skus["orderable"] = False
    with pytest.raises(ValueError, match="order_arrives_at"):
        run(inst)


def test_an_arrival_needs_stream_start_times() -> None:
    inst = newsvendor(arrives=1.0)
    inst.items = inst.items.drop(columns="start_time")
    with pytest.raises(ValueError, match="start_time"):
        run(inst)


@pytest.mark.parametrize(
    "status",
    [
        pywraplp.Solver.INFEASIBLE,
        pywraplp.Solver.UNBOUNDED,
        pywraplp.Solver.ABNORMAL,
        pywraplp.Solver.NOT_SOLVED,
        pywraplp.Solver.MODEL_INVALID,
    ],
)
def test_failed_solves_raise(status: int) -> None:
    with pytest.raises(OptimiserError):
        interpret_status(status, timed_out=False, solver_name="SCIP")


def test_solver_statuses_that_are_kept() -> None:
    assert interpret_status(pywraplp.Solver.OPTIMAL, False) == "OPTIMAL"
    assert interpret_status(pywraplp.Solver.FEASIBLE, True) == "FEASIBLE"
    assert interpret_status(pywraplp.Solver.NOT_SOLVED, True) == "TIME_LIMIT"


def test_time_limit_without_solution_falls_back_to_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_solution(*args: object, **kwargs: object) -> mip.MipRun:
        return mip.MipRun("TIME_LIMIT", None, math.inf, 0, 0)

    inst = random_instance(1, 3, budget_share=0.2, capacity_share=np.nan, late_share=0.0)
    assert run(inst).stats.solver == "SCIP"
    monkeypatch.setattr(merchant, "run_mip", no_solution)
    result = run(inst)
    assert result.stats.status in ("TIME_LIMIT", "OPTIMAL")
    assert_feasible(inst, result)
    assert result.stats.best_bound >= brute_force(inst)[0] - 1e-6


def test_unknown_solver_is_a_clear_error() -> None:
    with pytest.raises(OptimiserError, match="not available"):
        run(newsvendor(budget=20.0), solver="NO_SUCH_SOLVER")
