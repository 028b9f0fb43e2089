"""Rolling-origin backtest: scores with known answers, no peeking past the origin, CLI + MLflow."""

import numpy as np
import pandas as pd
import pytest

from demandmatch.data.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.evaluation.backtest import rolling_origins, run_backtest, score
from demandmatch.forecast.calibration import SCALES
from demandmatch.forecast.distributions import quantiles_negbin


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


def test_origins_are_spaced_and_leave_a_full_window(tiny_world):
    tables = tiny_world.tables
    origins = rolling_origins(tables, 3, 5, 7)
    assert np.diff(origins).tolist() == [pd.Timedelta(days=5)] * 2
    upcoming = tables.stream_items["units_sold"].isna()
    first_upcoming = (
        tables.streams.set_index("stream_id")
        .loc[tables.stream_items.loc[upcoming, "stream_id"], "start_time"]
        .min()
    )
    assert origins[-1] + pd.Timedelta(days=7) == first_upcoming


def test_backtest_covers_every_lead_and_never_uses_outcomes_after_the_cutoff(tiny_world):
    tables, truth, config = tiny_world.tables, tiny_world.truth, tiny_world.config
    origin = rolling_origins(tables, 1, 7, 7)
    seen, steps = [], []

    def keep(fitted, fc, rows):
        seen.append((fitted.as_of, rows["lead"].iloc[0], fitted.model, fc, rows))

    res = run_backtest(
        tables, config, origin, 7, truth=truth, progress=steps.append, on_forecast=keep
    )
    assert set(res.summary["lead"]) == {"origin", "72h", "24h", "6h"}
    # every forecast is handed over with its fit and its rows, as the result holds them
    assert [s[1] for s in seen] == ["origin", "72h", "24h", "6h"]
    assert {s[0] for s in seen} == {origin[0]} and len({id(s[2]) for s in seen}) == 1
    assert all(len(fc.forecasts) == len(rows) == len(fc.survival) for *_, fc, rows in seen)
    pd.testing.assert_frame_equal(pd.concat([s[4] for s in seen], ignore_index=True), res.rows)
    assert "origin 1/1: demand model" in steps
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
