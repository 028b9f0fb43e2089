"""How the forecast's cost grows with the world: wall time, time per stage and peak memory of a
whole forecast run (load, features, demand model, plan, write) on worlds 1, 2, 4 and 8 times the
demo's size, the growth exponent of every stage between sizes, and the ~1M-item world end to end
against its target.

Every run is the one the CLI makes (`runs.run_forecast`, without tracking) in its own process, so
that its peak resident memory is its own. The worlds are built once (`demandmatch simulate
--format parquet`) under --worlds and reused. Inside the demand model, the time of its parts is
measured by wrapping them in the run's process: the random-effects start, the binning of the
LightGBM Dataset, the trees (with the custom objective's share), the held-out calibration and the
prediction. The growth exponent between two sizes is log(time ratio) / log(past-item ratio): 1 is
linear, 1.5 is what four times the data costing eight times the time means.

With --compare DIR each size also runs on the code in DIR (a checkout of another commit), the two
alternating, and the table prints the ratio of every figure (this code / DIR's) measured in the
same run: the machine is shared, so only such ratios say much.

    python benchmarks/bench_growth.py [--sizes x1 x2 x4 x8] [--million] [--compare DIR]
    python benchmarks/bench_growth.py one WORLD_DIR      # one run, its figures as JSON
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

TARGETS = {"million_s": 600.0, "million_gb": 8.0, "demo_s": 10.0}
# (module, attribute path, stage): the parts of the demand model timed inside a run; a part the
# code does not have (an older checkout) is left blank
PARTS = (
    ("demandmatch.forecast.negbin.start", "RandomEffectsStart.fit_transform", "re_start"),
    ("demandmatch.forecast.negbin.boosting", "Boosting.dataset", "bins"),
    ("demandmatch.forecast.negbin.boosting", "Boosting.grow", "trees"),
    # the likelihood's gradient, in the trees' objective and the start's Newton steps
    ("demandmatch.forecast.negbin.likelihood", "GradHess.__call__", "gradients"),
    ("demandmatch.forecast.calibration", "HeldOutCalibration.calibrate", "calibration"),
    ("demandmatch.forecast.models.negbin", "LGBMNegBinDemand.predict_forecast", "predict"),
)
RUN_STAGES = ("load", "features", "demand model", "optimise", "write")


def _timed(seconds: dict[str, float], stage: str, fn):
    """fn, its wall time added to seconds[stage] and its CPU time (every thread's, so a
    shared machine's waiting leaves it out) to seconds[stage + " cpu"]."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[stage] += time.perf_counter() - t0
            seconds[stage + " cpu"] += time.process_time() - c0

    return wrapper


def _instrument(seconds: dict[str, float]) -> None:
    """Wrap each part of PARTS, and each stage of a run, so that their times add up in
    `seconds`."""
    from demandmatch.timing import Timer

    for module_name, path, stage in PARTS:
        owner = importlib.import_module(module_name)
        *outer, name = path.split(".")
        for part in outer:
            owner = getattr(owner, part, None)
        if owner is None or not hasattr(owner, name):
            continue
        setattr(owner, name, _timed(seconds, stage, getattr(owner, name)))
    stage = Timer.stage

    @contextmanager
    def cpu_stage(self, name, progress, *label):
        c0 = time.process_time()
        with stage(self, name, progress, *label):
            yield
        seconds[name + " cpu"] += time.process_time() - c0

    Timer.stage = cpu_stage


def one(world: Path, config_path: Path | None = None) -> dict[str, object]:
    """Forecast and plan one world in this process: its figures and this process's peak memory."""
    from demandmatch.config import load_config
    from demandmatch.runs import run_forecast

    parts: dict[str, float] = defaultdict(float)
    _instrument(parts)
    config = load_config(config_path, {"tracking": {"enabled": False}})
    meta = json.loads((world / "world.json").read_text())
    with tempfile.TemporaryDirectory() as out:
        t0, c0 = time.perf_counter(), time.process_time()
        run = run_forecast(world / "data", out, config)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    items = pd.read_parquet(world / "data" / "stream_items.parquet", columns=["units_sold"])
    return {
        "past_items": int(items["units_sold"].notna().sum()),
        "train_rows": run.forecast.n_train,
        "upcoming_items": len(run.forecast.forecasts),
        "all_items": meta["rows"]["stream_items"],
        "wall_s": wall,
        **{f"{s}_s": run.timings.get(s, math.nan) for s in RUN_STAGES},
        **{f"{s}_s": parts.get(s, math.nan) for *_, s in PARTS},
        "cpu_s": cpu,
        **{f"{s}_cpu": parts.get(s + " cpu", math.nan) for s in RUN_STAGES},
        **{f"{s}_cpu": parts.get(s + " cpu", math.nan) for *_, s in PARTS},
        "round_share": run.forecast.model_choices.get("model_round_share", math.nan),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def build_world(size: str, worlds: Path, seed: int) -> Path:
    out = worlds / f"{size}-seed{seed}"
    cmd = [
        *_cli(),
        "simulate",
        "--size",
        size,
        "--seed",
        str(seed),
        "--format",
        "parquet",
        "--out",
        str(out),
        "--reuse",
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def _cli() -> list[str]:
    return [sys.executable, "-c", "from demandmatch.cli import app; app()"]


def run_one(world: Path, code: Path | None, config: Path | None = None) -> dict[str, object]:
    """`one` in a fresh process, on this checkout's code or on `code`'s."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, __file__, "one", str(world)]
    if config is not None:
        cmd += ["--config", str(config.resolve())]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"run on {world} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponents(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Growth exponent of each column between consecutive sizes (rows of `table`)."""
    rows = {}
    n = table["past_items"].astype(float)
    for a, b in zip(table.index[:-1], table.index[1:], strict=True):
        ratio = math.log(n[b] / n[a])
        rows[f"{a}->{b}"] = {
            c: math.log(table.loc[b, c] / table.loc[a, c]) / ratio
            if table.loc[a, c] > 0 and table.loc[b, c] > 0
            else math.nan
            for c in columns
        }
    return pd.DataFrame(rows).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what")
    o = sub.add_parser("one")
    o.add_argument("world", type=Path)
    o.add_argument("--config", type=Path)
    parser.add_argument("--sizes", nargs="+", default=["x1", "x2", "x4", "x8"])
    parser.add_argument("--million", action="store_true", help="also the ~1M-item world")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worlds", type=Path, default=Path("outputs/growth"))
    parser.add_argument("--compare", type=Path, help="a checkout whose code runs beside this one")
    parser.add_argument("--config", type=Path, help="YAML config of every run (default: built-in)")
    args = parser.parse_args()
    if args.what == "one":
        print(json.dumps(one(args.world, args.config)))
        return
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    sizes = list(args.sizes) + (["million"] if args.million else [])
    codes: list[tuple[str, Path | None]] = [("this", None)]
    if args.compare is not None:
        codes.append(("other", args.compare.resolve()))
    results: dict[str, dict[str, dict]] = {label: {} for label, _ in codes}
    for size in sizes:
        world = build_world(size, args.worlds, args.seed)
        for label, code in codes:
            results[label][size] = run_one(world, code, args.config)
            r = results[label][size]
            print(
                f"  {size} ({label}): {r['wall_s']:.1f} s, {r['peak_gb']:.2f} GB",
                file=sys.stderr,
                flush=True,
            )
    tables = {label: pd.DataFrame(results[label]).T.astype(float) for label, _ in codes}
    walls = [c for c in tables["this"].columns if c.endswith("_s")]
    cpus = [c for c in tables["this"].columns if c.endswith("_cpu")]
    counts = ["past_items", "train_rows", "upcoming_items", "round_share", "peak_gb"]
    for label, table in tables.items():
        title = "this code" if label == "this" else f"code in {args.compare}"
        print(f"\n== {title}: wall seconds per stage, peak memory ==")
        print(table[counts + walls].round(2).to_string())
        print(f"\n== {title}: CPU seconds per stage (every thread; waiting left out) ==")
        print(table[cpus].round(2).to_string())
        growth = table.drop(index=["million"], errors="ignore")
        if len(growth) > 1:
            print("\n-- growth exponent of wall time (1 = linear in past stream items) --")
            print(exponents(growth, [*walls, "peak_gb"]).round(2).to_string())
            print("\n-- growth exponent of CPU time --")
            print(exponents(growth, cpus).round(2).to_string())
    if "other" in tables:
        print("\n== this code / other code, same run ==")
        keep = [*walls, *cpus, "peak_gb"]
        print((tables["this"][keep] / tables["other"][keep]).round(3).T.to_string())
    this = tables["this"]
    first = this.index[0]
    print(f"\n== targets ==\n{first} forecast: {this.loc[first, 'wall_s']:.1f} s wall", end="")
    print(f", {this.loc[first, 'cpu_s']:.1f} s CPU", end="")
    print(f" (target <= {TARGETS['demo_s']:.0f} s)")
    if "million" in this.index:
        m = this.loc["million"]
        ok = m["wall_s"] <= TARGETS["million_s"] and m["peak_gb"] <= TARGETS["million_gb"]
        print(
            f"million ({m['past_items']:,.0f} past, {m['upcoming_items']:,.0f} upcoming): "
            f"{m['wall_s']:.0f} s wall, {m['cpu_s']:.0f} s CPU, {m['peak_gb']:.2f} GB "
            f"(target <= {TARGETS['million_s']:.0f} s, <= {TARGETS['million_gb']:.0f} GB): "
            f"{'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
