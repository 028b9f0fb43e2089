"""Merchants solved side by side. Each merchant's plan (`merchant.plan_merchant`) is independent
of the others', and the MIP solver keeps the interpreter while it runs (threads would take
turns), so with more than one merchant and more than one core the solves run in worker
processes forked from this one: the same solves as one after the other, their plans in the
merchants' order. Where forking is not available (another platform, or a daemonic process,
which may not have children) they run one after the other."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from demandmatch.optimise.curves import SkuCurve
from demandmatch.optimise.menu import Limits
from demandmatch.optimise.merchant import MerchantPlan, plan_merchant
from demandmatch.optimise.types import OptimiserSettings

Job = tuple[dict[int, SkuCurve], Limits, dict[int, int]]  # curves, limits, required packs


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork() -> bool:
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def solve_merchants(
    jobs: Sequence[Job],
    settings: OptimiserSettings,
    deadline: float,
    processes: int | None = None,
) -> list[MerchantPlan]:
    """`plan_merchant` of each job, in the jobs' order; on up to `processes` forked workers
    (default: this process's cores), the largest merchants first."""
    workers = min(cores() if processes is None else processes, len(jobs))
    if workers < 2 or not can_fork():
        return [plan_merchant(*job, settings, deadline) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {i: pool.submit(plan_merchant, *jobs[i], settings, deadline) for i in order}
        return [futures[i].result() for i in range(len(jobs))]
