"""Which stream of a launched SKU a row is, counted from the schedule on a hand-built lineup."""

import numpy as np
import pandas as pd

from demandmatch.features.history import LAUNCH_STREAMS, launch_stream, streams_before

DAY0 = pd.Timestamp("2026-03-01", tz="UTC")


def lineup() -> pd.DataFrame:
    """m/old shown from day 0 (inside the first tenth of a 20-day history); m/new launched on
    day 5 with a stream a day for ten days; m2/new, the same SKU id at another merchant, shown
    from day 1; m/twin shown in two streams starting at the same time on day 6, then day 9."""
    rows = [("m", "old", d) for d in (0, 2, 4)]
    rows += [("m", "new", 5 + k) for k in range(10)]
    rows += [("m2", "new", d) for d in (1, 3)]
    rows += [("m", "twin", d) for d in (6, 6, 9)]
    df = pd.DataFrame(rows, columns=["merchant_id", "sku_id", "day"])
    df["start_time"] = DAY0 + pd.to_timedelta(df["day"], unit="D")
    return df.sample(frac=1.0, random_state=0)  # the order of the rows does not matter


def test_streams_before_counts_the_skus_earlier_streams_per_merchant():
    lu = lineup()
    got = streams_before(lu, lu, ["merchant_id", "sku_id"])
    expect = {
        ("m", "old"): {0: 0, 2: 1, 4: 2},
        ("m", "new"): {5 + k: k for k in range(10)},
        ("m2", "new"): {1: 0, 3: 1},
        ("m", "twin"): {6: 0, 9: 2},  # two streams at the same time: both are its first
    }
    for i, r in lu.iterrows():
        assert got[i] == expect[(r.merchant_id, r.sku_id)][r.day], (r.merchant_id, r.sku_id, r.day)


def test_launch_stream_is_blank_before_the_burn_in_and_for_mature_streams():
    lu = lineup()
    as_of = DAY0 + pd.Timedelta(days=20)  # burn-in ends on day 2
    got = launch_stream(lu, lu, as_of)
    for i, r in lu.iterrows():
        if r.sku_id == "new" and r.merchant_id == "m":
            k = r.day - 5
            assert (got[i] == k) if k < LAUNCH_STREAMS else np.isnan(got[i])
        elif r.sku_id == "twin":
            assert got[i] == {6: 0, 9: 2}[r.day]
        else:  # m/old (day 0) and m2/new (day 1) were shown before day 2: not launches
            assert np.isnan(got[i])
    # a row of an upcoming stream counts the schedule before it, past or upcoming
    upcoming = pd.DataFrame(
        {
            "merchant_id": ["m", "m"],
            "sku_id": ["twin", "unknown"],
            "start_time": [DAY0 + pd.Timedelta(days=9, hours=12), DAY0 + pd.Timedelta(days=9)],
        }
    )
    got = launch_stream(upcoming, lu, as_of)
    assert got.iloc[0] == 3 and np.isnan(got.iloc[1])  # a SKU not on the schedule: blank
