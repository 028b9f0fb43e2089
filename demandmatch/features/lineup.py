"""The stream items joined with their stream, streamer and catalog entry, and the features of a
row's place in its stream: slot, lineup size, featured, duration, the streamer's audience and
how far ahead of the stream the forecast is made."""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandmatch.data.tables import Tables


def lineup_frame(tables: Tables) -> pd.DataFrame:
    """Every stream item joined with its stream, streamer and catalog entry."""
    streams = tables.streams.assign(
        end_time=lambda d: d["start_time"] + pd.to_timedelta(d["duration_min"], unit="min")
    )
    df = tables.stream_items.merge(streams, on="stream_id", how="left", validate="many_to_one")
    df = df.merge(tables.catalog, on=["merchant_id", "sku_id"], how="left", validate="many_to_one")
    df = df.merge(tables.streamers[["streamer_id", "followers"]], on="streamer_id", how="left")
    return df


def lineup_features(rows: pd.DataFrame) -> pd.DataFrame:
    """slot, slot_share, lineup_size, featured, duration_min, log_followers and lead_hours."""
    lineup_size = rows.groupby(["stream_id", "cutoff"])["sku_id"].transform("size")
    return pd.DataFrame(
        {
            "slot": rows["slot"],
            "slot_share": rows["slot"] / lineup_size,
            "lineup_size": lineup_size,
            "featured": rows["featured"].astype(int),
            "duration_min": rows["duration_min"],
            "log_followers": np.log1p(rows["followers"]),
            "lead_hours": (rows["start_time"] - rows["cutoff"]).dt.total_seconds() / 3600.0,
        },
        index=rows.index,
    )
