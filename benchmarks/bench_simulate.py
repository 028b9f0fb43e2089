"""How long building and writing a world takes, and its peak memory, as the world grows; and what
each zoo scenario's world is like.

Growth: each size is built in its own process (so that its peak resident memory is its own),
timed, and written once (CSV below 500k stream items, Parquet above, as the loader reads
either). The growth exponent between two sizes is log(time ratio) / log(item ratio): 1 is
linear. Times are shown beside the x1 world's, measured in the same run.

Zoo: for every scenario (seed, demo size) the figures `simulate.stats.world_stats` measures.

    python benchmarks/bench_simulate.py growth [--sizes x1 x2 x4 x8 x16 million]
    python benchmarks/bench_simulate.py zoo [--seed 0] [--size demo]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from demandmatch.simulate import SCENARIOS, simulate_world, write_world
from demandmatch.simulate.stats import world_stats

PARQUET_FROM = 500_000  # stream items from which a growth world is written as Parquet


def one(size: str, scenario: str, seed: int) -> dict[str, float]:
    """Builds and writes one world in this process; its figures and this process's peak memory."""
    t0 = time.perf_counter()
    world = simulate_world(seed, size, scenario)
    simulate_s = time.perf_counter() - t0
    n_items = len(world.tables["stream_items"])
    fmt = "parquet" if n_items >= PARQUET_FROM else "csv"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_world(world, Path(tmp), fmt)
        write_s = time.perf_counter() - t0
    up = int(world.truth["upcoming"].sum())
    return {
        "size": size,
        "past_items": n_items - up,
        "upcoming_items": up,
        "simulate_s": simulate_s,
        "write_s": write_s,
        "format": fmt,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def growth(sizes: list[str], scenario: str, seed: int) -> pd.DataFrame:
    rows = []
    for size in sizes:
        cmd = [sys.executable, __file__, "one", size, "--scenario", scenario, "--seed", str(seed)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"  {size}: {rows[-1]['simulate_s']:.1f} s", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).set_index("size")
    items = table["past_items"] + table["upcoming_items"]
    base = table.index[0]
    table["time_vs_" + base] = table["simulate_s"] / table.loc[base, "simulate_s"]
    exponent = [math.nan]
    for a, b in zip(table.index[:-1], table.index[1:], strict=True):
        t_ratio = table.loc[b, "simulate_s"] / table.loc[a, "simulate_s"]
        exponent.append(math.log(t_ratio) / math.log(items[b] / items[a]))
    table["growth_exponent"] = exponent
    return table


def zoo(seed: int, size: str) -> pd.DataFrame:
    rows = {}
    for name in SCENARIOS:
        t0 = time.perf_counter()
        w = simulate_world(seed, size, name)
        row = world_stats(w.tables, w.truth, w.as_of)
        row["simulate_s"] = time.perf_counter() - t0
        rows[name] = row
    return pd.DataFrame(rows).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    g = sub.add_parser("growth")
    g.add_argument("--sizes", nargs="+", default=["x1", "x2", "x4", "x8", "x16", "million"])
    g.add_argument("--scenario", default="demo")
    g.add_argument("--seed", type=int, default=0)
    o = sub.add_parser("one")
    o.add_argument("size")
    o.add_argument("--scenario", default="demo")
    o.add_argument("--seed", type=int, default=0)
    z = sub.add_parser("zoo")
    z.add_argument("--seed", type=int, default=0)
    z.add_argument("--size", default="demo")
    args = parser.parse_args()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    if args.what == "one":
        print(json.dumps(one(args.size, args.scenario, args.seed)))
    elif args.what == "growth":
        print(growth(args.sizes, args.scenario, args.seed).round(3).to_string())
    else:
        print(zoo(args.seed, args.size).round(3).to_string())


if __name__ == "__main__":
    main()
