"""A fitted demand model's forecasts made on a Dask cluster, a block of rows per task."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from distributed import Client

from demandmatch.forecast.models.base import DemandEstimator

from .cluster import n_partitions


@dataclass(frozen=True)
class OnCluster:
    """`model` (fitted) whose `predict_forecast` runs on `client`'s workers, the rows cut into
    `partitions` blocks (default: two per worker) and put back in order: the same numbers as
    the model's own on one machine. The model is sent to every worker once."""

    model: DemandEstimator
    client: Client = field(compare=False)
    partitions: int | None = None

    def predict_forecast(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        n = n_partitions(self.client, self.partitions)
        bounds = np.linspace(0, len(X), min(n, max(len(X), 1)) + 1).astype(int)
        if len(bounds) <= 2:
            return self.model.predict_forecast(X)
        model = self.client.scatter(self.model, broadcast=True)
        futures = [
            self.client.submit(_predict, model, X.iloc[a:b], pure=False)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            if b > a
        ]
        done = self.client.gather(futures)
        mean = np.concatenate([d[0] for d in done])
        quantiles = np.concatenate([d[1] for d in done])
        survival = [s for d in done for s in d[2]]
        return mean, quantiles, survival

    def held_out_choices(self) -> dict[str, float]:
        return self.model.held_out_choices()

    def fallbacks(self) -> list[str]:
        return self.model.fallbacks()


def _predict(model: DemandEstimator, X: pd.DataFrame):
    return model.predict_forecast(X)
