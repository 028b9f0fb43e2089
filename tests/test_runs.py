"""The runs: the backtest through the real command (tables written, the run logged to MLflow),
and the record of a forecast (run.json, the MLflow run, the logged model)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.mark.slow
def test_backtest_command_writes_tables_and_logs_to_mlflow(tiny_world, tmp_path):
    data = tiny_world.data
    cfg = tmp_path / "fast.yaml"
    cfg.write_text("model:\n  n_estimators: 30\n", encoding="utf-8")
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    out = tmp_path / "bt"
    args = ["--data", str(data), "--out", str(out), "--origins", "1", "--config", str(cfg)]
    r = subprocess.run(
        [sys.executable, "-m", "demandmatch.cli", "backtest", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert "true distributions" in r.stderr  # found truth.csv beside the data
    summary = pd.read_csv(out / "backtest_summary.csv")
    assert {"origin", "6h"} <= set(summary["lead"])
    from demandmatch.tracking import search_runs

    runs = search_runs(env["MLFLOW_TRACKING_URI"], "demandmatch")
    assert len(runs) == 1 and runs["tags.kind"].iloc[0] == "backtest"
    assert runs["metrics.6h.all.pinball_vs_oracle"].iloc[0] > 0
    choices = pd.read_csv(out / "backtest_choices.csv")
    assert len(choices) == 1
    scale = choices["model_mean_scale"].iloc[0]
    for stat in ("mean", "min", "max"):  # one origin: all three are its scale
        assert runs[f"metrics.model_mean_scale.{stat}"].iloc[0] == pytest.approx(scale, rel=1e-4)


def test_backtest_reports_a_directory_without_data(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "demandmatch.cli", "backtest", "--data", str(tmp_path / "no")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert r.returncode == 2 and "not found" in r.stderr
    assert not Path(tmp_path / "no").exists()


# --- the record of a forecast run --------------------------------------------------------


@pytest.fixture(scope="module")
def tracked(tiny_world, tmp_path_factory):
    """One tracked forecast of the tiny world whose catalog names a column in another case."""
    import shutil

    from demandmatch.config import load_config
    from demandmatch.runs import run_forecast
    from demandmatch.tracking import sqlite_uri
    from tests.conftest import FAST

    root = tmp_path_factory.mktemp("tracked")
    data = Path(shutil.copytree(tiny_world.data, root / "shop" / "data"))
    catalog = (data / "catalog.csv").read_text(encoding="utf-8")
    (data / "catalog.csv").write_text(catalog.replace("salvage_value", "Salvage_Value", 1))
    uri = sqlite_uri(root / "mlflow.db")
    config = load_config(None, {**FAST, "tracking": {"enabled": True, "uri": uri}})
    run = run_forecast(data, root / "out", config, config_name="fast")
    return uri, data, config, run


@pytest.mark.slow
def test_the_mlflow_run_is_named_timed_and_carries_the_warnings(tracked):
    from mlflow.tracking import MlflowClient

    uri, data, config, run = tracked
    record = json.loads((run.out_dir / "run.json").read_text())
    assert record == json.loads(json.dumps(run.record, default=str))
    assert record["tracking"] == "ok" and record["run_id"] == run.run_id
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(run.run_id)
    local = run.forecast.as_of.tz_convert(config.timezone)
    assert logged.info.run_name == record["run_name"]
    assert logged.info.run_name.startswith(
        f"forecast as of {local:%Y-%m-%d %H:%M} | shop/data | fast |"
    )
    metrics = logged.data.metrics
    stages = ("load", "features", "demand_model", "optimise", "write")
    for stage in stages:
        assert metrics[f"time.{stage}_s"] == pytest.approx(run.timings[stage.replace("_", " ")])
    # opened before the fit and ended after the write: the run's duration covers the work
    lifetime = (logged.info.end_time - logged.info.start_time) / 1000
    assert lifetime >= sum(metrics[f"time.{s}_s"] for s in stages[1:]) - 0.01
    assert logged.data.tags["warnings"] == "column_renamed"
    assert logged.data.tags["data"] == "shop/data" and logged.data.tags["kind"] == "forecast"
    names = {a.path for a in client.list_artifacts(run.run_id)}
    assert {"plan.csv", "report.html", "config.json", "warnings.json", "model"} <= names
    notes = json.loads(Path(client.download_artifacts(run.run_id, "warnings.json")).read_text())
    assert notes == record["warnings"] and notes[0]["code"] == "column_renamed"


@pytest.mark.slow
def test_the_logged_model_predicts_the_same_numbers(tracked):
    from demandmatch.data import load_tables
    from demandmatch.data.schema import QUANTILE_COLUMNS
    from demandmatch.features import prepare_tables
    from demandmatch.forecast.models.registry import model_class
    from demandmatch.forecast.rows import split_rows
    from demandmatch.forecast.stages import FittedDemand, upcoming_features
    from demandmatch.tracking import load_model

    uri, data, config, run = tracked
    model, logged_config = load_model(uri, run.run_id)
    assert logged_config == config.model_dump(mode="json")
    assert type(model) is model_class(config.model.name)
    tables = load_tables(data, config.timezone)
    source = prepare_tables(tables)
    as_of = run.forecast.as_of
    fitted = FittedDemand(as_of, model, source, source.lineup.iloc[:0], 0)
    _, upcoming = split_rows(source.lineup, as_of, run.forecast.horizon_days)
    _, X = upcoming_features(fitted, tables, config, upcoming)
    mean, q, _ = model.predict_forecast(X)
    fc = run.forecast.forecasts
    np.testing.assert_array_equal(mean, fc["mean"].to_numpy())
    np.testing.assert_array_equal(q, fc[list(QUANTILE_COLUMNS)].to_numpy())
    written = pd.read_csv(run.out_dir / "forecasts.csv")
    np.testing.assert_allclose(written["mean"], mean, atol=5e-5)


def test_run_names_say_what_ran_on_what(tmp_path):
    from demandmatch.records import data_label, run_name

    as_of = pd.Timestamp("2024-11-06T13:00Z")
    (tmp_path / "world" / "data").mkdir(parents=True)
    name = run_name("forecast", as_of, tmp_path / "world" / "data", "fast", "Asia/Shanghai")
    assert name.startswith("forecast as of 2024-11-06 21:00 | world/data | fast | ")
    assert data_label(tmp_path / "world") == "world"
    other = run_name("forecast", as_of, tmp_path / "world", "defaults", "Asia/Shanghai")
    assert other.split(" | ")[1:3] == ["world", "defaults"]
