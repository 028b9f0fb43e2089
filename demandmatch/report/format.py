"""Labels and formatted values for the report: every cell becomes plain text here."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

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
    "model_fallbacks": "Model defaults used (too few held-out rows)",
}

_MONEY_WORDS = ("spend", "profit", "cost", "revenue", "budget", "price", "salvage")


_SHARE_KEYS = ("fill_rate", "solver_gap", "return_rate")


DASH = "\u2014"


def label(key: str) -> str:
    """A human label for a summary key or column name."""
    return SUMMARY_LABELS.get(key) or key.replace("_", " ").strip().capitalize()


def fmt_value(key: str, value: object) -> str:
    """A summary figure as text, chosen by its key (money, share) and type."""
    if is_missing(value):
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
    return fmt_text(value)


def fmt_int(value: object) -> str:
    return DASH if is_missing(value) else f"{round(float(value)):,}"  # type: ignore[arg-type]


def fmt_units(value: object) -> str:
    return DASH if is_missing(value) else f"{float(value):,.1f}"  # type: ignore[arg-type]


def fmt_money(value: object) -> str:
    return DASH if is_missing(value) else f"\u00a5{float(value):,.2f}"  # type: ignore[arg-type]


def fmt_yuan(value: object) -> str:
    """Money in whole yuan, for totals."""
    return DASH if is_missing(value) else f"\u00a5{float(value):,.0f}"  # type: ignore[arg-type]


def fmt_share(value: object) -> str:
    return DASH if is_missing(value) else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def fmt_time(value: object, timezone: str | None = None) -> str:
    """A timestamp as "Wed 06 Nov 21:00" in `timezone` (as it is when None)."""
    ts = to_local(value, timezone)
    if ts is None:
        return fmt_text(value)
    return f"{ts:%a %d %b %H:%M}"


def fmt_date(value: object, timezone: str | None = None) -> str:
    """A timestamp's local day, as "Wed 06 Nov 2024"."""
    ts = to_local(value, timezone)
    return fmt_text(value) if ts is None else f"{ts:%a %d %b %Y}"


def to_local(value: object, timezone: str | None) -> pd.Timestamp | None:
    """A timestamp (or ISO text) in `timezone`; None when it is not one."""
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value)
        except ValueError:
            return None
    if not isinstance(value, pd.Timestamp) or pd.isna(value):
        return None
    if timezone is None:
        return value
    if value.tzinfo is None:
        value = value.tz_localize("UTC")
    return value.tz_convert(timezone)


def utc_offset(timezone: str, when: object) -> str:
    """The zone's offset at a time, as "UTC+08:00"."""
    ts = to_local(when, timezone)
    if ts is None:
        ts = pd.Timestamp.now(tz=timezone)
    text = f"{ts:%z}"
    return f"UTC{text[:3]}:{text[3:]}" if text else "UTC"


def fmt_text(value: object) -> str:
    return DASH if is_missing(value) else str(value)


def is_missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def is_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and not is_missing(value)
    )


def truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return not is_missing(value) and bool(value)
