"""The plan as a self-contained HTML page for a planner: what to order, why, and the forecasts.

Tables are formatted here into plain strings and laid out by a jinja2 template with
autoescaping on, so no catalog text (titles, ids) can inject markup. Figures are drawn with
matplotlib's object API (no pyplot, no global backend switch) and embedded as base64 PNG, so the
page needs no network and no other file.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

PROFIT_BEST = "profit_best"  # a SKU's reason when it has no flag: stocked as far as it pays
FLAG_TEXT: dict[str, str] = {
    PROFIT_BEST: "stocked as far as it pays: covering more of its demand would cost more than "
    "it is expected to earn (price after returns near or below cost, or demand too uncertain)",
    "lead_time": "cannot arrive before the first stream, so nothing is ordered",
    "shelf_life": "would expire before it could sell enough to pay for itself, so nothing is "
    "ordered",
    "no_margin": "margin after returns and salvage too thin to pay for stock",
    "moq_exceeds_demand": (
        "the minimum order quantity is more than the demand can absorb at a profit"
    ),
    "budget_binds": "budget is spent; would order more with more budget",
    "capacity_binds": "warehouse space is full; would order more with more space",
    "capacity_exceeded": "stock on hand already takes more warehouse space than the merchant has",
    "service_level": "ordered beyond the most profitable quantity to reach the minimum fill rate",
    "service_unreachable": "no order can reach the minimum fill rate in time or before expiry",
    "service_infeasible": "the budget or space cannot pay for every minimum fill rate, so they "
    "are set aside for this merchant and this SKU misses its own",
}

SUMMARY_LABELS: dict[str, str] = {
    "as_of": "Planned as of",
    "horizon_days": "Horizon (days)",
    "n_streams": "Upcoming streams",
    "n_skus": "SKUs planned",
    "n_merchants": "Merchants",
    "units_to_order": "Units to order",
    "spend": "Purchase spend",
    "expected_profit": "Expected profit",
    "expected_demand": "Expected demand (units)",
    "expected_sales": "Expected sales (units)",
    "expected_leftover": "Expected leftover (units)",
    "expected_lost_sales": "Expected lost sales (units)",
    "fill_rate": "Expected fill rate",
    "lost_sales_by_reason": "Expected lost sales by reason",
    "skus": "SKUs",
    "n_cold_start": "Forecasts without history (cold start)",
    "n_train_rows": "Past stream items learned from",
    "run_id": "Tracking run",
    "solver": "Solver",
    "solver_status": "Solver status",
    "solver_gap": "Optimality gap",
    "solve_time_s": "Solve time (s)",
    "shadow_prices": "Shadow prices by merchant",
}

_MONEY_WORDS = ("spend", "profit", "cost", "revenue", "budget", "price", "salvage")
_SHARE_KEYS = ("fill_rate", "solver_gap", "return_rate")
DASH = "\u2014"


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


@dataclass(frozen=True)
class Fan:
    """One SKU's forecast fan across its upcoming streams, as an embedded PNG."""

    sku_id: str
    merchant_id: str
    title: str
    caption: str
    png_base64: str


