"""The data contract's tables as typed column specs, shared by the loader and the generator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["string", "number", "integer", "boolean", "timestamp"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    default: object = None  # value used when the column is absent or the cell blank
    min: float | None = None  # inclusive lower bound
    min_exclusive: bool = False  # True: value must be > min
    unique: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: Kind, required: bool = False, **kw: object) -> Column:
    return Column(name, kind, required, **kw)  # type: ignore[arg-type]


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "merchants",
            False,
            (
                _c("merchant_id", "string", True),
                _c("name", "string"),
                _c("budget", "number", min=0),
                _c("capacity_l", "number", min=0, min_exclusive=True),
            ),
            key=("merchant_id",),
        ),
        TableSpec(
            "catalog",
            True,
            (
                _c("merchant_id", "string", True),
                _c("sku_id", "string", True),
                _c("title", "string", True),
                _c("category", "string", True),
                _c("brand", "string"),
                _c("list_price", "number", True, min=0, min_exclusive=True),
                _c("unit_cost", "number", True, min=0),
                _c("salvage_value", "number", default=0.0, min=0),
                _c("on_hand", "integer", default=0, min=0),
                _c("case_pack", "integer", default=1, min=1),
                _c("moq", "integer", default=0, min=0),
                _c("lead_time_days", "integer", default=0, min=0),
                _c("shelf_life_days", "integer", min=0, min_exclusive=True),
                _c("unit_volume_l", "number", min=0, min_exclusive=True),
            ),
            key=("merchant_id", "sku_id"),
        ),
        TableSpec(
            "streamers",
            True,
            (
                _c("streamer_id", "string", True),
                _c("followers", "integer", True, min=0),
                _c("qualification_verified", "boolean", default=False),
            ),
            key=("streamer_id",),
        ),
        TableSpec(
            "streams",
            True,
            (
                _c("stream_id", "string", True),
                _c("merchant_id", "string", True),
                _c("streamer_id", "string", True),
                _c("start_time", "timestamp", True),
                _c("duration_min", "integer", True, min=0, min_exclusive=True),
                _c("viewers", "integer", min=0),
            ),
            key=("stream_id",),
        ),
        TableSpec(
            "stream_items",
            True,
            (
                _c("stream_id", "string", True),
                _c("sku_id", "string", True),
                _c("live_price", "number", True, min=0, min_exclusive=True),
                _c("slot", "integer", True, min=1),
                _c("featured", "boolean", default=False),
                _c("units_sold", "integer", min=0),
                _c("units_returned", "integer", min=0),
                _c("stock_allocated", "integer", min=0),
                _c("claimed_stock", "integer", min=0),  # contract v2: the "only N left" claim
            ),
            key=("stream_id", "sku_id"),
        ),
        TableSpec(
            "video_traffic",
            False,
            (
                _c("video_id", "string", True),
                _c("stream_id", "string", True),
                _c("sku_id", "string"),
                _c("published_at", "timestamp", True),
                _c("observed_at", "timestamp", True),
                _c("views", "integer", True, min=0),
                _c("likes", "integer", min=0),
                _c("comments", "integer", min=0),
                _c("shares", "integer", min=0),
            ),
            key=("video_id", "observed_at"),
        ),
    )
}

QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
QUANTILE_COLUMNS: tuple[str, ...] = ("q05", "q10", "q25", "q50", "q75", "q90", "q95")

FORECAST_COLUMNS: tuple[str, ...] = (
    "stream_id",
    "sku_id",
    "merchant_id",
    "mean",
    *QUANTILE_COLUMNS,
    "return_rate",
    "cold_start",
)
PLAN_COLUMNS: tuple[str, ...] = (
    "merchant_id",
    "sku_id",
    "on_hand",
    "order_qty",
    "stock_after",
    "expected_demand",
    "expected_sales",
    "expected_leftover",
    "expected_lost_sales",
    "fill_rate",
    "expected_profit",
    "flags",
)
ALLOCATION_COLUMNS: tuple[str, ...] = ("stream_id", "sku_id", "allocated_units")

# What the written files carry after the contract's columns (contract v2): for a person reading
# plan.csv / allocation.csv in a spreadsheet (docs/outputs.md says what each one means).
PLAN_DETAIL_COLUMNS: tuple[str, ...] = (
    "title",
    "category",
    "unit_cost",
    "live_price_min",
    "live_price_max",
    "spend",
    "margin_after_returns",
    "streams",
    "first_stream",
    "order_reaches_from",
    "reason",
    "compliance",
)
ALLOCATION_DETAIL_COLUMNS: tuple[str, ...] = (
    "merchant_id",
    "streamer_id",
    "start_time",
    "title",
    "unit_cost",
    "live_price",
    "expected_demand",
    "from_on_hand",
    "from_order",
    "spend",
    "compliance",
)
COMPLIANCE_COLUMNS: tuple[str, ...] = (
    "stream_id",
    "sku_id",
    "merchant_id",
    "streamer_id",
    "flag",
    "detail",
    "money_at_risk",
)
COMPLIANCE_FLAGS: tuple[str, ...] = (
    "unverified_streamer",
    "scarcity_claim_false",
    "scarcity_claim_short",
    "return_risk",
)


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the table's columns, for an optional table that is absent."""
    return pd.DataFrame({c.name: pd.Series(dtype=_dtype(c.kind)) for c in TABLES[table].columns})


def _dtype(kind: Kind) -> str:
    return {
        "string": "object",
        "number": "float64",
        "integer": "float64",
        "boolean": "bool",
        "timestamp": "datetime64[ns, UTC]",
    }[kind]
