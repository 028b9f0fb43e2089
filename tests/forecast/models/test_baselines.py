"""The two simpler demand models: the empirical per-SKU baseline and the quantile LightGBM."""

import numpy as np
import pandas as pd
import pytest

from demandmatch.forecast.models.empirical import EmpiricalQuantileDemand
from demandmatch.forecast.models.quantile import LGBMQuantileDemand
from demandmatch.forecast.models.registry import make_model


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
