"""The running means of the history features against pandas' own per-group windows, and which
stream of a launched SKU a row is, counted from the schedule on a hand-built lineup."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from demandmatch.features.history import (
    LAUNCH_STREAMS,
    launch_stream,
    running_mean,
    streams_before,
)

values = st.lists(
    st.one_of(st.none(), st.floats(0.0, 1e4, allow_nan=False)), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(values=values, groups=st.integers(1, 6), window=st.sampled_from([None, 1, 2, 5]))
def test_running_mean_is_the_per_group_rolling_or_expanding_mean(values, groups, window):
    v = pd.Series([np.nan if x is None else x for x in values], dtype=float)
    v.index = v.index * 3 + 7  # any index, kept
    g = np.arange(len(v)) % groups
    by = pd.Series(g, index=v.index)
    if window is None:
        want = v.groupby(by).transform(lambda s: s.expanding().mean())
    else:
        want = v.groupby(by).transform(lambda s: s.rolling(window, min_periods=1).mean())
    got = running_mean(v, g, window)
    assert got.index.equals(v.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-9)


def test_running_mean_known_answer():
    v = pd.Series([1.0, 10.0, np.nan, 3.0, 20.0, 5.0])
    g = np.array([0, 1, 0, 0, 1, 0])
    # group 0: 1, nan, 3, 5 -> 1, 1, 2, 3 (all); last two: 1, 1, 3, 4
    np.testing.assert_allclose(running_mean(v, g), [1, 10, 1, 2, 15, 3])
    np.testing.assert_allclose(running_mean(v, g, 2), [1, 10, 1, 3, 15, 4])
    assert np.isnan(running_mean(pd.Series([np.nan]), np.array([0]))[0])


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
