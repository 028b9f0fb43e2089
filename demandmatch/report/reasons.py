"""Why a SKU's stock stops where it does, in a sentence per reason: the optimiser's flags in
words (demandmatch.optimise.flags), made specific with the row's own figures where they help
(the chance one more unit needs to pay for itself, the streams an order arrives in time for)."""

from __future__ import annotations

import math

import pandas as pd

from demandmatch.optimise import flags as F

from .format import fmt_money, fmt_time


def reason_words(row: pd.Series | object, timezone: str = "UTC") -> str:
    """The reasons of one plan-detail row (demandmatch.report.details.plan_details), joined by
    "; ". A row without an optimiser flag is `profit_best`, worded with its own figures."""
    get = row.get if isinstance(row, pd.Series) else lambda k, d=None: getattr(row, k, d)
    flags = F.split_flags(get("flags")) or [F.PROFIT_BEST]
    words = []
    if get("withheld", False):
        words.append(
            "every stream of this SKU is by an unverified streamer, so no stock is planned for it"
        )
    for flag in flags:
        if flag == F.PROFIT_BEST:
            words.append(_profit_best(get))
        elif flag == F.LATE_ARRIVAL:
            words.append(_late(get, timezone))
        else:
            words.append(F.explain_flag(flag))
    return "; ".join(words)


def break_even_chance(cost: float, salvage: float, price: float, return_rate: float) -> float:
    """The chance of selling that one more unit needs to pay for itself: (c - v) / ((p - v)(1 - r)),
    inf when a sale earns no more than salvage."""
    gain = (price - salvage) * (1.0 - return_rate)
    if gain <= 0:
        return math.inf
    return (cost - salvage) / gain


def _profit_best(get) -> str:
    cost, order = float(get("unit_cost", math.nan)), int(get("order_qty", 0) or 0)
    chance = break_even_chance(
        cost,
        float(get("salvage_value", 0.0) or 0.0),
        float(get("live_price_mean", math.nan)),
        float(get("return_rate_mean", 0.0) or 0.0),
    )
    if math.isnan(cost) or math.isnan(chance):
        return F.explain_flag(F.PROFIT_BEST)
    if chance <= 0:
        return "its salvage value covers its cost, so it is stocked up to what its streams can sell"
    if chance >= 1:
        return (
            "its live price after expected returns does not cover its "
            f"{fmt_money(cost)} cost, so no unit beyond stock on hand pays"
        )
    need = (
        f"one more unit would need a {chance:.0%} chance of selling to earn its {fmt_money(cost)}"
    )
    if order > 0:
        return f"stocked as far as it pays: {need}, and the forecast gives it less"
    if int(get("on_hand", 0) or 0) > 0:
        return f"stock on hand covers the demand worth serving: {need}"
    return f"not worth stocking: {need}, and the forecast never gives it that"


def _late(get, timezone: str) -> str:
    reach = get("order_reaches_from")
    n, k = get("streams"), get("streams_reached")
    if not isinstance(reach, pd.Timestamp) or pd.isna(reach) or n is None or k is None:
        return F.explain_flag(F.LATE_ARRIVAL)
    return (
        f"an order placed now arrives in time for {int(k)} of its {int(n)} streams (from the one "
        f"at {fmt_time(reach, timezone)} on); the earlier ones sell only from stock on hand"
    )
