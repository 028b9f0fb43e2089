"""The demand model's trees grown on a Dask cluster with `lightgbm.dask`: the same boosters as
`forecast.negbin.boosting.Boosting` grows on one machine (the censored negative binomial
objective from the log-linear start), trained data-parallel over the workers' row partitions.

The objective needs three numbers per row beside the score: units sold, whether they sold out and
the NB size. LightGBM hands a custom objective the label and the weight of each row, so the label
carries the units and the sold-out flag (a sold-out row's label is -(units + 1)) and the weight
carries the size; with a custom objective LightGBM uses the weights nowhere else. The start is the
rows' init_score, so the score the objective sees is the start plus the trees, as on one machine.

The held-out model is grown to its most rounds in one distributed fit, then its candidate cuts are
judged one by one from the finished boosters (`after`), which decides as the single machine's
round-by-round judging does: the trees up to a round do not depend on the rounds after it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed import Client
from lightgbm.dask import DaskLGBMRegressor

from demandmatch.forecast.negbin.boosting import After, Boosting
from demandmatch.forecast.negbin.likelihood import grad_hess

from .cluster import n_partitions


def encode_label(y: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Units sold, a sold-out row's as -(units + 1)."""
    y = np.asarray(y, dtype=float)
    return np.where(np.asarray(censored, dtype=bool), -(y + 1.0), y)


def decode_label(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(units sold, sold out) of encode_label's labels."""
    label = np.asarray(label, dtype=float)
    censored = label < 0
    return np.where(censored, -label - 1.0, label), censored


def censored_nb_objective(
    label: np.ndarray, score: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian in log mu of the censored NB loss, for LightGBM's scikit-learn API:
    the label as encode_label writes it, the weight the NB size, the score the log mean."""
    y, censored = decode_label(label)
    return grad_hess(np.asarray(score, dtype=float), y, np.asarray(weight, dtype=float), censored)


@dataclass(frozen=True)
class Rows:
    """Feature rows as the cluster will train on them: the frame (kept here until a fit sends
    the rows it needs) and which of its rows a subset keeps."""

    X: pd.DataFrame
    keep: np.ndarray | None = None

    def subset(self, idx: np.ndarray) -> Rows:
        keep = np.asarray(idx) if self.keep is None else self.keep[np.asarray(idx)]
        return Rows(self.X, keep)

    def frame(self) -> pd.DataFrame:
        return self.X if self.keep is None else self.X.iloc[self.keep]


@dataclass(frozen=True)
class DaskBoosting(Boosting):
    """Boosting whose trees `lightgbm.dask` grows on `client`'s workers, over `partitions`
    row partitions of the training rows (default: two per worker)."""

    client: Client | None = field(default=None, compare=False)
    partitions: int | None = None

    def dataset(self, X: pd.DataFrame, y: np.ndarray) -> Rows:  # type: ignore[override]
        return Rows(X.reset_index(drop=True))

    def grow(  # type: ignore[override]
        self,
        base: np.ndarray,
        y: np.ndarray,
        censored: np.ndarray,
        r: np.ndarray,
        data: Rows,
        share: float,
        rounds: int,
        after: After | None = None,
    ) -> list[lgb.Booster]:
        X = data.frame().reset_index(drop=True)
        subsample = float(self.params.get("subsample", 1.0))  # type: ignore[arg-type]
        if rounds == 0 or len(X) < 2 or int(len(X) * subsample) < 1:
            return []
        n_parts = n_partitions(self.client, self.partitions)
        n_parts = max(1, min(n_parts, len(X) // 2))
        rows = X.assign(
            _label=encode_label(y, censored),
            _size=np.broadcast_to(np.asarray(r, dtype=float), len(X)),
            _start=np.asarray(base, dtype=float),
        )
        parts = dd.from_pandas(rows, npartitions=n_parts, sort=True)  # cut in row order
        features = parts[list(X.columns)]
        params = {k: v for k, v in self.params.items() if k not in ("n_estimators", "n_jobs")}
        params["learning_rate"] = self.steps(share)[1]
        seed = int(self.params["random_state"])  # type: ignore[call-overload]
        models = []
        for b in range(max(self.bags, 1)):
            model = DaskLGBMRegressor(
                client=self.client,
                objective=censored_nb_objective,
                n_estimators=rounds,
                **{**params, "random_state": seed + b},
            )
            with warnings.catch_warnings():  # it says so of the threads it leaves to Dask
                warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
                model.fit(
                    features,
                    parts["_label"],
                    sample_weight=parts["_size"],
                    init_score=parts["_start"],
                )
            models.append(model.to_local().booster_)
        if after is not None:
            for k in range(1, rounds + 1):
                if after(models, k):
                    for m in models:
                        m.best_iteration = k  # predictions stop where the judging stopped
                    break
        return models
