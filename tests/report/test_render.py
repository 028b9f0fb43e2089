"""The plan report: a hand-built plan rendered to one self-contained, escaped HTML page."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from demandmatch.data.schema import ALLOCATION_COLUMNS, FORECAST_COLUMNS, PLAN_COLUMNS
from demandmatch.optimise.flags import EXPLANATIONS as FLAG_TEXT
from demandmatch.optimise.flags import explain_flag, split_flags
from demandmatch.report import lost_sales_by_reason, render_report
from demandmatch.report.format import fmt_value
from demandmatch.report.tables import headline, stream_frame

EVIL = "<script>alert('x')</script> & Co"
T0 = pd.Timestamp("2025-06-01 12:00", tz="UTC")


def _lineup() -> pd.DataFrame:
    rows = [
        # stream, sku, merchant, streamer, hours after T0, price, slot, featured, title, cost
        ("S2", "SKU-A", "M1", "H1", 48, 99.0, 1, True, "Silk scarf", 30.0),
        ("S1", "SKU-A", "M1", "H1", 0, 89.0, 2, False, "Silk scarf", 30.0),
        ("S1", "SKU-B", "M1", "H1", 0, 59.0, 1, True, EVIL, 20.0),
        ("S3", "SKU-C", "M2", "H2", 24, 19.9, 1, False, "Rice cracker 500g", 8.0),
    ]
    return pd.DataFrame(
        {
            "stream_id": [r[0] for r in rows],
            "sku_id": [r[1] for r in rows],
            "merchant_id": [r[2] for r in rows],
            "streamer_id": [r[3] for r in rows],
            "start_time": [T0 + pd.Timedelta(hours=r[4]) for r in rows],
            "live_price": [r[5] for r in rows],
            "slot": [r[6] for r in rows],
            "featured": [r[7] for r in rows],
            "title": [r[8] for r in rows],
            "category": ["apparel", "apparel", "apparel", "food"],
            "unit_cost": [r[9] for r in rows],
        }
    )


def _forecasts() -> pd.DataFrame:
    q = {
        ("S2", "SKU-A"): (40.0, 10, 14, 25, 38, 52, 70, 80),
        ("S1", "SKU-A"): (30.0, 8, 11, 19, 28, 40, 52, 60),
        ("S1", "SKU-B"): (12.0, 2, 3, 6, 11, 17, 22, 26),
        ("S3", "SKU-C"): (5.0, 0, 1, 2, 4, 7, 10, 12),
    }
    lineup = _lineup()
    rows = []
    for r in lineup.itertuples(index=False):
        mean, *qs = q[(r.stream_id, r.sku_id)]
        rows.append((r.stream_id, r.sku_id, r.merchant_id, mean, *qs, 0.2, r.sku_id == "SKU-C"))
    return pd.DataFrame(rows, columns=list(FORECAST_COLUMNS))


def _plan() -> pd.DataFrame:
    rows = [
        ("M1", "SKU-A", 5, 95, 100, 70.0, 61.5, 8.5, 8.5, 0.8786, 1520.25, "budget_binds"),
        ("M1", "SKU-B", 0, 0, 0, 12.0, 0.0, 0.0, 12.0, 0.0, 0.0, "lead_time"),
        ("M2", "SKU-C", 3, 0, 3, 5.0, 2.9, 0.1, 2.1, 0.58, 50.0, "no_margin;moq_exceeds_demand"),
    ]
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def _allocation() -> pd.DataFrame:
    rows = [("S1", "SKU-A", 44), ("S2", "SKU-A", 56), ("S1", "SKU-B", 0), ("S3", "SKU-C", 3)]
    return pd.DataFrame(rows, columns=list(ALLOCATION_COLUMNS))


SUMMARY: dict[str, object] = {
    "as_of": "2025-06-01T00:00:00+00:00",
    "horizon_days": 14,
    "n_streams": 3,
    "n_skus": 3,
    "units_to_order": 95,
    "spend": 2850.0,
    "expected_profit": 1570.25,
    "fill_rate": 0.7,
    "run_id": None,
    "solver_status": "OPTIMAL",
    "shadow_prices": [{"merchant_id": "M1", "budget": 0.12}, {"merchant_id": "M2", "budget": 0.0}],
}


class _Parser(HTMLParser):
    """Collects tags and the images' sources, to check the page is well formed enough."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    path = render_report(_plan(), _allocation(), _forecasts(), _lineup(), SUMMARY, out)
    assert path == out and out.is_file()
    return out.read_text(encoding="utf-8")


def test_page_names_every_sku_and_order(page: str) -> None:
    for sku in ("SKU-A", "SKU-B", "SKU-C"):
        assert sku in page
    assert '<td class="num">95</td>' in page  # order quantity of SKU-A, in its table cell
    assert "\u00a52,850.00" in page  # its spend: 95 units at 30 yuan
    assert "87.9%" in page  # fill rate as a share
    assert "Merchant M1" in page and "Merchant M2" in page


