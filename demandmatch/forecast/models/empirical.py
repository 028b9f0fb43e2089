"""sku_empirical: the naive baseline, each SKU's empirical quantiles and mean of its past units
sold, falling back to its category's, then to everything's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from demandmatch.data.schema import QUANTILE_LEVELS
from demandmatch.forecast.negbin.start import sku_key

from .base import DemandEstimator, monotone
from .params import EmpiricalSettings

_D = EmpiricalSettings()
_SKU = ("merchant_id", "sku_id")


class EmpiricalQuantileDemand(DemandEstimator):
    """Rows are grouped by SKU (merchant_id and sku_id) and category where X has those columns;
    without them every row falls back to the overall figures."""

    settings_model = EmpiricalSettings

    def __init__(
        self, *, levels: Sequence[float] = QUANTILE_LEVELS, min_history: int = _D.min_history
    ) -> None:
        self.levels = levels
        self.min_history = min_history

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> EmpiricalQuantileDemand:
        self.settings()
        X, y = self._fit_input(X, y)
        lv = list(self.levels)
        df = pd.DataFrame({"sku": _keys(X, _SKU), "category": _keys(X, ("category",)), "y": y})

        def summarise(g: pd.DataFrame) -> pd.DataFrame:
            grp = g.groupby(g.columns[0])["y"]
            out = grp.quantile(lv).unstack().reindex(columns=lv)
            out.columns = range(len(lv))
            out["mean"] = grp.mean()
            out["n"] = grp.size()
            return out

        by_sku = summarise(df[["sku", "y"]])
        self.by_sku_ = by_sku[by_sku["n"] >= self.min_history]
        self.by_category_ = summarise(df[["category", "y"]])
        self.overall_ = np.append(np.quantile(df["y"], lv), df["y"].mean())
        return self

    def _table(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        X = self._frame(X)
        cols = list(range(len(self.levels))) + ["mean"]
        out = self.by_sku_.reindex(_keys(X, _SKU))[cols].to_numpy()
        cat = self.by_category_.reindex(_keys(X, ("category",)))[cols].to_numpy()
        out = np.where(np.isnan(out), cat, out)
        return np.where(np.isnan(out), self.overall_[None, :], out)

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return self._table(X)[:, -1]

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        return monotone(self._table(X)[:, :-1])


def _keys(X: pd.DataFrame, cols: Sequence[str]) -> pd.Index:
    """Each row's group (a SKU, a category), or no group where X lacks the columns."""
    if not all(c in X for c in cols):
        return pd.Index([np.nan] * len(X), dtype=object)
    if len(cols) == 1:
        return pd.Index(X[cols[0]].astype(str))
    return sku_key(X)
