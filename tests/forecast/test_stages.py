"""The forecast stages: the configured model gets the sold-out flags and times it declares it
learns from, whatever wraps its fit."""

from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.stages import fit_demand


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
