"""The adapter's own parts: a model fitted without the video features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandmatch.config import load_config
from demandmatch.experiments.engine import DropFeatures, make_model


def _frame(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "stream_id": [f"S{i % 30}" for i in range(n)],
            "sku_id": [f"K{i % 17}" for i in range(n)],
            "slot": rng.integers(1, 10, n).astype(float),
            "video_views": rng.gamma(2.0, 100.0, n),
            "video_reach_vs_usual": rng.normal(0, 1, n),
            "views_per_follower": rng.gamma(1.0, 0.1, n),
            "category": pd.Categorical(rng.choice(["home", "snacks"], n)),
        }
    )
    y = rng.poisson(3 + X["video_views"] / 100).astype(float)
    return X, y


def test_video_columns_never_reach_the_model() -> None:
    X, y = _frame()
    cfg = load_config(None, {"model": {"name": "lgbm_quantile", "n_estimators": 5}})
    model = make_model(cfg, ["video"], {})
    assert isinstance(model, DropFeatures) and model.learns_censoring is False
    model.fit(X, y, censored=np.zeros(len(y), bool), time=np.arange(len(y)))  # not passed on
    assert model.model.feature_names_ == ["slot", "category"]
    assert model.dropped_ == ["video_reach_vs_usual", "video_views", "views_per_follower"]
    shuffled = X.assign(video_views=X["video_views"].sample(frac=1, random_state=1).to_numpy())
    np.testing.assert_array_equal(model.predict_quantiles(X), model.predict_quantiles(shuffled))
    kept = make_model(cfg, [], {}).fit(X, y)
    assert "video_views" in kept.feature_names_


def test_the_negative_binomial_keeps_its_censoring() -> None:
    X, y = _frame()
    cfg = load_config(None, {"model": {"n_estimators": 5, "round_shares": [1.0]}})
    model = make_model(cfg, ["video"], {"effect_sd": 0.0})
    assert model.learns_censoring is True
    model.fit(X, y, censored=np.zeros(len(y), bool), time=np.arange(len(y)))
    assert not any(c.startswith("video") for c in model.model.feature_names_)
    assert model.model.effect_sd == 0.0  # model_params reach the estimator
    mean, q, surv = model.predict_forecast(X)
    assert len(mean) == len(X) == len(surv) and q.shape == (len(X), 7)
