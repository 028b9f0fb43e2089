"""What real data cannot exceed (`Limits`), and the warnings a load collects (`DataWarning`).

A cell can be well formed and still impossible: a stream in 1700, 1e15 units sold in one stream,
a price of 1e308. Such a value is an error naming its cell, like a malformed one, with the
config key that sets the bound. The ranges are the config's `limits` section.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

# (table, column) -> which limit bounds it from above
_BOUNDED: dict[tuple[str, str], str] = {
    **{
        ("stream_items", c): "max_units"
        for c in ("units_sold", "units_returned", "stock_allocated", "claimed_stock")
    },
    **{
        (t, c): "max_money"
        for t, c in (
            ("catalog", "list_price"),
            ("catalog", "unit_cost"),
            ("catalog", "salvage_value"),
            ("stream_items", "live_price"),
        )
    },
    **{("catalog", c): "max_stock" for c in ("on_hand", "case_pack", "moq")},
    **{("merchants", c): "max_total" for c in ("budget", "capacity_l")},
    **{("catalog", c): "max_days" for c in ("lead_time_days", "shelf_life_days")},
    ("streams", "duration_min"): "max_minutes",
    ("catalog", "unit_volume_l"): "max_volume_l",
    **{("streamers", "followers"): "max_count", ("streams", "viewers"): "max_count"},
    **{("video_traffic", c): "max_count" for c in ("views", "likes", "comments", "shares")},
}


@dataclass(frozen=True)
class Limits:
    """Upper bounds on the contract's numbers and the span of its timestamps (UTC).

    Each field is the config's `limits.<field>`; a cell beyond it is an error naming the cell.
    """

    earliest: pd.Timestamp = pd.Timestamp("2000-01-01", tz="UTC")
    latest: pd.Timestamp = pd.Timestamp("2100-01-01", tz="UTC")
    max_units: float = 1e7  # units per stream item: sold, returned, allocated, claimed
    max_money: float = 1e7  # a price, cost or salvage value of one unit
    max_stock: float = 1e9  # units on hand, in a case pack, in an MOQ
    max_total: float = 1e12  # a merchant's budget or space
    max_days: float = 3650  # lead time and shelf life
    max_minutes: float = 7 * 24 * 60  # a stream's length
    max_volume_l: float = 1e4  # litres per unit
    max_count: float = 1e12  # followers, viewers and video counts

    def upper(self, table: str, column: str) -> tuple[float, str] | None:
        """(bound, config key) for a column with an upper bound, else None."""
        name = _BOUNDED.get((table, column))
        return None if name is None else (float(getattr(self, name)), f"limits.{name}")

    def span(self) -> str:
        return (
            f"{self.earliest:%Y-%m-%d} and {self.latest:%Y-%m-%d} (config limits.earliest/latest)"
        )


@dataclass(frozen=True)
class DataWarning:
    """Something a run can go on with but a person should know: `code` names the kind
    (`column_renamed`, `delimiter`, `file_ignored`, `sold_out_history`, ...), `message` says it
    in one line, `file` and `column` say where when there is a where."""

    code: str
    message: str
    file: str | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)
