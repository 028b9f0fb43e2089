"""Purchase-plan solve time, peak memory and optimality on synthetic platforms of 1k-50k SKUs.

Each instance: SKUs of several merchants, 5 upcoming streams per SKU, negative-binomial demand
(exact survival functions), case packs, MOQs, returns, salvage, stock on hand, some perishables
and lead times of 0-2 days (an order that lands after a SKU's first stream still serves the
later ones) or, for 3%, 30 days (no stream reachable); budget and space bind for one merchant in
four, the budget alone for two more, neither for the fourth.
Each size runs in its own process so that its peak memory is its own. Printed per size: the
plan's solve time and peak memory (above the process after building the instance), the plan's
objective, the solver's own bound and the gap to the LP relaxation's bound, solved with GLOP in
the same run (the LP time is printed beside the solve time).

    python benchmarks/bench_plan_scale.py [--sizes 1000 10000 50000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time

import numpy as np
import pandas as pd
from scipy import stats

from demandmatch.optimise import OptimiserSettings, lp_bound, plan_orders

STREAMS_PER_SKU = 5
AS_OF = pd.Timestamp("2025-01-06 08:00", tz="UTC")
HORIZON_DAYS = 14


def survival_negbin(mean: np.ndarray, size: np.ndarray, tail: float = 1e-7) -> list[np.ndarray]:
    """P(D >= u), u = 1.., per row, cut where it drops below `tail`; the pmf by its recursion
    P(k + 1) = P(k) (k + size) / (k + 1) (1 - p), a block of rows at a time."""
    p = size / (size + mean)
    top = stats.nbinom.isf(tail, size, p).astype(np.int64) + 1
    out: list[np.ndarray] = []
    for a in range(0, len(mean), 4096):
        b = min(a + 4096, len(mean))
        width = int(top[a:b].max()) + 1
        pmf = np.empty((b - a, width))
        pmf[:, 0] = p[a:b] ** size[a:b]
        for k in range(1, width):
            pmf[:, k] = pmf[:, k - 1] * (k - 1 + size[a:b]) / k * (1 - p[a:b])
        surv = np.clip(1.0 - np.cumsum(pmf, axis=1), 0.0, 1.0)
        surv = np.concatenate([np.ones((b - a, 1)), surv[:, :-1]], axis=1)  # P(D >= u)
        surv = np.minimum.accumulate(surv, axis=1)
        out.extend(surv[r, 1 : top[a + r] + 1] for r in range(b - a))
    return out


def instance(n_skus: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list]:
    """(items, skus, merchants, survival) of a synthetic platform with n_skus SKUs."""
    rng = np.random.default_rng(seed)
    n_merchants = max(4, n_skus // 2500)
    merchant = rng.integers(0, n_merchants, n_skus)
    cost = np.round(np.exp(rng.normal(3.0, 0.8, n_skus)), 2)
    list_price = cost * rng.uniform(1.3, 3.0, n_skus)
    case_pack = rng.choice([1, 1, 2, 4, 6, 12, 24], n_skus)
    moq = rng.choice([0, 0, 0, 10, 24, 50, 100], n_skus)
    shelf = np.where(rng.random(n_skus) < 0.1, rng.integers(3, 11, n_skus), np.nan)
    lead = np.where(rng.random(n_skus) < 0.03, 30, rng.integers(0, 3, n_skus))
    mean = np.exp(rng.normal(np.log(6.0), 1.0, (n_skus, STREAMS_PER_SKU)))
    on_hand = np.where(rng.random(n_skus) < 0.4, np.round(mean.sum(1) * rng.uniform(0, 0.6)), 0)
    skus = pd.DataFrame(
        {
            "merchant_id": [f"M{m:03d}" for m in merchant],
            "sku_id": [f"K{i:06d}" for i in range(n_skus)],
            "unit_cost": cost,
            "salvage_value": np.round(cost * rng.uniform(0.0, 0.5, n_skus), 2),
            "on_hand": on_hand.astype(np.int64),
            "case_pack": case_pack,
            "moq": moq,
            "unit_volume_l": np.round(rng.uniform(0.2, 5.0, n_skus), 2),
        }
    )
    days = pd.to_timedelta(shelf, unit="D")
    skus["on_hand_expires_at"] = AS_OF + days
    skus["order_expires_at"] = AS_OF + pd.to_timedelta(lead, unit="D") + days
    skus["salvage_at"] = AS_OF + pd.Timedelta(days=HORIZON_DAYS)
    # each SKU in 5 of its merchant's streams (one every 2 hours over the horizon)
    n_slots = HORIZON_DAYS * 12
    slot = np.sort(
        np.argsort(rng.random((n_skus, n_slots)), axis=1)[:, :STREAMS_PER_SKU], axis=1
    ).ravel()
    k = np.repeat(np.arange(n_skus), STREAMS_PER_SKU)
    skus["order_arrives_at"] = AS_OF + pd.to_timedelta(lead, unit="D")
    items = pd.DataFrame(
        {
            "stream_id": [f"M{m:03d}-S{s:03d}" for m, s in zip(merchant[k], slot, strict=True)],
            "sku_id": skus["sku_id"].to_numpy()[k],
            "merchant_id": skus["merchant_id"].to_numpy()[k],
            "start_time": AS_OF + pd.to_timedelta(slot * 2 + 12, unit="h"),
            "live_price": np.round(list_price[k] * rng.uniform(0.7, 1.0, k.size), 2),
            "return_rate": np.round(rng.uniform(0.0, 0.45, n_skus)[k], 3),
        }
    )
    size = rng.uniform(0.8, 4.0, k.size)
    survival = survival_negbin(mean.ravel(), size)
    need = pd.Series(mean.sum(1) * cost).groupby(merchant).sum()
    litres = pd.Series(mean.sum(1) * skus["unit_volume_l"]).groupby(merchant).sum()
    held = pd.Series(on_hand * skus["unit_volume_l"]).groupby(merchant).sum()
    budget, capacity = np.full(n_merchants, np.nan), np.full(n_merchants, np.nan)
    for m in range(n_merchants):  # budget and space bind for 1 in 4, the budget for 2 more
        if m % 4 != 3:
            budget[m] = round(float(need.get(m, 0.0)) * (0.15 + 0.05 * (m % 3)), -2)
        if m % 4 in (0, 3):  # loose space for the fourth
            share = 0.08 if m % 4 == 0 else 2.0
            capacity[m] = np.ceil(float(held.get(m, 0.0)) + share * float(litres.get(m, 0.0)))
    merchants = pd.DataFrame(
        {
            "merchant_id": [f"M{m:03d}" for m in range(n_merchants)],
            "budget": budget,
            "capacity_l": capacity,
        }
    )
    return items, skus, merchants, survival


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def run_size(n_skus: int, seed: int) -> dict[str, float]:
    t0 = time.perf_counter()
    items, skus, merchants, survival = instance(n_skus, seed)
    build_s = time.perf_counter() - t0
    base = _rss_mib()
    t0 = time.perf_counter()
    result = plan_orders(items, skus, merchants, survival, OptimiserSettings())
    solve_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lp = lp_bound(items, skus, merchants, survival)
    st = result.stats
    binds = result.shadow_prices
    start = items.groupby("sku_id", sort=False)["start_time"].agg(["min", "max"])
    arrives = skus.set_index("sku_id")["order_arrives_at"].reindex(start.index)
    return {
        "skus": n_skus,
        "items": len(items),
        "merchants": len(merchants),
        "orders land mid-way": int(((arrives > start["min"]) & (arrives <= start["max"])).sum()),
        "orders reach no stream": int((arrives > start["max"]).sum()),
        "budget binds": int(binds["budget_binds"].sum()),
        "space binds": int(binds["capacity_binds"].sum()),
        "instance s": build_s,
        "solve s": solve_s,
        "LP (GLOP) s": lp.seconds,
        "solve / LP time": solve_s / lp.seconds,
        "solve peak MiB": peak - base,
        "objective": st.objective,
        "own bound": st.best_bound,
        "LP bound": lp.objective,
        "gap to LP bound": (lp.objective - st.objective) / abs(st.objective),
        "own gap": st.gap,
        "LP columns": lp.n_columns,
        "status": st.status,
        "solver": st.solver,
    }


def _child(n_skus: int, seed: int, queue: mp.Queue) -> None:
    queue.put(run_size(n_skus, seed))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the table to this file")
    args = ap.parse_args(argv)
    rows = []
    ctx = mp.get_context("spawn")
    for n in args.sizes:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(n, args.seed, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
        print(f"{n} SKUs done", flush=True)
    table = pd.DataFrame(rows).set_index("skus").T
    pd.set_option("display.width", 200)
    print(table.to_string())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
