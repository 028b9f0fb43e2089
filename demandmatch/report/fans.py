"""Each SKU's forecast fan across its upcoming streams, drawn with matplotlib's object API (no
pyplot, no global backend switch) as an embedded PNG."""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass

import pandas as pd

from .format import fmt_int, fmt_text, fmt_units
from .tables import stream_frame


@dataclass(frozen=True)
class Fan:
    """One SKU's forecast fan across its upcoming streams, as an embedded PNG."""

    sku_id: str
    merchant_id: str
    title: str
    caption: str
    png_base64: str


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
        title = fmt_text(g["title"].iloc[0]) if "title" in g else ""
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
