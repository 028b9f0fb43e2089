"""The demand forecast: the stages that fit a model on past stream items and forecast the
upcoming ones (`stages`, with the rows they read in `rows`), the models (`models`), the negative
binomial parts (`negbin`), which rows are held out (`holdout`), how many rounds to grow
(`rounds`), the held-out calibration (`calibration`), the demand distributions the optimiser
plans on (`distributions`) and the expected return rates (`returns`). Imported on first use."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "DemandForecast": "stages",
    "FittedDemand": "stages",
    "fit_demand": "stages",
    "forecast_demand": "stages",
    "make_demand_model": "stages",
    "predict_demand": "stages",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
