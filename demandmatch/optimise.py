"""Purchase optimiser: how many case packs of each SKU to order, and how to split the stock.

The model is demandmatch.outcomes': per SKU, stock S = on_hand + case_pack * n is allocated
greedily over the SKU's streams, which makes the order profit f(n) concave in n. Orders are
0 or at least the MOQ; a merchant's orders cost at most its budget and its stock after ordering
fits its capacity. Merchants share nothing, so each is solved on its own:

1. data: per SKU the value curve and the useful range of pack counts;
2. if every SKU's own best order fits the merchant's limits, that is the optimum (the problem
   separates; no solver is needed);
3. otherwise a Lagrangian greedy gives a feasible plan, then a MIP (OR-Tools, SCIP by default):
   a binary per SKU for the MOQ jump, piecewise-linear fill segments between breakpoints of n
   and an integer n. With at most `max_breakpoints` pack counts every one is a breakpoint and
   the MIP is exact; otherwise breakpoints are thinned (dense near the current best plan),
   re-solved around the new plan, and each SKU's order is polished with its true curve within
   the merchant's remaining slack. Upper bounds come from the exact MIP or Lagrangian duality.

Only this module imports ortools.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from ortools.linear_solver import pywraplp

from demandmatch.outcomes import (
    ITEM_COLUMNS,
    SKU_COLUMNS,
    allocate,
    check_survival,
    expected_outcomes,
    item_groups,
    require_columns,
    sku_marginals,
    value_curve,
)
from demandmatch.schema import ALLOCATION_COLUMNS, PLAN_COLUMNS

_TOL = 1e-9
_MAX_ROUNDS = 3
_STATUS_RANK = {"OPTIMAL": 0, "FEASIBLE": 1, "TIME_LIMIT_GREEDY": 2}
SHADOW_COLUMNS: tuple[str, ...] = (
    "merchant_id",
    "budget_binds",
    "budget_shadow_price",
    "capacity_binds",
    "capacity_shadow_price",
)


class OptimiserError(RuntimeError):
    """The solver failed in a way the optimiser cannot recover from (a bug or a broken install)."""


@dataclass(frozen=True)
class OptimiserSettings:
    """Solver knobs. `time_limit_s` bounds the whole plan; `mip_gap` is relative."""

    time_limit_s: float = 60.0
    mip_gap: float = 1e-6
    max_breakpoints: int = 64
    solver: str = "SCIP"

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be positive")
        if not self.mip_gap >= 0:
            raise ValueError("mip_gap must be non-negative")
        if self.max_breakpoints < 2:
            raise ValueError("max_breakpoints must be at least 2")


@dataclass(frozen=True)
class SolveStats:
    """What the solve did, over all merchants.

    objective is the plan's total expected profit (yuan) and best_bound a proven upper bound on
    it (from the exact MIP or Lagrangian duality); gap = (best_bound - objective) /
    max(1, |objective|). status is the worst merchant's: OPTIMAL (proven within mip_gap),
    FEASIBLE, or TIME_LIMIT_GREEDY (the time ran out before the solver had a plan, so the
    greedy plan stands). n_variables / n_constraints count the last MIP of each merchant;
    solver is "enumeration" when no MIP was needed.
    """

    solver: str
    status: str
    objective: float
    best_bound: float
    gap: float
    solve_time_s: float
    n_variables: int
    n_constraints: int
    time_limit_s: float


@dataclass(frozen=True)
class PlanResult:
    plan: pd.DataFrame  # PLAN_COLUMNS, one row per skus row
    allocation: pd.DataFrame  # ALLOCATION_COLUMNS, one row per items row
    stats: SolveStats
    shadow_prices: pd.DataFrame  # SHADOW_COLUMNS, one row per merchant in skus


# ---- data: per-SKU order-profit curves -------------------------------------------------


@dataclass(frozen=True, eq=False)
class SkuCurve:
    """Expected profit of one SKU as a function of the number of case packs ordered."""

    on_hand: int
    case_pack: int
    n_min: int  # ceil(moq / case_pack): fewest packs of a non-zero order
    unit_cost: float
    salvage: float
    pack_cost: float
    pack_volume: float  # 0 when the unit volume is unknown
    gains: np.ndarray  # value_curve: G(S) for S = 0..L

    @property
    def lo(self) -> int:
        """Start of the ordering range: n_min when the MOQ forces a jump, else 0."""
        return self.n_min if self.n_min > 1 else 0

    @property
    def first(self) -> int:
        """Fewest packs of a non-zero order."""
        return max(self.n_min, 1)

    def profit(self, n: np.ndarray | int) -> np.ndarray:
        """f(n) = G(on_hand + cp n) + v (on_hand + cp n) - c cp n, the SKU's expected profit."""
        n = np.asarray(n, dtype=np.int64)
        s = self.on_hand + self.case_pack * n
        g = self.gains[np.minimum(s, len(self.gains) - 1)]
        return g + self.salvage * s - self.pack_cost * n

    def peak(self, lo: int) -> int:
        """Smallest maximiser of f over n >= lo (f is concave there).

        Never more packs than it takes to cover every unit some stream could sell: when salvage
        is at or above cost, buying beyond that would pay without bound, and the plan does not
        speculate on salvage.
        """
        n_units = len(self.gains) - 1
        top = max(lo, -(-max(n_units - self.on_hand, 0) // self.case_pack))
        steps = np.diff(self.profit(np.arange(lo, top + 1)))
        stop = np.flatnonzero(steps <= _TOL)
        return lo + (int(stop[0]) if stop.size else len(steps))

    def best_unit_margin(self) -> float:
        """Expected profit of the single most promising unit bought into empty stock."""
        return float(self.gains[1] if len(self.gains) > 1 else 0.0) + self.salvage - self.unit_cost


def _curves(
    items: pd.DataFrame, skus: pd.DataFrame, survival: list[np.ndarray], groups: list[np.ndarray]
) -> list[SkuCurve]:
    """Per skus row, its order-profit curve."""
    cp = skus["case_pack"].to_numpy(dtype=np.int64)
    moq = skus["moq"].to_numpy(dtype=np.int64)
    cost = skus["unit_cost"].to_numpy(dtype=float)
    vol = np.nan_to_num(_column(skus, "unit_volume_l", np.nan).astype(float), nan=0.0)
    margs = sku_marginals(items, skus, survival, groups)
    return [
        SkuCurve(
            on_hand=int(skus["on_hand"].iloc[i]),
            case_pack=int(cp[i]),
            n_min=int(-(-moq[i] // cp[i])),
            unit_cost=float(cost[i]),
            salvage=float(skus["salvage_value"].iloc[i]),
            pack_cost=float(cost[i] * cp[i]),
            pack_volume=float(vol[i] * cp[i]),
            gains=value_curve(margs[i]),
        )
        for i in range(len(skus))
    ]


@dataclass(frozen=True)
class _Limits:
    budget: float  # inf when none
    space: float  # capacity left after on-hand stock; inf when none

    def fits(self, cost: float, volume: float) -> bool:
        return cost <= self.budget + _eps(self.budget) and volume <= self.space + _eps(self.space)


def _eps(x: float) -> float:
    return 0.0 if math.isinf(x) else _TOL * max(1.0, abs(x))


@dataclass(frozen=True, eq=False)
class _Choice:
    """One orderable SKU of a merchant: n in {0} or [first, top], gain(n) = f(n) - f(0)."""

    pos: int
    curve: SkuCurve
    top: int
    steps: np.ndarray  # non-increasing f(n + 1) - f(n) for n = lo..top-1

    @property
    def lo(self) -> int:
        return self.curve.lo

    def gain(self, n: np.ndarray | int) -> np.ndarray:
        return self.curve.profit(n) - self.curve.profit(0)

    def respond(self, price: float) -> int:
        """Best n when each pack is charged `price` on top of its cost (Lagrangian response)."""
        n = self.lo + int(np.searchsorted(-self.steps, -price, side="left"))
        if n == 0 or float(self.gain(n)) - price * n <= _TOL:
            return 0
        return n


def _choices(curves: dict[int, SkuCurve], limits: _Limits) -> list[_Choice]:
    """Orderable SKUs that can order profitably within the merchant's limits on their own."""
    out = []
    for pos, cv in curves.items():
        top = min(
            cv.peak(cv.lo),
            _afford(limits.budget, cv.pack_cost, limits.budget),
            _afford(limits.space, cv.pack_volume, limits.space),
        )
        if top < cv.first or cv.profit(top) - cv.profit(0) <= _TOL:
            continue
        steps = np.minimum.accumulate(np.diff(cv.profit(np.arange(cv.lo, top + 1))))
        out.append(_Choice(pos, cv, int(top), steps))
    return out


def _usage(choices: list[_Choice], n: np.ndarray) -> tuple[float, float]:
    cost = sum(c.curve.pack_cost * int(k) for c, k in zip(choices, n, strict=True))
    volume = sum(c.curve.pack_volume * int(k) for c, k in zip(choices, n, strict=True))
    return float(cost), float(volume)


def _total_gain(choices: list[_Choice], n: np.ndarray) -> float:
    return float(sum(float(c.gain(int(k))) for c, k in zip(choices, n, strict=True)))


def _scales(limits: _Limits, budget: bool = True, space: bool = True) -> tuple[float, float]:
    """Weights per yuan and per litre that turn usage into a share of the merchant's limits."""
    b = 1.0 / limits.budget if budget and 0 < limits.budget < math.inf else 0.0
    c = 1.0 / limits.space if space and 0 < limits.space < math.inf else 0.0
    return b, c


def _weights(choices: list[_Choice], scales: tuple[float, float]) -> np.ndarray:
    """Share of the merchant's limits one pack of each SKU uses."""
    return np.array(
        [scales[0] * c.curve.pack_cost + scales[1] * c.curve.pack_volume for c in choices]
    )


# ---- heuristics: Lagrangian greedy, polish, repair ------------------------------------


def _lagrangian(
    choices: list[_Choice], limits: _Limits, scales: tuple[float, float]
) -> tuple[np.ndarray, tuple[float, float]]:
    """Feasible plan from one price per share of the limits (weighted by `scales`).

    Every SKU orders its best response to the price; responses shrink as the price grows, so
    the smallest price whose plan fits both limits is found by bisection. Returns the plan and
    the price per yuan and per litre it stands for.
    """
    w = _weights(choices, scales)

    def plan(lam: float) -> np.ndarray:
        return np.array(
            [c.respond(lam * wj) for c, wj in zip(choices, w, strict=True)], dtype=np.int64
        )

    def ok(lam: float) -> bool:
        return limits.fits(*_usage(choices, plan(lam)))

    if ok(0.0):
        return plan(0.0), (0.0, 0.0)
    lo, hi = 0.0, 1.0
    while not ok(hi):
        if hi > 1e30:  # these weights cannot price the plan into the limits
            return np.zeros(len(choices), dtype=np.int64), (0.0, 0.0)
        lo, hi = hi, hi * 2.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return plan(hi), (hi * scales[0], hi * scales[1])


def _afford(left: float, per_pack: float, limit: float) -> int:
    """Most packs that fit in `left` of a limit (tolerant to rounding); unbounded as 2**62."""
    if per_pack <= 0 or math.isinf(left):
        return 2**62
    return max(math.floor((left + _eps(limit)) / per_pack), 0)


def _room(c: _Choice, cost_left: float, space_left: float, limits: _Limits) -> int:
    """Extra packs of one SKU that fit in what is left of the merchant's limits."""
    return min(
        _afford(cost_left, c.curve.pack_cost, limits.budget),
        _afford(space_left, c.curve.pack_volume, limits.space),
    )


def _polish(choices: list[_Choice], n: np.ndarray, limits: _Limits) -> np.ndarray:
    """Raise orders into the merchant's slack with the true curves, best gain per share first.

    Each step moves one SKU to the largest order the slack allows (its curve is non-decreasing
    up to `top`), so at most one step per SKU.
    """
    n = n.copy()
    w = _weights(choices, _scales(limits))
    while True:
        cost, volume = _usage(choices, n)
        best, best_score = None, -math.inf
        for j, c in enumerate(choices):
            new = min(c.top, n[j] + _room(c, limits.budget - cost, limits.space - volume, limits))
            if new <= n[j] or new < c.curve.first:
                continue
            delta = float(c.gain(new) - c.gain(int(n[j])))
            if delta <= _TOL:
                continue
            used = (new - n[j]) * w[j]
            score = delta / used if used > 0 else math.inf
            if score > best_score:
                best, best_score = (j, new), score
        if best is None:
            return n
        n[best[0]] = best[1]


def _repair(choices: list[_Choice], n: np.ndarray, limits: _Limits) -> np.ndarray:
    """Cut packs (least gain lost per share freed first) until the plan fits the limits."""
    n = n.copy()
    w = _weights(choices, _scales(limits))
    while not limits.fits(*_usage(choices, n)):
        best, best_score = None, math.inf
        for j, c in enumerate(choices):
            if n[j] == 0:
                continue
            new = n[j] - 1 if n[j] - 1 >= c.curve.first else 0
            loss = float(c.gain(int(n[j])) - c.gain(new))
            score = loss / max((n[j] - new) * w[j], _TOL)
            if score < best_score:
                best, best_score = (j, new), score
        if best is None:
            break
        n[best[0]] = best[1]
    return n


def _dual_bound(choices: list[_Choice], limits: _Limits, lam_b: float, lam_c: float) -> float:
    """Lagrangian upper bound on the merchant's total gain for prices lam_b (per yuan of
    budget) and lam_c (per litre): valid for any non-negative prices (weak duality)."""
    lam_b = lam_b if math.isfinite(limits.budget) else 0.0
    lam_c = lam_c if math.isfinite(limits.space) else 0.0
    total = (lam_b * limits.budget if lam_b else 0.0) + (lam_c * limits.space if lam_c else 0.0)
    for c in choices:
        price = lam_b * c.curve.pack_cost + lam_c * c.curve.pack_volume
        k = c.respond(price)
        total += max(0.0, float(c.gain(k)) - price * k)
    return total


# ---- the MIP: breakpoints, variables, constraints, objective, solve -------------------


def _offsets(window: int, growth: float, span: int) -> np.ndarray:
    out, x = list(range(window + 1)), float(max(window, 1))
    while x <= span:
        x = max(x * growth, x + 1)
        out.append(int(round(x)))
    return np.array(out)


def _breakpoints(lo: int, top: int, anchors: Sequence[int], k: int) -> np.ndarray:
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
    y: list  # None where the SKU has no MOQ jump
    segments: list  # per SKU, the fill variables
    budget_row: object
    space_row: object


def _build(
    choices: list[_Choice],
    bps: list[np.ndarray],
    limits: _Limits,
    solver_name: str,
    fixed_on: np.ndarray | None = None,
) -> _Model:
    """The MIP (or, with `fixed_on`, its LP relaxation at a fixed MOQ pattern)."""
    relax = fixed_on is not None
    solver = pywraplp.Solver.CreateSolver("GLOP" if relax else solver_name)
    if solver is None:
        raise OptimiserError(f"OR-Tools solver {solver_name!r} is not available in this install")
    objective = solver.Objective()
    model = _Model(solver, [], [], [], None, None)
    for j, (c, b) in enumerate(zip(choices, bps, strict=True)):
        lo, top = int(b[0]), int(b[-1])
        # variables
        n = solver.NumVar(0, top, f"n{j}") if relax else solver.IntVar(0, top, f"n{j}")
        y = None
        if lo > 0:
            on = float(fixed_on[j]) if relax else None
            y = solver.NumVar(on, on, f"y{j}") if relax else solver.BoolVar(f"y{j}")
        xs = [
            solver.NumVar(0, float(hi - a), f"x{j}_{s}")
            for s, (a, hi) in enumerate(zip(b, b[1:], strict=False))
        ]
        # constraints linking n to the switch and the fill segments
        link = solver.Constraint(0, 0)
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
        # objective: the jump to lo, then chord slopes between breakpoints
        gains = c.gain(b)
        for x, a, hi, ga, gh in zip(xs, b, b[1:], gains, gains[1:], strict=False):
            objective.SetCoefficient(x, float(gh - ga) / float(hi - a))
        model.n.append(n)
        model.y.append(y)
        model.segments.append(xs)
    if math.isfinite(limits.budget):
        model.budget_row = solver.Constraint(-solver.infinity(), limits.budget)
        for c, n in zip(choices, model.n, strict=True):
            model.budget_row.SetCoefficient(n, c.curve.pack_cost)
    if math.isfinite(limits.space):
        model.space_row = solver.Constraint(-solver.infinity(), limits.space)
        for c, n in zip(choices, model.n, strict=True):
            model.space_row.SetCoefficient(n, c.curve.pack_volume)
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
    time: the caller falls back to its greedy plan); raise OptimiserError on anything else."""
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
        "INFEASIBLE": "ordering nothing is always feasible, so the model is malformed",
        "UNBOUNDED": "every order is bounded, so the model is malformed",
    }.get(name, "the solver stopped without a solution")
    raise OptimiserError(f"{solver_name or 'solver'} returned {name}: {why}")


@dataclass(frozen=True)
class _MipRun:
    status: str  # OPTIMAL, FEASIBLE or TIME_LIMIT
    n: np.ndarray | None
    bound: float
    n_variables: int
    n_constraints: int


def _run_mip(
    choices: list[_Choice],
    bps: list[np.ndarray],
    limits: _Limits,
    hint: np.ndarray,
    settings: OptimiserSettings,
    seconds: float,
) -> _MipRun:
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
        return _MipRun(status, None, math.inf, *sizes)
    n = np.array([int(round(v.solution_value())) for v in model.n], dtype=np.int64)
    n = np.where(n >= np.array([c.curve.first for c in choices]), n, 0)
    return _MipRun(status, n, model.solver.Objective().BestBound(), *sizes)


def _lp_duals(
    curves: dict[int, SkuCurve], plan: dict[int, int], limits: _Limits, k: int
) -> tuple[float, float]:
    """Budget and capacity duals of the LP relaxation at the plan's MOQ pattern (pack counts
    continuous, each SKU's range not cut by the limits so that they can bind)."""
    choices = _choices(curves, _Limits(math.inf, math.inf))
    n = np.array([plan.get(c.pos, 0) for c in choices], dtype=np.int64)
    bps = [_breakpoints(c.lo, c.top, [int(n[j]), c.top], k) for j, c in enumerate(choices)]
    model = _build(choices, bps, limits, "GLOP", fixed_on=(n > 0).astype(float))
    if model.solver.Solve() != pywraplp.Solver.OPTIMAL:
        return 0.0, 0.0
    b = model.budget_row.dual_value() if model.budget_row is not None else 0.0
    c = model.space_row.dual_value() if model.space_row is not None else 0.0
    return max(b, 0.0), max(c, 0.0)


# ---- one merchant ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Solution:
    n: dict[int, int]  # packs per skus position, for the SKUs that may order
    gain: float  # expected profit over ordering nothing
    bound: float  # upper bound on gain
    status: str
    n_variables: int = 0
    n_constraints: int = 0
    used_solver: bool = False
    duals: tuple[float, float] | None = None  # LP prices of a yuan of budget, a litre of space


def _solve_merchant(
    curves: dict[int, SkuCurve], limits: _Limits, settings: OptimiserSettings, deadline: float
) -> _Solution:
    choices = _choices(curves, limits)
    star = np.array([c.top for c in choices], dtype=np.int64)
    if not choices or limits.fits(*_usage(choices, star)):
        gain = _total_gain(choices, star)
        return _Solution(
            {c.pos: int(k) for c, k in zip(choices, star, strict=True)}, gain, gain, "OPTIMAL"
        )
    best, best_gain, prices = np.zeros(len(choices), dtype=np.int64), 0.0, []
    variants = {_scales(limits), _scales(limits, space=False), _scales(limits, budget=False)}
    for scales in sorted(v for v in variants if v != (0.0, 0.0)):
        greedy, price = _lagrangian(choices, limits, scales)
        n = _polish(choices, greedy, limits)
        prices.append(price)
        if _total_gain(choices, n) > best_gain + _TOL:
            best, best_gain = n, _total_gain(choices, n)
    status, mip_bound, sizes, bps = "TIME_LIMIT_GREEDY", math.inf, (0, 0), None
    for _ in range(_MAX_ROUNDS):
        new_bps = [
            _breakpoints(c.lo, c.top, [int(best[j]), c.top], settings.max_breakpoints)
            for j, c in enumerate(choices)
        ]
        if bps is not None and all(np.array_equal(a, b) for a, b in zip(bps, new_bps, strict=True)):
            break
        bps = new_bps
        seconds = deadline - time.perf_counter()
        if seconds <= 0:
            break
        run = _run_mip(choices, bps, limits, best, settings, seconds)
        sizes = (run.n_variables, run.n_constraints)
        if run.n is None:
            break
        status = "FEASIBLE"
        n = _polish(choices, _repair(choices, run.n, limits), limits)
        if _total_gain(choices, n) > best_gain + _TOL:
            best, best_gain = n, _total_gain(choices, n)
        if all(len(b) == c.top - c.lo + 1 for b, c in zip(bps, choices, strict=True)):
            mip_bound = run.bound
            status = "OPTIMAL" if run.status == "OPTIMAL" else "FEASIBLE"
            break
    plan = {c.pos: int(k) for c, k in zip(choices, best, strict=True)}
    duals = _lp_duals(curves, plan, limits, settings.max_breakpoints)
    bound = min(mip_bound, *(_dual_bound(choices, limits, *p) for p in [duals, (0, 0), *prices]))
    bound = max(bound, best_gain)
    if status == "FEASIBLE" and bound - best_gain <= settings.mip_gap * max(1.0, abs(best_gain)):
        status = "OPTIMAL"
    return _Solution(plan, best_gain, bound, status, *sizes, bps is not None, duals)


@dataclass(frozen=True)
class _MerchantPlan:
    solution: _Solution
    budget_binds: bool
    budget_price: float
    capacity_binds: bool
    capacity_price: float
    budget_short: frozenset[int]  # SKUs that would order more without the budget
    capacity_short: frozenset[int]


def _without(
    curves: dict[int, SkuCurve],
    limits: _Limits,
    drop: str,
    settings: OptimiserSettings,
    deadline: float,
) -> _Solution | None:
    """The plan with one limit removed, or None when that limit is absent."""
    if not math.isfinite(getattr(limits, drop)):
        return None
    return _solve_merchant(curves, replace(limits, **{drop: math.inf}), settings, deadline)


def _plan_merchant(
    curves: dict[int, SkuCurve], limits: _Limits, settings: OptimiserSettings, deadline: float
) -> _MerchantPlan:
    """Solve one merchant, then tell which limits bind (lifting them would raise profit), which
    SKUs they hold back, and what one more yuan of budget / litre of space is worth."""
    sol = _solve_merchant(curves, limits, settings, deadline)
    alts = {d: _without(curves, limits, d, settings, deadline) for d in ("budget", "space")}
    for alt in alts.values():  # a better plan that happens to fit both limits replaces ours
        if alt is not None and alt.gain > sol.gain + _TOL:
            cost = sum(curves[p].pack_cost * k for p, k in alt.n.items())
            volume = sum(curves[p].pack_volume * k for p, k in alt.n.items())
            if limits.fits(cost, volume):
                sizes = {"n_variables": sol.n_variables, "n_constraints": sol.n_constraints}
                sol = replace(alt, duals=None, **sizes)
    binds, short, prices = {}, {}, {}
    for d, alt in alts.items():
        scale = _TOL * max(1.0, abs(sol.gain))
        binds[d] = alt is not None and alt.gain > sol.gain + scale
        short[d] = (
            frozenset(p for p, k in alt.n.items() if k > sol.n.get(p, 0))
            if binds[d]
            else frozenset()
        )
    if (binds["budget"] or binds["space"]) and sol.duals is None:
        sol = replace(sol, duals=_lp_duals(curves, sol.n, limits, settings.max_breakpoints))
    duals = dict(zip(("budget", "space"), sol.duals or (0.0, 0.0), strict=True))
    for d, alt in alts.items():
        prices[d] = 0.0
        if binds[d]:
            prices[d] = duals[d] if duals[d] > _TOL else _resolve_price(curves, sol, alt, d, limits)
    return _MerchantPlan(
        sol,
        binds["budget"],
        prices["budget"],
        binds["space"],
        prices["space"],
        short["budget"],
        short["space"],
    )


def _resolve_price(
    curves: dict[int, SkuCurve], sol: _Solution, alt: _Solution, drop: str, limits: _Limits
) -> float:
    """Profit gained per unit of the limit when lifting it to what the unlimited plan uses."""
    per_pack = "pack_cost" if drop == "budget" else "pack_volume"
    used = sum(getattr(curves[p], per_pack) * k for p, k in alt.n.items())
    extra = used - getattr(limits, drop)
    return (alt.gain - sol.gain) / extra if extra > _TOL else 0.0


# ---- the whole plan -------------------------------------------------------------------


def _column(frame: pd.DataFrame, name: str, default: object) -> np.ndarray:
    return frame[name].to_numpy() if name in frame.columns else np.full(len(frame), default)


def _validate(items: pd.DataFrame, skus: pd.DataFrame, merchants: pd.DataFrame) -> None:
    """Raise a ValueError naming the frame, row and column of the first bad input."""
    require_columns(items, "items", ITEM_COLUMNS)
    require_columns(skus, "skus", (*SKU_COLUMNS, "case_pack", "moq"))
    require_columns(merchants, "merchants", ("merchant_id",))
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
    for col in ("budget", "capacity_l"):
        x = pd.to_numeric(pd.Series(_column(merchants, col, np.nan)), errors="coerce").to_numpy()
        bad = np.flatnonzero(x < 0 if col == "budget" else x <= 0)
        if bad.size:
            raise ValueError(f"merchants row {int(bad[0])}, column '{col}': bad value {x[bad[0]]}")
    if merchants["merchant_id"].astype(str).duplicated().any():
        raise ValueError("merchants has more than one row for a merchant_id")


def _merchant_limits(merchants: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """(budget, capacity) per merchant, inf where there is none."""
    budget = pd.to_numeric(pd.Series(_column(merchants, "budget", np.nan)), errors="coerce")
    capacity = pd.to_numeric(pd.Series(_column(merchants, "capacity_l", np.nan)), errors="coerce")
    return {
        str(m): (
            math.inf if pd.isna(b) else float(b),
            math.inf if pd.isna(c) else float(c),
        )
        for m, b, c in zip(merchants["merchant_id"], budget, capacity, strict=True)
    }


def _flags(cv: SkuCurve, orderable: bool, n: int, marks: list[str]) -> str:
    """The plan's flags for one SKU, in a fixed order.

    lead_time: cannot be ordered in time. no_margin: nothing ordered and even the unit most
    likely to sell, bought into empty stock, does not earn its cost net of returns and salvage.
    moq_exceeds_demand: nothing ordered, some order would pay without the MOQ but none at or
    above it does. `marks` carries budget_binds / capacity_binds / capacity_exceeded.
    """
    out = []
    if not orderable:
        out.append("lead_time")
    elif n == 0:
        thin = cv.best_unit_margin() <= _TOL
        if thin:
            out.append("no_margin")
        elif cv.n_min > 1:
            free = cv.peak(0)
            with_moq = cv.peak(cv.n_min)
            if cv.profit(free) - cv.profit(0) > _TOL >= cv.profit(with_moq) - cv.profit(0):
                out.append("moq_exceeds_demand")
    out.extend(marks)
    return ";".join(out)


def _stats(
    plans: list[_MerchantPlan], objective: float, settings: OptimiserSettings, seconds: float
) -> SolveStats:
    statuses = [p.solution.status for p in plans] or ["OPTIMAL"]
    slack = sum(max(0.0, p.solution.bound - p.solution.gain) for p in plans)
    return SolveStats(
        solver=settings.solver if any(p.solution.used_solver for p in plans) else "enumeration",
        status=max(statuses, key=_STATUS_RANK.__getitem__),
        objective=objective,
        best_bound=objective + slack,
        gap=slack / max(1.0, abs(objective)),
        solve_time_s=seconds,
        n_variables=sum(p.solution.n_variables for p in plans),
        n_constraints=sum(p.solution.n_constraints for p in plans),
        time_limit_s=settings.time_limit_s,
    )


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
    moq, unit_volume_l (optional, NaN = 0 litres) and orderable (optional, default True).
    `merchants`: merchant_id, budget and capacity_l (NaN or absent = no limit).

    The plan has one row per skus row (flags: lead_time, no_margin, moq_exceeds_demand,
    budget_binds, capacity_binds, capacity_exceeded, joined by ";"); the allocation one row per
    items row. A merchant whose stock on hand already exceeds its capacity orders nothing (its
    SKUs flagged capacity_exceeded, its capacity shadow price NaN). A limit binds when lifting it
    would raise expected profit; its shadow price is the LP dual at the chosen MOQ pattern, or,
    when that is 0, the profit gained per unit of limit by lifting it entirely. A SKU whose
    salvage value is at or above its cost is not bought beyond what its streams could sell.
    Raises ValueError on bad input and OptimiserError when the solver fails.
    """
    start = time.perf_counter()
    deadline = start + settings.time_limit_s
    _validate(items, skus, merchants)
    items, skus = items.reset_index(drop=True), skus.reset_index(drop=True)
    if pywraplp.Solver.CreateSolver(settings.solver) is None:
        raise OptimiserError(
            f"OR-Tools solver {settings.solver!r} is not available in this install"
        )
    survival = check_survival(survival, len(items))
    groups = item_groups(items, skus)
    curves = _curves(items, skus, survival, groups)
    orderable = _column(skus, "orderable", True).astype(bool)
    limits_of = _merchant_limits(merchants)
    merchant_ids = skus["merchant_id"].astype(str).to_numpy()
    packs = np.zeros(len(skus), dtype=np.int64)
    marks: list[list[str]] = [[] for _ in range(len(skus))]
    plans, shadow = [], []
    for m in dict.fromkeys(merchant_ids):
        rows = np.flatnonzero(merchant_ids == m)
        budget, capacity = limits_of.get(m, (math.inf, math.inf))
        held = sum(curves[p].pack_volume / curves[p].case_pack * curves[p].on_hand for p in rows)
        if held > capacity + _eps(capacity):
            for p in rows:
                marks[p].append("capacity_exceeded")
            shadow.append((m, False, 0.0, True, math.nan))
            continue
        mine = {int(p): curves[p] for p in rows if orderable[p]}
        plan = _plan_merchant(mine, _Limits(budget, capacity - held), settings, deadline)
        plans.append(plan)
        for p, k in plan.solution.n.items():
            packs[p] = k
        for p in rows:
            if p in plan.budget_short:
                marks[p].append("budget_binds")
            if p in plan.capacity_short:
                marks[p].append("capacity_binds")
        shadow.append(
            (m, plan.budget_binds, plan.budget_price, plan.capacity_binds, plan.capacity_price)
        )
    cp = skus["case_pack"].to_numpy(dtype=np.int64)
    order_qty = pd.Series(packs * cp, index=skus.index)
    allocation = allocate(items, skus, survival, order_qty)
    plan_df = expected_outcomes(items, skus, survival, order_qty, allocation)
    plan_df["flags"] = [
        _flags(curves[i], bool(orderable[i]), int(packs[i]), marks[i]) for i in range(len(skus))
    ]
    alloc_df = pd.DataFrame(
        {
            "stream_id": items["stream_id"].to_numpy(),
            "sku_id": items["sku_id"].to_numpy(),
            "allocated_units": allocation.to_numpy(dtype=np.int64),
        },
        columns=list(ALLOCATION_COLUMNS),
    )
    objective = float(plan_df["expected_profit"].sum())
    stats = _stats(plans, objective, settings, time.perf_counter() - start)
    return PlanResult(
        plan=plan_df[list(PLAN_COLUMNS)],
        allocation=alloc_df,
        stats=stats,
        shadow_prices=pd.DataFrame(shadow, columns=list(SHADOW_COLUMNS)),
    )
