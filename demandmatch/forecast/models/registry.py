"""The demand models by the name a config chooses them with."""

from __future__ import annotations

from .base import DemandEstimator
from .empirical import EmpiricalQuantileDemand
from .negbin import LGBMNegBinDemand
from .quantile import LGBMQuantileDemand

MODELS: dict[str, type[DemandEstimator]] = {
    "lgbm_negbin": LGBMNegBinDemand,
    "lgbm_quantile": LGBMQuantileDemand,
    "sku_empirical": EmpiricalQuantileDemand,
}


def model_class(name: str) -> type[DemandEstimator]:
    if name not in MODELS:
        raise ValueError(f"unknown demand model '{name}'; choose from {sorted(MODELS)}")
    return MODELS[name]


def make_model(name: str, **params: object) -> DemandEstimator:
    return model_class(name)(**params)
