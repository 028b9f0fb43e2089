"""The flags of a plan row and what each means in words for a planner."""

from __future__ import annotations

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


def split_flags(value: object) -> list[str]:
    """The flags of a plan row: a semicolon-joined string, blank or NaN for none."""
    if not isinstance(value, str):
        return []
    return [f.strip() for f in value.split(";") if f.strip()]


def explain_flag(flag: str) -> str:
    """A flag in words; an unknown flag is shown as it is rather than hidden."""
    return FLAG_TEXT.get(flag, flag.replace("_", " "))
