"""The optimiser's inputs, settings and results."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from demandmatch.optimise.stock import SkuStreams

SHADOW_COLUMNS: tuple[str, ...] = (
    "merchant_id",
    "budget_binds",
    "budget_shadow_price",
    "capacity_binds",
    "capacity_shadow_price",
    "service_levels_met",
)
STATUS_RANK = {"OPTIMAL": 0, "FEASIBLE": 1, "TIME_LIMIT": 2}
# beyond the contract's columns: the plan says from which stream on an order can be sold, the
# allocation how many of a stream's units come from stock on hand and how many from the order
PLAN_EXTRA_COLUMNS: tuple[str, ...] = ("order_reaches_from",)
ALLOCATION_EXTRA_COLUMNS: tuple[str, ...] = ("from_on_hand", "from_order")


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """What the ranking, the curves and the scoring of a plan read, checked and built once
    (demandmatch.optimise.outcomes.plan_inputs).

    `items` has one row per upcoming lineup entry and `skus` one per (merchant_id, sku_id), read
    by position. `survival[r]` is P(D >= u), u = 1.., of items row r; `groups[i]` are skus row
    i's items rows in stream order, `owner[r]` the skus row of items row r, and `streams[i]`
    skus row i's streams as the stock model sees them
    (each batch's salvage value and the streams it can be sold in, the order's arrival
    included); `sellable[b][r]` says whether units of batch b (0 on hand, 1 ordered) can be
    sold in items row r. `order_reaches_from[i]` is the start of the first stream an order of
    skus row i can be sold in (NaT when none can).
    """

    items: pd.DataFrame
    skus: pd.DataFrame
    survival: list[np.ndarray]
    groups: list[np.ndarray]
    owner: np.ndarray
    streams: list[SkuStreams]
    sellable: tuple[np.ndarray, np.ndarray]
    order_reaches_from: pd.DatetimeIndex

    @cached_property
    def order(self) -> np.ndarray:
        """Every items row, grouped by skus row, in stream order (the concatenated groups)."""
        return np.concatenate(self.groups) if self.groups else np.zeros(0, dtype=np.int64)

    @cached_property
    def price(self) -> np.ndarray:
        return self.items["live_price"].to_numpy(dtype=float)

    @cached_property
    def rate(self) -> np.ndarray:
        return self.items["return_rate"].to_numpy(dtype=float)

    @cached_property
    def on_hand(self) -> np.ndarray:
        return self.skus["on_hand"].to_numpy(dtype=np.int64)

    @cached_property
    def reached(self) -> np.ndarray:
        """Per skus row: an order placed now arrives before at least one of its streams."""
        return np.array([st.reached for st in self.streams], dtype=bool)

    @cached_property
    def pooled(self) -> np.ndarray:
        """Per skus row: its stock's value depends only on the units per stream (nothing on
        hand, or batches pooled as in SkuStreams.pooled), so the vectorised ranking is exact."""
        return np.array(
            [n0 == 0 or st.pooled for n0, st in zip(self.on_hand, self.streams, strict=True)],
            dtype=bool,
        )

    @cached_property
    def early_rows(self) -> np.ndarray:
        """Per items row: only stock on hand can be sold there."""
        return self.sellable[0] & ~self.sellable[1]

    @cached_property
    def salvage(self) -> tuple[np.ndarray, np.ndarray]:
        """Per skus row, the leftover value of an on-hand unit and of an ordered unit."""
        v0 = np.array([st.salvage[0] for st in self.streams], dtype=float)
        v1 = np.array([st.salvage[1] for st in self.streams], dtype=float)
        return v0, v1


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

    @classmethod
    def from_config(cls, optimiser: Any) -> OptimiserSettings:
        """The knobs of a config's `optimiser` section (demandmatch.config.OptimiserConfig)."""
        return cls(**{f.name: getattr(optimiser, f.name) for f in fields(cls)})

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
