"""The boosted part of log mu: LightGBM trees grown on the censored negative binomial likelihood
(a custom objective) from the log-linear start, one update at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from .likelihood import GradHess

# LightGBM settings that shape how a Dataset is binned (the rest only shape the trees)
DATASET_PARAMS = ("max_bin", "min_child_samples", "n_jobs", "random_state", "verbose")

After = Callable[[list[lgb.Booster], int], bool]


@dataclass(frozen=True)
class Boosting:
    """`params`: LightGBM's settings (with n_estimators and learning_rate); `bags` boosters,
    each on its own random rows and columns (seeds random_state, random_state + 1, ...),
    averaged in log mean: one alone moves with its seed."""

    params: Mapping[str, object]
    bags: int = 1

    def steps(self, share: float) -> tuple[int, float]:
        """(rounds, learning rate) of a model grown in `share` of n_estimators' rounds: the same
        way in fewer, longer steps."""
        n_estimators = int(self.params["n_estimators"])  # type: ignore[call-overload]
        learning_rate = float(self.params["learning_rate"])  # type: ignore[arg-type]
        if share == 1.0:
            return n_estimators, learning_rate
        n = max(int(round(n_estimators * share)), 1)
        return n, learning_rate * n_estimators / n

    def dataset(self, X: pd.DataFrame, y: np.ndarray) -> lgb.Dataset:
        """X binned once: a held-out model trains on a subset of it and every bag on all of
        it, sharing the bins instead of building them again."""
        params = {k: v for k, v in self.params.items() if k in DATASET_PARAMS}
        return lgb.Dataset(X, label=y, params=params, free_raw_data=False).construct()

    def grow(
        self,
        base: np.ndarray,
        y: np.ndarray,
        censored: np.ndarray,
        r: np.ndarray,
        data: lgb.Dataset,
        share: float,
        rounds: int,
        after: After | None = None,
    ) -> list[lgb.Booster]:
        """`bags` boosters of log mu from `base` on `data` (see `dataset`; outcomes y, sold out
        `censored`, NB sizes r), stepping as a model in `share` of the rounds would, each grown
        `rounds` rounds in step with the others; `after(boosters, k)` runs after round k and
        stops the growth when it says so."""
        if rounds == 0 or not _can_grow(data, float(self.params.get("subsample", 1.0))):  # type: ignore[arg-type]
            return []

        at = GradHess(y, r, censored)

        def objective(f: np.ndarray, _: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
            return at(f + base)

        params = {**self.params, "learning_rate": self.steps(share)[1], "objective": "none"}
        params.pop("n_estimators")  # the rounds are grown here, one update at a time
        seed = int(self.params["random_state"])  # type: ignore[call-overload]
        models = [
            lgb.Booster({**params, "random_state": seed + b}, data)
            for b in range(max(self.bags, 1))
        ]
        for k in range(1, rounds + 1):
            for m in models:
                m.update(fobj=objective)
            if after is not None and after(models, k):
                break
        return models


def _can_grow(data: lgb.Dataset, subsample: float) -> bool:
    """Whether LightGBM can grow a tree here: some column it kept when binning (too few rows for
    a leaf drop them all) and a bag of at least one row; else the start stands alone."""
    data.construct()  # as the booster would (a subset is built from its parent's bins)
    usable = any(data.feature_num_bin(i) > 0 for i in range(data.num_feature()))
    return usable and int(data.num_data() * subsample) >= 1


def trees_log_mean(models: list[lgb.Booster], X: pd.DataFrame) -> np.ndarray:
    """The boosters' part of log mu of X's rows, averaged over bags (0 without trees)."""
    if not models:
        return np.zeros(len(X))
    return np.mean([m.predict(X, raw_score=True) for m in models], 0)
