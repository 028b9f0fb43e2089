"""The optimiser's settings and results."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

SHADOW_COLUMNS: tuple[str, ...] = (
    "merchant_id",
    "budget_binds",
    "budget_shadow_price",
    "capacity_binds",
    "capacity_shadow_price",
    "service_levels_met",
)
STATUS_RANK = {"OPTIMAL": 0, "FEASIBLE": 1, "TIME_LIMIT": 2}


class OptimiserError(RuntimeError):
    """The solver failed in a way the optimiser cannot recover from (a bug or a broken install)."""


@dataclass(frozen=True)
class OptimiserSettings:
    """Solver knobs. `time_limit_s` bounds the whole plan; `mip_gap` is relative: a merchant
    whose Lagrangian plan is further than that from its bound, and that has at most
    `mip_max_skus` SKUs that may order, is handed to the MIP (`solver`) with at most
    `max_breakpoints` pack counts per SKU."""

    time_limit_s: float = 60.0
    mip_gap: float = 1e-6
    max_breakpoints: int = 64
    solver: str = "SCIP"
    mip_max_skus: int = 400

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be positive")
        if not self.mip_gap >= 0:
            raise ValueError("mip_gap must be non-negative")
        if self.max_breakpoints < 2:
            raise ValueError("max_breakpoints must be at least 2")
        if self.mip_max_skus < 0:
            raise ValueError("mip_max_skus must be non-negative")


@dataclass(frozen=True)
class SolveStats:
    """What the solve did, over all merchants.

    objective is the plan's total expected profit (yuan) and best_bound a proven upper bound on
    it (the exact MIP's, or the Lagrangian dual, which is the LP relaxation's bound);
    gap = (best_bound - objective) / max(1, |objective|). status is the worst merchant's:
    OPTIMAL (proven within mip_gap), FEASIBLE (a plan, gap above mip_gap) or TIME_LIMIT (the
    time limit stopped the MIP; the best plan found stands, gap reported). solver is
    "enumeration" when no limit bound, "lagrangian" when no MIP ran, else the MIP solver.
    n_variables / n_constraints count the last MIP of each merchant. n_service_infeasible
    counts merchants whose limits cannot pay for their service levels.
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
    mip_gap: float
    n_service_infeasible: int = 0


@dataclass(frozen=True)
class PlanResult:
    plan: pd.DataFrame  # PLAN_COLUMNS, one row per skus row
    allocation: pd.DataFrame  # ALLOCATION_COLUMNS, one row per items row
    stats: SolveStats
    shadow_prices: pd.DataFrame  # SHADOW_COLUMNS, one row per merchant in skus
