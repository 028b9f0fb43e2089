"""Features for (stream, SKU) rows, each computed only from what was known at the row's cutoff.

The cutoff of a row is the time its forecast is made: for an upcoming stream the forecast's
as-of time (or `start_time - lead` for a nowcast), for a past stream the engine learns from,
`start_time - lead` for each of several leads, so that the model sees streams from as far out as
it will be asked about them. History counts a past stream only once it has ended
(start + duration <= cutoff); video traffic counts only snapshots with `observed_at <= cutoff`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .config import Festival
from .data.tables import Tables

CATEGORICAL = ("category", "merchant_id")
HISTORY_WINDOW = 5  # "recent" = the last this many past streams
_TS = "datetime64[ns, UTC]"  # one resolution for as-of joins (inputs may differ)
# a stream's part of the day, from these local hours on: morning, afternoon, early evening, prime
# time, late night
DAYPART_HOURS = (12.0, 18.0, 20.0, 22.0)
RUNUP_DAYS = 7  # shoppers buy ahead of a festival: a feature that rises over the days before it


def lineup_frame(tables: Tables) -> pd.DataFrame:
    """Every stream item joined with its stream, streamer and catalog entry."""
    streams = tables.streams.assign(
        end_time=lambda d: d["start_time"] + pd.to_timedelta(d["duration_min"], unit="min")
    )
    df = tables.stream_items.merge(streams, on="stream_id", how="left", validate="many_to_one")
    df = df.merge(tables.catalog, on=["merchant_id", "sku_id"], how="left", validate="many_to_one")
    df = df.merge(tables.streamers[["streamer_id", "followers"]], on="streamer_id", how="left")
    return df


def build_features(
    lineup: pd.DataFrame,
    cutoffs: pd.Series | None,
    tables: Tables,
    festivals: Sequence[Festival],
    timezone: str,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One feature row per lineup row (same index).

    `cutoffs` maps stream_id -> cutoff time; with None, `lineup` carries its own per-row
    `cutoff` column (the same stream may then appear once per cutoff). History comes from the
    rows of `history` (default: `lineup`) that have outcomes and ended by each row's cutoff.
    """
    rows = lineup.copy()
    if cutoffs is not None:
        rows["cutoff"] = rows["stream_id"].map(cutoffs)
    elif "cutoff" not in rows:
        raise ValueError("give cutoffs per stream or a 'cutoff' column per row")
    if rows["cutoff"].isna().any():
        missing = rows.loc[rows["cutoff"].isna(), "stream_id"].iloc[0]
        raise ValueError(f"no cutoff given for stream {missing}")
    source = (lineup if history is None else history).drop_duplicates(["stream_id", "sku_id"])
    past = _past_outcomes(source)
    feats = rows[["stream_id", "sku_id", "streamer_id", "brand"]].copy()  # keys, not inputs
    feats = feats.join(_static_features(rows, tables, festivals, timezone))
    video = tables.video_traffic
    if not video.empty:
        video = video.assign(log_reach=tables.video_log_reach)
    feats = feats.join(_video_features(rows, video))
    feats = feats.join(_history(rows, past, ["merchant_id", "sku_id"], "sku"))
    feats = feats.join(_history(rows, past, ["category"], "cat"))
    feats = feats.join(_history(rows, past, ["brand"], "brand"))
    feats = feats.join(_history(rows, _stream_totals(past), ["streamer_id"], "streamer"))
    feats = feats.join(_history(rows, past, ["streamer_id", "category"], "streamer_cat"))
    feats["views_per_follower"] = feats["video_views"] / (rows["followers"] + 1.0)
    per_video = np.log1p(feats["video_views"] / feats["video_n"].where(feats["video_n"] > 0))
    if not video.empty:
        final = video.sort_values("observed_at").groupby("video_id").tail(1)
        views = np.log1p(final.groupby("stream_id")["views"].mean())
        reach = final.groupby("stream_id")["log_reach"].mean()
        feats["video_views_vs_usual"] = per_video - _usual_per_streamer(rows, views, past)
        feats["video_reach_vs_usual"] = feats["video_reach"] - _usual_per_streamer(
            rows, reach, past
        )
    else:
        feats["video_views_vs_usual"] = np.nan
        feats["video_reach_vs_usual"] = np.nan
    feats["cold_sku"] = feats["sku_n_past"].eq(0)
    feats["cold_streamer"] = feats["streamer_n_past"].eq(0)
    for col in CATEGORICAL:
        feats[col] = pd.Categorical(rows[col].astype(str))
    return feats


