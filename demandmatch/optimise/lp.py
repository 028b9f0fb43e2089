"""The LP relaxation of the purchase problem, solved with GLOP: an upper bound on the plan.

Per merchant, each SKU that may order gets one column per allowed pack count n (its MOQ range
[first, top], and [lo, top] when a service level requires lo) with weight lambda_n >= 0 and
sum_n lambda_n <= 1 (= 1 when required; the rest is "order nothing"). The objective is
sum gain(n) lambda_n; the budget and space rows charge n * pack cost and n * pack volume. This
is the convex hull of each SKU's choices, the strongest relaxation that keeps SKUs separate,
and it is built from the pack counts themselves, independent of the Lagrangian's envelope.
Benchmarks and tests measure the optimiser against it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder_helper as mbh

from demandmatch.optimise.menu import make_choices
from demandmatch.optimise.merchant import affordable
from demandmatch.optimise.plan import MerchantProblem, build_problem
from demandmatch.optimise.types import OptimiserError


@dataclass(frozen=True)
class LpBound:
    objective: float  # bound on the plan's total expected profit
    merchants: pd.DataFrame  # merchant_id, lp_gain, budget_dual, space_dual, n_columns
    seconds: float  # building and solving the LPs
    n_columns: int


def merchant_lp(mp: MerchantProblem, solver: str = "glop") -> tuple[float, float, float, int]:
    """(LP gain over ordering nothing, budget dual, space dual, columns) of one merchant."""
    if mp.over_capacity:
        return 0.0, 0.0, 0.0, 0
    required = mp.required if affordable(mp.curves, mp.limits, mp.required) else {}
    choices = make_choices(mp.curves, mp.limits, required)
    if not choices:
        return 0.0, 0.0, 0.0, 0
    counts = [np.arange(c.first, c.top + 1) for c in choices]
    sizes = np.array([n.size for n in counts])
    owner = np.repeat(np.arange(len(choices)), sizes)
    n = np.concatenate(counts).astype(float)
    gain = np.concatenate([c.gain(k) for c, k in zip(choices, counts, strict=True)])
    w = np.array([c.curve.pack_cost for c in choices])[owner]
    u = np.array([c.curve.pack_volume for c in choices])[owner]
    rows = [owner]
    vals = [np.ones(n.size)]
    lower = [np.where([c.required for c in choices], 1.0, -np.inf)]
    upper = [np.ones(len(choices))]
    r = len(choices)
    for limit, coef in ((mp.limits.budget, w), (mp.limits.space, u)):
        if math.isfinite(limit):
            rows.append(np.full(n.size, r))
            vals.append(coef * n)
            lower.append(np.array([-np.inf]))
            upper.append(np.array([limit]))
            r += 1
    cols = np.tile(np.arange(n.size), len(rows))
    matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), cols)), shape=(r, n.size))
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        np.zeros(n.size),
        np.ones(n.size),
        gain,
        np.concatenate(lower),
        np.concatenate(upper),
        matrix,
    )
    model.set_maximize(True)
    lp = mbh.ModelSolverHelper(solver)
    if solver == "glop":
        lp.set_solver_specific_parameters("use_dual_simplex:true")
    lp.solve(model)
    if lp.status() != mbh.SolveStatus.OPTIMAL:
        raise OptimiserError(f"{solver} did not solve the LP relaxation: {lp.status()}")
    duals = lp.dual_values()
    k = len(choices)
    budget_dual = float(duals[k]) if math.isfinite(mp.limits.budget) else 0.0
    space_row = k + int(math.isfinite(mp.limits.budget))
    space_dual = float(duals[space_row]) if math.isfinite(mp.limits.space) else 0.0
    return float(lp.objective_value()), budget_dual, space_dual, int(n.size)


def lp_bound(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    merchants: pd.DataFrame,
    survival: Sequence[np.ndarray],
    solver: str = "glop",
) -> LpBound:
    """The LP relaxation's bound on the total expected profit of any plan that plan_orders
    could return for these inputs (same curves, ranges and service levels)."""
    start = time.perf_counter()
    items, skus = items.reset_index(drop=True), skus.reset_index(drop=True)
    problem = build_problem(items, skus, merchants, survival)
    total = float(sum(float(c.profit(0)) for c in problem.curves))
    rows = []
    for mp in problem.merchants:
        gain, b, c, ncols = merchant_lp(mp, solver)
        total += gain
        rows.append((mp.merchant_id, gain, b, c, ncols))
    frame = pd.DataFrame(
        rows, columns=["merchant_id", "lp_gain", "budget_dual", "space_dual", "n_columns"]
    )
    return LpBound(total, frame, time.perf_counter() - start, int(frame["n_columns"].sum()))
