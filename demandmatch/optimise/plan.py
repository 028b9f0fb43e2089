"""The whole purchase plan: inputs checked, per-SKU curves, one solve per merchant, the plan's
expected outcomes, its allocation, flags that explain it and the solver's statistics."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.linear_solver import pywraplp

from demandmatch.data.schema import ALLOCATION_COLUMNS, PLAN_COLUMNS
from demandmatch.optimise import flags as F
from demandmatch.optimise.curves import (
    TOL,
    SkuCurve,
    build_curves,
    column,
    expires,
    make_curve,
    unexpired,
)
from demandmatch.optimise.menu import Limits, eps
from demandmatch.optimise.merchant import MerchantPlan, plan_merchant
from demandmatch.optimise.outcomes import (
    ITEM_COLUMNS,
    SKU_COLUMNS,
    expected_min,
    plan_inputs,
    require_columns,
    score_plan,
)
from demandmatch.optimise.ranking import Ranked
from demandmatch.optimise.stock import place_stock
from demandmatch.optimise.types import (
    ALLOCATION_EXTRA_COLUMNS,
    PLAN_EXTRA_COLUMNS,
    SHADOW_COLUMNS,
    STATUS_RANK,
    OptimiserError,
    OptimiserSettings,
    PlanInputs,
    PlanResult,
    SolveStats,
)


@dataclass(frozen=True)
class MerchantProblem:
    """One merchant's part of the plan, as the solver sees it."""

    merchant_id: str
    rows: np.ndarray  # its skus positions
    curves: dict[int, SkuCurve]  # the SKUs an order can reach (arrives before a stream)
    limits: Limits  # budget, and space left after the stock on hand
    required: dict[int, int]  # fewest packs for a service level, per skus position
    over_capacity: bool  # stock on hand already exceeds the space: nothing can be ordered


@dataclass(frozen=True)
class Problem:
    inputs: PlanInputs
    curves: list[SkuCurve]
    ranked: Ranked  # the pooled SKUs' units, for their allocation
    target: np.ndarray  # min fill rate per skus row, NaN = none
    unreachable: np.ndarray  # a target no order can reach (lead time, shelf life)
    merchants: list[MerchantProblem]


def build_problem(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    merchants: pd.DataFrame,
    survival: Sequence[np.ndarray],
) -> Problem:
    """Validate the inputs (ValueError naming the frame, row and column of the first bad one)
    and split them into per-merchant problems. `items` and `skus` must have a RangeIndex."""
    _validate(items, skus, merchants)
    inputs = plan_inputs(items, skus, survival)
    per_item_demand = expected_min(inputs.survival, [None])[0]
    reached = inputs.reached
    target = pd.to_numeric(pd.Series(column(skus, "min_fill_rate", np.nan))).to_numpy(float)
    order = inputs.order  # in stream order, as the curves add them up
    demand = np.bincount(inputs.owner[order], weights=per_item_demand[order], minlength=len(skus))
    curves, ranked = build_curves(inputs, ~np.isnan(target), demand)
    limits_of = _merchant_limits(merchants)
    ids = skus["merchant_id"].astype(str).to_numpy()
    unreachable = np.zeros(len(skus), dtype=bool)
    out = []
    for m in dict.fromkeys(ids):
        rows = np.flatnonzero(ids == m)
        budget, capacity = limits_of.get(m, (math.inf, math.inf))
        held = sum(curves[p].pack_volume / curves[p].case_pack * curves[p].on_hand for p in rows)
        over = held > capacity + eps(capacity)
        required = {}
        for p in rows:
            if np.isnan(target[p]):
                continue
            packs = curves[p].packs_for_fill(float(target[p]))
            if packs is None or (packs > 0 and not reached[p]):
                unreachable[p] = True
            elif packs > 0:
                required[int(p)] = packs
        mine = {} if over else {int(p): curves[p] for p in rows if reached[p]}
        limits = Limits(budget, capacity - held)
        out.append(MerchantProblem(m, rows, mine, limits, {} if over else required, over))
    return Problem(inputs, curves, ranked, target, unreachable, out)


