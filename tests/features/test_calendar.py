import numpy as np
import pandas as pd

from demandmatch.config import DEFAULT_FESTIVALS
from demandmatch.features.calendar import _start_features, calendar_features


def test_rows_of_one_start_share_its_features_computed_once():
    starts = pd.to_datetime(
        ["2024-11-10 12:30", "2024-06-17 23:00", "2024-11-10 12:30", None, "2025-01-01 03:15"],
        utc=True,
    )
    rows = pd.DataFrame({"start_time": np.repeat(starts, 3)}, index=np.arange(15) * 7 + 2)
    got = calendar_features(rows, DEFAULT_FESTIVALS, "Asia/Shanghai")
    want = _start_features(rows["start_time"], DEFAULT_FESTIVALS, "Asia/Shanghai")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.loc[2, "festival_days"] == -1.0  # the day before 11.11, local time
