"""The report's tables: the headline figures, each merchant's order and each stream's lineup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from demandmatch.optimise.flags import explain_flag, split_flags

from .format import (
    DASH,
    SUMMARY_LABELS,
    fmt_int,
    fmt_money,
    fmt_share,
    fmt_text,
    fmt_time,
    fmt_units,
    fmt_value,
    is_missing,
    is_number,
    label,
    truthy,
)


@dataclass(frozen=True)
class Table:
    """Formatted cells; `numeric` marks the right-aligned columns."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    footer: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Section:
    """One titled table with a line of context (a merchant's order, a stream's lineup)."""

    title: str
    subtitle: str
    table: Table


def headline(summary: dict[str, object]) -> tuple[list[tuple[str, str]], list[tuple[str, Table]]]:
    """(label, value) cards for the scalar figures, and a table for each list of records."""
    order = [k for k in SUMMARY_LABELS if k in summary] + [
        k for k in summary if k not in SUMMARY_LABELS
    ]
    cards: list[tuple[str, str]] = []
    tables: list[tuple[str, Table]] = []
    for key in order:
        value = summary[key]
        if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
            tables.append((label(key), records_table(value)))
        elif isinstance(value, dict):
            cards.extend((f"{label(key)}: {label(k)}", fmt_value(k, v)) for k, v in value.items())
        else:
            cards.append((label(key), fmt_value(key, value)))
    return cards, tables


def records_table(records: Sequence[dict[str, object]]) -> Table:
    """A generic table for a list of dicts, columns in first-seen order."""
    keys: list[str] = []
    for rec in records:
        keys.extend(k for k in rec if k not in keys)
    rows = tuple(tuple(fmt_value(k, rec.get(k)) for k in keys) for rec in records)
    numeric = tuple(any(is_number(rec.get(k)) for rec in records) for k in keys)
    return Table(tuple(label(k) for k in keys), rows, numeric)


def merchant_sections(plan: pd.DataFrame, lineup: pd.DataFrame) -> list[Section]:
    """One "what to order" table per merchant, orders first."""
    info = _sku_info(lineup)
    df = plan.merge(info, on=["merchant_id", "sku_id"], how="left")
    df["spend"] = df["order_qty"] * df["unit_cost"]
    headers = (
        "SKU",
        "Title",
        "On hand",
        "Order",
        "Spend",
        "Stock after",
        "Exp. demand",
        "Exp. sales",
        "Exp. leftover",
        "Exp. lost",
        "Fill rate",
        "Exp. profit",
        "Notes",
    )
    numeric = (False, False) + (True,) * 10 + (False,)
    sections = []
    for merchant, g in df.groupby("merchant_id", sort=True):
        g = g.sort_values(
            ["order_qty", "expected_demand", "sku_id"], ascending=[False, False, True]
        )
        rows = tuple(
            (
                str(r.sku_id),
                fmt_text(r.title),
                fmt_int(r.on_hand),
                fmt_int(r.order_qty),
                fmt_money(r.spend),
                fmt_int(r.stock_after),
                fmt_units(r.expected_demand),
                fmt_units(r.expected_sales),
                fmt_units(r.expected_leftover),
                fmt_units(r.expected_lost_sales),
                fmt_share(r.fill_rate),
                fmt_money(r.expected_profit),
                "; ".join(explain_flag(f) for f in split_flags(r.flags)),
            )
            for r in g.itertuples(index=False)
        )
        demand = float(g["expected_demand"].sum())
        footer = (
            "Total",
            "",
            fmt_int(g["on_hand"].sum()),
            fmt_int(g["order_qty"].sum()),
            fmt_money(g["spend"].sum(min_count=1)),
            fmt_int(g["stock_after"].sum()),
            fmt_units(demand),
            fmt_units(g["expected_sales"].sum()),
            fmt_units(g["expected_leftover"].sum()),
            fmt_units(g["expected_lost_sales"].sum()),
            fmt_share(g["expected_sales"].sum() / demand if demand > 0 else float("nan")),
            fmt_money(g["expected_profit"].sum()),
            "",
        )
        n_order = int((g["order_qty"] > 0).sum())
        subtitle = f"{n_order} of {len(g)} SKUs to order"
        sections.append(
            Section(f"Merchant {merchant}", subtitle, Table(headers, rows, numeric, footer))
        )
    return sections


def _sku_info(lineup: pd.DataFrame) -> pd.DataFrame:
    cols = ["merchant_id", "sku_id", "title", "unit_cost"]
    info = lineup.reindex(columns=cols)
    return info.drop_duplicates(["merchant_id", "sku_id"])


def stream_frame(
    allocation: pd.DataFrame, forecasts: pd.DataFrame, lineup: pd.DataFrame
) -> pd.DataFrame:
    """Lineup rows with their forecast and allocated units, in start order then slot."""
    fc = forecasts.drop(columns=["merchant_id"], errors="ignore")
    df = lineup.merge(fc, on=["stream_id", "sku_id"], how="left").merge(
        allocation[["stream_id", "sku_id", "allocated_units"]],
        on=["stream_id", "sku_id"],
        how="left",
    )
    return df.sort_values(["start_time", "stream_id", "slot", "sku_id"], na_position="last")


def stream_sections(
    allocation: pd.DataFrame, forecasts: pd.DataFrame, lineup: pd.DataFrame
) -> list[Section]:
    """One table per upcoming stream: the lineup, its forecast and the stock given to it."""
    df = stream_frame(allocation, forecasts, lineup)
    headers = (
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
    numeric = (True, False, False) + (True,) * 6 + (False,)
    sections = []
    for stream_id, g in df.groupby("stream_id", sort=False):
        rows = tuple(
            (
                fmt_int(r.slot),
                str(r.sku_id),
                fmt_text(r.title),
                fmt_money(r.live_price),
                fmt_units(r.mean),
                fmt_units(r.q50),
                _range(r.q25, r.q75),
                _range(r.q05, r.q95),
                fmt_int(r.allocated_units),
                _stream_note(r.featured, r.cold_start),
            )
            for r in g.itertuples(index=False)
        )
        first = g.iloc[0]
        subtitle = (
            f"{fmt_time(first['start_time'])} · merchant {first['merchant_id']} · "
            f"streamer {first['streamer_id']}"
        )
        footer = (
            "",
            "Total",
            "",
            "",
            fmt_units(g["mean"].sum()),
            "",
            "",
            "",
            fmt_int(g["allocated_units"].sum(min_count=1)),
            "",
        )
        sections.append(
            Section(f"Stream {stream_id}", subtitle, Table(headers, rows, numeric, footer))
        )
    return sections


def _stream_note(featured: object, cold_start: object) -> str:
    notes = []
    if truthy(featured):
        notes.append("featured")
    if truthy(cold_start):
        notes.append("no history: wide forecast")
    return "; ".join(notes)


def _range(lo: object, hi: object) -> str:
    if is_missing(lo) or is_missing(hi):
        return DASH
    return f"{fmt_units(lo)}\u2013{fmt_units(hi)}"
