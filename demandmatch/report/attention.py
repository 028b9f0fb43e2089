"""What needs the planner's attention, in sentences with a link each: compliance signals, the
limits that hold orders back (with what relaxing them would earn), SKUs an order cannot reach
in time, the run's warnings and a solver that stopped short."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from demandmatch.compliance import CLAIM_FALSE, CLAIM_SHORT, RETURN_RISK, UNVERIFIED
from demandmatch.optimise import flags as F

from .format import fmt_int, fmt_money, fmt_share, fmt_units, is_missing
from .tables import anchor


@dataclass(frozen=True)
class Attention:
    level: str  # "risk" (compliance), "limit" (what holds orders back), "note"
    text: str
    href: str


def attention_items(
    detail: pd.DataFrame,
    allocation: pd.DataFrame,
    compliance: pd.DataFrame,
    summary: Mapping[str, object],
    shadow: Sequence[Mapping[str, object]],
) -> list[Attention]:
    """The items, risks first. `detail`: plan_details; `allocation`: allocation_details;
    `compliance`: check_compliance's rows; `shadow`: the optimiser's shadow prices per merchant
    (records)."""
    withheld = summary.get("compliance_unverified") == "withhold"
    out = _compliance(compliance, allocation, withheld)
    out += _limits(shadow)
    out += _reach(detail)
    for w in summary.get("warnings") or []:
        out.append(Attention("note", str(w), "#how"))
    status, gap = summary.get("solver_status"), summary.get("solver_gap")
    if status == "TIME_LIMIT" or (isinstance(gap, float) and gap > 0.01):
        out.append(
            Attention(
                "note",
                f"The solver stopped before proving the plan best: it is within "
                f"{fmt_share(gap)} of the best possible under this forecast.",
                "#how",
            )
        )
    return out


def _compliance(c: pd.DataFrame, allocation: pd.DataFrame, withheld: bool) -> list[Attention]:
    out = []
    un = c[c["flag"] == UNVERIFIED]
    if len(un):
        n = un["stream_id"].nunique()
        if withheld:
            text = (
                f"{n} stream(s) by unverified streamers get no stock: it is withheld, as the "
                "config asks (compliance.unverified: withhold)."
            )
        else:
            flagged = allocation["compliance"].map(F.split_flags).map(lambda f: UNVERIFIED in f)
            total = allocation.loc[flagged, "allocated_units"].sum()
            text = (
                f"{n} stream(s) by unverified streamers get {fmt_int(total)} units "
                f"({fmt_money(un['money_at_risk'].sum())} at live prices). The platform has not "
                "checked these streamers' identity and qualifications."
            )
        out.append(Attention("risk", text, "#compliance"))
    for flag, words in (
        (CLAIM_FALSE, "announce far less stock than they are given (false scarcity claims)"),
        (CLAIM_SHORT, "announce more stock than they are given (promises they cannot keep)"),
    ):
        rows = c[c["flag"] == flag]
        if len(rows):
            out.append(
                Attention(
                    "risk",
                    f"{len(rows)} stream item(s) {words}: "
                    f"{fmt_money(rows['money_at_risk'].sum())} at stake.",
                    "#compliance",
                )
            )
    rr = c[c["flag"] == RETURN_RISK]
    if len(rr):
        out.append(
            Attention(
                "risk",
                f"{len(rr)} SKU(s) are expected to come back far more often than their "
                f"category: {fmt_money(rr['money_at_risk'].sum())} of refunds beyond the norm.",
                "#compliance",
            )
        )
    return out


def _limits(shadow: Sequence[Mapping[str, object]]) -> list[Attention]:
    out = []
    for r in shadow:
        m = r.get("merchant_id")
        href = "#" + anchor("m", m)
        price = r.get("budget_shadow_price")
        if r.get("budget_binds") and not is_missing(price):
            out.append(
                Attention(
                    "limit",
                    f"Merchant {m}'s budget is spent: each extra \u00a5100 of budget would add "
                    f"about {fmt_money(100 * float(price))} of expected profit.",
                    href,
                )
            )
        price = r.get("capacity_shadow_price")
        if r.get("capacity_binds") and not is_missing(price):
            out.append(
                Attention(
                    "limit",
                    f"Merchant {m}'s warehouse space is full: each extra 100 litres would add "
                    f"about {fmt_money(100 * float(price))} of expected profit.",
                    href,
                )
            )
        elif r.get("capacity_binds"):
            out.append(
                Attention(
                    "limit",
                    f"Merchant {m}'s stock on hand already takes more space than it has, so "
                    "nothing is ordered.",
                    href,
                )
            )
        if r.get("service_levels_met") is False:
            out.append(
                Attention(
                    "limit",
                    f"Merchant {m}'s budget or space cannot pay for every minimum fill rate; "
                    "its service levels are set aside.",
                    href,
                )
            )
    return out


def _reach(detail: pd.DataFrame) -> list[Attention]:
    out = []
    has = detail["flags"].map(F.split_flags)
    lead = detail[has.map(lambda f: F.LEAD_TIME in f)]
    if len(lead):
        out.append(
            Attention(
                "limit",
                f"{len(lead)} SKU(s) cannot be restocked before their last stream (lead time): "
                f"{fmt_units(lead['expected_lost_sales'].sum())} units of demand go unserved.",
                "#orders",
            )
        )
    late = detail[has.map(lambda f: F.LATE_ARRIVAL in f)]
    if len(late):
        missed = int((late["streams"] - late["streams_reached"]).sum())
        out.append(
            Attention(
                "limit",
                f"{len(late)} SKU(s) get an order that arrives after some of their streams: "
                f"{missed} stream(s) sell only from stock on hand.",
                "#orders",
            )
        )
    return out
