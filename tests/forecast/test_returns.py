"""Expected return rates: shrinkage toward the category, and the streamer's factor."""

import numpy as np
import pandas as pd

from demandmatch.forecast.returns import return_rates


def test_return_rate_shrinks_toward_category():
    hist = pd.DataFrame(
        {
            "merchant_id": ["m"] * 3,
            "sku_id": ["a", "a", "b"],
            "category": ["apparel"] * 3,
            "units_sold": [50.0, 50.0, 100.0],
            "units_returned": [50.0, 30.0, 20.0],
        }
    )
    rows = pd.DataFrame(
        {
            "merchant_id": ["m", "m", "m"],
            "sku_id": ["a", "b", "new"],
            "category": ["apparel", "apparel", "apparel"],
        }
    )
    k = 20.0
    overall = 100 / 200
    cat = (100 + k * overall) / (200 + k)  # 0.5
    want = [(80 + k * cat) / (100 + k), (20 + k * cat) / (100 + k), cat]
    np.testing.assert_allclose(return_rates(rows, hist, k), want)


def test_return_rate_without_history_is_zero():
    rows = pd.DataFrame({"merchant_id": ["m"], "sku_id": ["a"], "category": ["food"]})
    hist = pd.DataFrame(
        columns=["merchant_id", "sku_id", "category", "units_sold", "units_returned"]
    )
    assert return_rates(rows, hist)[0] == 0.0


def test_streamer_whose_audience_returns_more_gets_a_higher_rate():
    hist = pd.DataFrame(
        {
            "merchant_id": ["m"] * 4,
            "sku_id": ["a", "a", "a", "a"],
            "category": ["apparel"] * 4,
            "streamer_id": ["loud", "loud", "calm", "calm"],
            "units_sold": [100.0, 100.0, 100.0, 100.0],
            "units_returned": [60.0, 60.0, 20.0, 20.0],
        }
    )
    rows = pd.DataFrame(
        {
            "merchant_id": ["m"] * 3,
            "sku_id": ["a"] * 3,
            "category": ["apparel"] * 3,
            "streamer_id": ["loud", "calm", "new"],
        }
    )
    k = 20.0
    overall = 160 / 400
    sku = (160 + k * ((160 + k * overall) / (400 + k))) / (400 + k)  # = 0.4
    want_loud = sku * (120 + k * overall) / (200 * sku + k * overall)
    want_calm = sku * (40 + k * overall) / (200 * sku + k * overall)
    got = return_rates(rows, hist, k)
    np.testing.assert_allclose(got, [want_loud, want_calm, sku])
    assert got[0] > got[2] > got[1]
