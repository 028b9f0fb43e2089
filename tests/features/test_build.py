"""Features use only what was known at each row's cutoff."""

import numpy as np
import pandas as pd

from demandmatch.config import DEFAULT_FESTIVALS
from demandmatch.data.schema import empty_frame
from demandmatch.data.tables import Tables
from demandmatch.features import build_features, prepare_tables

UTC = "UTC"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz=UTC)


def tiny_tables(video_extra: pd.DataFrame | None = None, late_units: float = 7.0) -> Tables:
    catalog = pd.DataFrame(
        {
            "merchant_id": ["m1", "m1"],
            "sku_id": ["a", "b"],
            "title": ["A", "B"],
            "category": ["food", "food"],
            "brand": ["x", "y"],
            "list_price": [10.0, 20.0],
            "unit_cost": [5.0, 8.0],
            "salvage_value": [0.0, 0.0],
            "on_hand": [0, 0],
            "case_pack": [1, 1],
            "moq": [0, 0],
            "lead_time_days": [0, 0],
            "shelf_life_days": [np.nan, np.nan],
            "unit_volume_l": [np.nan, np.nan],
        }
    )
    streamers = pd.DataFrame(
        {"streamer_id": ["h1"], "followers": [1000], "qualification_verified": [True]}
    )
    streams = pd.DataFrame(
        {
            "stream_id": ["s1", "s2", "s3"],
            "merchant_id": ["m1"] * 3,
            "streamer_id": ["h1"] * 3,
            "start_time": [ts("2026-01-01 12:00"), ts("2026-01-05 12:00"), ts("2026-01-10 12:00")],
            "duration_min": [120, 120, 120],
            "viewers": [500.0, 800.0, np.nan],
        }
    )
    items = pd.DataFrame(
        {
            "stream_id": ["s1", "s1", "s2", "s3", "s3"],
            "sku_id": ["a", "b", "a", "a", "b"],
            "live_price": [9.0, 15.0, 8.0, 9.0, 16.0],
            "slot": [1, 2, 1, 1, 2],
            "featured": [True, False, False, True, False],
            "units_sold": [10.0, 4.0, late_units, np.nan, np.nan],
            "units_returned": [1.0, 0.0, 0.0, np.nan, np.nan],
            "stock_allocated": [10.0, np.nan, np.nan, np.nan, np.nan],
        }
    )
    video = pd.DataFrame(
        {
            "video_id": ["v1", "v1", "v2"],
            "stream_id": ["s3", "s3", "s3"],
            "sku_id": ["a", "a", None],
            "published_at": [ts("2026-01-08 00:00")] * 2 + [ts("2026-01-09 00:00")],
            "observed_at": [ts("2026-01-08 12:00"), ts("2026-01-09 00:00"), ts("2026-01-09 06:00")],
            "views": [100, 300, 50],
            "likes": [10.0, 30.0, 5.0],
            "comments": [1.0, 3.0, 0.0],
            "shares": [0.0, 1.0, 0.0],
        }
    )
    if video_extra is not None:
        video = pd.concat([video, video_extra], ignore_index=True)
    return Tables(empty_frame("merchants"), catalog, streamers, streams, items, video)


def features(tables: Tables, cutoffs: dict[str, str]) -> pd.DataFrame:
    source = prepare_tables(tables)
    cut = pd.Series({k: ts(v) for k, v in cutoffs.items()})
    return build_features(source.lineup, cut, source, DEFAULT_FESTIVALS, "Asia/Shanghai")


CUTOFFS = {"s1": "2025-12-31 12:00", "s2": "2026-01-04 12:00", "s3": "2026-01-09 12:00"}


def test_history_counts_only_streams_ended_before_the_cutoff():
    f = features(tiny_tables(), CUTOFFS).set_index(["stream_id", "sku_id"])
    assert f.loc[("s1", "a"), "sku_n_past"] == 0
    assert f.loc[("s2", "a"), "sku_n_past"] == 1
    assert f.loc[("s2", "a"), "sku_mean_units"] == 10.0
    assert f.loc[("s3", "a"), "sku_n_past"] == 2
    assert f.loc[("s3", "a"), "sku_mean_units"] == (10.0 + 7.0) / 2
    assert f.loc[("s3", "a"), "sku_sold_out_rate"] == 0.5
    assert f.loc[("s3", "b"), "sku_mean_units"] == 4.0
    # streamer: mean units per item per stream: s1 (10+4)/2 = 7, s2 7/1 = 7
    assert f.loc[("s3", "a"), "streamer_mean_units"] == 7.0
    assert bool(f.loc[("s1", "a"), "cold_sku"]) and bool(f.loc[("s1", "a"), "cold_streamer"])
    assert not bool(f.loc[("s3", "b"), "cold_sku"])


