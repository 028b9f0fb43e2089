"""What every demand model shares: scikit-learn's estimator contract (parameters stored as given
in `__init__`, validated in `fit` by the model's settings, learned attributes ending in `_`,
`clone` works), the checks on its input, and the forecast it makes: a mean, quantiles at `levels`
that never cross, and the survival curve the optimiser plans on.

What a model can do is declared on its class, not probed: `learns_censoring` (its fit takes
`censored=` and `time=`) and `uses_seed` (it takes `random_state`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from demandmatch.forecast.distributions import survival_from_quantiles

# identify a row or group rows (random effects); never used as tree inputs
ID_COLUMNS = ("stream_id", "sku_id", "streamer_id", "brand")


class DemandEstimator(RegressorMixin, BaseEstimator):
    """Base of the demand models. A subclass sets `settings_model` (its parameters but `levels`
    and `random_state`, with their defaults and bounds) and implements fit, predict_mean and
    predict_quantiles; predict is the mean."""

    settings_model: ClassVar[type[BaseModel]]
    learns_censoring: ClassVar[bool] = False
    uses_seed: ClassVar[bool] = False

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_mean(X)

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def predict_forecast(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """(mean, quantiles, survival P(D >= u), u = 1, 2, ...) of each row; here the survival
        is read off the quantiles (a model with a distribution gives its own)."""
        q, mean = self.predict_quantiles(X), self.predict_mean(X)
        return mean, q, survival_from_quantiles(np.asarray(self.levels, dtype=float), q)

    def held_out_choices(self) -> dict[str, float]:
        """What the fit chose on held-out rows, by the names a run logs them under (none)."""
        return {}

    def fallbacks(self) -> list[str]:
        """The robust defaults the fit fell back on where the data could not choose, in words
        (none)."""
        return []

    def settings(self) -> BaseModel:
        """The parameters, validated (a ValueError names any that is out of bounds)."""
        names = self.settings_model.model_fields
        return self.settings_model.model_validate({k: getattr(self, k) for k in names})

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a blank feature (no history yet) is information
        tags.target_tags.positive_only = True  # demand is a count
        return tags

    # ---- input -----------------------------------------------------------------------------

    def _fit_input(
        self, X: pd.DataFrame | np.ndarray, y: object
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """X as a frame (see `_frame`) and y as non-negative floats, one per row."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        _check_levels(self.levels)
        X = self._frame(X, reset=True)
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        y = column_or_1d(y, warn=True).astype(float, copy=False)
        check_consistent_length(X, y)
        if (y < 0).any():
            raise ValueError("y must be non-negative: it is units demanded")
        return X, y

    def _frame(self, X: pd.DataFrame | np.ndarray, reset: bool = False) -> pd.DataFrame:
        """A feature frame as given (ids, categories and numbers; its column count and names
        checked against fit's), or a numeric array as a frame with columns x0, x1, ..."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                    "required."
                )
            return X
        array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype="numeric")
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def monotone(q: np.ndarray) -> np.ndarray:
    """Non-negative quantiles that never decrease across levels (sorted per row)."""
    return np.sort(np.maximum(q, 0.0), axis=1)


def _check_levels(levels: Sequence[float]) -> None:
    lv = np.asarray(levels, dtype=float)
    if lv.ndim != 1 or len(lv) == 0 or not ((lv > 0) & (lv < 1)).all() or (np.diff(lv) <= 0).any():
        raise ValueError(f"levels must be increasing shares in (0, 1): {levels}")
