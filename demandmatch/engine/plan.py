"""The purchase plan on a Dask cluster: each merchant's plan on a worker, all at once. Merchants
share nothing but the settings (their budgets, spaces and stock are their own), so the plans are
the single machine's, merchant by merchant; only the time limit is each merchant's own instead of
one deadline for all."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from distributed import Client

from demandmatch.optimise import OptimiserSettings, PlanResult, SolveStats, plan_orders
from demandmatch.optimise.types import STATUS_RANK


def plan_by_merchant(
    client: Client,
    items: pd.DataFrame,
    skus: pd.DataFrame,
    merchants: pd.DataFrame,
    survival: Sequence[np.ndarray],
    settings: OptimiserSettings = OptimiserSettings(),
) -> PlanResult:
    """`plan_orders(items, skus, merchants, survival, settings)`, each merchant's part solved on
    a worker of `client`: the same rows in the same order (plan per skus row, allocation per
    items row, shadow prices per merchant in the order the SKUs name them) and the statistics
    summed over the merchants."""
    items, skus = items.reset_index(drop=True), skus.reset_index(drop=True)
    sku_owner = skus["merchant_id"].astype(str).to_numpy()
    item_owner = items["merchant_id"].astype(str).to_numpy()
    ids = list(dict.fromkeys(sku_owner))
    if len(ids) < 2:
        return plan_orders(items, skus, merchants, survival, settings)
    surv = list(survival)
    jobs = []
    for m in ids:
        item_rows = np.flatnonzero(item_owner == m)
        jobs.append(
            (
                items.iloc[item_rows],
                skus[sku_owner == m],
                merchants[merchants["merchant_id"].astype(str) == m],
                [surv[i] for i in item_rows],
            )
        )
    futures = client.map(_plan_one, jobs, settings=settings, pure=False)
    results: list[PlanResult] = client.gather(futures)
    done = list(zip(ids, results, strict=True))
    plan = pd.concat([r.plan.set_axis(np.flatnonzero(sku_owner == m)) for m, r in done])
    alloc = pd.concat([r.allocation.set_axis(np.flatnonzero(item_owner == m)) for m, r in done])
    return PlanResult(
        plan=plan.sort_index().reset_index(drop=True),
        allocation=alloc.sort_index().reset_index(drop=True),
        stats=combined_stats([r.stats for r in results], settings),
        shadow_prices=pd.concat([r.shadow_prices for r in results], ignore_index=True),
    )


def _plan_one(job: tuple, settings: OptimiserSettings) -> PlanResult:
    items, skus, merchants, survival = job
    return plan_orders(items, skus, merchants, survival, settings)


def combined_stats(stats: list[SolveStats], settings: OptimiserSettings) -> SolveStats:
    """One plan's statistics from its merchants' (each solved alone): the worst status, the
    objectives and bounds summed, the longest solve."""
    solvers = {s.solver for s in stats}
    solver = (
        settings.solver
        if settings.solver in solvers
        else ("lagrangian" if "lagrangian" in solvers else "enumeration")
    )
    objective = sum(s.objective for s in stats)
    bound = sum(s.best_bound for s in stats)
    return SolveStats(
        solver=solver,
        status=max((s.status for s in stats), key=STATUS_RANK.__getitem__),
        objective=objective,
        best_bound=bound,
        gap=(bound - objective) / max(1.0, abs(objective)),
        solve_time_s=max(s.solve_time_s for s in stats),
        n_variables=sum(s.n_variables for s in stats),
        n_constraints=sum(s.n_constraints for s in stats),
        time_limit_s=settings.time_limit_s,
        mip_gap=settings.mip_gap,
        n_service_infeasible=sum(s.n_service_infeasible for s in stats),
    )
