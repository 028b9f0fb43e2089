"""A model fitted without a feature group (config `model.drop_features`): the group's columns
never reach it, so what they hold cannot move its forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.config import ConfigError, load_config
from demandmatch.forecast.stages import fit_demand, model_features, predict_demand


def test_the_video_group_is_every_column_built_from_the_videos() -> None:
    X = pd.DataFrame(columns=["slot", "video_n", "video_reach", "views_per_follower", "sku_n"])
    assert list(model_features(X, ["video"]).columns) == ["slot", "sku_n"]
    assert model_features(X, []) is X


def test_an_unknown_group_names_the_key() -> None:
    with pytest.raises(ConfigError, match="'model.drop_features': unknown feature group .'audio'."):
        load_config(None, {"model": {"drop_features": ["audio"]}})
    cfg = load_config(None, {"model": {"drop_features": ["video", "video"]}})
    assert cfg.model.drop_features == ("video",)


@pytest.mark.slow
def test_a_model_without_videos_ignores_them(tiny_world) -> None:
    tables = tiny_world.tables
    config = tiny_world.config.model_copy(
        update={"model": tiny_world.config.model.model_copy(update={"drop_features": ("video",)})}
    )
    fitted = fit_demand(tables, config)
    names = list(fitted.model.feature_names_)
    assert "slot" in names and not [c for c in names if "video" in c or "views" in c]
    fc = predict_demand(fitted, tables, config, 7)
    # ten times the views in every snapshot: a forecast that read them would move
    video = tables.video_traffic.assign(views=tables.video_traffic["views"] * 10)
    louder = type(tables)(**{**tables.as_dict(), "video_traffic": video})
    again = predict_demand(fitted, louder, config, 7)
    np.testing.assert_allclose(fc.forecasts["mean"], again.forecasts["mean"])
