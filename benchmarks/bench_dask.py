"""The Dask engine's speed-up and its agreement with the single machine: one world forecast and
planned on this machine (`run_forecast`) and on LocalClusters of 1, 2, ... worker processes
(`run_forecast(engine="dask", scheduler=...)`, the cluster started here and reached by its
address as a remote one would be), the runs alternated, in one process each.

Printed per run: wall time per stage and in all, the speed-up of k workers over one, and how far
the cluster's forecasts are from the single machine's (relative difference of the summed mean
demand, median |log ratio| of the row means, share of plan rows ordering the same quantity).

    python benchmarks/bench_dask.py [--size x2] [--workers 1 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_growth import build_world


def one(world: Path, out: Path, workers: int) -> dict[str, object]:
    """A run in this process: on this machine (workers 0) or on a LocalCluster of `workers`."""
    from demandmatch.config import load_config
    from demandmatch.engine import dask_client
    from demandmatch.runs import run_forecast

    config = load_config(None, {"tracking": {"enabled": False}})
    t0 = time.perf_counter()
    if workers == 0:
        run = run_forecast(world / "data", out, config)
    else:
        with dask_client(n_workers=workers, threads_per_worker=1) as client:
            started = time.perf_counter() - t0
            address = client.scheduler.address
            run = run_forecast(world / "data", out, config, engine="dask", scheduler=address)
    wall = time.perf_counter() - t0
    return {
        "workers": workers,
        "wall_s": wall,
        "cluster_start_s": 0.0 if workers == 0 else started,
        **{f"{k}_s": v for k, v in run.timings.items()},
    }


def agreement(out: Path, local: Path) -> dict[str, float]:
    a, b = (pd.read_csv(p / "forecasts.csv") for p in (out, local))
    pa, pb = (pd.read_csv(p / "plan.csv") for p in (out, local))
    return {
        "total_mean_diff": float(a["mean"].sum() / b["mean"].sum() - 1.0),
        "median_abs_log_ratio": float(np.median(np.abs(np.log(a["mean"] / b["mean"])))),
        "same_order_share": float((pa["order_qty"] == pb["order_qty"]).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what")
    o = sub.add_parser("one")
    o.add_argument("world", type=Path)
    o.add_argument("out", type=Path)
    o.add_argument("workers", type=int)
    ap.add_argument("--size", default="x2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--worlds", type=Path, default=Path("outputs/growth"))
    args = ap.parse_args()
    if args.what == "one":
        print(json.dumps(one(args.world, args.out, args.workers)))
        return
    world = build_world(args.size, args.worlds, args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for workers in [0, *args.workers]:
                out = Path(tmp) / f"w{workers}"
                cmd = [sys.executable, __file__, "one", str(world), str(out), str(workers)]
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-4000:])
                row = json.loads(done.stdout.strip().splitlines()[-1])
                if workers:
                    row.update(agreement(out, Path(tmp) / "w0"))
                rows.append({"repeat": rep, **row})
                print(f"  {workers} workers: {row['wall_s']:.0f} s", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).set_index(["repeat", "workers"])
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(table.round(3).to_string())
    mean = table.groupby(level="workers").mean()
    if 1 in mean.index:
        timed = [c for c in mean.columns if c.endswith("_s")]
        print("\n-- speed-up over one worker (time of 1 worker / time of k), same run --")
        print((mean.loc[1, timed] / mean[timed]).round(2).to_string())


if __name__ == "__main__":
    main()
