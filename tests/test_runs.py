"""The backtest run: tables written and the run logged to MLflow, through the real command."""

import os
import subprocess
import sys
from pathlib import Path

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
