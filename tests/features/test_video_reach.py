"""Projected final reach of a short video, fitted only on the snapshots seen so far."""

import numpy as np
import pandas as pd

from demandmatch.features.video_reach import TYPICAL_TAU_HOURS, projected_reach

T0 = pd.Timestamp("2026-03-01 00:00", tz="UTC")


def snapshots(video: str, reach: float, tau: float, hours: list[float]) -> pd.DataFrame:
    h = np.asarray(hours, dtype=float)
    return pd.DataFrame(
        {
            "video_id": video,
            "published_at": T0,
            "observed_at": T0 + pd.to_timedelta(h, unit="h"),
            "views": np.floor(reach * (1.0 - np.exp(-h / tau))).astype(np.int64),
        }
    )


def test_two_or_more_snapshots_recover_reach_and_tau():
    snap = snapshots("v1", 50_000, 10.0, [6, 12, 20, 30])
    fit = projected_reach(snap)
    # one snapshot at 6 h cannot tell the shape: it takes the typical tau
    assert abs(np.log(fit["tau"].iloc[0] / TYPICAL_TAU_HOURS)) < 0.07
    expected_one = snap["views"].iloc[0] / (1.0 - np.exp(-6.0 / fit["tau"].iloc[0]))
    assert abs(fit["reach"].iloc[0] / expected_one - 1.0) < 1e-9
    # from two snapshots on, the curve is pinned down: within the tau grid's step (~6%)
    for k in (1, 2, 3):
        assert abs(fit["tau"].iloc[k] / 10.0 - 1.0) < 0.07
        assert abs(fit["reach"].iloc[k] / 50_000 - 1.0) < 0.03
    # views-so-far at 6 h are 45% of the final reach; the projection is far closer
    assert snap["views"].iloc[0] < 0.5 * 50_000


def test_each_fit_sees_only_its_own_and_earlier_snapshots_of_the_same_video():
    a = snapshots("a", 8_000, 30.0, [5, 11, 23])
    b = snapshots("b", 900, 12.0, [7, 40])
    both = pd.concat([b, a], ignore_index=True).sample(frac=1.0, random_state=3)
    fit = projected_reach(both).loc[both.index].sort_index()
    alone = pd.concat([projected_reach(b), projected_reach(a).set_axis(range(2, 5))])
    pd.testing.assert_frame_equal(fit, alone.sort_index())
    # a later snapshot with wild views leaves the earlier fits as they were
    wild = pd.concat([a, a.iloc[[-1]].assign(observed_at=T0 + pd.Timedelta(hours=90), views=10**7)])
    pd.testing.assert_frame_equal(
        projected_reach(wild.reset_index(drop=True)).iloc[:3], projected_reach(a)
    )


def test_reach_is_never_below_the_views_already_seen():
    # views that have stopped growing: the fit is the plateau, not less
    snap = pd.DataFrame(
        {
            "video_id": "flat",
            "published_at": T0,
            "observed_at": T0 + pd.to_timedelta([10, 20, 30], unit="h"),
            "views": [1000, 1000, 1000],
        }
    )
    fit = projected_reach(snap)
    assert (fit["reach"] >= snap["views"]).all()
    assert abs(fit["reach"].iloc[-1] - 1000) < 20  # the tau prior leans it up a little
    assert projected_reach(snap.iloc[:0]).empty


def test_snapshots_in_any_time_zone_or_none_fit_alike():
    a = snapshots("a", 8_000, 30.0, [5, 11, 23, 23])
    b = snapshots("b", 900, 12.0, [7, 40])
    both = pd.concat([b, a], ignore_index=True).sample(frac=1.0, random_state=5)
    fit = projected_reach(both)
    shanghai = both.assign(observed_at=both["observed_at"].dt.tz_convert("Asia/Shanghai"))
    naive = both.assign(
        observed_at=both["observed_at"].dt.tz_localize(None),
        published_at=both["published_at"].dt.tz_localize(None),
    )
    pd.testing.assert_frame_equal(projected_reach(shanghai), fit)
    pd.testing.assert_frame_equal(projected_reach(naive), fit)
