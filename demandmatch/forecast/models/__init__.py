"""Demand models with scikit-learn's estimator contract (`base`), their settings (`params`, which
the config is built from) and the registry a config names them in (`registry`). Imported on first
use, so that reading the settings does not load LightGBM."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "DemandEstimator": "base",
    "EmpiricalQuantileDemand": "empirical",
    "LGBMNegBinDemand": "negbin",
    "LGBMQuantileDemand": "quantile",
    "MODELS": "registry",
    "make_model": "registry",
    "model_class": "registry",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
