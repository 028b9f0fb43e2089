"""Inline SVG charts for the report: a SKU's forecast per stream on a date axis (one panel of
the small multiples) and a merchant's spend against its budget. SVG keeps them crisp at any
zoom and in print, and needs no file beside the page; every text in them is escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from .format import fmt_int, fmt_time, fmt_units, fmt_yuan

BAND_90, BAND_50, MEDIAN, ALLOCATED, INK, GRID = (
    "#c6dbef",
    "#6baed6",
    "#08306b",
    "#d62728",
    "#5b6470",
    "#e3e7ec",
)
_STEPS_H = (1, 3, 6, 12, 24, 48, 72, 168, 336, 720)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above value (1 for nothing)."""
    if not value > 0:
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * base >= value * (1 - 1e-12):
            return m * base
    return 10 * base


def time_ticks(
    lo: pd.Timestamp, hi: pd.Timestamp, timezone: str, most: int = 5
) -> list[tuple[pd.Timestamp, str]]:
    """At most `most` ticks between lo and hi on local whole hours/days, labelled by day
    ("06 Nov") when a step is a day or more, else by time, with the day at midnight."""
    lo, hi = lo.tz_convert(timezone), hi.tz_convert(timezone)
    span_h = max((hi - lo).total_seconds() / 3600.0, 1e-9)
    step = next((h for h in _STEPS_H if span_h / h <= most), _STEPS_H[-1])
    freq = f"{step // 24}D" if step >= 24 else f"{step}h"
    ticks = pd.date_range(lo.floor("D"), hi, freq=freq)
    return [
        (t, f"{t:%d %b}" if step >= 24 or (t.hour == 0 and t.minute == 0) else f"{t:%H:%M}")
        for t in ticks
        if t >= lo
    ]


def fan_svg(
    rows: pd.DataFrame,
    timezone: str,
    domain: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    width: int = 320,
    height: int = 150,
) -> Markup:
    """One SKU's forecast per upcoming stream, at the stream's start on a date axis: a light bar
    for 90% of outcomes (q05-q95), a dark one for the middle 50%, a line at the median and a red
    tick at the units allocated. Streams are separate marks: nothing joins them. `domain`: the
    time axis's ends (default: the rows' streams), the same for every panel of the multiples."""
    left, right, top, bottom = 36, 8, 8, 22
    pw, ph = width - left - right, height - top - bottom
    starts = pd.to_datetime(rows["start_time"], utc=True)
    lo, hi = domain or (starts.min(), starts.max())
    pad = max(pd.Timedelta(hours=6), (hi - lo) * 0.04)
    lo, hi = lo - pad, hi + pad
    span = (hi - lo).total_seconds()
    top_value = float(
        np.nanmax(
            np.concatenate([rows["q95"].to_numpy(float), rows["allocated_units"].to_numpy(float)])
        )
    )
    ymax = nice_ceiling(top_value * 1.05)

    def x(t: pd.Timestamp) -> float:
        return left + pw * (t - lo).total_seconds() / span

    def y(v: float) -> float:
        return top + ph * (1 - min(max(float(v), 0.0), ymax) / ymax)

    bw = max(2.0, min(10.0, pw / (len(rows) * 1.8)))
    parts = [
        f'<svg class="fan" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for k in range(3):
        v = ymax * k / 2
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 4}" y="{y(v) + 3:.1f}" text-anchor="end" '
            f'class="tick">{escape(fmt_int(v) if v >= 10 or v == 0 else f"{v:g}")}</text>'
        )
    for t, label in time_ticks(lo, hi, timezone):
        xt = x(t)
        parts.append(
            f'<line x1="{xt:.1f}" x2="{xt:.1f}" y1="{top}" y2="{top + ph}" stroke="{GRID}"/>'
            f'<text x="{xt:.1f}" y="{height - 6}" text-anchor="middle" class="tick">'
            f"{escape(label)}</text>"
        )
    for r in rows.itertuples(index=False):
        xc = x(pd.Timestamp(r.start_time))
        tip = (
            f"{r.stream_id} \u00b7 {fmt_time(r.start_time, timezone)}: median "
            f"{fmt_units(r.q50)}, 90% {fmt_units(r.q05)}\u2013{fmt_units(r.q95)}, "
            f"allocated {fmt_int(r.allocated_units)}"
        )
        parts.append(f"<g><title>{escape(tip)}</title>")
        for lo_q, hi_q, color in ((r.q05, r.q95, BAND_90), (r.q25, r.q75, BAND_50)):
            y0, y1 = y(hi_q), y(lo_q)
            parts.append(
                f'<rect x="{xc - bw / 2:.1f}" y="{y0:.1f}" width="{bw:.1f}" '
                f'height="{max(y1 - y0, 0.8):.1f}" fill="{color}"/>'
            )
        ym = y(r.q50)
        parts.append(
            f'<line x1="{xc - bw / 2:.1f}" x2="{xc + bw / 2:.1f}" y1="{ym:.1f}" y2="{ym:.1f}" '
            f'stroke="{MEDIAN}" stroke-width="1.5"/>'
        )
        if not pd.isna(r.allocated_units):
            ya = y(r.allocated_units)
            parts.append(
                f'<line x1="{xc - bw / 2 - 2:.1f}" x2="{xc + bw / 2 + 2:.1f}" y1="{ya:.1f}" '
                f'y2="{ya:.1f}" stroke="{ALLOCATED}" stroke-width="2"/>'
            )
        parts.append("</g>")
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + ph}" y2="{top + ph}" stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def spend_bar(spend: float, budget: float | None, width: int = 200, height: int = 20) -> Markup:
    """A merchant's spend against its budget: the bar is the spend, the frame the budget (a
    dashed end when there is no budget)."""
    has_budget = budget is not None and not pd.isna(budget) and budget > 0
    full = max(float(budget) if has_budget else 0.0, float(spend), 1e-9)
    w = (width - 2) * float(spend) / full
    share = float(spend) / float(budget) if has_budget else None
    color = "#b35806" if share is not None and share > 0.999 else "#08519c"
    label = (
        f"spend {fmt_yuan(spend)} of {fmt_yuan(budget)} budget ({share:.0%})"
        if has_budget
        else f"spend {fmt_yuan(spend)}; no budget limit"
    )
    frame = "" if has_budget else ' stroke-dasharray="4 3"'
    return Markup(
        f'<svg class="bar" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        f'<rect x="1" y="3" width="{width - 2}" height="{height - 6}" fill="#f4f6f8" '
        f'stroke="#9aa4ae"{frame}/>'
        f'<rect x="1" y="3" width="{w:.1f}" height="{height - 6}" fill="{color}"/></svg>'
    )


def legend_swatches() -> Sequence[tuple[str, str, str]]:
    """(kind, colour, words) of the fans' marks, for the legend above them."""
    return (
        ("band", BAND_90, "90% of outcomes (5th\u201395th percentile)"),
        ("band", BAND_50, "middle 50%"),
        ("line", MEDIAN, "median"),
        ("line", ALLOCATED, "units allocated"),
    )
