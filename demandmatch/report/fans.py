"""The forecast fans: small multiples, one panel per SKU with the largest expected demand, each a
crisp inline SVG on a date axis (demandmatch.report.charts.fan_svg)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from .charts import fan_svg
from .format import fmt_int, fmt_text, fmt_units


@dataclass(frozen=True)
class Fan:
    """One SKU's panel: who it is, a line of figures and the chart."""

    sku_id: str
    merchant_id: str
    title: str
    caption: str
    svg: Markup


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


def fans(
    forecasts: pd.DataFrame,
    allocation: pd.DataFrame,
    lineup: pd.DataFrame,
    plan: pd.DataFrame,
    max_fans: int,
    timezone: str = "UTC",
) -> list[Fan]:
    """Panels for the `max_fans` SKUs with the largest expected demand over the horizon."""
    if max_fans <= 0 or forecasts.empty:
        return []
    df = stream_frame(allocation, forecasts, lineup)
    demand = df.groupby(["merchant_id", "sku_id"])["mean"].sum().reset_index()
    top = demand.sort_values(["mean", "merchant_id", "sku_id"], ascending=[False, True, True])
    plan_idx = plan.set_index(["merchant_id", "sku_id"])
    starts = pd.to_datetime(df["start_time"], utc=True)
    domain = (starts.min(), starts.max())  # one time axis for every panel
    out = []
    for merchant, sku, total in top.head(max_fans).itertuples(index=False):
        g = df[(df["merchant_id"] == merchant) & (df["sku_id"] == sku)]
        caption = f"{fmt_units(total)} units expected over {len(g)} stream(s)"
        if (merchant, sku) in plan_idx.index:
            p = plan_idx.loc[(merchant, sku)]
            caption += f"; order {fmt_int(p['order_qty'])}, stock after {fmt_int(p['stock_after'])}"
        title = fmt_text(g["title"].iloc[0]) if "title" in g else ""
        out.append(Fan(str(sku), str(merchant), title, caption, fan_svg(g, timezone, domain)))
    return out
