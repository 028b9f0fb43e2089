"""The real `demandmatch` command, end to end, checked against the contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandmatch.data.schema import (
    ALLOCATION_COLUMNS,
    FORECAST_COLUMNS,
    PLAN_COLUMNS,
    QUANTILE_COLUMNS,
)

EXE = [sys.executable, "-m", "demandmatch.cli"]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run(
        [*EXE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("e2e")
    world = root / "world"
    r = run_cli("simulate", "--seed", "3", "--size", "tiny", "--out", str(world), cwd=root)
    assert r.returncode == 0, r.stderr
    out = root / "out"
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cfg = root / "fast.yaml"
    cfg.write_text("model:\n  n_estimators: 40\n", encoding="utf-8")
    r = run_cli(
        "forecast",
        "--data",
        str(world / "data"),
        "--out",
        str(out),
        "--config",
        str(cfg),
        cwd=root,
        env={"MLFLOW_TRACKING_URI": uri},
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert "expected profit" in r.stdout
    assert "model defaults used" in r.stdout
    return root, world, out


@pytest.mark.slow
def test_outputs_follow_the_contract(small_run):
    root, world, out = small_run
    data = world / "data"
    catalog = pd.read_csv(data / "catalog.csv", dtype={"sku_id": str, "merchant_id": str})
    items = pd.read_csv(data / "stream_items.csv", dtype={"sku_id": str, "stream_id": str})
    streams = pd.read_csv(data / "streams.csv", dtype={"stream_id": str})
    upcoming_ids = set(items.loc[items["units_sold"].isna(), "stream_id"])
    starts = pd.to_datetime(streams["start_time"], utc=True)
    as_of = starts[streams["stream_id"].isin(upcoming_ids)].min()
    horizon = streams.loc[(starts >= as_of) & (starts < as_of + pd.Timedelta(days=14)), "stream_id"]
    lineup = items[items["stream_id"].isin(set(horizon))]

    fc = pd.read_csv(out / "forecasts.csv", dtype={"sku_id": str, "stream_id": str})
    assert list(fc.columns) == list(FORECAST_COLUMNS)
    assert set(zip(fc.stream_id, fc.sku_id, strict=True)) == set(
        zip(lineup.stream_id, lineup.sku_id, strict=True)
    )
    q = fc[list(QUANTILE_COLUMNS)].to_numpy()
    assert np.all(np.diff(q, axis=1) >= -1e-9) and np.all(q >= 0)
    assert fc["return_rate"].between(0, 1).all()
    assert fc["cold_start"].isin([True, False]).all()

    plan = pd.read_csv(out / "plan.csv", dtype={"sku_id": str}, keep_default_na=False)
    assert list(plan.columns)[: len(PLAN_COLUMNS)] == list(PLAN_COLUMNS)  # details follow
    pm = plan[list(PLAN_COLUMNS)].merge(
        catalog.drop(columns=["on_hand"]),
        on=["merchant_id", "sku_id"],
        how="left",
        validate="one_to_one",
    )
    assert (
        len(pm)
        == lineup.merge(streams[["stream_id", "merchant_id"]])[["merchant_id", "sku_id"]]
        .drop_duplicates()
        .shape[0]
    )
    assert (pm["order_qty"] % pm["case_pack"] == 0).all()
    assert ((pm["order_qty"] == 0) | (pm["order_qty"] >= pm["moq"])).all()
    assert (pm["stock_after"] == pm["on_hand"] + pm["order_qty"]).all()
    assert (pm["fill_rate"].between(0, 1 + 1e-9)).all()
    merchants = pd.read_csv(data / "merchants.csv")
    spend = (pm["order_qty"] * pm["unit_cost"]).groupby(pm["merchant_id"]).sum()
    for _, m in merchants.iterrows():
        if pd.notna(m["budget"]):
            assert spend.get(m["merchant_id"], 0.0) <= m["budget"] + 1e-6

    alloc = pd.read_csv(out / "allocation.csv", dtype={"sku_id": str, "stream_id": str})
    assert list(alloc.columns)[: len(ALLOCATION_COLUMNS)] == list(ALLOCATION_COLUMNS)
    assert len(alloc) == len(lineup)
    am = (
        alloc.merge(streams[["stream_id", "merchant_id"]])
        .groupby(["merchant_id", "sku_id"])["allocated_units"]
        .sum()
    )
    stock = plan.set_index(["merchant_id", "sku_id"])["stock_after"]
    assert (am.reindex(stock.index).fillna(0) <= stock).all()

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and plan["sku_id"].iloc[0] in html
    run = json.loads((out / "run.json").read_text())
    assert run["run_id"] and len(run["data_hash"]) >= 16
    assert run["config"]["train_lead_hours"] == [6, 24, 72, 168]
    assert (root / "mlflow.db").exists()
    # what the fit chose on held-out rows is in the summary and the MLflow run's metrics
    summary = run["summary"]
    assert summary["model_round_share"] in run["config"]["model"]["round_shares"]
    assert 0.5 <= summary["model_mean_scale"] <= 2.0
    # the defaults the fit fell back on (tests/forecast/models) are in the summary and the
    # MLflow tag; where the new SKUs' spread was one of them, the logged choice is that default
    fallbacks = summary["model_fallbacks"]
    assert isinstance(fallbacks, list)
    if any("held-out rows of new SKUs" in f for f in fallbacks):
        assert summary["model_new_sku_spread_factor"] == 1.0
    # the lost sales split by reason adds up to the plan's, each reason a flag it carries
    by_reason = summary["lost_sales_by_reason"]
    assert sum(r["expected_lost_sales"] for r in by_reason) == pytest.approx(
        plan["expected_lost_sales"].sum(), rel=1e-3
    )
    carried = {f for v in plan["flags"] for f in v.split(";") if f} | {"profit_best"}
    assert {r["reason"] for r in by_reason} <= carried
    from mlflow.tracking import MlflowClient

    logged = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}").get_run(run["run_id"])
    assert logged.data.metrics["model_round_share"] == summary["model_round_share"]
    assert logged.data.tags["model_fallbacks"] == ("; ".join(fallbacks) or "none")


def test_missing_table_is_a_clear_error(tmp_path):
    r = run_cli(
        "forecast",
        "--data",
        str(tmp_path),
        "--out",
        str(tmp_path / "o"),
        "--no-tracking",
        cwd=tmp_path,
    )
    assert r.returncode == 2
    assert "catalog" in r.stderr
    assert not (tmp_path / "o" / "plan.csv").exists()


def test_help_explains_the_commands(tmp_path):
    r = run_cli("--help", cwd=tmp_path)
    assert r.returncode == 0 and "forecast" in r.stdout and "simulate" in r.stdout
    r = run_cli("forecast", "--help", cwd=tmp_path)
    assert "--as-of" in r.stdout and "--horizon-days" in r.stdout


HAND = {
    "catalog.csv": (
        "merchant_id,sku_id,title,category,list_price,unit_cost,salvage_value,on_hand,case_pack,moq\n"
        "m1,tea,Green tea,food,30,12,2,5,6,12\n"
        "m1,cup,Glass cup,home,50,20,10,0,1,0\n"
    ),
    "streamers.csv": "streamer_id,followers\nh1,20000\n",
    "streams.csv": (
        "stream_id,merchant_id,streamer_id,start_time,duration_min,viewers\n"
        "p1,m1,h1,2026-11-01T20:00:00,120,3000\n"
        "p2,m1,h1,2026-11-08T20:00:00,120,3500\n"
        "p3,m1,h1,2026-11-15T20:00:00,120,2800\n"
        "u1,m1,h1,2026-11-29T20:00:00,120,\n"
    ),
    "stream_items.csv": (
        "stream_id,sku_id,live_price,slot,featured,units_sold,units_returned,stock_allocated\n"
        "p1,tea,25,1,true,40,1,\n"
        "p1,cup,45,2,false,12,2,\n"
        "p2,tea,24,1,true,55,0,\n"
        "p2,cup,45,2,false,9,1,\n"
        "p3,tea,26,1,false,38,2,\n"
        "p3,cup,44,2,false,14,1,\n"
        "u1,tea,25,1,true,,,\n"
        "u1,cup,45,2,false,,,\n"
    ),
}


def test_hand_written_two_skus_one_upcoming_stream(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, text in HAND.items():
        (data / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli(
        "forecast",
        "--data",
        str(data),
        "--out",
        str(out),
        "--as-of",
        "2026-11-28T00:00:00",
        "--horizon-days",
        "7",
        "--no-tracking",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    fc = pd.read_csv(out / "forecasts.csv")
    assert sorted(fc["sku_id"]) == ["cup", "tea"] and set(fc["stream_id"]) == {"u1"}
    assert not fc["cold_start"].any()
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False).set_index("sku_id")
    assert plan.loc["tea", "order_qty"] % 6 == 0
    assert plan.loc["tea", "order_qty"] in (0,) or plan.loc["tea", "order_qty"] >= 12
    assert plan.loc["tea", "stock_after"] == 5 + plan.loc["tea", "order_qty"]
    # a profitable SKU that sells every week gets stock
    assert plan.loc["tea", "stock_after"] > 0 and plan.loc["cup", "stock_after"] > 0
    run = json.loads((out / "run.json").read_text())
    assert run["run_id"] is None and run["as_of"].startswith("2026-11-27T16:00")
    # the console shows the as-of time as the business reads it, with UTC beside it
    assert "2026-11-28 00:00 Asia/Shanghai (16:00 UTC)" in r.stdout
