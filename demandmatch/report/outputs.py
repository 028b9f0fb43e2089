"""Every file a forecast run writes, written by one function (`write_outputs`) into a folder.

forecasts.csv, plan.csv, allocation.csv and compliance.csv (formula-safe CSV), plan.xlsx (a
sheet per merchant) and report.html. Each file is written beside its name and renamed into
place, with the usual permissions (the umask); the caller may point `folder` at a staging
directory and swap it in as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from demandmatch.data.schema import COMPLIANCE_COLUMNS, FORECAST_COLUMNS
from demandmatch.data.tables import Tables
from demandmatch.forecast.stages import DemandForecast
from demandmatch.optimise import PlanResult
from demandmatch.staging import atomic_write

from .details import allocation_details, compliance_details, plan_details
from .render import render_report
from .spreadsheet import csv_text, workbook_bytes

OUTPUT_FILES: tuple[str, ...] = (
    "forecasts.csv",
    "plan.csv",
    "allocation.csv",
    "compliance.csv",
    "plan.xlsx",
    "report.html",
)
# the workbook's number formats (demandmatch.report.spreadsheet.XLSX_FORMATS)
PLAN_KINDS: dict[str, str] = {
    "merchant_id": "text",
    "sku_id": "text",
    "on_hand": "int",
    "order_qty": "int",
    "stock_after": "int",
    "expected_demand": "units",
    "expected_sales": "units",
    "expected_leftover": "units",
    "expected_lost_sales": "units",
    "fill_rate": "share",
    "expected_profit": "money",
    "unit_cost": "money",
    "live_price_min": "money",
    "live_price_max": "money",
    "spend": "money",
    "margin_after_returns": "money",
    "streams": "int",
    "first_stream": "time",
    "order_reaches_from": "time",
}


def write_outputs(
    folder: Path | str,
    forecast: DemandForecast,
    result: PlanResult,
    tables: Tables,
    summary: Mapping[str, object],
    compliance: pd.DataFrame | None = None,
    timezone: str = "UTC",
) -> list[Path]:
    """Write OUTPUT_FILES into `folder` (created if needed) and return their paths, in that
    order. `compliance`: check_compliance's findings (none when None); times are shown in
    `timezone`; `summary` is the run summary (demandmatch.report.summarise), which the report
    shows, with the compliance choice `compliance_unverified` ("withhold": the unverified
    streams' stock was withheld)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    findings = compliance if compliance is not None else pd.DataFrame(columns=COMPLIANCE_COLUMNS)
    withheld = summary.get("compliance_unverified") == "withhold"
    lineup = forecast.lineup
    plan = plan_details(result.plan, lineup, forecast.forecasts, findings, withheld, timezone)
    plan_out = plan.drop(columns=["salvage_value", "live_price_mean", "return_rate_mean"])
    plan_out = plan_out.drop(columns=["streams_reached", "withheld"])
    alloc = allocation_details(result.allocation, lineup, forecast.forecasts, findings)
    checks = compliance_details(findings, lineup)
    texts = {
        "forecasts.csv": csv_text(forecast.forecasts[list(FORECAST_COLUMNS)], timezone),
        "plan.csv": csv_text(plan_out, timezone, bom=True),
        "allocation.csv": csv_text(alloc, timezone, bom=True),
        "compliance.csv": csv_text(checks, timezone, bom=True),
    }
    paths = [atomic_write(folder / name, text) for name, text in texts.items()]
    sheets = {str(m): g for m, g in plan_out.groupby("merchant_id", sort=True)}
    paths.append(atomic_write(folder / "plan.xlsx", workbook_bytes(sheets, PLAN_KINDS, timezone)))
    report = folder / "report.html"
    tmp = folder / ".report.html.tmp"
    render_report(
        result.plan,
        result.allocation,
        forecast.forecasts,
        lineup,
        {**summary, "shadow_prices": result.shadow_prices.to_dict("records")},
        tmp,
        compliance=findings,
        merchants=tables.merchants,
        stats=result.stats,
        timezone=timezone,
        details=(plan, alloc),
    )
    os.replace(tmp, report)
    paths.append(report)
    return paths
