"""Projected final reach of a short video from its cumulative view snapshots.

A video's views grow fast after publishing and then level off. Views so far mix how far a video
will go with how old it is; the level it tends to, read from the shape of its growth, does not.
Each video is fitted to views(t) = reach x (1 - exp(-t / tau)), t hours since publishing, by
least squares in relative terms over a grid of tau, once per prefix of its snapshots, so that a
forecast made at any cutoff can use the fit of exactly the snapshots it could see. With a single
snapshot the shape is unknown: tau then stays at a typical value (a weak penalty on log tau pulls
every fit toward it; two or more snapshots outweigh it). The typical value is a fixed prior, not
learned from the table: learned, it would carry later snapshots into earlier cutoffs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TAU_GRID = np.exp(np.linspace(np.log(1.0), np.log(500.0), 100))  # hours
TYPICAL_TAU_HOURS = 24.0  # a short video gets most of its views within a day or two
TAU_PENALTY = 1e-5  # weight of (log tau - log typical tau)^2 against the relative squared error
_CHUNK = 20  # tau values per pass, to bound memory at rows x _CHUNK


def projected_reach(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Per snapshot row (same index): `reach`, the video's projected final views, and `tau`,
    its fitted saturation time in hours, each from that snapshot and the video's earlier ones.

    Needs columns video_id, published_at, observed_at, views.
    """
    out = pd.DataFrame({"reach": np.nan, "tau": np.nan}, index=snapshots.index)
    if snapshots.empty:
        return out
    order = np.lexsort(
        (_sortable(snapshots["observed_at"]), snapshots["video_id"].astype(str).to_numpy())
    )
    snap = snapshots.iloc[order]
    hours = (snap["observed_at"] - snap["published_at"]).dt.total_seconds().to_numpy() / 3600.0
    hours = np.maximum(hours, 1.0 / 60.0)
    views = snap["views"].to_numpy(dtype=float)
    video = snap["video_id"].to_numpy()

    def prefix_sum(x: np.ndarray) -> np.ndarray:
        """Sum over each row's video up to and including the row (x: rows x k), summed within
        each video so that no precision is lost to a running total over all videos."""
        return pd.DataFrame(x).groupby(video, sort=False).cumsum().to_numpy()

    vv = prefix_sum((views * views)[:, None])[:, 0]
    rows = np.arange(len(views))
    best = np.full(len(views), np.inf)
    reach = np.zeros(len(views))
    tau = np.zeros(len(views))
    for lo in range(0, TAU_GRID.size, _CHUNK):
        grid = TAU_GRID[lo : lo + _CHUNK]
        f = -np.expm1(-hours[:, None] / grid[None, :])
        vf = prefix_sum(views[:, None] * f)
        ff = prefix_sum(f * f)
        r = vf / ff  # least-squares reach for each tau
        sse = np.maximum(vv[:, None] - 2.0 * r * vf + r * r * ff, 0.0)
        prior = TAU_PENALTY * np.log(grid / TYPICAL_TAU_HOURS) ** 2
        obj = sse / np.maximum(r, 1.0) ** 2 + prior
        j = obj.argmin(axis=1)
        better = obj[rows, j] < best
        best = np.where(better, obj[rows, j], best)
        reach = np.where(better, r[rows, j], reach)
        tau = np.where(better, grid[j], tau)
    # reach cannot be below what was already seen
    out.iloc[order, 0] = np.maximum(reach, views)
    out.iloc[order, 1] = tau
    return out


def _sortable(times: pd.Series) -> np.ndarray:
    """The times in their order: tz-aware ones without a blank as their instants (int64), not
    one Timestamp object per row; any others as they are."""
    if isinstance(times.dtype, pd.DatetimeTZDtype) and not times.isna().any():
        return times.array.asi8
    return times.to_numpy()
