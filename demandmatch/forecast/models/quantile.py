"""lgbm_quantile: one LightGBM quantile regressor per level and a Tweedie mean."""

from __future__ import annotations

from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from demandmatch.data.schema import QUANTILE_LEVELS

from .base import ID_COLUMNS, DemandEstimator, monotone
from .params import QuantileSettings

_D = QuantileSettings()


def lgbm_params(settings: QuantileSettings, random_state: int) -> dict[str, object]:
    """LightGBM's parameters of a boosted model's settings."""
    return dict(
        n_estimators=settings.n_estimators,
        learning_rate=settings.learning_rate,
        num_leaves=settings.num_leaves,
        min_child_samples=settings.min_child_samples,
        subsample=settings.subsample,
        subsample_freq=1,
        colsample_bytree=settings.colsample_bytree,
        n_jobs=settings.n_jobs,
        random_state=random_state,
        max_delta_step=settings.max_delta_step,
        max_bin=settings.max_bin,
        verbose=-1,
    )


class LGBMQuantileDemand(DemandEstimator):
    settings_model = QuantileSettings
    uses_seed = True

    def __init__(
        self,
        *,
        levels: Sequence[float] = QUANTILE_LEVELS,
        n_estimators: int = _D.n_estimators,
        learning_rate: float = _D.learning_rate,
        num_leaves: int = _D.num_leaves,
        min_child_samples: int = _D.min_child_samples,
        subsample: float = _D.subsample,
        colsample_bytree: float = _D.colsample_bytree,
        n_jobs: int = _D.n_jobs,
        max_delta_step: float = _D.max_delta_step,
        max_bin: int = _D.max_bin,
        random_state: int = 0,
    ) -> None:
        self.levels = levels
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.n_jobs = n_jobs
        self.max_delta_step = max_delta_step
        self.max_bin = max_bin
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LGBMQuantileDemand:
        params = lgbm_params(self.settings(), self.random_state)  # type: ignore[arg-type]
        X, y = self._fit_input(X, y)
        if int(len(y) * self.subsample) < 1:
            raise ValueError(
                f"n_samples={len(y)} leaves no row in a bag of subsample={self.subsample}"
            )
        self.feature_names_ = [c for c in X.columns if c not in ID_COLUMNS]
        X = X[self.feature_names_]
        self.mean_model_ = lgb.LGBMRegressor(objective="tweedie", **params).fit(X, y)
        self.quantile_models_ = [
            lgb.LGBMRegressor(objective="quantile", alpha=float(a), **params).fit(X, y)
            for a in self.levels
        ]
        return self

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        X = self._frame(X)[self.feature_names_]
        return np.maximum(self.mean_model_.predict(X), 0.0)

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        X = self._frame(X)[self.feature_names_]
        return monotone(np.column_stack([m.predict(X) for m in self.quantile_models_]))
