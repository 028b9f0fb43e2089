"""Purchase optimiser: how many case packs of each SKU to order, and how to split the stock.

The model is demandmatch.optimise.outcomes' (with the stock model in stock): per SKU, the stock
on hand and the order are placed over the SKU's streams where they add the most expected profit
(returns, salvage and shelf life included; an order serves only the streams that start after it
arrives), which makes the order profit concave in the number of packs from the first order on.
Orders are 0 or at least the MOQ, whole case packs, and are not placed when they arrive after
every stream; a merchant's orders cost at most its budget and its stock fits its space; a SKU
with a service level orders at least what its fill rate needs. Merchants share nothing and are
solved one by one (demandmatch.optimise.merchant): Lagrangian prices that are the LP
relaxation's duals, an integral plan polished with the true curves and, where the gap is still
open on a small enough merchant, a MIP (SCIP) that is exact when every pack count is a
breakpoint.

Modules: types (PlanInputs, settings, results), outcomes (expected outcomes of any plan, the
PlanInputs builder), stock (one SKU's stock over its streams), ranking and curves (per-SKU
profit curves), menu (vectorised Lagrangian, bounds, repair, polish), mip (the MIP and solver
statuses), merchant (one merchant, binding limits and shadow prices), plan (the whole plan,
statistics), flags (every flag of a plan row, in words), lp (the LP relaxation with GLOP, a
bound for benchmarks). Only this package imports ortools.
"""

from demandmatch.optimise.lp import LpBound, lp_bound
from demandmatch.optimise.mip import interpret_status, solver_problem
from demandmatch.optimise.outcomes import expected_outcomes
from demandmatch.optimise.plan import plan_orders
from demandmatch.optimise.types import (
    SHADOW_COLUMNS,
    OptimiserError,
    OptimiserSettings,
    PlanResult,
    SolveStats,
)

__all__ = [
    "SHADOW_COLUMNS",
    "LpBound",
    "OptimiserError",
    "OptimiserSettings",
    "PlanResult",
    "SolveStats",
    "expected_outcomes",
    "interpret_status",
    "lp_bound",
    "plan_orders",
    "solver_problem",
]
