"""Per-stream detail, grouped by local day: a one-line summary of each upcoming stream and, folded
beneath it, its lineup with the forecast and the stock given to it; and the compliance table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from demandmatch.compliance import EXPLANATIONS as COMPLIANCE_WORDS
from demandmatch.optimise.flags import split_flags

from .fans import stream_frame
from .format import DASH, fmt_date, fmt_int, fmt_money, fmt_time, fmt_units, is_missing, truthy
from .tables import Cell, Row, Table, anchor, num

STREAM_HEADERS = (
    "Slot",
    "SKU",
    "Title",
    "Live price",
    "Exp. demand",
    "Median",
    "50% range",
    "90% range",
    "Allocated",
    "Note",
)


@dataclass(frozen=True)
class Stream:
    anchor: str
    stream_id: str
    time: str
    merchant_id: str
    merchant_anchor: str
    streamer_id: str
    n_items: int
    units: int
    checks: tuple[str, ...]  # compliance flags of its items
    table: Table


@dataclass(frozen=True)
class Day:
    label: str
    streams: tuple[Stream, ...]


def stream_days(
    allocation: pd.DataFrame,
    forecasts: pd.DataFrame,
    lineup: pd.DataFrame,
    checks: pd.Series | None,
    timezone: str,
) -> list[Day]:
    """Upcoming streams in start order, grouped by their local day. `checks`: the compliance
    flags per allocation row (demandmatch.compliance.annotate), aligned with `allocation`."""
    alloc = allocation.assign(checks_col="" if checks is None else checks.to_numpy())
    df = stream_frame(alloc, forecasts, lineup)
    df = df.merge(
        alloc[["stream_id", "sku_id", "checks_col"]], on=["stream_id", "sku_id"], how="left"
    )
    local = pd.to_datetime(df["start_time"], utc=True).dt.tz_convert(timezone)
    df["_day"] = local.dt.strftime("%Y-%m-%d")
    df = df.reset_index(drop=True)
    records = list(df.itertuples(index=False))  # read once, not once per stream
    days = []
    for _, d in df.groupby("_day", sort=True):
        streams = tuple(
            _stream(g, [records[i] for i in g.index], timezone)
            for _, g in d.groupby("stream_id", sort=False)  # already in start order
        )
        days.append(Day(fmt_date(d["start_time"].iloc[0], timezone), streams))
    return days


def _stream(g: pd.DataFrame, records: list, timezone: str) -> Stream:
    """A stream's summary and table from its rows `g`, `records` their itertuples."""
    first = records[0]
    rows = tuple(
        Row(
            (
                num(fmt_int(r.slot), r.slot),
                Cell(str(r.sku_id), cls="id"),
                Cell(str(r.title) if not is_missing(r.title) else DASH, cls="title"),
                num(fmt_money(r.live_price), r.live_price),
                num(fmt_units(r.mean), r.mean),
                num(fmt_units(r.q50), r.q50),
                num(_range(r.q25, r.q75), r.q25),
                num(_range(r.q05, r.q95), r.q05),
                num(fmt_int(r.allocated_units), r.allocated_units),
                Cell(_note(r.featured, r.cold_start, r.checks_col)),
            )
        )
        for r in records
    )
    footer = ("", "Total", "", "", fmt_units(g["mean"].sum()), "", "", "")
    footer += (fmt_int(g["allocated_units"].sum(min_count=1)), "")
    numeric = (True, False, False) + (True,) * 6 + (False,)
    checks = sorted({c for v in g["checks_col"] for c in split_flags(v)})
    return Stream(
        anchor=anchor("s", first.stream_id),
        stream_id=str(first.stream_id),
        time=fmt_time(first.start_time, timezone),
        merchant_id=str(first.merchant_id),
        merchant_anchor=anchor("m", first.merchant_id),
        streamer_id=str(first.streamer_id),
        n_items=len(g),
        units=int(g["allocated_units"].fillna(0).sum()),
        checks=tuple(checks),
        table=Table(STREAM_HEADERS, numeric, rows, footer),
    )


def compliance_table(details: pd.DataFrame, timezone: str) -> Table:
    """One row per finding (demandmatch.report.details.compliance_details), sortable."""
    rows = tuple(
        Row(
            (
                Cell(
                    str(r.flag).replace("_", " "),
                    cls="flag",
                    hover=COMPLIANCE_WORDS.get(r.flag, ""),
                ),
                Cell(str(r.merchant_id), cls="id"),
                Cell(str(r.stream_id) or DASH, cls="id"),
                Cell(fmt_time(r.start_time, timezone) if r.stream_id else DASH),
                Cell(str(r.streamer_id) or DASH, cls="id"),
                Cell(str(r.sku_id), cls="id"),
                Cell(DASH if is_missing(r.title) else str(r.title), cls="title"),
                Cell(str(r.detail), cls="reason"),
                num(fmt_money(r.money_at_risk), r.money_at_risk),
            ),
            (("data-flags", str(r.flag)),),
            "risk",
        )
        for r in details.itertuples(index=False)
    )
    headers = ("Signal", "Merchant", "Stream", "Starts", "Streamer", "SKU", "Title", "Detail")
    headers += ("Money at risk",)
    numeric = (False,) * 8 + (True,)
    return Table(headers, numeric, rows, sortable=True, anchor="compliance-table")


def _note(featured: object, cold_start: object, checks: object) -> str:
    notes = []
    if truthy(featured):
        notes.append("featured")
    if truthy(cold_start):
        notes.append("no history: wide forecast")
    notes.extend(c.replace("_", " ") for c in split_flags(checks))
    return "; ".join(notes)


def _range(lo: object, hi: object) -> str:
    if is_missing(lo) or is_missing(hi):
        return DASH
    return f"{fmt_units(lo)}\u2013{fmt_units(hi)}"