def plan_orders(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    merchants: pd.DataFrame,
    survival: Sequence[np.ndarray],
    settings: OptimiserSettings = OptimiserSettings(),
) -> PlanResult:
    """The purchase plan that maximises total expected profit, with its allocation and stats.

    `items`: one row per upcoming lineup entry (stream_id, sku_id, merchant_id, start_time,
    live_price, return_rate); `survival[r]` is P(D >= u), u = 1.., for items row r. `skus`: one
    row per (merchant_id, sku_id) in items with unit_cost, salvage_value, on_hand, case_pack,
    moq, and optionally unit_volume_l (NaN = 0 litres), order_arrives_at (when an order placed
    now arrives: it can be sold in the streams that start at or after it, the earlier ones sell
    from stock on hand only; NaT or absent = before every stream), the expiry columns of
    demandmatch.optimise.outcomes (on_hand_expires_at, order_expires_at, salvage_at) and
    min_fill_rate (a service level, NaN = none). `merchants`: merchant_id, budget and capacity_l
    (NaN or absent = no limit).

    The plan has one row per skus row: PLAN_COLUMNS, its flags joined by ";" (see
    demandmatch.optimise.flags), then order_reaches_from (the start of the first stream an order
    can be sold in, NaT when none can). The allocation has one row per items row:
    ALLOCATION_COLUMNS, then how many of its units come from stock on hand (from_on_hand) and
    from the order (from_order); a stream before the order's arrival gets none of the order.
    A merchant whose stock on hand already exceeds its capacity orders nothing (capacity shadow
    price NaN). A SKU with a service level orders at least what its fill rate needs; if the
    merchant's limits cannot pay for all of them, its service levels are set aside
    (service_levels_met False). A SKU whose salvage value is at or above its cost is not bought
    beyond what its streams could sell. Raises ValueError on bad input (also the v1 column
    `orderable`) and OptimiserError when the solver fails.
    """
    start = time.perf_counter()
    deadline = start + settings.time_limit_s
    if pywraplp.Solver.CreateSolver(settings.solver) is None:
        raise OptimiserError(
            f"OR-Tools solver {settings.solver!r} is not available in this install"
        )
    items, skus = items.reset_index(drop=True), skus.reset_index(drop=True)
    problem = build_problem(items, skus, merchants, survival)
    curves = problem.curves
    packs = np.zeros(len(skus), dtype=np.int64)
    marks: list[list[str]] = [[] for _ in range(len(skus))]
    plans, shadow = [], []
    for mp in problem.merchants:
        if mp.over_capacity:
            for p in mp.rows:
                marks[p].append(F.CAPACITY_EXCEEDED)
            shadow.append((mp.merchant_id, False, 0.0, True, math.nan, True))
            continue
        plan = plan_merchant(mp.curves, mp.limits, mp.required, settings, deadline)
        plans.append(plan)
        for p, k in plan.solution.n.items():
            packs[p] = k
        for p in mp.rows:
            if p in plan.budget_short:
                marks[p].append(F.BUDGET_BINDS)
            if p in plan.capacity_short:
                marks[p].append(F.CAPACITY_BINDS)
            if plan.service_met and p in mp.required and packs[p] > curves[p].own_best:
                marks[p].append(F.SERVICE_LEVEL)
        shadow.append(
            (
                mp.merchant_id,
                plan.budget_binds,
                plan.budget_price,
                plan.capacity_binds,
                plan.capacity_price,
                plan.service_met,
            )
        )
    inputs = problem.inputs
    q = packs * skus["case_pack"].to_numpy(dtype=np.int64)
    on_hand = inputs.on_hand
    alloc = problem.ranked.allocation(on_hand + q, len(items))
    for i in np.flatnonzero(~inputs.pooled):
        a0, a1 = place_stock(inputs.streams[i], int(on_hand[i]), int(q[i]))
        alloc[inputs.groups[i]] = a0 + a1
    from_on_hand, from_order, plan_df = score_plan(inputs, q, alloc)
    fill = plan_df["fill_rate"].to_numpy()
    for p in range(len(skus)):
        if problem.unreachable[p]:
            marks[p].append(F.SERVICE_UNREACHABLE)
        elif not np.isnan(problem.target[p]) and fill[p] < problem.target[p] - 1e-9:
            marks[p].append(F.SERVICE_INFEASIBLE)
    plan_df["flags"] = [sku_flags(curves[i], int(packs[i]), marks[i]) for i in range(len(skus))]
    plan_df["order_reaches_from"] = inputs.order_reaches_from
    alloc_df = pd.DataFrame(
        {
            "stream_id": items["stream_id"].to_numpy(),
            "sku_id": items["sku_id"].to_numpy(),
            "allocated_units": from_on_hand + from_order,
            "from_on_hand": from_on_hand,
            "from_order": from_order,
        },
        columns=[*ALLOCATION_COLUMNS, *ALLOCATION_EXTRA_COLUMNS],
    )
    objective = float(plan_df["expected_profit"].sum())
    stats = _stats(plans, objective, settings, time.perf_counter() - start)
    return PlanResult(
        plan=plan_df[[*PLAN_COLUMNS, *PLAN_EXTRA_COLUMNS]],
        allocation=alloc_df,
        stats=stats,
        shadow_prices=pd.DataFrame(shadow, columns=list(SHADOW_COLUMNS)),
    )


# ---- explanations ---------------------------------------------------------------------


def sku_flags(cv: SkuCurve, n: int, marks: list[str]) -> str:
    """The plan's flags for one SKU (demandmatch.optimise.flags): first why it orders nothing
    (lead_time, shelf_life, no_margin, moq_exceeds_demand), then late_arrival when an order
    misses some of its streams, then the marks of its merchant's solve."""
    out = []
    st = cv.streams
    if not st.reached:
        out.append(F.LEAD_TIME)
    elif n == 0 and cv.own_best == 0:
        salvage = cv.salvage_value
        if expires(st, salvage) and _unexpired_curve(cv, salvage).own_best > 0:
            out.append(F.SHELF_LIFE)
        elif cv.best_unit_margin() <= TOL:
            out.append(F.NO_MARGIN)
        elif cv.n_min > 1:
            free = cv.peak(0)
            if cv.profit(free) - cv.profit(0) > TOL:
                out.append(F.MOQ_EXCEEDS_DEMAND)
    if st.reached and st.arrived is not None and not st.arrived.all():
        out.append(F.LATE_ARRIVAL)
    out.extend(marks)
    return F.join_flags(out)


