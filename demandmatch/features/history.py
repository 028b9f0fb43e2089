"""As-of statistics of past stream items: per SKU, category, brand, streamer and streamer x
category, what had happened by each row's cutoff (a past stream counts once it has ended)."""

from __future__ import annotations

import numpy as np
import pandas as pd

HISTORY_WINDOW = 5  # "recent" = the last this many past streams
# a SKU first shown in the first LAUNCH_BURN of the history is only new to the data, not a
# launch: every SKU is new when the data begins
LAUNCH_BURN = 0.1
LAUNCH_STREAMS = 8  # a launch's first this many streams are told apart; later ones are mature
TS = "datetime64[ns, UTC]"  # one resolution for as-of joins (inputs may differ)


def past_outcomes(lineup: pd.DataFrame) -> pd.DataFrame:
    past = lineup[lineup["units_sold"].notna()].copy()
    past["sold_out"] = (
        past["stock_allocated"].notna() & (past["units_sold"] >= past["stock_allocated"])
    ).astype(float)
    past["conversion"] = past["units_sold"] / (past["viewers"] + 1.0)
    # a SKU's units relative to its stream's mean item: free of the stream's hype, streamer
    # and calendar, which move every item of the stream together
    stream_mean = past.groupby("stream_id")["units_sold"].transform("mean")
    past["rel_units"] = past["units_sold"] / stream_mean.clip(lower=0.5)
    return past


def stream_totals(past: pd.DataFrame) -> pd.DataFrame:
    """One event per past stream: its total units over its lineup."""
    g = past.groupby("stream_id")
    out = g.agg(
        streamer_id=("streamer_id", "first"),
        end_time=("end_time", "first"),
        units_sold=("units_sold", "sum"),
        viewers=("viewers", "first"),
        sold_out=("sold_out", "mean"),
        n_items=("sku_id", "size"),
    ).reset_index()
    out["conversion"] = out["units_sold"] / (out["viewers"] + 1.0)
    out["units_sold"] = out["units_sold"] / out["n_items"]  # per item, comparable to SKU scale
    out["rel_units"] = np.nan
    return out


def history_features(
    rows: pd.DataFrame, events: pd.DataFrame, keys: list[str], name: str
) -> pd.DataFrame:
    """As-of statistics of past events sharing `keys` with each row, known by its cutoff.

    Gives, per row: number of past events, their mean units, mean of the last few, log of that,
    share sold out, conversion per viewer, days since the last one.
    """
    cols = {
        f"{name}_n_past": 0.0,
        f"{name}_mean_units": np.nan,
        f"{name}_recent_units": np.nan,
        f"{name}_sold_out_rate": np.nan,
        f"{name}_conversion": np.nan,
        f"{name}_rel_units": np.nan,
        f"{name}_days_since": np.nan,
    }
    stats = ["units_sold", "sold_out", "conversion", "rel_units"]
    ev = events[[*keys, "end_time", *stats]].dropna(subset=keys).sort_values("end_time")
    if ev.empty:
        return pd.DataFrame(cols, index=rows.index)
    probe = rows[keys].assign(cutoff=rows["cutoff"].astype(TS), _row=np.arange(len(rows)))
    probe = probe.dropna(subset=keys)
    # one integer per key value, the events' and the rows' coded together: the events' groups,
    # and what merge_asof matches on rather than the key columns' text
    both = pd.concat([ev[keys], probe[keys]], ignore_index=True)
    code = both.groupby(keys, sort=False).ngroup().to_numpy()
    group = code[: len(ev)]
    g = ev.groupby(group, sort=False)
    n = g.cumcount().to_numpy() + 1.0
    right = pd.DataFrame(
        {
            "_key": group,
            "end_time": ev["end_time"].astype(TS),
            "_n": n,
            "_mean": g["units_sold"].cumsum().to_numpy() / n,
            "_recent": running_mean(ev["units_sold"], group, HISTORY_WINDOW).to_numpy(),
            "_so": g["sold_out"].cumsum().to_numpy() / n,
            "_conv": running_mean(ev["conversion"], group).to_numpy(),
            "_rel": running_mean(ev["rel_units"], group).to_numpy(),
        },
        index=ev.index,
    )
    probe = pd.DataFrame(
        {"_key": code[len(ev) :], "cutoff": probe["cutoff"], "_row": probe["_row"]}
    ).sort_values("cutoff")
    merged = pd.merge_asof(
        probe,
        right,
        left_on="cutoff",
        right_on="end_time",
        by="_key",
        direction="backward",
        allow_exact_matches=True,
    )
    at = merged["_row"].to_numpy()

    def placed(values: np.ndarray, blank: float = np.nan) -> np.ndarray:
        out = np.full(len(rows), blank)
        out[at] = values
        return out

    since = (merged["cutoff"] - merged["end_time"]).dt.total_seconds().to_numpy() / 86400.0
    out = pd.DataFrame(
        {
            f"{name}_n_past": placed(merged["_n"].fillna(0.0).to_numpy(), 0.0),
            f"{name}_mean_units": placed(merged["_mean"].to_numpy()),
            f"{name}_recent_units": placed(merged["_recent"].to_numpy()),
            f"{name}_sold_out_rate": placed(merged["_so"].to_numpy()),
            f"{name}_conversion": placed(merged["_conv"].to_numpy()),
            f"{name}_rel_units": placed(merged["_rel"].to_numpy()),
            f"{name}_days_since": placed(since),
        },
        index=rows.index,
    )
    return out


