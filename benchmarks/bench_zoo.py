"""The engine on the world zoo: forecasts and the decisions made on them, per scenario and in
the worst scenario, against references that know each world's truth.

For every scenario of `demandmatch.simulate.SCENARIOS` (or those given) and every seed: build
the world, read it back through the data contract, forecast its upcoming horizon with the
engine, plan on the forecast, and score both exactly under the true distributions
(`demandmatch.evaluation.zoo`): plan profit against the oracle plan and the point plan, waste
against the naive rule, fill rate, broken rules, with no budget and with budgets that bind;
pinball against the hype-blind forecaster, coverage against the truth's own, bias, and the same
on new SKUs. Worlds run in a pool of processes. Prints the table (means over seeds per
scenario, then the worst scenario of each figure) and writes it as JSON and markdown.

    python benchmarks/bench_zoo.py [--scenarios demo heavy_hype ...] [--seeds 0 1 2]
        [--size demo] [--workers 2] [--out outputs/bench-zoo] [--config FILE]
        [--model '{"key": value}'] [--forecast-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from demandmatch.config import load_config
from demandmatch.evaluation.zoo import headline, load_world, markdown, world_figures, zoo_table
from demandmatch.forecast.stages import forecast_demand
from demandmatch.runs import optimiser_inputs
from demandmatch.simulate import SCENARIOS


def one(
    job: tuple[str, int], size: str, config_path: str | None, model: dict, decisions: bool = True
) -> dict:
    scenario, seed = job
    config = load_config(config_path, {"tracking": {"enabled": False}, "model": model})
    t0 = time.perf_counter()
    world = load_world(seed, size, scenario, config.timezone)

    def inputs(fc, tables):
        return optimiser_inputs(fc, tables, config.optimiser.service_levels)

    row = world_figures(
        world, config, lambda t, c: forecast_demand(t, c), inputs, decisions=decisions
    )
    return {"scenario": scenario, "seed": seed, "seconds": time.perf_counter() - t0, **row}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--size", default="demo")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="outputs/bench-zoo")
    ap.add_argument("--config", default=None)
    ap.add_argument("--model", default="{}", help="model settings as JSON, over the config's")
    ap.add_argument(
        "--forecast-only",
        action="store_true",
        help="the forecast's figures only: no plans are made (about a third of the time)",
    )
    args = ap.parse_args(argv)
    jobs = [(s, seed) for s in args.scenarios for seed in args.seeds]
    run = partial(
        one,
        size=args.size,
        config_path=args.config,
        model=json.loads(args.model),
        decisions=not args.forecast_only,
    )
    rows = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        for row in pool.map(run, jobs):
            rows.append(row)
            print(f"{row['scenario']} seed {row['seed']}: {row['seconds']:.0f}s", file=sys.stderr)
    df = pd.DataFrame(rows)
    table = zoo_table(df)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    print(table.T.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\n{len(jobs)} worlds in {time.perf_counter() - t0:.0f}s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_json(out / "worlds.json", orient="records", indent=1)
    headline(df).to_csv(out / "headline.csv", index=False)
    (out / "zoo.json").write_text(table.T.to_json(indent=1))
    (out / "zoo.md").write_text(markdown(table))
    print(f"written: {out}/zoo.md, zoo.json, worlds.json, headline.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
