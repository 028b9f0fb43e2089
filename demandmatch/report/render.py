"""The plan as one self-contained HTML page for a planner.

The first screen answers what to order, what it costs, what it should earn and what needs
attention; then each merchant's order list (sortable, filterable), the compliance signals, the
streams (folded), the forecast fans and, last, how the plan was made. Cells are formatted into
plain strings here and laid out by a jinja2 template with autoescaping on, so no catalog text
can inject markup; charts are inline SVG and the page's script and style are inline, so it
needs no network and no other file.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from demandmatch.compliance import EXPLANATIONS as COMPLIANCE_WORDS
from demandmatch.compliance import MONEY_AT_RISK
from demandmatch.data.schema import COMPLIANCE_COLUMNS
from demandmatch.optimise.flags import EXPLANATIONS, PROFIT_BEST, split_flags

from .attention import attention_items
from .charts import legend_swatches
from .details import allocation_details, compliance_details, plan_details
from .fans import fans
from .format import fmt_int, fmt_share, fmt_text, fmt_time, fmt_units, fmt_yuan, utc_offset
from .how import limit_words, model_words, solver_words
from .orders import merchants as merchant_sections
from .streams import compliance_table, stream_days
from .tables import records_table


def render_report(
    plan: pd.DataFrame,
    allocation: pd.DataFrame,
    forecasts: pd.DataFrame,
    lineup: pd.DataFrame,
    summary: Mapping[str, object],
    out_path: Path,
    *,
    compliance: pd.DataFrame | None = None,
    merchants: pd.DataFrame | None = None,
    stats: object | None = None,
    timezone: str = "UTC",
    max_fans: int = 16,
    details: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Path:
    """Write the plan report to `out_path` (one HTML file, no external assets) and return it.

    `plan`/`allocation`: the optimiser's (contract columns, plus order_reaches_from /
    from_on_hand / from_order when present); `lineup`: the upcoming stream items with their
    stream, streamer and catalog columns; `summary`: the run summary (its `shadow_prices`
    records, `warnings` and `compliance_unverified` are read when present); `compliance`:
    check_compliance's findings; `merchants`: the merchants table (names, budgets); `stats`:
    the optimiser's SolveStats; times are shown in `timezone`; `details`: the plan_details and
    allocation_details of these arguments, when the caller has them already."""
    findings = compliance if compliance is not None else pd.DataFrame(columns=COMPLIANCE_COLUMNS)
    findings = findings.astype({"money_at_risk": float})
    withheld = summary.get("compliance_unverified") == "withhold"
    shadow = list(summary.get("shadow_prices") or [])  # type: ignore[arg-type]
    empty = plan.empty
    context: dict[str, object] = {
        "empty": empty,
        "as_of": fmt_time(summary.get("as_of"), timezone) if summary.get("as_of") else "\u2014",
        "as_of_iso": fmt_text(summary.get("as_of")),
        "timezone": timezone,
        "offset": utc_offset(timezone, summary.get("as_of")),
        "horizon": fmt_text(summary.get("horizon_days")),
        "run_id": summary.get("run_id"),
        "model": model_words(summary),
        "solver": solver_words(summary, stats),
        "limits": limit_words(shadow),
        "lost": records_table(summary["lost_sales_by_reason"])  # type: ignore[arg-type]
        if summary.get("lost_sales_by_reason")
        else None,
        "legend": legend_swatches(),
        "budget_bound": [str(r["merchant_id"]) for r in shadow if r.get("budget_binds")],
    }
    if empty:
        context.update(headline={}, attention=[], merchants=[], days=[], fans=[], flags=[])
        context.update(checks=None, check_counts=[], n_streams=0)
    else:
        detail, alloc = details or (
            plan_details(plan, lineup, forecasts, findings, withheld, timezone),
            allocation_details(allocation, lineup, forecasts, findings),
        )
        days = stream_days(allocation, forecasts, lineup, alloc["compliance"], timezone)
        present = {f for v in detail["flags"] for f in split_flags(v)}
        present |= (
            {PROFIT_BEST} if (detail["flags"].map(split_flags).map(len) == 0).any() else set()
        )
        context.update(
            headline=_headline(detail),
            attention=attention_items(detail, alloc, findings, summary, shadow),
            merchants=merchant_sections(detail, merchants, findings),
            days=days,
            n_streams=sum(len(d.streams) for d in days),
            fans=fans(forecasts, allocation, lineup, plan, max_fans, timezone),
            flags=[(f, EXPLANATIONS[f]) for f in EXPLANATIONS if f in present]
            + [(f, f.replace("_", " ")) for f in sorted(present - set(EXPLANATIONS))],
            checks=compliance_table(compliance_details(findings, lineup), timezone)
            if len(findings)
            else None,
            check_counts=[
                (f, COMPLIANCE_WORDS[f], int((findings["flag"] == f).sum()), MONEY_AT_RISK[f])
                for f in COMPLIANCE_WORDS
                if (findings["flag"] == f).any()
            ],
        )
    html = _environment().get_template("report.html").render(**context)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path


def _headline(detail: pd.DataFrame) -> dict[str, str]:
    demand = float(detail["expected_demand"].sum())
    sales = float(detail["expected_sales"].sum())
    n_order = int((detail["order_qty"] > 0).sum())
    return {
        "units": fmt_int(detail["order_qty"].sum()),
        "skus": f"{n_order} of {len(detail)} SKUs",
        "spend": fmt_yuan(detail["spend"].sum()),
        "profit": fmt_yuan(detail["expected_profit"].sum()),
        "sales": fmt_int(sales),
        "fill": fmt_share(sales / demand if demand > 0 else 1.0),
        "demand": fmt_units(demand),
        "leftover": fmt_units(detail["expected_leftover"].sum()),
        "lost": fmt_units(detail["expected_lost_sales"].sum()),
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("demandmatch.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