def running_mean(values: pd.Series, group: np.ndarray, window: int | None = None) -> pd.Series:
    """Per row, the mean of its group's values up to and including it (in row order), of the
    last `window` of them when given, blanks skipped (blank where there is none yet): what
    `rolling(window, min_periods=1).mean()` / `expanding().mean()` per group give, from running
    sums instead of a Python call per group."""
    v = values.to_numpy(dtype=float)
    seen = ~np.isnan(v)
    total = pd.Series(np.where(seen, v, 0.0)).groupby(group).cumsum().to_numpy()
    count = pd.Series(seen.astype(float)).groupby(group).cumsum().to_numpy()
    if window is not None:
        earlier = pd.Series(total).groupby(group).shift(window).fillna(0.0).to_numpy()
        before = pd.Series(count).groupby(group).shift(window).fillna(0.0).to_numpy()
        total, count = total - earlier, count - before
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(np.where(count > 0, total / count, np.nan), index=values.index)


def streams_before(rows: pd.DataFrame, lineup: pd.DataFrame, keys: list[str]) -> pd.Series:
    """How many streams sharing `keys` with each row (its SKU's) started before the row's own
    stream: the schedule, known ahead. Less the ones whose outcome was known by the cutoff, it
    says how many of the SKU's streams come between what is known and this one (for a new SKU:
    which of its streams this is)."""
    ev = lineup.dropna(subset=keys)[keys + ["start_time"]].sort_values("start_time").copy()
    out = pd.Series(0.0, index=rows.index)
    if ev.empty:
        return out
    ev["_n"] = ev.groupby(keys, sort=False).cumcount() + 1.0
    ev["start_time"] = ev["start_time"].astype(TS)
    probe = rows[keys + ["start_time"]].assign(_row=rows.index).dropna(subset=keys)
    probe["start_time"] = probe["start_time"].astype(TS)
    merged = pd.merge_asof(
        probe.sort_values("start_time"),
        ev.rename(columns={"start_time": "_start"}),
        left_on="start_time",
        right_on="_start",
        by=keys,
        direction="backward",
        allow_exact_matches=False,
    ).set_index("_row")
    return merged["_n"].reindex(rows.index).fillna(0.0)


def launch_stream(rows: pd.DataFrame, lineup: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Which stream of a launched SKU each row is (0: its first), from the schedule; blank for
    a SKU first shown in the first LAUNCH_BURN of the history up to `as_of` (new only to the
    data) and from a launch's LAUNCH_STREAMS-th stream on. A launch's first streams can sell
    unlike its later ones (a launch push, or a slow start): the start learns each of them
    apart from the SKU's own level, which a new SKU does not have."""
    keys = ["merchant_id", "sku_id"]
    first = lineup.groupby(keys)["start_time"].min()
    data_start = lineup["start_time"].min()
    burn_end = data_start + LAUNCH_BURN * (as_of - data_start)
    key = pd.MultiIndex.from_frame(rows[keys])
    launched = (first.reindex(key) > burn_end).to_numpy()
    nth = streams_before(rows, lineup, keys)
    return nth.where(launched & (nth < LAUNCH_STREAMS))
