"""Every output file of a run, written by demandmatch.report.write_outputs from a planned world:
the contract's columns first, the spreadsheet columns after, local times, integers, no formula,
a sheet per merchant."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from demandmatch.data.schema import (
    ALLOCATION_COLUMNS,
    ALLOCATION_DETAIL_COLUMNS,
    COMPLIANCE_COLUMNS,
    FORECAST_COLUMNS,
    PLAN_COLUMNS,
    PLAN_DETAIL_COLUMNS,
)
from demandmatch.report import OUTPUT_FILES, write_outputs
from tests.report.world import FORMULA, TZ, Planned


@pytest.fixture(scope="module")
def written(planned: Planned, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("out") / "staging"
    p = planned
    paths = write_outputs(out, p.forecast, p.result, p.tables, p.summary, p.compliance, TZ)
    return out, paths


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_every_file_in_order_and_nothing_else(written):
    out, paths = written
    assert [p.name for p in paths] == list(OUTPUT_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    for p in paths:
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p.name


def test_plan_csv_columns_values_and_words(written, planned):
    out, _ = written
    text = (out / "plan.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbfmerchant_id,")  # BOM: Excel shows Chinese titles
    plan = _csv(out / "plan.csv")
    assert list(plan.columns) == [*PLAN_COLUMNS, *PLAN_DETAIL_COLUMNS]
    assert len(plan) == len(planned.result.plan)
    for col in ("on_hand", "order_qty", "stock_after", "streams"):
        assert plan[col].str.fullmatch(r"\d+").all(), col  # integers, never 2.0000
    assert not plan.apply(lambda c: c.str.fullmatch(r"-?\d+\.0+")).any().any()
    a = plan.set_index("sku_id").loc["SKU-A"]
    assert a["title"] == "Silk scarf" and a["unit_cost"] == "30"
    assert (a["live_price_min"], a["live_price_max"]) == ("89.1", "99")  # 90% in S01, S05, ...
    assert float(a["spend"]) == 30 * int(a["order_qty"])
    assert a["first_stream"] == "2025-06-01 20:00"  # 12:00 UTC in Shanghai
    assert a["reason"].startswith("stocked as far as it pays")
    assert a["compliance"] == "unverified_streamer;scarcity_claim_false;scarcity_claim_short"
    assert plan.set_index("sku_id").loc["SKU-F", "title"] == "'" + FORMULA
    assert (plan["reason"] != "").all()
    c = plan.set_index("sku_id").loc["SKU-C"]
    assert "budget is spent" in c["reason"] and c["flags"] == "budget_binds"


def test_allocation_csv_is_usable_alone(written, planned):
    out, _ = written
    alloc = _csv(out / "allocation.csv")
    assert list(alloc.columns) == [*ALLOCATION_COLUMNS, *ALLOCATION_DETAIL_COLUMNS]
    assert len(alloc) == len(planned.result.allocation)
    s01 = alloc[(alloc["stream_id"] == "S01") & (alloc["sku_id"] == "SKU-A")].iloc[0]
    assert s01["start_time"] == "2025-06-01 20:00" and s01["streamer_id"] == "H3"
    assert s01["compliance"] == "unverified_streamer"
    assert int(s01["allocated_units"]) == int(s01["from_on_hand"]) + int(s01["from_order"])
    assert float(s01["spend"]) == pytest.approx(int(s01["from_order"]) * 30.0)
    r = alloc[(alloc["sku_id"] == "SKU-R") & (alloc["stream_id"] == "S04")].iloc[0]
    assert r["compliance"] == "return_risk"  # the SKU's own signal reaches its stream items
    assert r["live_price"] == "120" and r["expected_demand"] == "12"  # S04: list price


def test_compliance_and_forecast_csv(written, planned):
    out, _ = written
    checks = _csv(out / "compliance.csv")
    assert list(checks.columns)[: len(COMPLIANCE_COLUMNS)] == list(COMPLIANCE_COLUMNS)
    assert len(checks) == len(planned.compliance)
    assert set(checks["flag"]) == {
        "unverified_streamer",
        "scarcity_claim_false",
        "scarcity_claim_short",
        "return_risk",
    }
    fc = _csv(out / "forecasts.csv")
    assert list(fc.columns) == list(FORECAST_COLUMNS)
    assert fc["q50"].str.fullmatch(r"\d+").all() and set(fc["cold_start"]) == {"True", "False"}


def test_workbook_has_a_sheet_per_merchant(written, planned):
    out, _ = written
    book = load_workbook(io.BytesIO((out / "plan.xlsx").read_bytes()))
    assert book.sheetnames == ["M1", "M2"]
    ws = book["M1"]
    header = [c.value for c in ws[1]]
    assert header == [*PLAN_COLUMNS, *PLAN_DETAIL_COLUMNS]
    assert ws.freeze_panes == "C2" and ws.max_row == 1 + 4
    titles = [ws.cell(row=r, column=header.index("title") + 1) for r in range(2, 6)]
    formula = [c for c in titles if "HYPERLINK" in str(c.value)]
    assert len(formula) == 1 and formula[0].value == "'" + FORMULA
    assert formula[0].data_type == "s"
    order = ws.cell(row=2, column=header.index("order_qty") + 1)
    assert isinstance(order.value, int) and order.number_format == "#,##0"


def test_empty_plan_writes_every_file(tmp_path, planned):
    p = planned
    fc = p.forecast
    none = fc.lineup.iloc[0:0]
    empty_fc = type(fc)(fc.as_of, 14, none, fc.forecasts.iloc[0:0], [], 0, {})
    result = type(p.result)(
        p.result.plan.iloc[0:0],
        p.result.allocation.iloc[0:0],
        p.result.stats,
        p.result.shadow_prices.iloc[0:0],
    )
    paths = write_outputs(tmp_path, empty_fc, result, p.tables, {"as_of": "x"}, None, TZ)
    assert [q.name for q in paths] == list(OUTPUT_FILES)
    assert _csv(tmp_path / "plan.csv").columns.tolist()[:2] == ["merchant_id", "sku_id"]
    assert "nothing to order" in (tmp_path / "report.html").read_text(encoding="utf-8")
