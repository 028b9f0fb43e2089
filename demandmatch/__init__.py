"""demandmatch: demand forecasts and purchase plans for live-stream commerce.

Public API (heavy parts are imported on first use):
    load_config, Config                  typed settings
    load_tables, Tables, ContractError   the data contract
    simulate_world, write_world          the demo world with its true demand
    run_forecast                         load -> forecast -> plan -> outputs -> tracking
    forecast_demand, plan_stock          the two stages on their own
    LGBMNegBinDemand, LGBMQuantileDemand, EmpiricalQuantileDemand
                                         the demand models (scikit-learn estimators)
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

# OpenMP threads (LightGBM's) that wait at a barrier sleep instead of spinning, unless the
# environment says otherwise: read once, when the OpenMP runtime loads (with lightgbm, after
# this). On cores shared with other work a spinning thread takes the core its peer needs, and
# the demand model's fit took three times as long; the trees are the same either way (0035).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .config import Config, load_config
from .data.tables import ContractError, Tables

__version__ = "0.1.0"

_LAZY = {
    "load_tables": "data.load",
    "simulate_world": "simulate",
    "write_world": "simulate",
    "run_forecast": "runs",
    "plan_stock": "runs",
    "forecast_demand": "forecast.stages",
    "LGBMNegBinDemand": "forecast.models.negbin",
    "LGBMQuantileDemand": "forecast.models.quantile",
    "EmpiricalQuantileDemand": "forecast.models.empirical",
}

__all__ = ["Config", "ContractError", "Tables", "load_config", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'demandmatch' has no attribute {name!r}")
