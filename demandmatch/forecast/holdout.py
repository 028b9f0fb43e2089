"""Which rows the demand model holds out to measure its own error: the latest share of the
history, and the first streams of (a share of) the SKUs launched during it.

The latest rows seldom hold a SKU's first stream, so the first streams of the SKUs launched
after the first LAUNCH_BURN of the history, when everything is new, are held out too and judged
as new SKUs: they teach a new SKU's spread, scale and dispersion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LAUNCH_BURN = 0.1


@dataclass(frozen=True)
class HoldOut:
    """`share`: the latest share of the rows (by time; without times, a seeded random share);
    `launch_share`: the share of launched SKUs whose first streams are held out; `seed` draws
    both random picks."""

    share: float
    launch_share: float
    seed: int

    def split(
        self, time: np.ndarray | None, n: int, sku: np.ndarray | None, cold: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(late, launches): masks of the n rows held out as the latest and as a launched SKU's
        first stream. `time`: when each row happened; `sku`: each row's SKU; `cold`: rows of a
        SKU with no past stream (None: no launches are held out)."""
        launches = np.zeros(n, bool)
        if time is None:
            return np.random.default_rng(self.seed).random(n) < self.share, launches
        t = pd.Series(np.asarray(time)).rank(method="first").to_numpy() / n
        late = t > 1.0 - self.share
        if cold is not None:
            launches = self.launched(sku, t) & cold
        return late, launches

    def launched(self, sku: np.ndarray | None, t: np.ndarray) -> np.ndarray:
        """Rows of a seeded `launch_share` of the SKUs whose first row came after LAUNCH_BURN
        of the history (`t`: each row's time as a share of it) and before the latest `share`."""
        if sku is None or self.launch_share <= 0:
            return np.zeros(len(t), bool)
        first = pd.Series(t).groupby(sku).min()
        launched = first[(first > LAUNCH_BURN) & (first <= 1.0 - self.share)].index
        pick = np.random.default_rng(self.seed).random(len(launched))
        return pd.Index(launched[pick < self.launch_share]).get_indexer(sku) >= 0  # hashed
