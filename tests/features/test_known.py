"""The as-of cut: whatever the tables say after the time a forecast is made (outcomes, viewers,
video snapshots, whole streams) cannot move it by a single byte."""

import numpy as np
import pandas as pd

from demandmatch.config import DEFAULT_FESTIVALS
from demandmatch.data.tables import Tables
from demandmatch.features import build_features, known_at, prepare_tables
from demandmatch.forecast.rows import default_as_of
from demandmatch.forecast.stages import forecast_demand

from .test_build import CUTOFFS, tiny_tables, ts

OUTCOMES = ["units_sold", "units_returned", "stock_allocated"]


def rewrite_after(tables: Tables, as_of: pd.Timestamp, seed: int = 1) -> Tables:
    """The same tables with everything after `as_of` changed or added: outcomes and viewers of
    streams that had not ended (filled in where blank), the counts of snapshots read later, new
    snapshots of past videos read after their stream (and after as_of), and new streams with
    lineups, outcomes, viewers and videos after the last one."""
    rng = np.random.default_rng(seed)
    streams = tables.streams.copy()
    end = streams["start_time"] + pd.to_timedelta(streams["duration_min"], unit="min")
    late = end > as_of
    streams.loc[late, "viewers"] = rng.integers(10, 10**6, late.sum()).astype(float)
    items = tables.stream_items.copy()
    open_items = items["stream_id"].isin(streams.loc[late, "stream_id"])
    sold = rng.integers(0, 500, open_items.sum()).astype(float)
    items.loc[open_items, "units_sold"] = sold
    items.loc[open_items, "units_returned"] = np.floor(sold / 3)
    items.loc[open_items, "stock_allocated"] = sold  # every one sold out
    video = tables.video_traffic.copy()
    later = video["observed_at"] > as_of
    video.loc[later, "views"] = video.loc[later, "views"] * 7 + 11
    # past videos read again after as_of (after their stream): the "usual" reach must not see it
    past_streams = streams.loc[~late, "stream_id"]
    old = video[video["stream_id"].isin(past_streams)].drop_duplicates("video_id").head(40)
    reread = old.assign(observed_at=as_of + pd.Timedelta(hours=5), views=old["views"] * 50 + 1000)
    # new streams after every other one, with their lineups and videos
    last = streams["start_time"].max()
    extra = streams.head(3).assign(
        stream_id=lambda d: "NEW" + d["stream_id"],
        start_time=last + pd.to_timedelta([1, 2, 3], unit="D"),
        viewers=123456.0,
    )
    first = streams["stream_id"].iloc[0]
    extra_items = pd.concat(
        [
            items[items["stream_id"].eq(first)].assign(stream_id=sid, units_sold=999.0)
            for sid in extra["stream_id"]
        ],
        ignore_index=True,
    )
    extra_video = video.head(3).assign(
        video_id=["NEWV1", "NEWV2", "NEWV3"],
        stream_id=extra["stream_id"].to_numpy(),
        published_at=extra["start_time"].to_numpy() - pd.Timedelta(hours=30),
        observed_at=extra["start_time"].to_numpy() - pd.Timedelta(hours=2),
        views=10**7,
    )
    return Tables(
        tables.merchants,
        tables.catalog,
        tables.streamers,
        pd.concat([streams, extra], ignore_index=True),
        pd.concat([items, extra_items], ignore_index=True),
        pd.concat([video, reread, extra_video], ignore_index=True),
    )


def forecast_bytes(tables: Tables, config, as_of: pd.Timestamp) -> bytes:
    fc = forecast_demand(tables, config, as_of, horizon_days=5)
    assert len(fc.forecasts) > 0
    return fc.forecasts.to_csv(index=False).encode() + b"".join(
        np.asarray(s, dtype=float).tobytes() for s in fc.survival
    )


def test_everything_after_the_cutoff_leaves_the_forecast_unchanged_to_the_byte(tiny_world):
    tables, config = tiny_world.tables, tiny_world.config
    as_of = default_as_of(tables) - pd.Timedelta(days=12)  # inside the history
    changed = rewrite_after(tables, as_of)
    # the rewrite reaches every kind of later fact
    assert not changed.stream_items["units_sold"].equals(tables.stream_items["units_sold"])
    assert len(changed.video_traffic) > len(tables.video_traffic)
    assert forecast_bytes(tables, config, as_of) == forecast_bytes(changed, config, as_of)


def test_the_cut_keeps_ended_streams_and_snapshots_read_by_then():
    source = prepare_tables(tiny_tables())
    known = known_at(source.lineup, source.video, ts("2026-01-05 13:00"))
    # s1 ended, s2 (12:00-14:00) had not: its outcome is not history yet
    assert set(known.history["stream_id"]) == {"s1"}
    assert known.video.empty  # s3's videos were first read on 2026-01-08
    later = known_at(source.lineup, source.video, ts("2026-01-09 00:00"))
    assert set(later.history["stream_id"]) == {"s1", "s2"}
    assert list(later.video["views"]) == [100, 300]


def test_usual_reach_reads_past_videos_as_they_stood_when_their_stream_began():
    # s1's video: 40 views read before s1 began, 5000 read a week later (after s3's cutoff)
    s1_video = pd.DataFrame(
        {
            "video_id": ["p1", "p1"],
            "stream_id": ["s1", "s1"],
            "sku_id": [None, None],
            "published_at": [ts("2025-12-31 00:00")] * 2,
            "observed_at": [ts("2026-01-01 11:00"), ts("2026-01-09 18:00")],
            "views": [40, 5000],
            "likes": [1.0, 1.0],
            "comments": [0.0, 0.0],
            "shares": [0.0, 0.0],
        }
    )
    source = prepare_tables(tiny_tables(s1_video))
    cut = pd.Series({k: ts(v) for k, v in CUTOFFS.items()})
    f = build_features(source.lineup, cut, source, DEFAULT_FESTIVALS, "Asia/Shanghai")
    f = f.set_index(["stream_id", "sku_id"])
    # s3 as of its cutoff: 350 views over 2 videos against s1's 40 (s2 had no video)
    expected = np.log1p(350 / 2) - np.log1p(40)
    assert np.isclose(f.loc[("s3", "a"), "video_views_vs_usual"], expected)
    # a snapshot read after s3's stream too changes nothing
    as_of = ts("2026-01-10 12:00")
    g = build_features(source.lineup, cut, source, DEFAULT_FESTIVALS, "Asia/Shanghai", as_of)
    pd.testing.assert_frame_equal(f.reset_index(), g)
