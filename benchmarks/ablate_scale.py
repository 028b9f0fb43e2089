"""What a change made for speed costs in accuracy: the same worlds forecast and planned with
several variants of the config, scored against the true demand, paired world by world.

For each scenario and seed a world is built once; every variant (a JSON of config overrides,
`{}` the defaults) forecasts and plans it. Scores as in bench_demo.py: the forecast's exact
expected pinball loss under the true distribution over the oracle's (all rows and cold-start
rows), the coverage of its q10-q90, the bias of its mean, and the plan's expected profit under
the truth as a share of the oracle plan's. Printed: each variant's mean over the worlds, and each
variant's paired difference from the first with its standard error over the worlds (a difference
within two standard errors is noise on these worlds), and its forecast time over the first's.

    python benchmarks/ablate_scale.py --scenarios demo heavy_hype --seeds 0 1 \
        --variants '{}' '{"train_leads_per_item": 2}'
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_demo import forecast_ratios, score_forecast

from demandmatch.config import load_config
from demandmatch.data import load_tables
from demandmatch.evaluation.plans import plan_quantities, score_plan
from demandmatch.forecast.distributions import survival_negbin
from demandmatch.forecast.stages import forecast_demand
from demandmatch.runs import optimiser_inputs, plan_stock
from demandmatch.simulate import load_truth, simulate_world, write_world


def world(seed: int, size: str, scenario: str):
    """(tables, truth) of a simulated world, read back through the contract's loader."""
    w = simulate_world(seed, size, scenario)
    with tempfile.TemporaryDirectory() as tmp:
        return load_tables(write_world(w, Path(tmp)), "Asia/Shanghai"), load_truth(Path(tmp))


def plan_profit(fc, tables, config, truth: pd.DataFrame) -> float:
    """Expected profit under the truth of the plan made on `fc`, over the oracle plan's."""
    tf = fc.forecasts[["stream_id", "sku_id"]].merge(truth, on=["stream_id", "sku_id"], how="left")
    truth_surv = survival_negbin(tf["mean"].to_numpy(), tf["size"].to_numpy())
    items, skus, _ = optimiser_inputs(fc, tables)
    profits = []
    for surv in (None, truth_surv):
        res = plan_stock(fc, tables, config, survival=surv)
        sc = score_plan(items, skus, truth_surv, *plan_quantities(res, items, skus))
        profits.append(sc["profit"])
    return profits[0] / profits[1]


def run_variant(tables, truth, overrides: dict) -> dict[str, float]:
    config = load_config(None, {"tracking": {"enabled": False}, **overrides})
    t0 = time.perf_counter()
    fc = forecast_demand(tables, config)
    seconds = time.perf_counter() - t0
    return {
        **forecast_ratios(score_forecast(fc, truth)),
        "profit/oracle": plan_profit(fc, tables, config, truth),
        "forecast_s": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["demo"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--size", default="demo")
    ap.add_argument("--variants", nargs="+", default=["{}"], help="JSON config overrides")
    args = ap.parse_args(argv)
    variants = [json.loads(v) for v in args.variants]
    rows = []
    for scenario in args.scenarios:
        for seed in args.seeds:
            tables, truth = world(seed, args.size, scenario)
            for i, overrides in enumerate(variants):
                r = run_variant(tables, truth, overrides)
                rows.append({"scenario": scenario, "seed": seed, "variant": i, **r})
                print(
                    f"{scenario} seed {seed} variant {i}: {r['forecast_s']:.0f} s, "
                    f"pinball/oracle {r['pinball/oracle']:.4f}",
                    file=sys.stderr,
                    flush=True,
                )
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    metrics = [c for c in df.columns if c not in ("scenario", "seed", "variant")]
    print("\n== per world ==")
    print(df.round(4).to_string(index=False))
    print("\n== mean over worlds ==")
    means = df.groupby("variant")[metrics].mean()
    means.index = [args.variants[i] for i in means.index]
    print(means.round(4).to_string())
    wide = df.set_index(["scenario", "seed", "variant"])[metrics].unstack("variant")
    print("\n== paired difference from the first variant (mean, standard error) ==")
    out = {}
    for i in range(1, len(variants)):
        d = {}
        for m in metrics:
            if m == "forecast_s":
                d["time ratio"] = float((wide[m][i] / wide[m][0]).mean())
                continue
            diff = (wide[m][i] - wide[m][0]).dropna()
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
            d[m] = f"{diff.mean():+.4f} ({se:.4f})"
        out[args.variants[i]] = d
    print(pd.DataFrame(out).T.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
