"""The rows a forecast reads: which stream items are past (learned from) and which upcoming, the
time a forecast is made by default, and each past row once per training lead."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from demandmatch.data.tables import Tables


def to_utc(ts: pd.Timestamp | str, timezone: str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    if ts.tzinfo is None:
        ts = ts.tz_localize(timezone)
    return ts.tz_convert("UTC")


def default_as_of(tables: Tables) -> pd.Timestamp:
    """The earliest start of a stream whose outcome columns are all blank."""
    items = tables.stream_items
    outcome = ["units_sold", "units_returned", "stock_allocated"]
    blank = items[outcome].isna().all(axis=1).groupby(items["stream_id"]).all()
    upcoming = tables.streams[tables.streams["stream_id"].map(blank).fillna(False).astype(bool)]
    if upcoming.empty:
        raise ValueError(
            "every stream has outcomes, so there is nothing upcoming to plan; give --as-of"
        )
    return upcoming["start_time"].min()


def split_rows(
    lineup: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(past rows the model learns from, upcoming rows to forecast)."""
    end = as_of + pd.Timedelta(days=horizon_days)
    upcoming = lineup[(lineup["start_time"] >= as_of) & (lineup["start_time"] < end)]
    past = lineup[lineup["units_sold"].notna() & (lineup["end_time"] <= as_of)]
    return past, upcoming


def training_rows(
    past: pd.DataFrame,
    leads_hours: Sequence[float],
    leads_per_item: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Each past row once per lead, with `cutoff` = start - lead, lead by lead (shortest first).

    `leads_per_item`: each past row at that many of the leads only, so that the rows grow with
    the outcomes learned from and not with the leads; None (or as many as there are leads): at
    every lead. The leads are drawn at random per stream (seeded; every lead as likely), every
    item of a stream at the same leads: drawn per item, a stream's items would be learned as
    seen at different times, and the forecasts' level came out about 7 points lower across the
    world zoo (decision 0039)."""
    leads = sorted(set(leads_hours))
    stream, streams = pd.factorize(past["stream_id"])
    keep = lead_sample(len(streams), len(leads), leads_per_item, seed)
    keep = None if keep is None else keep[stream]
    parts = [
        past.loc[keep[:, i] if keep is not None else slice(None)].assign(
            cutoff=lambda d, h=h: d["start_time"] - pd.Timedelta(hours=float(h))
        )
        for i, h in enumerate(leads)
    ]
    return pd.concat(parts, ignore_index=True)


def leads_per_item(
    n_past: int, leads_hours: Sequence[float], per_item: int | None, rows_max: int | None
) -> int | None:
    """How many leads each of n_past past rows is learned at: `per_item` (None: every lead)
    while that makes at most `rows_max` rows, else as many as fit (at least one); None: every
    lead."""
    n_leads = len(set(leads_hours))
    wanted = n_leads if per_item is None else min(per_item, n_leads)
    if rows_max is not None and n_past * wanted > rows_max:
        wanted = max(1, rows_max // max(n_past, 1))
    return None if wanted >= n_leads else wanted


def lead_sample(n: int, n_leads: int, leads_per_item: int | None, seed: int) -> np.ndarray | None:
    """(n, n_leads) mask: which leads each of n streams is learned at, `leads_per_item` of them
    drawn uniformly per stream; None when every stream keeps every lead."""
    if leads_per_item is None or leads_per_item >= n_leads:
        return None
    if leads_per_item < 1:
        raise ValueError(f"leads_per_item must be at least 1, not {leads_per_item}")
    rank = np.random.default_rng(seed).random((n, n_leads)).argsort(axis=1).argsort(axis=1)
    return rank < leads_per_item


def sold_out(rows: pd.DataFrame) -> np.ndarray:
    """Rows whose sales hit the stock they were given: demand was at least units_sold."""
    stock = rows["stock_allocated"]
    return (stock.notna() & (rows["units_sold"] >= stock)).to_numpy(dtype=bool)
