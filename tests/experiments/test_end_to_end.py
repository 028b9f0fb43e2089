"""The smoke experiment end to end through the real commands (what `make experiments-smoke`
runs): two tiny demo worlds, two variants; resumed; compared; promoted; the champion's config
picked up by `demandmatch forecast --champion` (what `make forecast` runs). Then a data
directory without a truth: the plan replayed on the realised sales."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from demandmatch import tracking, tracking_runs
from demandmatch.cli import app

from .conftest import new_store

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory, empty_store: Path):
    root = tmp_path_factory.mktemp("smoke")
    uri = new_store(empty_store, root)
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.setenv("MPLBACKEND", "Agg")
    mp.chdir(REPO)  # where `make experiments-smoke` runs it
    args = ["experiment", "run", "experiments/smoke.yaml", "--cache", str(root / "worlds")]
    first = CliRunner().invoke(app, [*args, "--report", str(root / "reports")])
    yield root, uri, first, args
    mp.undo()


def test_runs_every_child_and_compares(smoke) -> None:
    root, uri, first, _ = smoke
    assert first.exit_code == 0, first.output
    children = tracking.find_runs(uri, {"kind": "experiment-child"}, ["smoke"])
    assert sorted(children["run_name"]) == [
        "censored | demo-tiny-w0 | seed 0",
        "censored | demo-tiny-w1 | seed 0",
        "uncensored | demo-tiny-w0 | seed 0",
        "uncensored | demo-tiny-w1 | seed 0",
    ]
    assert set(children["status"]) == {"FINISHED"}
    assert children["tags.git_commit"].str.len().min() >= 7
    assert children["tags.data_hash"].str.len().min() == 64
    assert children["params.versions.lightgbm"].notna().all()
    for col in ("true_pinball", "pinball.warm.origin", "pit_coverage_10_90", "profit_vs_oracle"):
        assert children[f"metrics.{col}"].notna().all(), col
    assert ((children["end_time"] - children["start_time"]).dt.total_seconds() > 0.5).all()
    rows = tracking_runs.read_table(uri, children["run_id"].iloc[0], "rows.parquet")
    assert {"origin", "lead", "stream_id", "sku_id", "true_pinball_row", "q50"} <= set(rows)
    assert set(rows["lead"]) == {"origin", "24h"}
    compared = tracking.find_runs(uri, {"kind": "comparison"}, ["smoke"])
    assert len(compared) == 1
    report = root / "reports" / "compare-smoke-censored-vs-uncensored.html"
    html = report.read_text()
    assert html.count("<svg") >= 3 and "<script" not in html and "uncensored" in html
    assert "true_pinball" in first.output
    assert "within noise" in html or "worse" in html or "better" in html


def test_a_rerun_skips_what_is_done(smoke) -> None:
    root, uri, _, args = smoke
    again = CliRunner().invoke(app, [*args, "--no-compare"])
    assert again.exit_code == 0, again.output
    assert again.output.count("), skipped") == 4
    assert "4 children already done" in again.output
    assert len(tracking.find_runs(uri, {"kind": "experiment-child"}, ["smoke"])) == 4


def test_compare_promote_and_forecast_with_the_champion(smoke, tmp_path: Path) -> None:
    root, uri, _, _ = smoke
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "experiment",
            "compare",
            "censored",
            "uncensored",
            "--experiment",
            "smoke",
            "--report",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "uncensored - censored" in res.output
    child = tracking.find_runs(uri, {"kind": "experiment-child", "variant": "uncensored"})
    run_id = str(child["run_id"].iloc[0])
    refused = runner.invoke(app, ["experiment", "promote", run_id])
    assert refused.exit_code == 1  # one origin on two tiny worlds: profit has too few blocks
    assert "too few blocks" in refused.output
    forced = runner.invoke(
        app, ["experiment", "promote", run_id, "--force", "--reason", "smoke test"]
    )
    assert forced.exit_code == 0, forced.output
    out = tmp_path / "plan"
    world = root / "worlds" / "tiny-demo-s0"
    res = runner.invoke(
        app,
        [
            "forecast",
            "--data",
            str(world / "data"),
            "--out",
            str(out),
            "--no-tracking",
            "--config",
            "configs/default.yaml",
            "--champion",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "using the champion's config" in res.output and "uncensored" in res.output
    used = json.loads((out / "run.json").read_text())["config"]["model"]
    assert used["n_estimators"] == 40 and used["censoring"] is False


def test_a_data_directory_without_truth_replays_the_plan(smoke, tmp_path: Path) -> None:
    root, uri, _, _ = smoke
    data = tmp_path / "shop" / "data"
    shutil.copytree(root / "worlds" / "tiny-demo-s1" / "data", data)  # no truth.csv beside
    spec = (REPO / "experiments" / "smoke.yaml").read_text()
    spec = spec.replace("name: smoke", "name: replay").replace(
        "  - {kind: demo, seeds: [0, 1], size: tiny}", f"  - {{kind: dir, path: {data}}}"
    )
    spec = spec.replace("model.censoring: [true, false]", "model.censoring: [true]")
    spec = spec.replace("names: [censored, uncensored]", "names: [censored]")
    path = tmp_path / "replay.yaml"
    path.write_text(spec)
    res = CliRunner().invoke(app, ["experiment", "run", str(path)])
    assert res.exit_code == 0, res.output
    run = tracking.find_runs(uri, {"kind": "experiment-child"}, ["replay"]).iloc[0]
    assert run["tags.decision_basis"] == "realised"
    assert 0 <= run["metrics.replay_lower_bound_share"] <= 1
    assert run["metrics.replay_profit"] <= run["metrics.hindsight_profit"] + 1e-6
    assert "metrics.true_pinball" not in run or run.isna()["metrics.true_pinball"]


def _m5_folder(folder: Path, n_items: int = 6, n_days: int = 470) -> Path:
    """A hand-built folder in the M5 subset's format: Poisson daily sales, weekly prices."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    dates = pd.date_range("2011-01-29", periods=n_days, freq="D")
    weeks = 11101 + np.arange(n_days) // 7
    cal = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "wm_yr_wk": weeks,
            "d": [f"d_{j + 1}" for j in range(n_days)],
            "event_name_1": np.where(np.arange(n_days) % 90 == 5, "Holiday", None),
            "event_type_1": np.where(np.arange(n_days) % 90 == 5, "National", None),
            "event_name_2": None,
            "snap_TX": (dates.day <= 10).astype(int),
        }
    )
    items = [f"FOODS_3_{k:03d}" for k in range(n_items)]
    sales = pd.DataFrame(
        rng.poisson(rng.uniform(0.5, 6, (n_items, 1)), (n_items, n_days)),
        columns=cal["d"],
    )
    sales.insert(0, "state_id", "TX")
    sales.insert(0, "store_id", "TX_3")
    sales.insert(0, "dept_id", "FOODS_3")
    sales.insert(0, "item_id", items)
    sales.insert(0, "id", [f"{i}_TX_3_evaluation" for i in items])
    prices = pd.DataFrame(
        [(("TX_3", i, w, 2.0 + k)) for k, i in enumerate(items) for w in np.unique(weeks)],
        columns=["store_id", "item_id", "wm_yr_wk", "sell_price"],
    )
    cal.to_csv(folder / "calendar.csv.gz", index=False)
    sales.to_csv(folder / "sales_d1_d1969.csv.gz", index=False)
    prices.to_csv(folder / "sell_prices_tx3_foods3.csv.gz", index=False)
    return folder


