import numpy as np
import pandas as pd
import pytest

from demandmatch.demand import EmpiricalQuantileDemand, LGBMQuantileDemand, make_model
from demandmatch.returns import return_rates


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


def test_empirical_baseline_known_quantiles_and_fallbacks():
    X = pd.DataFrame({"merchant_id": ["m"] * 5, "sku_id": ["a"] * 4 + ["b"], "category": ["c"] * 5})
    y = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    model = EmpiricalQuantileDemand(levels=[0.5]).fit(X, y)
    Xp = pd.DataFrame(
        {"merchant_id": ["m", "m", "m"], "sku_id": ["a", "zz", "zz"], "category": ["c", "c", "d"]}
    )
    np.testing.assert_allclose(model.predict_quantiles(Xp)[:, 0], [2.5, 3.0, 3.0])
    np.testing.assert_allclose(model.predict_mean(Xp), [2.5, 4.0, 4.0])


def test_lgbm_quantiles_never_cross_and_track_signal():
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.uniform(0, 1, n)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "sku_id": "s"})
    y = rng.poisson(5 + 40 * x).astype(float)
    model = LGBMQuantileDemand(n_estimators=80, n_jobs=1).fit(X, y)
    assert model.feature_names_ == ["x", "noise"]
    Xt = pd.DataFrame({"x": [0.3, 0.8], "noise": [0.0, 0.0], "sku_id": "s"})
    q = model.predict_quantiles(Xt)
    assert np.all(np.diff(q, axis=1) >= 0)
    mean = model.predict_mean(Xt)
    np.testing.assert_allclose(mean, [17.0, 37.0], rtol=0.12)
    np.testing.assert_allclose(q[:, 3], [17.0, 37.0], rtol=0.12)


def test_make_model_names():
    assert isinstance(make_model("sku_empirical"), EmpiricalQuantileDemand)
    with pytest.raises(ValueError, match="unknown demand model"):
        make_model("nope")


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
