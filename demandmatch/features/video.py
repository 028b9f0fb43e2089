"""Short-video traffic per (stream, SKU) as of each row's cutoff, and how far a stream's videos
run above or below what its streamer's videos usually reach (the stream's hype)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .history import TS, running_mean
from .known import Known


def video_features(rows: pd.DataFrame, video: pd.DataFrame) -> pd.DataFrame:
    """Short-video traffic per (stream, SKU) as of each stream's cutoff."""
    names = [
        "video_n",
        "video_views",
        "video_likes",
        "video_comments",
        "video_shares",
        "video_views_per_hour",
        "video_hours_before",
        "video_sku_views",
        "video_sku_n",
        "video_reach",
    ]
    out = pd.DataFrame(0.0, index=rows.index, columns=names)
    out["video_hours_before"] = np.nan
    out["video_reach"] = np.nan
    if video.empty:
        return out
    cut = rows[["stream_id", "cutoff", "start_time"]].drop_duplicates(["stream_id", "cutoff"])
    v = video.merge(cut, on="stream_id", how="inner")
    v = v[v["observed_at"] <= v["cutoff"]].sort_values(["cutoff", "video_id", "observed_at"])
    if v.empty:
        return out
    g = v.groupby(["cutoff", "video_id"], sort=False)
    prev_views = g["views"].shift(1)
    prev_time = g["observed_at"].shift(1)
    v["rate"] = (v["views"] - prev_views) / (
        (v["observed_at"] - prev_time).dt.total_seconds() / 3600.0
    )
    first_rate = v["views"] / (
        (v["observed_at"] - v["published_at"]).dt.total_seconds().clip(lower=3600) / 3600.0
    )
    v["rate"] = v["rate"].fillna(first_rate)
    last = g.tail(1)
    last = last.assign(
        hours_before=(last["start_time"] - last["published_at"]).dt.total_seconds() / 3600.0
    )
    per_stream = last.groupby(["stream_id", "cutoff"]).agg(
        video_n=("video_id", "size"),
        video_views=("views", "sum"),
        video_likes=("likes", "sum"),
        video_comments=("comments", "sum"),
        video_shares=("shares", "sum"),
        video_views_per_hour=("rate", "sum"),
        video_hours_before=("hours_before", "max"),
        video_reach=("log_reach", "mean"),
    )
    per_sku = (
        last.dropna(subset=["sku_id"])
        .groupby(["stream_id", "cutoff", "sku_id"])
        .agg(video_sku_views=("views", "sum"), video_sku_n=("video_id", "size"))
    )
    s = per_stream.reindex(pd.MultiIndex.from_frame(rows[["stream_id", "cutoff"]]))
    s.index = rows.index
    k = per_sku.reindex(pd.MultiIndex.from_frame(rows[["stream_id", "cutoff", "sku_id"]]))
    k.index = rows.index
    blank = ["video_hours_before", "video_reach"]  # no video: unknown, not zero
    out.update(s.fillna({c: 0.0 for c in s.columns if c not in blank}))
    out[blank] = s[blank]
    out[["video_sku_views", "video_sku_n"]] = k.fillna(0.0).to_numpy()
    return out


def usual_per_streamer(rows: pd.DataFrame, per_stream: pd.Series, past: pd.DataFrame) -> pd.Series:
    """Mean of a per-stream video measure (stream_id -> value, from each video's last snapshot)
    over the streamer's streams that ended by the cutoff: what this streamer's videos usually
    reach, so that today's traffic reads as hype."""
    out = pd.Series(np.nan, index=rows.index)
    ends = past.drop_duplicates("stream_id").set_index("stream_id")[["streamer_id", "end_time"]]
    ev = ends.join(per_stream.rename("v"), how="inner").dropna(subset=["streamer_id"])
    if ev.empty:
        return out
    ev = ev.sort_values("end_time")
    ev["end_time"] = ev["end_time"].astype(TS)
    ev["_mean"] = running_mean(ev["v"], ev.groupby("streamer_id").ngroup().to_numpy())
    probe = rows[["streamer_id", "cutoff"]].assign(_row=rows.index).dropna(subset=["streamer_id"])
    probe["cutoff"] = probe["cutoff"].astype(TS)
    merged = pd.merge_asof(
        probe.sort_values("cutoff"),
        ev[["streamer_id", "end_time", "_mean"]],
        left_on="cutoff",
        right_on="end_time",
        by="streamer_id",
        direction="backward",
    ).set_index("_row")
    return merged["_mean"].reindex(rows.index)


def hype_features(
    rows: pd.DataFrame, feats: pd.DataFrame, known: Known, past: pd.DataFrame
) -> pd.DataFrame:
    """video_views_vs_usual (log views per video so far) and video_reach_vs_usual (log projected
    reach) against the streamer's usual over its past streams: `feats` holds the rows' video
    features, `known` the snapshots known when the forecast is made (with their log_reach).

    A past stream's videos count as they stood when it began (each video's last snapshot
    observed by its stream's start): known to any row whose cutoff is after the stream ended,
    and comparable to today's pre-stream traffic. Snapshots read after a stream, which a row
    learned from as of an earlier cutoff could not have seen, never enter its usual."""
    out = pd.DataFrame(index=rows.index)
    per_video = np.log1p(feats["video_views"] / feats["video_n"].where(feats["video_n"] > 0))
    video = known.video
    if video.empty:
        out["video_views_vs_usual"] = np.nan
        out["video_reach_vs_usual"] = np.nan
        return out
    video = video[video["observed_at"] <= video["stream_id"].map(known.starts)]
    final = video.sort_values("observed_at").groupby("video_id").tail(1)
    views = np.log1p(final.groupby("stream_id")["views"].mean())
    reach = final.groupby("stream_id")["log_reach"].mean()
    out["video_views_vs_usual"] = per_video - usual_per_streamer(rows, views, past)
    out["video_reach_vs_usual"] = feats["video_reach"] - usual_per_streamer(rows, reach, past)
    return out
