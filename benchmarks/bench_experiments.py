"""The three example experiments (censoring, negbin_vs_quantile, video) on small demo worlds:
wall time and peak memory of each `experiment run` (a fresh process each, a fresh tracking
store), what the comparison found, and the cost of running a child as an experiment against
the bare backtest of the same child (the engine's run_backtest with the same config, world,
origins and leads: no plan, no scoring against the truth, no tracking) measured in the same
run.

    python benchmarks/bench_experiments.py [--experiments censoring video] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = ("censoring", "negbin_vs_quantile", "video")


def run_one(name: str, uri: str, cache: str, reports: str) -> dict:
    """In a fresh process: run the experiment and compare its variants; wall time, peak RSS."""
    from demandmatch.experiments.compare import compare_sides, resolve_sides
    from demandmatch.experiments.publish import log_comparison, write_report
    from demandmatch.experiments.runner import run_experiment
    from demandmatch.experiments.spec import load_experiment

    exp = load_experiment(REPO / "experiments" / f"{name}.yaml", REPO)
    t0 = time.perf_counter()
    result = run_experiment(exp, uri, Path(cache), REPO, fresh=True)
    run_s = time.perf_counter() - t0
    comp = compare_sides(uri, resolve_sides(uri, [result.parent_run_id]), 0.95)
    log_comparison(uri, comp, write_report(comp, Path(reports)))
    return {
        "experiment": name,
        "children": len(result.children),
        "run_s": run_s,
        "wall_s": time.perf_counter() - t0,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "results": comp.results,
        "parent": result.parent_run_id,
    }


def bare_backtest(name: str, cache: str) -> float:
    """In a fresh process: the last child's backtest alone, the engine's `run_backtest` (its
    fits, forecasts and realised scores; data loaded before the clock)."""
    from demandmatch.evaluation.backtest import run_backtest
    from demandmatch.experiments import engine
    from demandmatch.experiments.datasets import load_dataset
    from demandmatch.experiments.spec import load_experiment

    exp = load_experiment(REPO / "experiments" / f"{name}.yaml", REPO)
    child = exp.children[-1]
    data = load_dataset(child.dataset, child.config.timezone, Path(cache))
    bt = exp.spec.backtest
    origins = engine.rolling_origins(data.tables, bt.origins, bt.step_days, bt.horizon_days)
    t0 = time.perf_counter()
    run_backtest(
        data.tables, child.config, origins, bt.horizon_days, engine.nowcast_hours(bt.leads)
    )
    return time.perf_counter() - t0


def in_fresh_process(fn, *args):
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def child_seconds(uri: str, parent: str, name: str) -> pd.Series:
    from demandmatch import tracking

    runs = tracking.find_runs(
        uri, {"kind": "experiment-child", tracking.PARENT_TAG: parent}, [name]
    )
    runs = runs.sort_values("start_time")
    return (runs["end_time"] - runs["start_time"]).dt.total_seconds().reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS))
    ap.add_argument("--keep", type=Path, default=None, help="keep the store and reports here")
    args = ap.parse_args(argv)
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-experiments-"))
    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root.resolve()}/mlflow.db"
    cache, reports = str(root / "worlds"), str(root / "reports")
    print(
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr
    )
    rows, findings = [], []
    t_all = time.perf_counter()
    for name in args.experiments:
        out = in_fresh_process(run_one, name, uri, cache, reports)
        secs = child_seconds(uri, out["parent"], name)
        bare = in_fresh_process(bare_backtest, name, cache)
        rows.append(
            {
                "experiment": name,
                "runs": out["children"],
                "wall s": out["wall_s"],
                "peak MiB": out["peak_mib"],
                "child s (median)": secs.median(),
                "last child s": secs.iloc[-1],
                "its bare backtest s": bare,
                "child / bare": secs.iloc[-1] / bare,
            }
        )
        res = out["results"].set_index("metric")
        for metric in ("true_pinball", "pinball_vs_oracle", "true_abs_bias", "profit"):
            if metric in res.index:
                r = res.loc[metric]
                findings.append(
                    {
                        "experiment": name,
                        "challenger": r["side"],
                        "metric": metric,
                        "baseline": r["baseline_value"],
                        "challenger value": r["challenger_value"],
                        "difference": r["diff"],
                        "95% interval": f"[{r['low']:.4g}, {r['high']:.4g}]",
                        "verdict": r["verdict"],
                    }
                )
        print(f"{name}: {out['wall_s']:.0f} s", file=sys.stderr)
    total = time.perf_counter() - t_all
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).round(2).to_string(index=False))
    print(
        f"\ntotal wall time {total / 60:.1f} min (the three runs, their comparisons and the "
        f"bare backtests); load average at end {os.getloadavg()[0]:.1f}"
    )
    print("\nwhat the comparisons found (challenger - baseline, paired, block bootstrap):")
    print(pd.DataFrame(findings).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"\nstore {uri}; reports in {reports}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
