"""What was known at a cutoff: the one place the tables are cut before any feature reads them.

A forecast made at time T may read, of the past, only streams that had ended by T (their lineups
with outcomes: units sold, returned, stock allocated; their viewers) and video snapshots observed
by T. `known_at` cuts a prepared source to that, so no feature helper has to remember to: what
started later, outcomes recorded for a stream that had not ended, viewers counted later,
snapshots read later, do not exist for it. The rows being forecast (their stream, lineup, prices)
are the forecast's own question and are passed apart.

Each row of a build may have its own earlier cutoff (a past stream learned from as a forecast
made `lead` hours before it): the history and video helpers cut again per row, within what
`known_at` left.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Known:
    """What was known at `cutoff`: `history`, the lineup rows (joined with stream, streamer and
    catalog) of streams that had ended by then with recorded sales, once each; `video`, the
    snapshots observed by then (with their `log_reach`); `starts`, each stream's start time
    (the schedule, to tell which snapshots came before a stream began)."""

    cutoff: pd.Timestamp
    history: pd.DataFrame
    video: pd.DataFrame
    starts: pd.Series


def known_at(lineup: pd.DataFrame, video: pd.DataFrame, cutoff: pd.Timestamp) -> Known:
    """`lineup` (every stream item joined, see lineup_frame) and `video` (every snapshot) cut
    to what was known at `cutoff`."""
    ended = lineup["end_time"] <= cutoff
    history = lineup[ended & lineup["units_sold"].notna()]
    history = history.drop_duplicates(["stream_id", "sku_id"])
    if not video.empty:
        video = video[video["observed_at"] <= cutoff]
    starts = lineup.drop_duplicates("stream_id").set_index("stream_id")["start_time"]
    return Known(cutoff, history, video, starts)
