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

    python experiments/bench_demo.py --seeds 0 1 2 [--size demo]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from demandmatch.backtest import PIT_BAND, score, scored_rows
from demandmatch.config import load_config
from demandmatch.contract import load_tables
from demandmatch.demand import EmpiricalQuantileDemand
from demandmatch.distributions import (
    quantiles_negbin,
    quantiles_negbin_mixed,
    survival_negbin,
    survival_negbin_mixed,
)
from demandmatch.evaluation import expected_pinball_negbin, pit_coverage_expected
from demandmatch.optimise import expected_outcomes
from demandmatch.pipeline import DemandForecast, forecast_demand, optimiser_inputs, plan_stock
from demandmatch.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.simulate import HYPE_SD, POP_SD, load_truth, simulate_world, write_world

LEVELS = np.array(QUANTILE_LEVELS)


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


def hype_blind(t: pd.DataFrame, nodes: int = 9) -> tuple[list[np.ndarray], np.ndarray]:
    """Survival curves and q05..q95 of each row's demand for a forecaster that knows everything
    but the stream's hidden hype: the true NB with the hype integrated out over its prior
    (normal, centred at `hype_center`, spread HYPE_SD). The ceiling for a forecast that cannot
    read the hype from the short videos."""
    sd = np.full(len(t), HYPE_SD)
    return blind(t, t["log_hype"].to_numpy(), t["hype_center"].to_numpy(), sd, nodes)


