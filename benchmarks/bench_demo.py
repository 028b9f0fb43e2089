"""Forecast and plan quality on demo worlds, against the oracle and naive baselines.

For each seed: build a demo world, forecast its upcoming horizon with the engine and with the
naive per-SKU empirical-quantile baseline, and score both against the world's true demand
distribution (exact expected pinball loss and coverage under the truth, not one noisy draw).
Then plan with the engine's forecast, with the truth (oracle), with a point forecast (stock =
median), with the naive rule (stock = 1.2 x mean past units sold per stream) and with the
hype-blind truth (the true distribution with the stream's hidden hype integrated out: the best
any forecaster can do without reading the hype from the short videos), with the video-horizon
truth (the hype known exactly for the streams that had a video published by the as-of time and
integrated out for the others, which no video tells of yet: a ceiling no forecaster made at the
as-of time can pass) and score every plan's expected profit and leftover cost under the true
distribution.

    python benchmarks/bench_demo.py --seeds 0 1 2 [--size demo]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from demandmatch.config import load_config
from demandmatch.data.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.evaluation.backtest import PIT_BAND, score, scored_rows
from demandmatch.evaluation.metrics import expected_pinball_negbin, pit_coverage_expected
from demandmatch.evaluation.oracles import (
    blind_mean,
    cold_blind,
    has_video,
    hype_blind,
    video_horizon,
)
from demandmatch.evaluation.plans import naive_plan, plan_quantities, point_survival, score_plan
from demandmatch.evaluation.zoo import load_world, truth_rows
from demandmatch.forecast.distributions import quantiles_negbin, survival_negbin
from demandmatch.forecast.models.empirical import EmpiricalQuantileDemand
from demandmatch.forecast.stages import DemandForecast, forecast_demand
from demandmatch.runs import optimiser_inputs, plan_stock
from demandmatch.simulate import HYPE_SD

LEVELS = np.array(QUANTILE_LEVELS)


def forecast_ratios(sc: dict[str, float]) -> dict[str, float]:
    """The headline forecast figures of `score_forecast`'s scores, as the ablations print them."""
    return {
        "pinball/oracle": sc["pinball"] / sc["oracle_pinball"],
        "cold pinball/oracle": sc["cold_pinball"] / sc["cold_oracle"],
        "cov q10-q90": sc["coverage_10_90"],
        "bias of mean": sc["bias_mean"],
    }


def score_forecast(fc: DemandForecast, truth: pd.DataFrame) -> dict[str, float]:
    """Exact scores under the true distribution, overall and on cold-start items."""
    rows = scored_rows(fc, fc.as_of, "plan", truth)
    every = score(rows)
    cold = rows["cold_start"].to_numpy(dtype=bool)
    on_cold = score(rows[cold]) if cold.any() else {}
    return {
        "pinball": every["true_pinball"],
        "oracle_pinball": every["oracle_pinball"],
        "cold_pinball": on_cold.get("true_pinball", np.nan),
        "cold_oracle": on_cold.get("oracle_pinball", np.nan),
        "coverage_10_90": every["true_coverage_10_90"],
        "bias_mean": every["true_bias"],
        "n_rows": len(rows),
        "n_cold": int(cold.sum()),
    }


def demo_world(seed: int, size: str, config, scenario: str = "demo"):
    """(tables, truth) of a simulated world (of a zoo `scenario`), read back through the
    contract's loader (evaluation.zoo.load_world)."""
    world = load_world(seed, size, scenario, config.timezone)
    return world.tables, world.truth


