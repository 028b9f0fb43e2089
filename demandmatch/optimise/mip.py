"""The MIP for one merchant (OR-Tools, SCIP by default): exact when every pack count is a
breakpoint, used to close the gap the Lagrangian plan leaves on small and medium merchants.

Stages: breakpoints per SKU, variables (integer packs n, a binary y for an optional MOQ jump,
fill variables per segment between breakpoints), constraints (n = lo y + fills, fills only when
y is on, budget, space), the objective (the jump to lo, then chord slopes), the solve with a
hint and a time limit, and the mapping of every solver status.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from demandmatch.optimise.menu import Choice, Limits
from demandmatch.optimise.types import OptimiserError, OptimiserSettings

# MIP solvers OR-Tools may carry (the commercial ones only when installed and licensed)
MIP_SOLVERS = ("SCIP", "CBC", "SAT", "GUROBI", "CPLEX", "XPRESS")


def solver_problem(name: str) -> str | None:
    """None when `name` is a MIP solver this OR-Tools install offers, else why not, naming
    the ones it does offer (probing only the usual open-source ones, which are silent)."""
    solver = pywraplp.Solver.CreateSolver(name) if name.upper() in MIP_SOLVERS else None
    if solver is not None and solver.IsMip():
        return None
    offered = [s for s in ("SCIP", "CBC", "SAT") if pywraplp.Solver.CreateSolver(s) is not None]
    return f"{name!r} is not a MIP solver this OR-Tools install offers; choose from {offered}"


def _offsets(window: int, growth: float, span: int) -> np.ndarray:
    out, x = list(range(window + 1)), float(max(window, 1))
    while x <= span:
        x = max(x * growth, x + 1)
        out.append(int(round(x)))
    return np.array(out)


def breakpoints(lo: int, top: int, anchors: Sequence[int], k: int) -> np.ndarray:
    """Pack counts where the piecewise-linear curve meets the true one: all of lo..top when
    there are at most k, else a thinned set, dense around the anchors (current best plan and
    the SKU's own optimum) and geometrically sparser away from them."""
    if top - lo + 1 <= k:
        return np.arange(lo, top + 1)
    anchors = sorted({min(max(int(a), lo), top) for a in anchors})
    for growth in (1.25, 1.5, 2.0, 3.0, 5.0, 10.0):
        for window in (8, 4, 2, 1, 0):
            offs = _offsets(window, growth, top - lo)
            cand = [np.array([lo, top])] + [a + s * offs for a in anchors for s in (-1, 1)]
            pts = np.unique(np.clip(np.concatenate(cand), lo, top))
            if len(pts) <= k:
                return pts
    return np.unique([lo, top, *anchors])


@dataclass
class _Model:
    solver: pywraplp.Solver
    n: list
    y: list  # None where the SKU has no optional MOQ jump
    segments: list  # per SKU, the fill variables


def _build(
    choices: list[Choice], bps: list[np.ndarray], limits: Limits, solver_name: str
) -> _Model:
    solver = pywraplp.Solver.CreateSolver(solver_name)
    if solver is None:
        raise OptimiserError(f"OR-Tools solver {solver_name!r} is not available in this install")
    objective = solver.Objective()
    model = _Model(solver, [], [], [])
    offset = 0.0
    for j, (c, b) in enumerate(zip(choices, bps, strict=True)):
        lo, top = int(b[0]), int(b[-1])
        # variables
        n = solver.IntVar(lo if c.required else 0, top, f"n{j}")
        y = solver.BoolVar(f"y{j}") if lo > 0 and not c.required else None
        xs = [
            solver.NumVar(0, float(hi - a), f"x{j}_{s}")
            for s, (a, hi) in enumerate(zip(b, b[1:], strict=False))
        ]
        # constraints linking n to the jump and the fill segments
        link = solver.Constraint(lo if c.required else 0, lo if c.required else 0)
        link.SetCoefficient(n, 1)
        for x in xs:
            link.SetCoefficient(x, -1)
        if y is not None:
            link.SetCoefficient(y, -lo)
            cap = solver.Constraint(-solver.infinity(), 0)
            for x in xs:
                cap.SetCoefficient(x, 1)
            cap.SetCoefficient(y, -(top - lo))
            objective.SetCoefficient(y, float(c.gain(lo)))
        elif c.required:
            offset += float(c.gain(lo))
        # objective: the jump to lo, then chord slopes between breakpoints
        gains = c.gain(b)
        for x, a, hi, ga, gh in zip(xs, b, b[1:], gains, gains[1:], strict=False):
            objective.SetCoefficient(x, float(gh - ga) / float(hi - a))
        model.n.append(n)
        model.y.append(y)
        model.segments.append(xs)
    for limit, per_pack in ((limits.budget, "pack_cost"), (limits.space, "pack_volume")):
        if math.isfinite(limit):
            row = solver.Constraint(-solver.infinity(), limit)
            for c, n in zip(choices, model.n, strict=True):
                row.SetCoefficient(n, getattr(c.curve, per_pack))
    objective.SetOffset(offset)
    objective.SetMaximization()
    return model


def _hint(model: _Model, bps: list[np.ndarray], n: np.ndarray) -> None:
    """Offer a feasible plan as the solver's starting solution (segments filled in order)."""
    variables, values = [], []
    for j, b in enumerate(bps):
        k = int(n[j])
        variables.append(model.n[j])
        values.append(float(k))
        if model.y[j] is not None:
            variables.append(model.y[j])
            values.append(1.0 if k > 0 else 0.0)
        for x, a, hi in zip(model.segments[j], b, b[1:], strict=False):
            variables.append(x)
            values.append(float(min(max(k - a, 0), hi - a)) if k > 0 else 0.0)
    model.solver.SetHint(variables, values)


def interpret_status(status: int, timed_out: bool, solver_name: str = "") -> str:
    """Map an OR-Tools result status to "OPTIMAL", "FEASIBLE" or "TIME_LIMIT" (no solution in
    time: the caller keeps its Lagrangian plan); raise OptimiserError on anything else."""
    s = pywraplp.Solver
    if status == s.OPTIMAL:
        return "OPTIMAL"
    if status == s.FEASIBLE:
        return "FEASIBLE"
    if status == s.NOT_SOLVED and timed_out:
        return "TIME_LIMIT"
    names = {
        s.INFEASIBLE: "INFEASIBLE",
        s.UNBOUNDED: "UNBOUNDED",
        s.ABNORMAL: "ABNORMAL",
        s.NOT_SOLVED: "NOT_SOLVED",
        s.MODEL_INVALID: "MODEL_INVALID",
    }
    name = names.get(status, f"status {status}")
    why = {
        "INFEASIBLE": "the hinted plan is feasible, so the model is malformed",
        "UNBOUNDED": "every order is bounded, so the model is malformed",
    }.get(name, "the solver stopped without a solution")
    raise OptimiserError(f"{solver_name or 'solver'} returned {name}: {why}")


@dataclass(frozen=True)
class MipRun:
    status: str  # OPTIMAL, FEASIBLE or TIME_LIMIT
    n: np.ndarray | None
    bound: float  # on the piecewise-linear model: a true bound only when it is exact
    n_variables: int
    n_constraints: int


def run_mip(
    choices: list[Choice],
    bps: list[np.ndarray],
    limits: Limits,
    hint: np.ndarray,
    settings: OptimiserSettings,
    seconds: float,
) -> MipRun:
    model = _build(choices, bps, limits, settings.solver)
    _hint(model, bps, hint)
    model.solver.SetTimeLimit(max(1, int(seconds * 1000)))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, settings.mip_gap)
    start = time.perf_counter()
    code = model.solver.Solve(params)
    timed_out = time.perf_counter() - start >= 0.95 * seconds
    status = interpret_status(code, timed_out, settings.solver)
    sizes = (model.solver.NumVariables(), model.solver.NumConstraints())
    if status == "TIME_LIMIT":
        return MipRun(status, None, math.inf, *sizes)
    n = np.array([int(round(v.solution_value())) for v in model.n], dtype=np.int64)
    first = np.array([c.first for c in choices], dtype=np.int64)
    required = np.array([c.required for c in choices], dtype=bool)
    n = np.where((n >= first) | required, n, 0)
    return MipRun(status, n, model.solver.Objective().BestBound(), *sizes)
