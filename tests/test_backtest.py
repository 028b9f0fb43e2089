"""Rolling-origin backtest: scores with known answers, no peeking past the origin, CLI + MLflow."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandmatch.backtest import rolling_origins, run_backtest, score
from demandmatch.config import load_config
from demandmatch.data import load_tables
from demandmatch.data.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.forecast.calibration import SCALES
from demandmatch.forecast.distributions import quantiles_negbin
from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.stages import fit_demand
from demandmatch.simulate import load_truth, simulate_world, write_world

FAST = {"tracking": {"enabled": False}, "model": {"n_estimators": 30, "n_jobs": 1}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("bt")
    data = write_world(simulate_world(5, "tiny"), root)
    config = load_config(None, FAST)
    return root, data, load_tables(data, config.timezone), load_truth(root), config


def _rows(q, units, sold_out, true_mean=None, true_size=None):
    df = pd.DataFrame(np.asarray(q, float), columns=list(QUANTILE_COLUMNS))
    df["mean"] = df["q50"]
    df["units_sold"] = units
    df["sold_out"] = sold_out
    df["cold_start"] = False
    if true_mean is not None:
        df["true_mean"], df["true_size"] = true_mean, true_size
    return df


def test_realised_scores_skip_sold_out_rows_and_match_hand_computation():
    q = np.tile(np.array([1, 2, 3, 4, 5, 6, 7], float), (2, 1))
    rows = _rows(q, [4.0, 100.0], [False, True])
    s = score(rows)
    levels = np.array(QUANTILE_LEVELS)
    by_hand = np.mean(np.maximum(levels * (4 - q[0]), (levels - 1) * (4 - q[0])))
    assert s["pinball"] == pytest.approx(by_hand)
    assert s["censored_share"] == 0.5
    assert s["coverage_10_90"] == 1.0 and s["bias"] == 0.0 and s["wape"] == 0.0


def test_true_quantiles_score_exactly_as_the_oracle():
    mu, size = np.array([3.0, 12.0, 40.0]), np.array([2.0, 3.0, 6.0])
    q = quantiles_negbin(mu, size, np.array(QUANTILE_LEVELS))
    s = score(_rows(q, [1.0, 2.0, 3.0], [False] * 3, mu, size))
    assert s["pinball_vs_oracle"] == pytest.approx(1.0)
    doubled = score(_rows(q * 2, [1.0, 2.0, 3.0], [False] * 3, mu, size))
    assert doubled["pinball_vs_oracle"] > 1.2


def test_origins_are_spaced_and_leave_a_full_window(tiny):
    _, _, tables, _, _ = tiny
    origins = rolling_origins(tables, 3, 5, 7)
    assert np.diff(origins).tolist() == [pd.Timedelta(days=5)] * 2
    upcoming = tables.stream_items["units_sold"].isna()
    first_upcoming = (
        tables.streams.set_index("stream_id")
        .loc[tables.stream_items.loc[upcoming, "stream_id"], "start_time"]
        .min()
    )
    assert origins[-1] + pd.Timedelta(days=7) == first_upcoming


def test_backtest_covers_every_lead_and_never_uses_outcomes_after_the_cutoff(tiny):
    _, _, tables, truth, config = tiny
    origin = rolling_origins(tables, 1, 7, 7)
    res = run_backtest(tables, config, origin, 7, truth=truth)
    assert set(res.summary["lead"]) == {"origin", "72h", "24h", "6h"}
    assert {"pinball_vs_oracle", "true_coverage_10_90", "coverage_05_95"} <= set(res.summary)
    pit = res.summary[["pit_coverage_10_90", "true_pit_coverage_10_90"]].to_numpy()
    assert ((pit > 0) & (pit < 1)).all()
    # the held-out choices of the one origin's fit, as the fitted model reports them
    assert len(res.choices) == 1 and res.choices["origin"].iloc[0] == res.rows["origin"].iloc[0]
    chosen = res.choices.iloc[0]
    assert chosen["model_round_share"] in config.model.round_shares
    assert SCALES[0] <= chosen["model_mean_scale"] <= SCALES[1]
    # rewrite every outcome inside the window: forecasts made as of the origin cannot move
    window = res.rows.loc[res.rows["lead"] == "origin", ["stream_id"]].drop_duplicates()
    items = tables.stream_items.copy()
    inside = items["stream_id"].isin(window["stream_id"])
    items.loc[inside, "units_sold"] = items.loc[inside, "units_sold"] * 10 + 7
    changed = type(tables)(**{**tables.as_dict(), "stream_items": items})
    again = run_backtest(changed, config, origin, 7, truth=truth)
    a = res.rows[res.rows["lead"] == "origin"]["mean"].to_numpy()
    b = again.rows[again.rows["lead"] == "origin"]["mean"].to_numpy()
    np.testing.assert_allclose(a, b)


def test_backtest_command_writes_tables_and_logs_to_mlflow(tiny, tmp_path):
    root, data, *_ = tiny
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


def test_a_wrapped_fit_still_learns_from_sold_out_rows(tiny, monkeypatch):
    # a logging wrapper hides fit's parameters; the model still gets the sold-out flags and
    # the times that order its holdout
    _, _, tables, _, config = tiny
    seen = {}
    fit = LGBMNegBinDemand.fit

    def logged(self, *args, **kwargs):
        seen.update(kwargs)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LGBMNegBinDemand, "fit", logged)
    fitted = fit_demand(tables, config)
    assert seen["censored"].any() and len(seen["time"]) == fitted.n_train