def run_seed(seed: int, size: str, config) -> dict[str, float]:
    row: dict[str, float] = {"seed": seed}
    t0 = time.perf_counter()
    tables, truth = demo_world(seed, size, config)
    row["simulate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fc = forecast_demand(tables, config)
    row["forecast_s"] = time.perf_counter() - t0
    base = forecast_demand(tables, config, model=EmpiricalQuantileDemand())
    sm, sb = score_forecast(fc, truth), score_forecast(base, truth)
    row.update({f"fc_{k}": v for k, v in sm.items()})
    tf = truth_rows(fc, truth)
    mu, size = tf["mean"].to_numpy(), tf["size"].to_numpy()
    oracle = expected_pinball_negbin(quantiles_negbin(mu, size, LEVELS), LEVELS, mu, size)
    oracle = oracle.mean(axis=1)
    cold = fc.forecasts["cold_start"].to_numpy(dtype=bool)
    # coverage of the PIT's 10-90% band: 0.8 for the truth itself, where its q10-q90 hold more
    fine_truth = survival_negbin(mu, size, tail=1e-12)  # as pit_coverage_negbin cuts it

    def pit(surv: list[np.ndarray]) -> float:
        return float(pit_coverage_expected(surv, fine_truth, *PIT_BAND).mean())

    row["fc_pit_10_90"], row["naive_pit_10_90"] = pit(fc.survival), pit(base.survival)
    ceilings = {}  # name -> survival curves of each row: the plans these truths make
    if tf["log_hype"].notna().all():
        ceilings["hype-blind"], q_blind = hype_blind(tf)
        row["blind_pit_10_90"] = pit(ceilings["hype-blind"])
        blind_loss = expected_pinball_negbin(q_blind, LEVELS, mu, size).mean(axis=1)
        row["blind_pinball_ratio"] = float(blind_loss.mean() / oracle.mean())
        # the bias a forecaster blind to the hype must have on this horizon: what the hype of
        # its few large streams happened to be
        hype, center = tf["log_hype"].to_numpy(), tf["hype_center"].to_numpy()
        blind = blind_mean(tf, hype, center, np.full(len(tf), HYPE_SD))
        row["blind_bias"] = float(blind.sum() / mu.sum() - 1.0)
        if cold.any():
            row["blind_cold_pinball_ratio"] = float(blind_loss[cold].mean() / oracle[cold].mean())
        hv = has_video(tables, tf["stream_id"], fc.as_of)
        ceilings["video-horizon"], q_vh = video_horizon(tf, hv)
        vh_loss = expected_pinball_negbin(q_vh, LEVELS, mu, size).mean(axis=1)
        row["horizon_pinball_ratio"] = float(vh_loss.mean() / oracle.mean())
        row["video_rows"] = float(hv.mean())
        if hv.any():  # rows whose stream had a video by the as-of time: what videos can gain
            q_fc = fc.forecasts[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
            fc_loss = expected_pinball_negbin(q_fc, LEVELS, mu, size).mean(axis=1)
            row["fc_video_pinball_ratio"] = float(fc_loss[hv].mean() / oracle[hv].mean())
            row["blind_video_pinball_ratio"] = float(blind_loss[hv].mean() / oracle[hv].mean())
    if tf["log_host"].notna().all():
        cold_sku, cold_host = (fc.lineup[c].to_numpy() for c in ("cold_sku", "cold_streamer"))
        q_floor = cold_blind(tf, cold_sku, cold_host)[1]
        floor_loss = expected_pinball_negbin(q_floor, LEVELS, mu, size).mean(axis=1)
        row["floor_pinball_ratio"] = float(floor_loss.mean() / oracle.mean())
        if cold.any():
            row["floor_cold_pinball_ratio"] = float(floor_loss[cold].mean() / oracle[cold].mean())
    row["naive_pinball"] = sb["pinball"]
    row["naive_coverage_10_90"] = sb["coverage_10_90"]

    items, skus, merchants = optimiser_inputs(fc, tables)
    # the optimiser's items are the forecast's rows, in the same order
    assert (
        items[["stream_id", "sku_id"]].to_numpy() == tf[["stream_id", "sku_id"]].to_numpy()
    ).all()
    truth_surv = survival_negbin(mu, size)
    t0 = time.perf_counter()
    plans = {"engine": plan_stock(fc, tables, config)}
    row["plan_s"] = time.perf_counter() - t0
    plans["oracle"] = plan_stock(fc, tables, config, survival=truth_surv)
    for name, surv in ceilings.items():
        plans[name] = plan_stock(fc, tables, config, survival=surv)
    median = point_survival(fc.forecasts["q50"].to_numpy())
    plans["median"] = plan_stock(fc, tables, config, survival=median)
    for name, res in plans.items():
        sc = score_plan(items, skus, truth_surv, *plan_quantities(res, items, skus))
        key = name.replace("-", "_")
        row[f"{key}_profit"], row[f"{key}_leftover_cost"] = sc["profit"], sc["leftover_cost"]
    n_order, n_alloc = naive_plan(fc, tables, skus, merchants)
    sc = score_plan(items, skus, truth_surv, n_order, n_alloc)
    row["naive_profit"], row["naive_leftover_cost"] = sc["profit"], sc["leftover_cost"]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--size", default="demo")
    ap.add_argument("--config", default=None)
    args = ap.parse_args(argv)
    config = load_config(args.config, {"tracking": {"enabled": False}})
    rows = []
    for seed in args.seeds:
        row = run_seed(seed, args.size, config)
        rows.append(row)
        print(f"seed {seed}: done in {row['simulate_s'] + row['forecast_s']:.0f}s", file=sys.stderr)
    df = pd.DataFrame(rows).set_index("seed")
    r = pd.DataFrame(index=df.index)
    r["rows"] = df["fc_n_rows"]
    r["cold rows"] = df["fc_n_cold"]
    r["pinball/oracle"] = df["fc_pinball"] / df["fc_oracle_pinball"]
    r["pinball/naive"] = df["fc_pinball"] / df["naive_pinball"]
    r["cold pinball/oracle"] = df["fc_cold_pinball"] / df["fc_cold_oracle"]
    if "blind_cold_pinball_ratio" in df:
        r["hype-blind cold pinball/oracle"] = df["blind_cold_pinball_ratio"]
    if "floor_pinball_ratio" in df:
        r["no-history ref pinball/oracle"] = df["floor_pinball_ratio"]
    if "floor_cold_pinball_ratio" in df:
        r["no-history ref cold/oracle"] = df["floor_cold_pinball_ratio"]
    if "blind_pinball_ratio" in df:
        r["hype-blind pinball/oracle"] = df["blind_pinball_ratio"]
    if "horizon_pinball_ratio" in df:
        r["video-horizon pinball/oracle"] = df["horizon_pinball_ratio"]
        r["pinball/video-horizon"] = r["pinball/oracle"] / df["horizon_pinball_ratio"]
        r["rows with a video"] = df["video_rows"]
    if "fc_video_pinball_ratio" in df:
        r["on them: pinball/oracle"] = df["fc_video_pinball_ratio"]
        r["on them: hype-blind/oracle"] = df["blind_video_pinball_ratio"]
    r["cov q10-q90"] = df["fc_coverage_10_90"]
    r["naive cov"] = df["naive_coverage_10_90"]
    r["PIT cov 10-90"] = df["fc_pit_10_90"]  # the truth's own: 0.800
    r["naive PIT cov"] = df["naive_pit_10_90"]
    if "blind_pit_10_90" in df:
        r["hype-blind PIT cov"] = df["blind_pit_10_90"]
    r["bias of mean"] = df["fc_bias_mean"]
    if "blind_bias" in df:
        r["hype-blind bias"] = df["blind_bias"]
    r["profit/oracle"] = df["engine_profit"] / df["oracle_profit"]
    if "hype_blind_profit" in df:
        r["hype-blind profit/oracle"] = df["hype_blind_profit"] / df["oracle_profit"]
        r["profit/hype-blind"] = df["engine_profit"] / df["hype_blind_profit"]
    if "video_horizon_profit" in df:
        r["video-horizon profit/oracle"] = df["video_horizon_profit"] / df["oracle_profit"]
        r["profit/video-horizon"] = df["engine_profit"] / df["video_horizon_profit"]
    r["profit/naive"] = df["engine_profit"] / df["naive_profit"]
    r["profit/median-plan"] = df["engine_profit"] / df["median_profit"]
    r["naive profit/oracle"] = df["naive_profit"] / df["oracle_profit"]
    r["leftover/oracle"] = df["engine_leftover_cost"] / df["oracle_leftover_cost"]
    r["leftover/naive"] = df["engine_leftover_cost"] / df["naive_leftover_cost"]
    r["forecast s"] = df["forecast_s"]
    r["plan s"] = df["plan_s"]
    r.loc["mean"] = r.mean()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 40)
    print(r.T.round(3).to_string())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory {peak:.0f} MiB")
    print("\nabsolute figures (yuan, expected under the true distribution):")
    cols = [c for c in df.columns if c.endswith("_profit") or c.endswith("_leftover_cost")]
    print(df[cols].round(0).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