def test_every_flag_present_is_explained(page: str) -> None:
    for flag in ("budget_binds", "lead_time", "no_margin", "moq_exceeds_demand"):
        assert FLAG_TEXT[flag] in page
    assert FLAG_TEXT["capacity_binds"] not in page  # absent flags are not explained


def test_headline_and_why(page: str) -> None:
    assert "Units to order" in page and "Purchase spend" in page
    assert "Shadow prices by merchant" in page
    assert "stops paying for its cost" in page
    assert "OPTIMAL" in page


def test_data_is_escaped_and_page_self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert "&amp; Co" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "<link" not in page


def test_fans_are_embedded_pngs(page: str) -> None:
    parser = _Parser()
    parser.feed(page)
    # three SKUs with demand, default max_fans=12: one fan each
    assert len(parser.images) == 3
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_max_fans_keeps_largest_demand(tmp_path: Path) -> None:
    out = render_report(
        _plan(), _allocation(), _forecasts(), _lineup(), SUMMARY, tmp_path / "r.html", max_fans=1
    )
    text = out.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 1
    assert 'alt="Demand forecast for SKU SKU-A"' in text  # 70 expected units, the largest


def test_stream_table_in_start_order() -> None:
    df = stream_frame(_allocation(), _forecasts(), _lineup())
    assert list(df["stream_id"]) == ["S1", "S1", "S3", "S2"]
    assert list(df["sku_id"][:2]) == ["SKU-B", "SKU-A"]  # slot order within a stream
    assert list(df["allocated_units"]) == [0, 44, 3, 56]


def test_tiny_plan_one_sku_one_stream(tmp_path: Path) -> None:
    lineup = _lineup().iloc[[3]]
    forecasts = _forecasts().iloc[[3]]
    plan = _plan().iloc[[2]].assign(order_qty=6, stock_after=9, flags="")
    alloc = _allocation().iloc[[3]]
    text = render_report(plan, alloc, forecasts, lineup, {}, tmp_path / "r.html").read_text()
    assert "SKU-C" in text and "Rice cracker 500g" in text
    assert text.count("data:image/png;base64,") == 1
    assert "no upcoming streams" not in text


def test_empty_plan_says_so(tmp_path: Path) -> None:
    empty = {
        c: pd.DataFrame(columns=list(cols))
        for c, cols in (
            ("plan", PLAN_COLUMNS),
            ("alloc", ALLOCATION_COLUMNS),
            ("fc", FORECAST_COLUMNS),
        )
    }
    lineup = _lineup().iloc[0:0]
    summary = {"as_of": "2025-06-01T00:00:00+00:00", "horizon_days": 14, "n_streams": 0}
    out = render_report(
        empty["plan"], empty["alloc"], empty["fc"], lineup, summary, tmp_path / "r.html"
    )
    text = out.read_text(encoding="utf-8")
    assert "no upcoming streams" in text
    assert "data:image/png" not in text
    assert "What to order" not in text


def test_flags_and_values_in_words() -> None:
    assert split_flags("no_margin; budget_binds;") == ["no_margin", "budget_binds"]
    assert split_flags(float("nan")) == [] and split_flags("") == []
    assert explain_flag("budget_binds") == "budget is spent; would order more with more budget"
    assert explain_flag("brand_new_flag") == "brand new flag"
    assert fmt_value("spend", 1234.5) == "\u00a51,234.50"
    assert fmt_value("fill_rate", 0.875) == "87.5%"
    assert fmt_value("n_streams", 3) == "3"
    assert fmt_value("run_id", None) == "\u2014"
    assert fmt_value("cold", True) == "yes"


def test_headline_renders_any_keys() -> None:
    cards, tables = headline(
        {"units_to_order": 10, "mystery_metric": 2.5, "nested": {"a": 1}, "shadow_prices": []}
    )
    assert ("Units to order", "10") in cards
    assert ("Shadow prices by merchant", "none") in cards
    assert ("Mystery metric", "2.5") in cards
    assert ("Nested: A", "1") in cards
    assert tables == []


def test_lost_sales_split_by_first_flag() -> None:
    plan = pd.DataFrame(
        {
            "sku_id": ["a", "b", "c", "d"],
            "expected_lost_sales": [6.0, 1.0, 3.0, 0.0],
            "flags": ["budget_binds;service_level", "", float("nan"), "lead_time"],
        }
    )
    got = lost_sales_by_reason(plan)
    assert [(r["reason"], r["skus"], r["expected_lost_sales"]) for r in got] == [
        ("budget_binds", 1, 6.0),
        ("profit_best", 2, 4.0),
        ("lead_time", 1, 0.0),
    ]
    assert [r["lost_sales_share"] for r in got] == [0.6, 0.4, 0.0]
    assert got[1]["why"] == FLAG_TEXT["profit_best"]
    nothing_lost = lost_sales_by_reason(plan.assign(expected_lost_sales=0.0))
    assert all(r["lost_sales_share"] == 0.0 for r in nothing_lost)
    # the report shows the split as a table, shares as percentages
    _, tables = headline({"lost_sales_by_reason": got})
    assert tables[0][0] == "Expected lost sales by reason"
    assert "60.0%" in tables[0][1].rows[0] and "SKUs" in tables[0][1].headers
