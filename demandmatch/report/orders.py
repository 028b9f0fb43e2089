"""Each merchant's order list: every SKU of its upcoming lineups with title, unit cost, live
price, margin after expected returns, order, stock after, fill rate and why its stock stops
where it does; and the merchant overview that opens the report."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from demandmatch.compliance import CLAIM_FALSE, CLAIM_SHORT, RETURN_RISK, UNVERIFIED
from demandmatch.optimise.flags import split_flags

from .charts import spend_bar
from .format import DASH, fmt_int, fmt_money, fmt_share, fmt_text, fmt_units, fmt_yuan, is_missing
from .tables import Cell, Row, Table, anchor, num

ORDER_HEADERS = (
    "SKU",
    "Title",
    "Unit cost",
    "Live price",
    "Margin after returns",
    "On hand",
    "Order",
    "Spend",
    "Stock after",
    "Exp. demand",
    "Fill rate",
    "Exp. profit",
    "Why stock stops there",
)
ORDER_NOTES = (
    "",
    "",
    "landed cost of one more unit",
    "price in the streams (lowest\u2013highest)",
    "what one more unit sold earns over its cost once expected returns come back to stock",
    "units in stock now",
    "units to order now",
    "order \u00d7 unit cost",
    "on hand + order",
    "units the streams would sell with unlimited stock (average of the forecast)",
    "expected sales over expected demand",
    "expected profit over the horizon (sales less returns, salvage of leftovers, less the order)",
    "",
)


@dataclass(frozen=True)
class Merchant:
    """One merchant's figures, spend bar and order list."""

    merchant_id: str
    name: str
    anchor: str
    n_skus: int
    n_order: int
    units: int
    spend: float
    budget: float | None
    expected_profit: float
    fill_rate: float
    n_attention: int
    bar: Markup
    table: Table

    @property
    def spend_text(self) -> str:
        return fmt_yuan(self.spend)

    @property
    def budget_text(self) -> str:
        if self.budget is None:
            return f"{self.spend_text} spent; no budget limit"
        return f"{self.spend_text} of {fmt_yuan(self.budget)} budget"

    @property
    def profit_text(self) -> str:
        return fmt_yuan(self.expected_profit)

    @property
    def fill_text(self) -> str:
        return fmt_share(self.fill_rate)


def merchants(
    detail: pd.DataFrame, merchant_table: pd.DataFrame | None, findings: pd.DataFrame
) -> list[Merchant]:
    """Per merchant in `detail` (demandmatch.report.details.plan_details), orders first;
    `findings`: check_compliance's rows, said on their SKU's row."""
    info = _merchant_info(merchant_table)
    notes = compliance_notes(findings)
    out = []
    for merchant, g in detail.groupby("merchant_id", sort=True):
        name, budget = info.get(str(merchant), ("", None))
        demand = float(g["expected_demand"].sum())
        spend = float(g["spend"].sum(min_count=1)) if g["spend"].notna().any() else 0.0
        attention = g["compliance"].astype(bool) | g["flags"].map(_needs_look)
        out.append(
            Merchant(
                merchant_id=str(merchant),
                name=name,
                anchor=anchor("m", merchant),
                n_skus=len(g),
                n_order=int((g["order_qty"] > 0).sum()),
                units=int(g["order_qty"].sum()),
                spend=spend,
                budget=budget,
                expected_profit=float(g["expected_profit"].sum()),
                fill_rate=float(g["expected_sales"].sum() / demand) if demand > 0 else 1.0,
                n_attention=int(attention.sum()),
                bar=spend_bar(spend, budget),
                table=order_table(g, anchor("orders", merchant), notes),
            )
        )
    return out


def order_table(
    g: pd.DataFrame, table_id: str, notes: dict[tuple[str, str], str] | None = None
) -> Table:
    """The order list of one merchant: SKUs to order first, then by expected demand. `notes`:
    a compliance sentence per (merchant_id, sku_id), put before the row's reasons."""
    g = g.sort_values(["order_qty", "expected_demand", "sku_id"], ascending=[False, False, True])
    notes = notes or {}
    rows = tuple(
        _order_row(r, notes.get((str(r.merchant_id), str(r.sku_id)), ""))
        for r in g.itertuples(index=False)
    )
    demand = float(g["expected_demand"].sum())
    footer = (
        "Total",
        f"{len(g)} SKUs",
        "",
        "",
        "",
        fmt_int(g["on_hand"].sum()),
        fmt_int(g["order_qty"].sum()),
        fmt_yuan(g["spend"].sum(min_count=1)),
        fmt_int(g["stock_after"].sum()),
        fmt_units(demand),
        fmt_share(g["expected_sales"].sum() / demand if demand > 0 else float("nan")),
        fmt_yuan(g["expected_profit"].sum()),
        "",
    )
    numeric = (False, False) + (True,) * 10 + (False,)
    return Table(ORDER_HEADERS, numeric, rows, footer, True, table_id, ORDER_NOTES)


