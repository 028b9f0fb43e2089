"""The forecast stages: the configured model gets the sold-out flags and times it declares it
learns from, whatever wraps its fit."""

import pandas as pd
import pytest

from demandmatch.features import prepare_tables
from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.stages import fit_demand, predict_demand


def test_a_wrapped_fit_still_learns_from_sold_out_rows(tiny_world, monkeypatch):
    # a logging wrapper hides fit's parameters; the model still gets the sold-out flags and
    # the times that order its holdout
    tables, config = tiny_world.tables, tiny_world.config
    seen = {}
    fit = LGBMNegBinDemand.fit

    def logged(self, *args, **kwargs):
        seen.update(kwargs)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LGBMNegBinDemand, "fit", logged)
    fitted = fit_demand(tables, config)
    assert seen["censored"].any() and len(seen["time"]) == fitted.n_train


def test_tables_are_prepared_once_and_the_forecast_is_the_same_either_way(tiny_world):
    tables, config = tiny_world.tables, tiny_world.config
    source = prepare_tables(tables)
    fitted = fit_demand(tables, config, source=source)
    assert fitted.source is source and fitted.lineup is source.lineup
    reused = predict_demand(fitted, tables, config)
    # equal tables that are another object: prepared again, the same forecast
    copy = type(tables)(**tables.as_dict())
    again = predict_demand(fitted, copy, config)
    pd.testing.assert_frame_equal(reused.forecasts, again.forecasts)
    with pytest.raises(ValueError, match="prepared from the tables"):
        fit_demand(copy, config, source=source)
