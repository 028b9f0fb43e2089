"""The cap on forecasts when the history is mostly sold out, on hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.censoring import cap_forecast, demand_caps, sold_out_share
from demandmatch.data.schema import FORECAST_COLUMNS, QUANTILE_COLUMNS
from demandmatch.forecast.stages import DemandForecast

PAST = pd.DataFrame(
    {
        "merchant_id": ["m1", "m1", "m1", "m2"],
        "sku_id": ["a", "a", "b", "c"],
        "units_sold": [4.0, 10.0, 6.0, 2.0],
        "stock_allocated": [4.0, 10.0, 6.0, np.nan],  # three of four sold out
    }
)
UPCOMING = pd.DataFrame({"merchant_id": ["m1", "m1", "m2", "m3"], "sku_id": ["a", "new", "c", "z"]})


def test_caps_come_from_the_sku_then_its_merchant_then_everyone():
    np.testing.assert_array_equal(demand_caps(UPCOMING, PAST, 2.0), [20.0, 20.0, 4.0, 20.0])
    assert sold_out_share(PAST) == pytest.approx(0.75)


def _forecast(survival: list[np.ndarray]) -> DemandForecast:
    q = np.array([[1, 2, 3, 5, 8, 30, 40]] * len(UPCOMING), dtype=float)
    fc = pd.DataFrame(
        {
            "stream_id": ["s"] * 4,
            **UPCOMING,
            "mean": [12.0, 3.0, 9.0, 1.0],
            **{c: q[:, i] for i, c in enumerate(QUANTILE_COLUMNS)},
            "return_rate": 0.0,
            "cold_start": False,
        }
    )[list(FORECAST_COLUMNS)]
    return DemandForecast(pd.Timestamp("2024-01-01", tz="UTC"), 7, UPCOMING, fc, survival, 4)


def test_a_capped_row_is_the_distribution_of_min_demand_cap():
    survival = [np.full(30, 0.5), np.full(3, 1.0), np.full(10, 0.9), np.zeros(0)]
    capped, note = cap_forecast(_forecast(survival), PAST, share=0.5, factor=2.0)
    assert note is not None and note.code == "sold_out_history"
    assert "75% of the past stream items sold out" in note.message
    assert "(2 of 4 upcoming rows capped" in note.message
    assert [len(s) for s in capped.survival] == [20, 3, 4, 0]
    fc = capped.forecasts
    # E[min(D, cap)] = sum of P(D >= u) for u <= cap
    np.testing.assert_allclose(fc["mean"], [10.0, 3.0, 3.6, 1.0])
    assert (fc["q95"].to_numpy() == [20, 20, 4, 20]).all()
    assert (fc["q05"] == 1).all()  # below the cap: unchanged


def test_a_history_less_sold_out_than_the_share_is_left_alone():
    survival = [np.full(30, 0.5)] * 4
    same, note = cap_forecast(_forecast(survival), PAST, share=0.8, factor=2.0)
    assert note is None and same.survival is survival
