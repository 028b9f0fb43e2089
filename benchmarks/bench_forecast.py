"""Demand forecast quality on demo worlds against the true distributions (issue targets).

Per seed: a rolling-origin backtest over the end of the history (origins a week apart, each
forecasting the next 7 days as of the origin and 72/24/6 h before each stream), scored exactly
against the world's true negative binomial demand. Side by side in the same run: the naive
per-SKU empirical-quantile baseline and the same model without the censoring correction, and
the bias of a forecaster that knows everything but each stream's hidden hype (what the hype of
those weeks alone does to the bias of the mean).
Optionally (--compare) the multi-quantile LightGBM on the first seed, which is how the default
distribution model was chosen.

    python benchmarks/bench_forecast.py --seeds 0 1 2 [--origins 3] [--compare] [--festivals]
        [--skip-uncensored]

With --festivals the origins sit 6 days before each festival in the history instead, so the
windows cover the run-ups (the plan horizon of the demo worlds covers Double 11).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
from bench_demo import demo_world

from demandmatch.config import load_config
from demandmatch.evaluation.backtest import history_end, rolling_origins, run_backtest
from demandmatch.evaluation.oracles import hype_blind_bias
from demandmatch.forecast.models.empirical import EmpiricalQuantileDemand
from demandmatch.forecast.stages import make_demand_model

LEADS = ["origin", "72h", "24h", "6h"]


def _pick(summary: pd.DataFrame, lead: str, segment: str, col: str) -> float:
    s = summary[(summary["lead"] == lead) & (summary["segment"] == segment)]
    return float(s[col].iloc[0]) if len(s) and col in s else np.nan


def festival_origins(tables, config, days_before: int) -> list[pd.Timestamp]:
    """An origin `days_before` days ahead of each configured festival day inside the history
    (the window then covers the run-up), at the same local hour as the end of history."""
    end = history_end(tables)
    first = tables.streams["start_time"].min() + pd.Timedelta(days=60)
    local_end = end.tz_convert(config.timezone)
    out = []
    for year in range(first.year, end.year + 1):
        for fest in config.festivals:
            day = pd.Timestamp(year=year, month=fest.month, day=fest.day, tz=config.timezone)
            origin = (day - pd.Timedelta(days=days_before)).replace(
                hour=local_end.hour, minute=local_end.minute
            )
            if first <= origin and origin + pd.Timedelta(days=7) <= end:
                out.append(origin.tz_convert("UTC"))
    return sorted(out)


def run_seed(
    seed: int,
    size: str,
    n_origins: int,
    compare: bool,
    config,
    festivals: bool = False,
    uncensored: bool = True,
) -> list[dict]:
    tables, truth = demo_world(seed, size, config)
    origins = rolling_origins(tables, n_origins, 7, 7)
    if festivals:
        origins = festival_origins(tables, config, 6)
        print(f"seed {seed}: origins {[o.date().isoformat() for o in origins]}", flush=True)
    variants = {
        "engine": None,
        "naive": EmpiricalQuantileDemand,
        "no-censoring": lambda: make_demand_model(config, censoring=False),
    }
    if not uncensored:
        del variants["no-censoring"]
    if compare:
        q_config = config.model_copy(
            update={"model": config.model.model_copy(update={"name": "lgbm_quantile"})}
        )
        variants["lgbm_quantile"] = lambda: make_demand_model(q_config)
    out = []
    for name, factory in variants.items():
        t0 = time.perf_counter()
        res = run_backtest(tables, config, origins, 7, truth=truth, model_factory=factory)
        seconds = time.perf_counter() - t0
        luck = hype_blind_bias(truth, res.rows)  # every variant scores the same rows
        for lead in LEADS:
            row = {"seed": seed, "model": name, "lead": lead, "seconds": seconds}
            row["hype_blind_bias"] = luck
            for seg in ("all", "warm", "cold"):
                for col in ("true_pinball", "oracle_pinball", "pinball_vs_oracle", "n"):
                    row[f"{seg}_{col}"] = _pick(res.summary, lead, seg, col)
            cols = ("true_coverage_10_90", "true_coverage_05_95", "true_pit_coverage_10_90")
            for col in (*cols, "true_bias", "wape"):
                row[col] = _pick(res.summary, lead, "all", col)
            out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--size", default="demo")
    ap.add_argument("--origins", type=int, default=3)
    ap.add_argument("--compare", action="store_true", help="also the multi-quantile model")
    ap.add_argument("--config", default=None)
    ap.add_argument(
        "--festivals",
        action="store_true",
        help="origins 6 days before each past festival instead of the end of history",
    )
    ap.add_argument(
        "--skip-uncensored",
        action="store_true",
        help="leave out the model without the censoring fix (a full second fit per origin)",
    )
    args = ap.parse_args(argv)
    config = load_config(args.config, {"tracking": {"enabled": False}})
    rows = []
    for i, seed in enumerate(args.seeds):
        t0 = time.perf_counter()
        compare = args.compare and i == 0
        rows += run_seed(
            seed,
            args.size,
            args.origins,
            compare,
            config,
            args.festivals,
            uncensored=not args.skip_uncensored,
        )
        print(f"seed {seed}: {time.perf_counter() - t0:.0f}s", flush=True)
    df = pd.DataFrame(rows)
    eng = df[df["model"] == "engine"].set_index(["seed", "lead"])
    naive = df[df["model"] == "naive"].set_index(["seed", "lead"])
    nocens = df[df["model"] == "no-censoring"].set_index(["seed", "lead"])
    t = pd.DataFrame(index=eng.index)
    t["items"] = eng["all_n"]
    t["pinball/oracle"] = eng["all_pinball_vs_oracle"]
    t["pinball/naive"] = eng["all_true_pinball"] / naive["all_true_pinball"]
    t["cold items"] = eng["cold_n"]
    t["cold pinball/oracle"] = eng["cold_pinball_vs_oracle"]
    t["cov 10-90"] = eng["true_coverage_10_90"]
    t["cov 5-95"] = eng["true_coverage_05_95"]
    t["PIT cov 10-90"] = eng["true_pit_coverage_10_90"]  # the truth's own: 0.800
    t["bias"] = eng["true_bias"]
    t["bias, no censoring fix"] = nocens["true_bias"]
    t["hype-blind bias"] = eng["hype_blind_bias"]
    t["naive cov 10-90"] = naive["true_coverage_10_90"]
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 30)
    print("\nexact scores under the true distributions, averaged over origins")
    print(t.round(3).to_string())
    print("\nmean over seeds, by lead")
    print(t.groupby(level="lead", sort=False).mean().round(3).to_string())
    if "lgbm_quantile" in set(df["model"]):
        q = df[df["model"] == "lgbm_quantile"].set_index(["seed", "lead"])
        cmp = pd.DataFrame(
            {
                "negbin pinball/oracle": eng.loc[q.index, "all_pinball_vs_oracle"],
                "quantile pinball/oracle": q["all_pinball_vs_oracle"],
                "negbin cov 10-90": eng.loc[q.index, "true_coverage_10_90"],
                "quantile cov 10-90": q["true_coverage_10_90"],
                "negbin PIT cov": eng.loc[q.index, "true_pit_coverage_10_90"],
                "quantile PIT cov": q["true_pit_coverage_10_90"],
                "negbin bias": eng.loc[q.index, "true_bias"],
                "quantile bias": q["true_bias"],
                "negbin s": eng.loc[q.index, "seconds"],
                "quantile s": q["seconds"],
            }
        )
        print("\ndistribution model: NB mean + learned size vs 7 quantile boosters (first seed)")
        print(cmp.round(3).to_string())
    secs = df.groupby(["model"])["seconds"].mean() / args.origins
    print("\nseconds per origin (fit + 4 forecasts):", secs.round(1).to_dict())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
