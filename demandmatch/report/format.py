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


def fmt_share(value: object) -> str:
    return DASH if is_missing(value) else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def fmt_time(value: object) -> str:
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        return f"{value:%Y-%m-%d %H:%M} {value.tzname() or ''}".strip()
    return fmt_text(value)


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