def compliance_notes(findings: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Per (merchant_id, sku_id) with findings, one sentence: its streams by unverified
    streamers, its contradicted stock claims and its return risk."""
    groups: dict[tuple[object, object], list[tuple[object, object]]] = {}
    for m, k, flag, detail in zip(
        findings["merchant_id"],
        findings["sku_id"],
        findings["flag"],
        findings["detail"],
        strict=True,
    ):
        if not (is_missing(m) or is_missing(k)):  # as a groupby drops a blank key
            groups.setdefault((m, k), []).append((flag, detail))
    out: dict[tuple[str, str], str] = {}
    for (m, k), rows in groups.items():
        parts = []
        n = sum(flag == UNVERIFIED for flag, _ in rows)
        if n:
            verb = "is" if n == 1 else "are"
            parts.append(f"{n} of its streams {verb} by unverified streamers")
        n = sum(flag in (CLAIM_FALSE, CLAIM_SHORT) for flag, _ in rows)
        if n:
            parts.append(f"{n} stream(s) announce stock that its allocation contradicts")
        risk = [detail for flag, detail in rows if flag == RETURN_RISK]
        if risk:
            parts.append("return risk: " + str(risk[0]).split(";")[0])
        out[(str(m), str(k))] = "; ".join(parts)
    return out


def _order_row(r, note: str) -> Row:
    flags = split_flags(r.flags)
    checks = split_flags(r.compliance)
    reason = r.reason
    if note:
        reason = f"\u26a0 {note[:1].upper()}{note[1:]}. {reason[:1].upper()}{reason[1:]}"
    lo, hi = r.live_price_min, r.live_price_max
    price = fmt_money(lo) if is_missing(hi) or lo == hi else f"{fmt_money(lo)}\u2013{fmt_money(hi)}"
    cells = (
        Cell(str(r.sku_id), cls="id"),
        Cell(fmt_text(r.title), cls="title", hover=fmt_text(r.title)),
        num(fmt_money(r.unit_cost), r.unit_cost),
        num(price, lo),
        num(fmt_money(r.margin_after_returns), r.margin_after_returns),
        num(fmt_int(r.on_hand), r.on_hand),
        num(fmt_int(r.order_qty), r.order_qty),
        num(fmt_yuan(r.spend), r.spend),
        num(fmt_int(r.stock_after), r.stock_after),
        num(fmt_units(r.expected_demand), r.expected_demand),
        num(fmt_share(r.fill_rate), r.fill_rate),
        num(fmt_yuan(r.expected_profit), r.expected_profit),
        Cell(reason or DASH, cls="reason"),
    )
    attention = bool(checks) or _needs_look(r.flags)
    attrs = (
        ("data-order", "1" if r.order_qty > 0 else "0"),
        ("data-attention", "1" if attention else "0"),
        ("data-flags", " ".join([*flags, *checks])),
    )
    cls = "risk" if checks else ""
    return Row(cells, attrs, cls)


# reasons of the SKU's own that hold its stock back (a binding budget or space is the merchant's,
# said once in the attention list)
_LOOK = {
    "lead_time",
    "late_arrival",
    "capacity_exceeded",
    "service_unreachable",
    "service_infeasible",
}


def _needs_look(flags: object) -> bool:
    """A plan row whose stock a limit or the lead time holds back."""
    return any(f in _LOOK for f in split_flags(flags))


def _merchant_info(table: pd.DataFrame | None) -> dict[str, tuple[str, float | None]]:
    if table is None or table.empty:
        return {}
    out = {}
    for r in table.to_dict("records"):
        name = r.get("name")
        budget = r.get("budget")
        out[str(r["merchant_id"])] = (
            "" if is_missing(name) else str(name),
            None if is_missing(budget) else float(budget),
        )
    return out
