"""Every flag a plan row can carry, and each in a sentence a merchant understands.

A plan row's `flags` are joined by ";": first why the SKU orders nothing or less than its
streams could sell (lead_time, shelf_life, no_margin, moq_exceeds_demand, late_arrival), then
what its merchant's limits and service levels did to it. A row without a flag is `profit_best`:
stocked as far as it pays.
"""

from __future__ import annotations

LEAD_TIME = "lead_time"
LATE_ARRIVAL = "late_arrival"
SHELF_LIFE = "shelf_life"
NO_MARGIN = "no_margin"
MOQ_EXCEEDS_DEMAND = "moq_exceeds_demand"
BUDGET_BINDS = "budget_binds"
CAPACITY_BINDS = "capacity_binds"
CAPACITY_EXCEEDED = "capacity_exceeded"
SERVICE_LEVEL = "service_level"
SERVICE_UNREACHABLE = "service_unreachable"
SERVICE_INFEASIBLE = "service_infeasible"
PROFIT_BEST = "profit_best"  # the reason of a row without a flag

EXPLANATIONS: dict[str, str] = {
    PROFIT_BEST: "stocked as far as it pays: each further unit is expected to earn less than it "
    "costs (price after returns near or below cost, or demand too uncertain)",
    LEAD_TIME: "no order placed now arrives before its last stream, so nothing is ordered",
    LATE_ARRIVAL: "an order placed now arrives after some of its streams; those sell only from "
    "stock on hand",
    SHELF_LIFE: "would expire before it could sell enough to pay for itself, so nothing is ordered",
    NO_MARGIN: "margin after returns and salvage too thin to pay for stock",
    MOQ_EXCEEDS_DEMAND: "the minimum order quantity is more than the demand can absorb at a profit",
    BUDGET_BINDS: "budget is spent; would order more with more budget",
    CAPACITY_BINDS: "warehouse space is full; would order more with more space",
    CAPACITY_EXCEEDED: "stock on hand already takes more warehouse space than the merchant has",
    SERVICE_LEVEL: "ordered beyond the most profitable quantity to reach the minimum fill rate",
    SERVICE_UNREACHABLE: "no order can reach the minimum fill rate in time or before expiry",
    SERVICE_INFEASIBLE: "the budget or space cannot pay for every minimum fill rate, so they "
    "are set aside for this merchant and this SKU misses its own",
}
FLAGS: tuple[str, ...] = tuple(f for f in EXPLANATIONS if f != PROFIT_BEST)


def split_flags(value: object) -> list[str]:
    """The flags of a plan row: a semicolon-joined string, blank or NaN for none."""
    if not isinstance(value, str):
        return []
    return [f.strip() for f in value.split(";") if f.strip()]


def join_flags(flags: list[str]) -> str:
    return ";".join(flags)


def reason(value: object) -> str:
    """The first flag of a plan row, or profit_best when it has none."""
    return (split_flags(value) or [PROFIT_BEST])[0]


def explain_flag(flag: str) -> str:
    """A flag in words; an unknown flag is shown as it is rather than hidden."""
    return EXPLANATIONS.get(flag, flag.replace("_", " "))
