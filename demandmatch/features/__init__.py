"""Features for (stream, SKU) rows, each computed only from what was known at the row's cutoff.

The cutoff of a row is the time its forecast is made: for an upcoming stream the forecast's
as-of time (or `start_time - lead` for a nowcast), for a past stream the engine learns from,
`start_time - lead` for each of several leads, so that the model sees streams from as far out as
it will be asked about them. History counts a past stream only once it has ended
(start + duration <= cutoff); video traffic counts only snapshots with `observed_at <= cutoff`.

`build_features` is the entry. Its first step cuts the source to what was known when the
forecast was made (`known.known_at`): outcomes, viewers and lineups of streams that had not
ended, and snapshots read later, are gone before any helper sees the tables. The modules hold the
parts: `known` (that cut), `lineup` (the joined rows and a row's place in its stream), `price`,
`calendar`, `history` (as-of statistics of past streams), `video` (short-video traffic and
hype) and `video_reach` (each video's projected final views).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandmatch.data.tables import Tables

from .calendar import Festival, calendar_features
from .history import history_features, launch_stream, past_outcomes, stream_totals
from .known import Known, known_at
from .lineup import lineup_features, lineup_frame
from .price import price_features
from .video import hype_features, video_features
from .video_reach import projected_reach

__all__ = [
    "FeatureTables",
    "Known",
    "build_features",
    "known_at",
    "lineup_frame",
    "prepare_tables",
    "row_cutoffs",
]

CATEGORICAL = ("category", "merchant_id")
# the per-row columns in a fixed order: LightGBM's column sampling and its ties between equally
# good splits follow the order, so a new order is a different model
STATIC_COLUMNS = (
    "live_price",
    "log_price",
    "discount",
    "price_vs_category",
    "margin",
    "slot",
    "slot_share",
    "lineup_size",
    "featured",
    "duration_min",
    "hour",
    "daypart",
    "weekday",
    "log_followers",
    "festival_days",
    "festival_runup",
    "lead_hours",
)


@dataclass(frozen=True)
class FeatureTables:
    """The tables features are built from, with what is derived from them once for every build
    (`prepare_tables`): every stream item joined with its stream, streamer and catalog entry
    (`lineup`), and every video snapshot with the log of its projected final views
    (`video["log_reach"]`, each from that snapshot and the video's earlier ones, so valid at any
    cutoff)."""

    tables: Tables
    lineup: pd.DataFrame
    video: pd.DataFrame


def prepare_tables(tables: Tables) -> FeatureTables:
    video = tables.video_traffic
    if not video.empty:
        video = video.assign(log_reach=np.log1p(projected_reach(video)["reach"]))
    return FeatureTables(tables, lineup_frame(tables), video)


def row_cutoffs(lineup: pd.DataFrame, cutoffs: pd.Series | None) -> pd.Series:
    """Each row's cutoff: `cutoffs` (stream_id -> cutoff) mapped onto the rows, or with None the
    rows' own `cutoff` column; a row without one is an error."""
    if cutoffs is not None:
        cut = lineup["stream_id"].map(cutoffs)
    elif "cutoff" in lineup:
        cut = lineup["cutoff"]
    else:
        raise ValueError("give cutoffs per stream or a 'cutoff' column per row")
    if cut.isna().any():
        raise ValueError(
            f"no cutoff given for stream {lineup.loc[cut.isna(), 'stream_id'].iloc[0]}"
        )
    return cut


def build_features(
    lineup: pd.DataFrame,
    cutoffs: pd.Series | None,
    source: FeatureTables,
    festivals: Sequence[Festival],
    timezone: str,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One feature row per lineup row (same index).

    `cutoffs` maps stream_id -> cutoff time; with None, `lineup` carries its own per-row
    `cutoff` column (the same stream may then appear once per cutoff). `as_of`: when the
    forecast is made, at or after every row's cutoff (default: the latest cutoff). The source
    is cut to what was known then (`known_at`) before anything reads it; each row's history is
    the streams of that cut that ended by the row's own cutoff.
    """
    rows = lineup.assign(cutoff=row_cutoffs(lineup, cutoffs))
    latest = rows["cutoff"].max()
    if as_of is None:
        as_of = latest
    elif latest > as_of:
        raise ValueError(f"a row's cutoff {latest} is after the forecast's as-of time {as_of}")
    known = known_at(source.lineup, source.video, as_of)
    past = past_outcomes(known.history)
    keys = rows[["stream_id", "sku_id", "streamer_id", "brand"]]  # keys, not inputs
    static = pd.concat(
        [
            price_features(rows, source.tables.catalog),
            lineup_features(rows),
            calendar_features(rows, festivals, timezone),
        ],
        axis=1,
    )
    video = video_features(rows, known.video)
    history = [
        history_features(rows, past, ["merchant_id", "sku_id"], "sku"),
        history_features(rows, past, ["category"], "cat"),
        history_features(rows, past, ["brand"], "brand"),
        history_features(rows, stream_totals(past), ["streamer_id"], "streamer"),
        history_features(rows, past, ["streamer_id", "category"], "streamer_cat"),
    ]
    sku, streamer = history[0], history[3]
    extra = pd.DataFrame(
        {
            "views_per_follower": video["video_views"] / (rows["followers"] + 1.0),
            **hype_features(rows, video, known, past),
            "launch_stream": launch_stream(rows, source.lineup, as_of),
            "cold_sku": sku["sku_n_past"].eq(0),
            "cold_streamer": streamer["streamer_n_past"].eq(0),
            **{col: pd.Categorical(rows[col].astype(str)) for col in CATEGORICAL},
        },
        index=rows.index,
    )
    # one concatenation of the parts (same index, in this column order): joining them one by
    # one copied the growing frame at every step
    return pd.concat([keys, static[list(STATIC_COLUMNS)], video, *history, extra], axis=1)