def test_daily_data_from_the_m5_folder(smoke, tmp_path: Path, monkeypatch) -> None:
    root, uri, _, _ = smoke
    monkeypatch.setenv("DEMANDMATCH_M5_DIR", str(_m5_folder(tmp_path / "m5")))
    path = tmp_path / "daily.yaml"
    path.write_text(
        "name: daily\nquestion: does the daily path run?\n"
        "overrides: {model: {n_estimators: 20, n_jobs: 1}}\n"
        "variants: {zip: {model.name: [lgbm_negbin, lgbm_quantile]}, names: [nb, q]}\n"
        "datasets: [{kind: m5, train_window_days: 112}]\n"
        "backtest: {origins: 2, step_days: 7, horizon_days: 14}\n"
        "gate: {metric: pinball, profit_not_worse: false}\n"
    )
    res = CliRunner().invoke(app, ["experiment", "run", str(path), "--report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    runs = tracking.find_runs(uri, {"kind": "experiment-child"}, ["daily"])
    assert set(runs["tags.decision_basis"]) == {"none"}
    assert runs["metrics.rmsse"].between(0.3, 3).all()
    rows = tracking_runs.read_table(uri, runs["run_id"].iloc[0], "rows.parquet")
    assert len(rows) == 6 * 14 * 2 and set(rows["lead"]) == {"1-7d", "8-14d"}
    assert "msse" in res.output and "profit" not in res.output.split("settings")[0]