def _unexpired_curve(cv: SkuCurve, salvage: float) -> SkuCurve:
    row = {
        "case_pack": cv.case_pack,
        "moq": cv.n_min * cv.case_pack,
        "unit_cost": cv.unit_cost,
        "on_hand": cv.on_hand,
        "unit_volume_l": cv.pack_volume / cv.case_pack,
        "salvage_value": salvage,
    }
    return make_curve(row, unexpired(cv.streams, salvage))


# ---- inputs and statistics ------------------------------------------------------------


def _validate(items: pd.DataFrame, skus: pd.DataFrame, merchants: pd.DataFrame) -> None:
    """Raise a ValueError naming the frame, row and column of the first bad input."""
    require_columns(items, "items", ITEM_COLUMNS)
    require_columns(skus, "skus", (*SKU_COLUMNS, "case_pack", "moq"))
    require_columns(merchants, "merchants", ("merchant_id",))
    if "orderable" in skus.columns:  # the v1 rule, which ordered nothing for a late SKU
        raise ValueError(
            "skus column 'orderable' is no longer read: give order_arrives_at, when an order "
            "placed now arrives (it serves the streams that start at or after it)"
        )
    checks = [
        (items, "items", "live_price", lambda x: np.isfinite(x) & (x > 0)),
        (items, "items", "return_rate", lambda x: (x >= 0) & (x <= 1)),
        (skus, "skus", "unit_cost", lambda x: np.isfinite(x) & (x >= 0)),
        (skus, "skus", "salvage_value", lambda x: np.isfinite(x) & (x >= 0)),
        (skus, "skus", "on_hand", lambda x: (x >= 0) & (x == np.round(x))),
        (skus, "skus", "case_pack", lambda x: (x >= 1) & (x == np.round(x))),
        (skus, "skus", "moq", lambda x: (x >= 0) & (x == np.round(x))),
    ]
    for frame, name, col, ok in checks:
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~ok(np.nan_to_num(x, nan=-1.0)) | np.isnan(x))
        if bad.size:
            raise ValueError(f"{name} row {int(bad[0])}, column '{col}': bad value {x[bad[0]]}")
    if "min_fill_rate" in skus.columns:
        x = pd.to_numeric(skus["min_fill_rate"], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isnan(x) & ((x < 0) | (x > 1)))
        if bad.size:
            raise ValueError(
                f"skus row {int(bad[0])}, column 'min_fill_rate': {x[bad[0]]} is not in [0, 1]"
            )
    for col in ("budget", "capacity_l"):
        x = pd.to_numeric(pd.Series(column(merchants, col, np.nan)), errors="coerce").to_numpy()
        bad = np.flatnonzero(x < 0 if col == "budget" else x <= 0)
        if bad.size:
            raise ValueError(f"merchants row {int(bad[0])}, column '{col}': bad value {x[bad[0]]}")
    if merchants["merchant_id"].astype(str).duplicated().any():
        raise ValueError("merchants has more than one row for a merchant_id")


def _merchant_limits(merchants: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """(budget, capacity) per merchant, inf where there is none."""
    budget = pd.to_numeric(pd.Series(column(merchants, "budget", np.nan)), errors="coerce")
    capacity = pd.to_numeric(pd.Series(column(merchants, "capacity_l", np.nan)), errors="coerce")
    return {
        str(m): (
            math.inf if pd.isna(b) else float(b),
            math.inf if pd.isna(c) else float(c),
        )
        for m, b, c in zip(merchants["merchant_id"], budget, capacity, strict=True)
    }


def _stats(
    plans: list[MerchantPlan], objective: float, settings: OptimiserSettings, seconds: float
) -> SolveStats:
    statuses = [p.solution.status for p in plans] or ["OPTIMAL"]
    methods = {p.solution.method for p in plans}
    solver = (
        settings.solver
        if settings.solver in methods
        else ("lagrangian" if "lagrangian" in methods else "enumeration")
    )
    slack = sum(max(0.0, p.solution.bound - p.solution.gain) for p in plans)
    return SolveStats(
        solver=solver,
        status=max(statuses, key=STATUS_RANK.__getitem__),
        objective=objective,
        best_bound=objective + slack,
        gap=slack / max(1.0, abs(objective)),
        solve_time_s=seconds,
        n_variables=sum(p.solution.n_variables for p in plans),
        n_constraints=sum(p.solution.n_constraints for p in plans),
        time_limit_s=settings.time_limit_s,
        mip_gap=settings.mip_gap,
        n_service_infeasible=sum(not p.service_met for p in plans),
    )
