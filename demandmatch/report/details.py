"""The plan and the allocation with what a person needs beside them: titles, costs, live prices,
spend, local start times, the reasons in words and the compliance flags (contract v2).

The contract's columns come first and keep their order (PLAN_COLUMNS, ALLOCATION_COLUMNS); the
detail columns follow (PLAN_DETAIL_COLUMNS, ALLOCATION_DETAIL_COLUMNS). Timestamps stay
tz-aware here; the writers show them in the configured time zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandmatch.compliance import UNVERIFIED, annotate
from demandmatch.data.schema import (
    ALLOCATION_COLUMNS,
    ALLOCATION_DETAIL_COLUMNS,
    COMPLIANCE_COLUMNS,
    PLAN_COLUMNS,
    PLAN_DETAIL_COLUMNS,
)

from .reasons import reason_words

SKU = ["merchant_id", "sku_id"]
ITEM = ["stream_id", "sku_id"]


def item_frame(lineup: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The lineup rows with their forecast (mean, quantiles, return_rate, cold_start)."""
    fc = forecasts.drop(columns=["merchant_id"], errors="ignore")
    items = lineup.merge(fc, on=ITEM, how="left", validate="one_to_one")
    for col, default in (("salvage_value", 0.0), ("title", ""), ("category", "")):
        if col not in items:
            items[col] = default
    return items


def plan_details(
    plan: pd.DataFrame,
    lineup: pd.DataFrame,
    forecasts: pd.DataFrame,
    compliance: pd.DataFrame | None = None,
    withheld: bool = False,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """PLAN_COLUMNS, then PLAN_DETAIL_COLUMNS, then helper columns the report reads
    (salvage_value, live_price_mean, return_rate_mean, streams_reached, withheld).

    margin_after_returns is what one more unit sold earns over its cost once its expected
    returns come back to stock: live_price x (1 - return_rate) + salvage_value x return_rate -
    unit_cost, averaged over the SKU's streams weighted by their expected demand. `withheld`:
    the stream items flagged unverified_streamer got no stock (compliance.unverified: withhold).
    """
    items = item_frame(lineup, forecasts)
    w = items["mean"].fillna(0.0).clip(lower=0.0)
    w = w.where(w.groupby([items[k] for k in SKU]).transform("sum") > 0, 1.0)
    rate = items["return_rate"].fillna(0.0)
    items = items.assign(
        _w=w,
        _wp=w * items["live_price"],
        _wr=w * rate,
        _wm=w * (items["live_price"] * (1 - rate) + items["salvage_value"] * rate),
    )
    reach = plan.set_index(SKU)["order_reaches_from"] if "order_reaches_from" in plan else None
    if reach is not None:
        start = pd.MultiIndex.from_frame(items[SKU])
        items["_reached"] = items["start_time"].to_numpy() >= reach.reindex(start).to_numpy()
    else:
        items["_reached"] = True
    items["_withheld"] = withheld and compliance is not None and _unverified(items, compliance)
    per = items.groupby(SKU, sort=False).agg(
        title=("title", "first"),
        category=("category", "first"),
        unit_cost=("unit_cost", "first"),
        salvage_value=("salvage_value", "first"),
        live_price_min=("live_price", "min"),
        live_price_max=("live_price", "max"),
        streams=("stream_id", "size"),
        first_stream=("start_time", "min"),
        streams_reached=("_reached", "sum"),
        withheld=("_withheld", "all"),
        _w=("_w", "sum"),
        _wp=("_wp", "sum"),
        _wr=("_wr", "sum"),
        _wm=("_wm", "sum"),
    )
    per["live_price_mean"] = per["_wp"] / per["_w"]
    per["return_rate_mean"] = per["_wr"] / per["_w"]
    per["margin_after_returns"] = per["_wm"] / per["_w"] - per["unit_cost"]
    per = per.drop(columns=["_w", "_wp", "_wr", "_wm"]).reset_index()
    out = plan[[*PLAN_COLUMNS]].merge(per, on=SKU, how="left", validate="one_to_one")
    out["order_reaches_from"] = (
        plan["order_reaches_from"].to_numpy() if reach is not None else pd.NaT
    )
    out["spend"] = out["order_qty"] * out["unit_cost"]
    out["compliance"] = (
        annotate(out, compliance, per_stream=False) if compliance is not None else ""
    )
    out["reason"] = [reason_words(r, timezone) for _, r in out.iterrows()]
    helpers = ["salvage_value", "live_price_mean", "return_rate_mean", "streams_reached"]
    return out[[*PLAN_COLUMNS, *PLAN_DETAIL_COLUMNS, *helpers, "withheld"]]


def allocation_details(
    allocation: pd.DataFrame,
    lineup: pd.DataFrame,
    forecasts: pd.DataFrame,
    compliance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ALLOCATION_COLUMNS, then ALLOCATION_DETAIL_COLUMNS, one row per allocation row.

    expected_demand is the forecast mean; spend is the purchase cost of the ordered units given
    to the stream (from_order x unit_cost)."""
    items = item_frame(lineup, forecasts)
    cols = ["merchant_id", "streamer_id", "start_time", "title", "unit_cost", "live_price", "mean"]
    out = allocation.merge(items[[*ITEM, *cols]], on=ITEM, how="left", validate="one_to_one")
    out = out.rename(columns={"mean": "expected_demand"})
    for col in ("from_on_hand", "from_order"):
        if col not in out:
            out[col] = np.nan
    out["spend"] = out["from_order"] * out["unit_cost"]
    out["compliance"] = annotate(out, compliance, per_stream=True) if compliance is not None else ""
    return out[[*ALLOCATION_COLUMNS, *ALLOCATION_DETAIL_COLUMNS]]


def compliance_details(compliance: pd.DataFrame, lineup: pd.DataFrame) -> pd.DataFrame:
    """COMPLIANCE_COLUMNS, then the SKU's title and the stream's start_time (blank for a SKU's
    own finding)."""
    titles = lineup.drop_duplicates(SKU).set_index(SKU)["title"]
    starts = lineup.drop_duplicates("stream_id").set_index("stream_id")["start_time"]
    out = compliance[list(COMPLIANCE_COLUMNS)].copy()
    out["title"] = titles.reindex(pd.MultiIndex.from_frame(out[SKU])).to_numpy()
    out["start_time"] = out["stream_id"].map(starts)
    return out


def _unverified(items: pd.DataFrame, compliance: pd.DataFrame) -> np.ndarray:
    """Per item: it has an unverified_streamer finding."""
    rows = compliance[compliance["flag"] == UNVERIFIED]
    keys = set(zip(rows["stream_id"], rows["sku_id"], strict=True))
    return np.array(
        [(s, k) in keys for s, k in zip(items["stream_id"], items["sku_id"], strict=True)],
        dtype=bool,
    )
