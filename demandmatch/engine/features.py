"""Feature rows built on a Dask cluster, a partition of streams per task.

The tables the features read (`FeatureTables`: the lineup, the videos with their projected reach,
the catalog) and the forecast's as-of time are sent to every worker once; each task builds the
features of its partition's rows with `features.build_features`, the single machine's code. A
stream's rows (at every cutoff) stay in one partition, since a row's features read its stream's
lineup, so every row gets the features the single machine gives it; the categories are set over
all rows after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from distributed import Client

from demandmatch.features import CATEGORICAL, FeatureTables, build_features, row_cutoffs
from demandmatch.features.calendar import Festival

from .cluster import n_partitions


def stream_partitions(rows: pd.DataFrame, n: int) -> list[np.ndarray]:
    """Positions of rows in each of (at most) n partitions, every stream's rows in one; empty
    partitions left out."""
    code = pd.util.hash_pandas_object(rows["stream_id"].astype(str), index=False).to_numpy() % n
    parts = [np.flatnonzero(code == k) for k in range(n)]
    return [p for p in parts if len(p)]


@dataclass(frozen=True)
class PartitionedFeatures:
    """`build_features` with the same arguments and result, its rows built on `client`'s
    workers in `partitions` partitions (default: two per worker)."""

    client: Client = field(compare=False)
    partitions: int | None = None

    def __call__(
        self,
        lineup: pd.DataFrame,
        cutoffs: pd.Series | None,
        source: FeatureTables,
        festivals: Sequence[Festival],
        timezone: str,
        as_of: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        if not lineup.index.is_unique:
            raise ValueError("feature rows need a unique index to be put back in order")
        n = n_partitions(self.client, self.partitions)
        parts = stream_partitions(lineup, n)
        if as_of is None:  # all rows' latest cutoff, not a partition's
            as_of = row_cutoffs(lineup, cutoffs).max()
        if len(parts) < 2:
            return build_features(lineup, cutoffs, source, festivals, timezone, as_of)
        shared = self.client.scatter(
            {"source": source, "as_of": as_of, "cutoffs": cutoffs}, broadcast=True
        )
        futures = [
            self.client.submit(
                _build,
                lineup.iloc[p],
                shared,
                tuple(festivals),
                timezone,
                pure=False,
            )
            for p in parts
        ]
        X = pd.concat(self.client.gather(futures)).reindex(lineup.index)
        for col in CATEGORICAL:
            if col in X:
                X[col] = pd.Categorical(X[col].astype(str))
        return X


def _build(rows: pd.DataFrame, shared: dict, festivals: tuple, timezone: str) -> pd.DataFrame:
    return build_features(
        rows, shared["cutoffs"], shared["source"], festivals, timezone, shared["as_of"]
    )