def test_outcome_of_a_stream_after_the_cutoff_changes_nothing():
    early = {**CUTOFFS, "s3": "2026-01-04 00:00"}  # before s2 started
    a = features(tiny_tables(late_units=7.0), early)
    b = features(tiny_tables(late_units=900.0), early)
    s3 = a["stream_id"].eq("s3")
    pd.testing.assert_frame_equal(a[s3], b[s3])
    assert a.loc[s3 & a["sku_id"].eq("a"), "sku_mean_units"].item() == 10.0


def test_video_counts_only_snapshots_observed_by_the_cutoff():
    f = features(tiny_tables(), CUTOFFS).set_index(["stream_id", "sku_id"])
    assert f.loc[("s3", "a"), "video_n"] == 2
    assert f.loc[("s3", "a"), "video_views"] == 300 + 50
    assert f.loc[("s3", "a"), "video_sku_views"] == 300
    assert f.loc[("s3", "b"), "video_sku_views"] == 0
    assert f.loc[("s3", "a"), "video_views_per_hour"] == (300 - 100) / 12 + 50 / 6
    assert f.loc[("s1", "a"), "video_views"] == 0
    later = pd.DataFrame(
        {
            "video_id": ["v1", "v3"],
            "stream_id": ["s3", "s3"],
            "sku_id": ["a", "b"],
            "published_at": [ts("2026-01-08 00:00"), ts("2026-01-09 13:00")],
            "observed_at": [ts("2026-01-10 00:00"), ts("2026-01-10 00:00")],
            "views": [99999, 77777],
            "likes": [1.0, 1.0],
            "comments": [1.0, 1.0],
            "shares": [1.0, 1.0],
        }
    )
    g = features(tiny_tables(later), CUTOFFS)
    pd.testing.assert_frame_equal(features(tiny_tables(), CUTOFFS), g)


def test_calendar_and_price_features():
    f = features(tiny_tables(), CUTOFFS).set_index(["stream_id", "sku_id"])
    # 2026-01-10 12:00 UTC is 20:00 in Shanghai, a Saturday
    assert f.loc[("s3", "a"), "hour"] == 20.0
    assert f.loc[("s3", "a"), "weekday"] == 5
    assert f.loc[("s3", "a"), "festival_days"] == 29  # 29 days after 12.12
    np.testing.assert_allclose(f.loc[("s3", "b"), "discount"], 1 - 16 / 20)
    assert f.loc[("s3", "a"), "lead_hours"] == 24


def test_launch_stream_counts_a_launched_skus_streams_from_the_schedule():
    from demandmatch.features.history import launch_stream

    source = prepare_tables(tiny_tables())
    rows = source.lineup.assign(cutoff=source.lineup["start_time"] - pd.Timedelta(hours=24))
    # the history runs from s1 (2026-01-01) to the as-of time; both SKUs were first shown on
    # its first day: new only to the data, not launches
    as_of = ts("2026-01-10 00:00")
    assert launch_stream(rows, source.lineup, as_of).isna().all()
    # shown first after the first tenth of the history: a launch, its streams counted from 0
    late = tiny_tables()
    items = late.stream_items
    items = items[~((items["stream_id"] == "s1") & (items["sku_id"] == "b"))]
    late = Tables(
        late.merchants, late.catalog, late.streamers, late.streams, items, late.video_traffic
    )
    source = prepare_tables(late)
    rows = source.lineup.assign(cutoff=source.lineup["start_time"] - pd.Timedelta(hours=24))
    got = pd.Series(
        launch_stream(rows, source.lineup, as_of).to_numpy(),
        index=pd.MultiIndex.from_frame(rows[["stream_id", "sku_id"]]),
    )
    assert got[("s3", "b")] == 0  # b's first stream is s3
    assert np.isnan(got[("s1", "a")]) and np.isnan(got[("s3", "a")])
    f = build_features(
        source.lineup,
        pd.Series({k: ts(v) for k, v in CUTOFFS.items()}),
        source,
        DEFAULT_FESTIVALS,
        "Asia/Shanghai",
    )
    assert f.set_index(["stream_id", "sku_id"]).loc[("s3", "b"), "launch_stream"] == 0
