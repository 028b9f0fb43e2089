"""Calendar features of a row's stream: local time of day, part of the day, weekday, and the
distance to the nearest shopping festival with a run-up that rises over the days before it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

# a stream's part of the day, from these local hours on: morning, afternoon, early evening, prime
# time, late night
DAYPART_HOURS = (12.0, 18.0, 20.0, 22.0)
RUNUP_DAYS = 7  # shoppers buy ahead of a festival: a feature that rises over the days before it


class Festival(Protocol):
    """A yearly shopping festival day (config.Festival has this shape)."""

    month: int
    day: int


def calendar_features(
    rows: pd.DataFrame, festivals: Sequence[Festival], timezone: str
) -> pd.DataFrame:
    """hour, daypart, weekday, festival_days and festival_runup of each row's stream start,
    worked out once per distinct start (a stream's items share it)."""
    code, starts = pd.factorize(rows["start_time"], use_na_sentinel=False)
    per_start = _start_features(pd.Series(starts), festivals, timezone)
    return per_start.iloc[code].set_axis(rows.index)


def _start_features(
    start_time: pd.Series, festivals: Sequence[Festival], timezone: str
) -> pd.DataFrame:
    local = start_time.dt.tz_convert(timezone)
    fest_days = festival_distance(local, festivals)
    hour = local.dt.hour + local.dt.minute / 60.0
    return pd.DataFrame(
        {
            "hour": hour,
            "daypart": np.searchsorted(DAYPART_HOURS, hour.to_numpy(), side="right"),
            "weekday": local.dt.weekday,
            "festival_days": fest_days,
            "festival_runup": np.where(
                (fest_days <= 0) & (fest_days >= -RUNUP_DAYS), np.exp(fest_days / 3.5), 0.0
            ),
        },
        index=start_time.index,
    )


def festival_distance(local: pd.Series, festivals: Sequence[Festival]) -> pd.Series:
    """Signed days to the nearest festival day (negative: before it), capped at +-60."""
    if not festivals:
        return pd.Series(60.0, index=local.index)
    day = local.dt.tz_localize(None).dt.normalize()
    best = pd.Series(np.inf, index=local.index)
    for fest in festivals:
        for shift in (-1, 0, 1):
            years = day.dt.year + shift
            target = pd.to_datetime(
                {"year": years, "month": fest.month, "day": fest.day}, errors="coerce"
            )
            delta = (day - target).dt.days.astype(float)
            best = best.where(best.abs() <= delta.abs(), delta)
    return best.clip(-60, 60)