def _static_features(
    rows: pd.DataFrame, tables: Tables, festivals: Sequence[Festival], timezone: str
) -> pd.DataFrame:
    local = rows["start_time"].dt.tz_convert(timezone)
    cat_price = tables.catalog.groupby("category")["list_price"].median()
    lineup_size = rows.groupby(["stream_id", "cutoff"])["sku_id"].transform("size")
    fest_days = _festival_distance(local, festivals)
    hour = local.dt.hour + local.dt.minute / 60.0
    out = pd.DataFrame(
        {
            "live_price": rows["live_price"],
            "log_price": np.log(rows["live_price"]),
            "discount": 1.0 - rows["live_price"] / rows["list_price"],
            "price_vs_category": rows["live_price"] / rows["category"].map(cat_price),
            "margin": (rows["live_price"] - rows["unit_cost"]) / rows["live_price"],
            "slot": rows["slot"],
            "slot_share": rows["slot"] / lineup_size,
            "lineup_size": lineup_size,
            "featured": rows["featured"].astype(int),
            "duration_min": rows["duration_min"],
            "hour": hour,
            "daypart": np.searchsorted(DAYPART_HOURS, hour.to_numpy(), side="right"),
            "weekday": local.dt.weekday,
            "log_followers": np.log1p(rows["followers"]),
            "festival_days": fest_days,
            "festival_runup": np.where(
                (fest_days <= 0) & (fest_days >= -RUNUP_DAYS), np.exp(fest_days / 3.5), 0.0
            ),
            "lead_hours": (rows["start_time"] - rows["cutoff"]).dt.total_seconds() / 3600.0,
        },
        index=rows.index,
    )
    return out


def _festival_distance(local: pd.Series, festivals: Sequence[Festival]) -> pd.Series:
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


def _past_outcomes(lineup: pd.DataFrame) -> pd.DataFrame:
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


def _stream_totals(past: pd.DataFrame) -> pd.DataFrame:
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


def _history(rows: pd.DataFrame, events: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
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
    ev = events.dropna(subset=keys).sort_values("end_time").copy()
    if ev.empty:
        return pd.DataFrame(cols, index=rows.index)
    g = ev.groupby(keys, sort=False)
    ev["_n"] = g.cumcount() + 1.0
    ev["_mean"] = g["units_sold"].cumsum() / ev["_n"]
    ev["_recent"] = g["units_sold"].transform(
        lambda s: s.rolling(HISTORY_WINDOW, min_periods=1).mean()
    )
    ev["_so"] = g["sold_out"].cumsum() / ev["_n"]
    ev["_conv"] = g["conversion"].transform(lambda s: s.expanding().mean())
    ev["_rel"] = g["rel_units"].transform(lambda s: s.expanding().mean())
    ev["end_time"] = ev["end_time"].astype(_TS)
    ev["_t"] = ev["end_time"]
    probe = rows[keys + ["cutoff"]].copy()
    probe["_row"] = rows.index
    probe = probe.dropna(subset=keys).sort_values("cutoff")
    probe["cutoff"] = probe["cutoff"].astype(_TS)
    merged = pd.merge_asof(
        probe,
        ev[keys + ["end_time", "_n", "_mean", "_recent", "_so", "_conv", "_rel", "_t"]],
        left_on="cutoff",
        right_on="end_time",
        by=keys,
        direction="backward",
        allow_exact_matches=True,
    ).set_index("_row")
    out = pd.DataFrame(index=rows.index)
    out[f"{name}_n_past"] = merged["_n"].reindex(rows.index).fillna(0.0)
    out[f"{name}_mean_units"] = merged["_mean"].reindex(rows.index)
    out[f"{name}_recent_units"] = merged["_recent"].reindex(rows.index)
    out[f"{name}_sold_out_rate"] = merged["_so"].reindex(rows.index)
    out[f"{name}_conversion"] = merged["_conv"].reindex(rows.index)
    out[f"{name}_rel_units"] = merged["_rel"].reindex(rows.index)
    since = (merged["cutoff"] - merged["_t"]).dt.total_seconds() / 86400.0
    out[f"{name}_days_since"] = since.reindex(rows.index)
    return out


def _usual_per_streamer(rows: pd.DataFrame, per_stream: pd.Series, past: pd.DataFrame) -> pd.Series:
    """Mean of a per-stream video measure (stream_id -> value, from each video's last snapshot)
    over the streamer's streams that ended by the cutoff: what this streamer's videos usually
    reach, so that today's traffic reads as hype."""
    out = pd.Series(np.nan, index=rows.index)
    ends = past.drop_duplicates("stream_id").set_index("stream_id")[["streamer_id", "end_time"]]
    ev = ends.join(per_stream.rename("v"), how="inner").dropna(subset=["streamer_id"])
    if ev.empty:
        return out
    ev = ev.sort_values("end_time")
    ev["end_time"] = ev["end_time"].astype(_TS)
    ev["_mean"] = ev.groupby("streamer_id")["v"].transform(lambda s: s.expanding().mean())
    probe = rows[["streamer_id", "cutoff"]].assign(_row=rows.index).dropna(subset=["streamer_id"])
    probe["cutoff"] = probe["cutoff"].astype(_TS)
    merged = pd.merge_asof(
        probe.sort_values("cutoff"),
        ev[["streamer_id", "end_time", "_mean"]],
        left_on="cutoff",
        right_on="end_time",
        by="streamer_id",
        direction="backward",
    ).set_index("_row")
    return merged["_mean"].reindex(rows.index)


def _video_features(rows: pd.DataFrame, video: pd.DataFrame) -> pd.DataFrame:
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
