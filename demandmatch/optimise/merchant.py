"""One merchant's plan: which SKUs order how many packs within its budget and space.

1. If every SKU's own best order fits, that is the optimum (the problem separates).
2. Otherwise the Lagrangian: the smallest prices of a yuan and a litre whose best responses fit
   (the LP relaxation's duals), their integral responses, then a polish of the slack with the
   true curves. The dual at those prices bounds the optimum; on large merchants the plan is
   within a few SKUs' rounding of it.
3. If the gap is above mip_gap and the merchant is small enough, the MIP (SCIP) starts from that
   plan: exact when every pack count is a breakpoint, else on thinned breakpoints re-centred
   on the best plan, each MIP plan repaired and polished with the true curves.

Then which limits bind (lifting them would raise profit), which SKUs they hold back, and what
one more yuan or litre is worth (the LP dual; when that is 0 although the limit binds, the
profit per unit of limit gained by lifting it entirely).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from demandmatch.optimise.curves import TOL, SkuCurve
from demandmatch.optimise.menu import Limits, Menu, make_choices
from demandmatch.optimise.mip import breakpoints, run_mip
from demandmatch.optimise.types import OptimiserSettings

MAX_ROUNDS = 3


@dataclass(frozen=True)
class Solution:
    n: dict[int, int]  # packs per skus position, for the SKUs that may order
    gain: float  # expected profit over ordering nothing
    bound: float  # upper bound on gain
    status: str  # OPTIMAL, FEASIBLE or TIME_LIMIT
    method: str  # enumeration, lagrangian or the MIP solver's name
    prices: tuple[float, float] = (0.0, 0.0)  # LP duals of a yuan of budget, a litre of space
    n_variables: int = 0
    n_constraints: int = 0


def solve(
    curves: dict[int, SkuCurve],
    limits: Limits,
    required: dict[int, int],
    settings: OptimiserSettings,
    deadline: float,
    mip: bool = True,
) -> Solution:
    """The best plan this module can find for one merchant, with its bound and status."""
    menu = Menu(make_choices(curves, limits, required))
    pos = [c.pos for c in menu.choices]
    if limits.fits(*menu.usage(menu.top)):
        gain = menu.total_gain(menu.top)
        return Solution(
            dict(zip(pos, menu.top.tolist(), strict=True)), gain, gain, "OPTIMAL", "enumeration"
        )
    prices = menu.prices(limits)
    best = menu.polish(menu.repair(menu.respond(*prices), limits), limits)
    best_gain = menu.total_gain(best)
    bound = menu.dual_bound(limits, *prices)
    method, stopped, sizes = "lagrangian", False, (0, 0)
    close = _gap_ok(bound, best_gain, settings.mip_gap)
    if not close and mip and len(menu) <= settings.mip_max_skus:
        bps = None
        for _ in range(MAX_ROUNDS):
            new = [
                breakpoints(c.lo, c.top, [int(best[j]), c.top], settings.max_breakpoints)
                for j, c in enumerate(menu.choices)
            ]
            if bps is not None and all(np.array_equal(a, b) for a, b in zip(bps, new, strict=True)):
                break
            bps = new
            seconds = deadline - time.perf_counter()
            if seconds <= 0:
                stopped = True
                break
            run = run_mip(menu.choices, bps, limits, best, settings, seconds)
            method, sizes = settings.solver, (run.n_variables, run.n_constraints)
            if run.n is None:
                stopped = True
                break
            n = menu.polish(menu.repair(run.n, limits), limits)
            if menu.total_gain(n) > best_gain + TOL:
                best, best_gain = n, menu.total_gain(n)
            if run.status != "OPTIMAL":  # stopped by the time limit
                stopped = True
                break
            if all(len(b) == c.top - c.lo + 1 for b, c in zip(bps, menu.choices, strict=True)):
                bound, close = min(bound, max(run.bound, best_gain)), True  # exact MIP
                break
    bound = max(bound, best_gain)
    close = close or _gap_ok(bound, best_gain, settings.mip_gap)
    status = "OPTIMAL" if close else ("TIME_LIMIT" if stopped else "FEASIBLE")
    plan = dict(zip(pos, best.tolist(), strict=True))
    return Solution(plan, best_gain, bound, status, method, prices, *sizes)


def _gap_ok(bound: float, gain: float, gap: float) -> bool:
    return bound - gain <= gap * max(1.0, abs(gain)) + TOL


@dataclass(frozen=True)
class MerchantPlan:
    solution: Solution
    budget_binds: bool
    budget_price: float
    capacity_binds: bool
    capacity_price: float
    budget_short: frozenset[int]  # SKUs that would order more without the budget
    capacity_short: frozenset[int]
    service_met: bool  # the limits pay for every required fewest order


def plan_merchant(
    curves: dict[int, SkuCurve],
    limits: Limits,
    required: dict[int, int],
    settings: OptimiserSettings,
    deadline: float,
) -> MerchantPlan:
    """Solve one merchant, then tell which limits bind, which SKUs they hold back and what one
    more yuan of budget / litre of space is worth. Service levels the limits cannot pay for all
    together are dropped for this merchant (service_met False) rather than failing the plan."""
    service_met = affordable(curves, limits, required)
    if not service_met:
        required = {}
    sol = solve(curves, limits, required, settings, deadline)
    alts = {}
    for drop in ("budget", "space"):
        if math.isfinite(getattr(limits, drop)):
            lifted = replace(limits, **{drop: math.inf})
            alts[drop] = solve(curves, lifted, required, settings, deadline)
    for alt in alts.values():  # a better plan that happens to fit both limits replaces ours
        if alt.gain > sol.gain + TOL:
            cost = sum(curves[p].pack_cost * k for p, k in alt.n.items())
            volume = sum(curves[p].pack_volume * k for p, k in alt.n.items())
            if limits.fits(cost, volume):
                bound = max(min(sol.bound, alt.bound), alt.gain)
                ok = _gap_ok(bound, alt.gain, settings.mip_gap)
                status = "OPTIMAL" if ok else sol.status
                sol = replace(alt, prices=sol.prices, bound=bound, status=status)
    binds, short, prices = {}, {}, {}
    for i, drop in enumerate(("budget", "space")):
        alt = alts.get(drop)
        binds[drop] = alt is not None and alt.gain > sol.gain + TOL * max(1.0, abs(sol.gain))
        short[drop] = frozenset(
            p for p, k in (alt.n.items() if binds[drop] else ()) if k > sol.n.get(p, 0)
        )
        prices[drop] = 0.0
        if binds[drop]:
            dual = sol.prices[i]
            prices[drop] = dual if dual > TOL else _lifting_price(curves, sol, alt, drop, limits)
    return MerchantPlan(
        sol,
        binds["budget"],
        prices["budget"],
        binds["space"],
        prices["space"],
        short["budget"],
        short["space"],
        service_met,
    )


def affordable(curves: dict[int, SkuCurve], limits: Limits, required: dict[int, int]) -> bool:
    """Whether the limits pay for every required fewest order together."""
    need = {p: max(k, curves[p].first) for p, k in required.items() if k > 0}
    cost = sum(curves[p].pack_cost * k for p, k in need.items())
    volume = sum(curves[p].pack_volume * k for p, k in need.items())
    return limits.fits(cost, volume)


def _lifting_price(
    curves: dict[int, SkuCurve], sol: Solution, alt: Solution, drop: str, limits: Limits
) -> float:
    """Profit gained per unit of the limit when lifting it to what the unlimited plan uses."""
    per_pack = "pack_cost" if drop == "budget" else "pack_volume"
    used = sum(getattr(curves[p], per_pack) * k for p, k in alt.n.items())
    extra = used - getattr(limits, drop)
    return (alt.gain - sol.gain) / extra if extra > TOL else 0.0
