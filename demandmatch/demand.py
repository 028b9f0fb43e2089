"""Demand models with the scikit-learn contract: parameters in __init__, fit returns self,
learned attributes end in `_`. Each predicts a mean and quantiles at `levels` that never cross.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd

from .schema import QUANTILE_LEVELS

ID_COLUMNS = ("stream_id", "sku_id")  # identify a row; never used as model inputs


class DemandModel(Protocol):
    levels: Sequence[float]

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> DemandModel: ...
    def predict_mean(self, X: pd.DataFrame) -> np.ndarray: ...
    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray: ...


def _monotone(q: np.ndarray) -> np.ndarray:
    """Non-negative quantiles that never decrease across levels (sorted per row)."""
    return np.sort(np.maximum(q, 0.0), axis=1)


class LGBMQuantileDemand:
    """One LightGBM quantile regressor per level plus a Tweedie mean model."""

    def __init__(
        self,
        levels: Sequence[float] = QUANTILE_LEVELS,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        n_jobs: int = 2,
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
        self.random_state = random_state

    def _params(self) -> dict[str, object]:
        return dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            verbose=-1,
        )

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LGBMQuantileDemand:
        y = np.asarray(y, dtype=float)
        if len(y) == 0:
            raise ValueError("no past stream items to learn from")
        self.feature_names_ = [c for c in X.columns if c not in ID_COLUMNS]
        X = X[self.feature_names_]
        self.mean_model_ = lgb.LGBMRegressor(objective="tweedie", **self._params()).fit(X, y)
        self.quantile_models_ = [
            lgb.LGBMRegressor(objective="quantile", alpha=float(a), **self._params()).fit(X, y)
            for a in self.levels
        ]
        return self

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return np.maximum(self.mean_model_.predict(X[self.feature_names_]), 0.0)

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        X = X[self.feature_names_]
        q = np.column_stack([m.predict(X) for m in self.quantile_models_])
        return _monotone(q)


class EmpiricalQuantileDemand:
    """Naive baseline: each SKU's empirical quantiles and mean of its past units sold,
    falling back to its category's, then to everything's."""

    def __init__(self, levels: Sequence[float] = QUANTILE_LEVELS, min_history: int = 1) -> None:
        self.levels = levels
        self.min_history = min_history

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> EmpiricalQuantileDemand:
        df = pd.DataFrame(
            {"sku": _sku_key(X), "category": X["category"].astype(str), "y": np.asarray(y)}
        )
        lv = list(self.levels)

        def summarise(g: pd.DataFrame) -> pd.DataFrame:
            grp = g.groupby(g.columns[0])["y"]
            out = grp.quantile(lv).unstack()
            out.columns = range(len(lv))
            out["mean"] = grp.mean()
            out["n"] = grp.size()
            return out

        self.by_sku_ = summarise(df[["sku", "y"]])
        self.by_sku_ = self.by_sku_[self.by_sku_["n"] >= self.min_history]
        self.by_category_ = summarise(df[["category", "y"]])
        self.overall_ = np.append(np.quantile(df["y"], lv), df["y"].mean())
        return self

    def _table(self, X: pd.DataFrame) -> np.ndarray:
        cols = list(range(len(self.levels))) + ["mean"]
        out = self.by_sku_.reindex(_sku_key(X))[cols].to_numpy()
        cat = self.by_category_.reindex(X["category"].astype(str))[cols].to_numpy()
        out = np.where(np.isnan(out), cat, out)
        return np.where(np.isnan(out), self.overall_[None, :], out)

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return self._table(X)[:, -1]

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        return _monotone(self._table(X)[:, :-1])


def _sku_key(X: pd.DataFrame) -> pd.Index:
    return pd.Index(X["merchant_id"].astype(str) + "\x1f" + X["sku_id"].astype(str))


MODELS = {"lgbm_quantile": LGBMQuantileDemand, "sku_empirical": EmpiricalQuantileDemand}


def make_model(name: str, **params: object) -> DemandModel:
    if name not in MODELS:
        raise ValueError(f"unknown demand model '{name}'; choose from {sorted(MODELS)}")
    return MODELS[name](**params)  # type: ignore[arg-type]