def render_report(
    plan: pd.DataFrame,
    allocation: pd.DataFrame,
    forecasts: pd.DataFrame,
    lineup: pd.DataFrame,
    summary: dict[str, object],
    out_path: Path,
    max_fans: int = 12,
) -> Path:
    """Write the plan report to `out_path` (one HTML file, no external assets) and return it."""
    cards, extra_tables = headline(summary)
    empty = plan.empty
    flags_present = sorted(
        {f for v in plan.get("flags", pd.Series(dtype=object)) for f in split_flags(v)}
    )
    html = (
        _environment()
        .get_template("report.html")
        .render(
            cards=cards,
            extra_tables=extra_tables,
            empty=empty,
            as_of=_fmt_text(summary.get("as_of")),
            horizon=_fmt_text(summary.get("horizon_days")),
            merchants=[] if empty else merchant_sections(plan, lineup),
            streams=[] if empty else stream_sections(allocation, forecasts, lineup),
            fans=[] if empty else fans(forecasts, allocation, lineup, plan, max_fans),
            flags=[(f, explain_flag(f)) for f in flags_present],
        )
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("demandmatch", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --- flags -----------------------------------------------------------------------------------


def split_flags(value: object) -> list[str]:
    """The flags of a plan row: a semicolon-joined string, blank or NaN for none."""
    if not isinstance(value, str):
        return []
    return [f.strip() for f in value.split(";") if f.strip()]


def explain_flag(flag: str) -> str:
    """A flag in words; an unknown flag is shown as it is rather than hidden."""
    return FLAG_TEXT.get(flag, flag.replace("_", " "))


# --- headline --------------------------------------------------------------------------------


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


def label(key: str) -> str:
    """A human label for a summary key or column name."""
    return SUMMARY_LABELS.get(key) or key.replace("_", " ").strip().capitalize()


def records_table(records: Sequence[dict[str, object]]) -> Table:
    """A generic table for a list of dicts, columns in first-seen order."""
    keys: list[str] = []
    for rec in records:
        keys.extend(k for k in rec if k not in keys)
    rows = tuple(tuple(fmt_value(k, rec.get(k)) for k in keys) for rec in records)
    numeric = tuple(any(_is_number(rec.get(k)) for rec in records) for k in keys)
    return Table(tuple(label(k) for k in keys), rows, numeric)


# --- what to order ---------------------------------------------------------------------------


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
                _fmt_text(r.title),
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


# --- per stream ------------------------------------------------------------------------------


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
                _fmt_text(r.title),
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
    if _truthy(featured):
        notes.append("featured")
    if _truthy(cold_start):
        notes.append("no history: wide forecast")
    return "; ".join(notes)


def _range(lo: object, hi: object) -> str:
    if _missing(lo) or _missing(hi):
        return DASH
    return f"{fmt_units(lo)}\u2013{fmt_units(hi)}"


# --- forecast fans ---------------------------------------------------------------------------


def fans(
    forecasts: pd.DataFrame,
    allocation: pd.DataFrame,
    lineup: pd.DataFrame,
    plan: pd.DataFrame,
    max_fans: int,
) -> list[Fan]:
    """Fans for the `max_fans` SKUs with the largest expected demand over the horizon."""
    if max_fans <= 0 or forecasts.empty:
        return []
    df = stream_frame(allocation, forecasts, lineup)
    demand = df.groupby(["merchant_id", "sku_id"])["mean"].sum().reset_index()
    top = demand.sort_values(["mean", "merchant_id", "sku_id"], ascending=[False, True, True])
    plan_idx = plan.set_index(["merchant_id", "sku_id"])
    out = []
    for merchant, sku, total in top.head(max_fans).itertuples(index=False):
        g = df[(df["merchant_id"] == merchant) & (df["sku_id"] == sku)]
        caption = f"expected demand {fmt_units(total)} units over {len(g)} stream(s)"
        if (merchant, sku) in plan_idx.index:
            p = plan_idx.loc[(merchant, sku)]
            caption += (
                f"; on hand {fmt_int(p['on_hand'])}, order {fmt_int(p['order_qty'])}, "
                f"stock after {fmt_int(p['stock_after'])}"
            )
        title = _fmt_text(g["title"].iloc[0]) if "title" in g else ""
        out.append(Fan(str(sku), str(merchant), title, caption, fan_png(g)))
    return out


def fan_png(rows: pd.DataFrame) -> str:
    """One SKU's demand distribution per stream (in start order) with its allocation, as PNG."""
    from matplotlib.figure import Figure

    x = list(range(len(rows)))
    fig = Figure(figsize=(4.8, 2.6), dpi=100)
    ax = fig.add_subplot()
    for i, r in enumerate(rows.itertuples(index=False)):
        for lo, hi, color, label in (
            (r.q05, r.q95, "#c6dbef", "90% range"),
            (r.q25, r.q75, "#6baed6", "50% range"),
        ):
            ax.fill_between(
                [i - 0.35, i + 0.35],
                [lo] * 2,
                [hi] * 2,
                color=color,
                lw=0,
                label=label if i == 0 else None,
            )
        ax.hlines(
            r.allocated_units,
            i - 0.42,
            i + 0.42,
            colors="#d62728",
            lw=2.2,
            label="allocated" if i == 0 else None,
        )
    ax.plot(x, rows["q50"], color="#08306b", lw=1.2, marker="_", ms=14, label="median")
    ax.plot(x, rows["mean"], ls="none", marker="D", ms=4, color="#fd8d3c", label="mean")
    ax.set_xticks(
        x, [_tick(r.stream_id, r.start_time) for r in rows.itertuples(index=False)], fontsize=7
    )
    pad = 0.6 + max(0, 3 - len(rows)) / 2  # a lone stream gets a box, not the whole width
    ax.set_xlim(-pad, len(rows) - 1 + pad)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("units", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=6, loc="upper left", ncols=5, frameon=False, bbox_to_anchor=(0, 1.16))
    fig.subplots_adjust(left=0.12, right=0.98, top=0.86, bottom=0.2)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph missing from the font is not worth a warning
        fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _tick(stream_id: object, start: object) -> str:
    sid = str(stream_id)
    sid = sid if len(sid) <= 12 else sid[:11] + "\u2026"
    return f"{sid}\n{start:%m-%d %H:%M}" if isinstance(start, pd.Timestamp) else sid


# --- formatting ------------------------------------------------------------------------------


def fmt_value(key: str, value: object) -> str:
    """A summary figure as text, chosen by its key (money, share) and type."""
    if _missing(value):
        return DASH
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(key, v) for v in value) or "none"
    if isinstance(value, numbers.Real):
        if key in _SHARE_KEYS or key.endswith("_rate") or key.endswith("_share"):
            return fmt_share(value)
        if any(w in key for w in _MONEY_WORDS):
            return fmt_money(value)
        if isinstance(value, numbers.Integral) or (
            float(value).is_integer() and key.startswith(("n_", "units"))
        ):
            return fmt_int(value)
        return fmt_units(value) if abs(float(value)) >= 1 else f"{float(value):.4g}"
    return _fmt_text(value)


def fmt_int(value: object) -> str:
    return DASH if _missing(value) else f"{round(float(value)):,}"  # type: ignore[arg-type]


def fmt_units(value: object) -> str:
    return DASH if _missing(value) else f"{float(value):,.1f}"  # type: ignore[arg-type]


def fmt_money(value: object) -> str:
    return DASH if _missing(value) else f"\u00a5{float(value):,.2f}"  # type: ignore[arg-type]


def fmt_share(value: object) -> str:
    return DASH if _missing(value) else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def fmt_time(value: object) -> str:
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        return f"{value:%Y-%m-%d %H:%M} {value.tzname() or ''}".strip()
    return _fmt_text(value)


def _fmt_text(value: object) -> str:
    return DASH if _missing(value) else str(value)


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _is_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and not _missing(value)
    )


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return not _missing(value) and bool(value)