def video_horizon(
    t: pd.DataFrame, has_video: np.ndarray, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """As hype_blind, but the hype is known exactly on rows whose stream had a video by the
    as-of time: more than any reading of the videos gives, so a ceiling for the plan's forecast,
    whose far streams have no video yet."""
    hv = np.asarray(has_video, dtype=bool)
    hype = t["log_hype"].to_numpy()
    center = np.where(hv, hype, t["hype_center"].to_numpy())
    return blind(t, hype, center, np.where(hv, 0.0, HYPE_SD), nodes)


def has_video(tables, stream_ids: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    """Whether each stream had a video snapshot observed by as_of."""
    v = tables.video_traffic
    seen = set(v.loc[v["observed_at"] <= as_of, "stream_id"])
    return stream_ids.isin(seen).to_numpy()


def cold_blind(
    t: pd.DataFrame, cold_sku: np.ndarray, cold_host: np.ndarray, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """As hype_blind, and for a SKU new to streams its own popularity (normal, spread POP_SD
    around its brand's), for a streamer new to streams the skill plus category taste (normal
    with the mean and spread across the world's streamers of that category) integrated out too:
    a reference for a forecast that has no history of the SKU or the streamer. Not a strict
    floor: a lineup lists hits first, so a new SKU's slot hints at its popularity."""
    return blind(t, *cold_prior(t, cold_sku, cold_host), nodes)


def cold_prior(
    t: pd.DataFrame, cold_sku: np.ndarray, cold_host: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden part of the log mean, its prior's centre, its prior's spread) per row for the
    no-history reference (cold_blind)."""
    host = t[["streamer_id", "category", "log_host"]].drop_duplicates(["streamer_id", "category"])
    prior = host.groupby("category")["log_host"].agg(["mean", "var"])
    h_mean = t["category"].map(prior["mean"]).to_numpy()
    h_var = t["category"].map(prior["var"]).fillna(0.0).to_numpy()
    cs, ch = cold_sku.astype(float), cold_host.astype(float)
    hidden = t["log_hype"].to_numpy() + cs * t["log_sku_pop"].to_numpy()
    hidden = hidden + ch * t["log_host"].to_numpy()
    center = t["hype_center"].to_numpy() + ch * h_mean
    sd = np.sqrt(HYPE_SD**2 + cs * POP_SD**2 + ch * h_var)
    return hidden, center, sd


def blind_mean(
    t: pd.DataFrame, hidden: np.ndarray, center: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    """The mean demand of each row when the log mean's `hidden` part is unknown beyond its
    normal prior N(center, sd^2): the median sits at the prior's centre, the mean exp(sd^2 / 2)
    above it."""
    return t["mean"].to_numpy() * np.exp(center - hidden + 0.5 * np.asarray(sd, dtype=float) ** 2)


def blind(
    t: pd.DataFrame, hidden: np.ndarray, center: np.ndarray, sd: np.ndarray, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """Survival curves and q05..q95 of each row's demand when the log mean's `hidden` part is
    unknown beyond its normal prior N(center, sd^2): the true NB mixed over that prior
    (Gauss-Hermite nodes, distributions.survival_negbin_mixed)."""
    sd = np.asarray(sd, dtype=float)
    mean = blind_mean(t, hidden, center, sd)
    size = t["size"].to_numpy()
    surv = survival_negbin_mixed(mean, size, sd, nodes=nodes)
    return surv, quantiles_negbin_mixed(mean, size, sd, LEVELS, nodes=nodes)


def naive_plan(fc: DemandForecast, tables, skus: pd.DataFrame, merchants: pd.DataFrame):
    """Stock = 1.2 x mean past units sold per stream for each upcoming stream of the SKU
    (category mean for a SKU with no history), ordered in whole packs, at least the MOQ,
    scaled down to the budget; each stream gets its share."""
    items = tables.stream_items.merge(tables.streams[["stream_id", "start_time"]], on="stream_id")
    past = items[items["units_sold"].notna() & (items["start_time"] < fc.as_of)]
    past = past.merge(
        tables.catalog[["merchant_id", "sku_id", "category"]].drop_duplicates("sku_id"),
        on="sku_id",
        how="left",
    )
    per_sku = past.groupby("sku_id")["units_sold"].mean()
    per_cat = past.groupby("category")["units_sold"].mean()
    up = fc.lineup
    want = up["sku_id"].map(per_sku).fillna(up["category"].map(per_cat)).fillna(0.0) * 1.2
    want = np.ceil(want).astype(int)
    total = want.groupby([up["merchant_id"], up["sku_id"]]).sum()
    s = skus.set_index(["merchant_id", "sku_id"])
    need = np.maximum(total.reindex(s.index).fillna(0).to_numpy() - s["on_hand"].to_numpy(), 0)
    packs = np.ceil(need / s["case_pack"].to_numpy())
    order = packs * s["case_pack"].to_numpy()
    order = np.where((order > 0) & (order < s["moq"].to_numpy()), s["moq"].to_numpy(), order)
    # the naive merchant orders only when the order arrives before the SKU's first stream
    first = up.groupby(["merchant_id", "sku_id"])["start_time"].min().reindex(s.index)
    order = np.where((s["order_arrives_at"] <= first).to_numpy(), order, 0)
    # scale down to each merchant's budget
    spend = order * s["unit_cost"].to_numpy()
    budget = s.index.get_level_values(0).map(merchants.set_index("merchant_id")["budget"])
    m_spend = pd.Series(spend, index=s.index).groupby(level=0).transform("sum").to_numpy()
    scale = np.where(
        np.isfinite(budget) & (m_spend > budget), budget / np.maximum(m_spend, 1e-9), 1
    )
    order = np.floor(order * scale / s["case_pack"].to_numpy()) * s["case_pack"].to_numpy()
    order = np.where(order < s["moq"].to_numpy(), 0, order)
    order_qty = pd.Series(order.astype(int), index=s.index)
    stock = order_qty + s["on_hand"]
    share = want / want.groupby([up["merchant_id"], up["sku_id"]]).transform("sum").replace(0, 1)
    key = pd.MultiIndex.from_frame(up[["merchant_id", "sku_id"]])
    alloc = np.floor(share.to_numpy() * stock.reindex(key).to_numpy()).astype(int)
    return order_qty.reset_index(drop=True), pd.Series(alloc)


def score_plan(items, skus, truth_surv, order_qty, allocation) -> dict[str, float]:
    out = expected_outcomes(items, skus, truth_surv, order_qty, allocation)
    s = out.merge(skus[["merchant_id", "sku_id", "unit_cost", "salvage_value"]])
    waste = (s["expected_leftover"] * (s["unit_cost"] - s["salvage_value"]).clip(lower=0)).sum()
    return {"profit": float(out["expected_profit"].sum()), "leftover_cost": float(waste)}


def demo_world(seed: int, size: str, config):
    """(tables, truth) of a simulated world, read back through the contract's loader."""
    world = simulate_world(seed, size)
    with tempfile.TemporaryDirectory() as tmp:
        tables = load_tables(write_world(world, Path(tmp)), config.timezone)
        return tables, load_truth(Path(tmp))


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
    tf = fc.forecasts[["stream_id", "sku_id"]].merge(truth, on=["stream_id", "sku_id"], how="left")
    tf[["streamer_id", "category"]] = fc.lineup[["streamer_id", "category"]].to_numpy()
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
    median = [np.ones(int(round(v))) for v in fc.forecasts["q50"]]
    plans["median"] = plan_stock(fc, tables, config, survival=median)
    for name, res in plans.items():
        order = res.plan.set_index(["merchant_id", "sku_id"])["order_qty"]
        order = order.reindex(pd.MultiIndex.from_frame(skus[["merchant_id", "sku_id"]]))
        alloc = res.allocation.set_index(["stream_id", "sku_id"])["allocated_units"]
        alloc = alloc.reindex(pd.MultiIndex.from_frame(items[["stream_id", "sku_id"]]))
        sc = score_plan(
            items, skus, truth_surv, order.reset_index(drop=True), alloc.reset_index(drop=True)
        )
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
