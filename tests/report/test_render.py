"""The plan report, rendered from a planned world: one escaped, self-contained page whose first
screen says what to order, what it costs and earns and what needs attention, with contents,
local times, folded streams, a reason on every order row and inline SVG fans."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from demandmatch.data.schema import ALLOCATION_COLUMNS, FORECAST_COLUMNS, PLAN_COLUMNS
from demandmatch.optimise.flags import EXPLANATIONS as FLAG_TEXT
from demandmatch.optimise.flags import explain_flag, split_flags
from demandmatch.report import lost_sales_by_reason, render_report
from demandmatch.report.format import fmt_time, fmt_value
from demandmatch.report.tables import anchor
from tests.report.world import EVIL, TZ, Planned


class Page(HTMLParser):
    """The page's ids, links, details, scripts, SVGs and table rows (cell texts)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.details: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.svgs = 0
        self.tables: dict[str, list[list[str]]] = {}
        self.h2: list[str] = []
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None
        self._h2: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"] or "")
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
        if tag == "details":
            self.details.append(a)
        if tag == "script":
            self.scripts.append(a)
        if tag == "svg":
            self.svgs += 1
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        if tag == "tbody":
            self._in_body = True
        if tag == "tr" and self._in_body and self._table:
            self.tables[self._table].append([])
        if tag == "td" and self._in_body:
            self._cell = []
        if tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tbody":
            self._in_body = False
        if tag == "h2" and self._h2 is not None:
            self.h2.append("".join(self._h2).strip())
            self._h2 = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._h2 is not None:
            self._h2.append(data)


def render(p: Planned, path: Path, **kw) -> str:
    summary = {**p.summary, "shadow_prices": p.result.shadow_prices.to_dict("records")}
    render_report(
        p.result.plan,
        p.result.allocation,
        p.forecast.forecasts,
        p.forecast.lineup,
        summary,
        path,
        compliance=p.compliance,
        merchants=p.tables.merchants,
        stats=p.result.stats,
        timezone=TZ,
        **kw,
    )
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def text(planned: Planned, tmp_path_factory: pytest.TempPathFactory) -> str:
    return render(planned, tmp_path_factory.mktemp("report") / "nested" / "report.html")


@pytest.fixture(scope="module")
def page(text: str) -> Page:
    return Page(text)


def test_contents_links_land_on_anchors(page: Page):
    local = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert set(local) <= set(page.ids)
    assert len(page.ids) == len(set(page.ids))  # every anchor is unique
    for section in ("overview", "attention", "orders", "compliance", "streams", "fans", "how"):
        assert section in local, section
    assert {anchor("m", "M1"), anchor("m", "M2")} <= set(local)


def test_first_screen_then_sections_in_order(text: str, page: Page):
    assert page.h2 == [
        "Needs your attention",
        "By merchant",
        "Order lists",
        "Compliance",
        "Streams",
        "Forecast fans",
        "How this plan was made",
    ]
    first = html.unescape(text[: text.index('id="orders"')])
    for words in ("units", "It costs", "Expected profit", "Needs your attention"):
        assert words in first
    assert "Merchant M2's budget is spent" in first  # a limit that holds an order back
    assert "streams by unverified streamers get" in first.replace("stream(s)", "streams")
    assert "OPTIMAL" not in first and "shadow price" not in first.lower()  # internals: last


def test_times_are_local(text: str, planned: Planned):
    s01 = planned.forecast.lineup.set_index("stream_id").loc["S01", "start_time"].iloc[0]
    assert fmt_time(s01, TZ) == "Sun 01 Jun 20:00"  # 12:00 UTC in Shanghai
    assert "Sun 01 Jun 20:00" in text and "Sun 01 Jun 08:00" in text  # S01, the as-of time
    assert "Asia/Shanghai (UTC+08:00)" in text
    assert not re.search(r"\d\d:\d\d UTC", text)


def test_streams_are_folded(page: Page, planned: Planned):
    assert len(page.details) == planned.forecast.lineup["stream_id"].nunique() == 27
    assert all("open" not in d for d in page.details)


def test_every_order_row_says_why(page: Page, planned: Planned):
    orders = {k: v for k, v in page.tables.items() if k.startswith("orders-")}
    assert len(orders) == 2
    rows = [r for rows in orders.values() for r in rows]
    assert len(rows) == len(planned.result.plan)
    assert all(len(r[-1]) > 20 for r in rows)  # the reason, in words
    by_sku = {r[0]: r for r in rows}
    assert "budget is spent" in by_sku["SKU-C"][-1]
    assert by_sku["SKU-A"][-1].startswith("\u26a0 12 of its streams are by unverified")
    assert "45% of units sold expected back" in by_sku["SKU-R"][-1]
    assert by_sku["SKU-A"][3] == "\u00a589.10\u2013\u00a599.00"  # live price range
    assert by_sku["SKU-A"][2] == "\u00a530.00"  # unit cost


def test_data_is_escaped_and_page_self_contained(text: str, page: Page):
    assert EVIL not in text and "&lt;script&gt;alert(" in text and "&amp; Co" in text
    assert "Shop &lt;one&gt;" in text
    assert len(page.scripts) == 1 and "src" not in page.scripts[0]  # the page's own script
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "<link" not in text and "<img" not in text and "@import" not in text


def test_fans_are_inline_svg_small_multiples(text: str, page: Page):
    fans = text[text.index('id="fans"') : text.index('id="how"')]
    assert fans.count('<svg class="fan"') == 5  # every SKU, largest demand first
    assert "<polyline" not in fans and "<path" not in fans  # nothing joins the streams
    assert fans.index("SKU-A") < fans.index("SKU-C")
    assert page.svgs >= 5 + 2 * 2  # and the spend bars: overview and order list per merchant


def test_max_fans_keeps_largest_demand(planned: Planned, tmp_path: Path):
    text = render(planned, tmp_path / "r.html", max_fans=1)
    assert text.count('<svg class="fan"') == 1
    fans = text[text.index('id="fans"') : text.index('id="how"')]
    assert "SKU-A" in fans and "SKU-R" not in fans  # 720 expected units, the most


def test_compliance_section_lists_every_finding(page: Page, planned: Planned):
    rows = page.tables["compliance-table"]
    assert len(rows) == len(planned.compliance)
    assert {r[0] for r in rows} == {
        "unverified streamer",
        "scarcity claim false",
        "scarcity claim short",
        "return risk",
    }


def test_withheld_streams_are_said(planned_withheld: Planned, tmp_path: Path):
    text = render(planned_withheld, tmp_path / "r.html")
    first = text[: text.index('id="orders"')]
    assert "get no stock: it is withheld" in first
    assert "stock withheld" in text  # the compliance rows say it too


def test_how_it_was_made_in_words(text: str):
    how = text[text.index('id="how"') :]
    assert "learned from 1,234 examples" in how
    assert "scaled by \u00d71.05" in how
    assert "proven to be the most profitable" in how or "within" in how
    assert FLAG_TEXT["budget_binds"] in how and FLAG_TEXT["profit_best"] in how
    assert FLAG_TEXT["capacity_binds"] not in text  # absent flags are not explained


def test_model_fallbacks_are_said_in_words() -> None:
    from demandmatch.report.how import model_words

    summary = {"model_mean_scale": 1.0, "model_fallbacks": ["40 held-out rows of new SKUs"]}
    words = " ".join(model_words(summary))
    assert "kept a cautious default: 40 held-out rows of new SKUs." in words
    assert "[" not in words  # the list is said, not printed
    assert "cautious default" not in " ".join(model_words({"model_fallbacks": []}))


def test_empty_plan_says_so(tmp_path: Path):
    empty = {
        c: pd.DataFrame(columns=list(cols))
        for c, cols in (
            ("plan", PLAN_COLUMNS),
            ("alloc", ALLOCATION_COLUMNS),
            ("fc", FORECAST_COLUMNS),
        )
    }
    lineup = pd.DataFrame(columns=["stream_id", "sku_id", "merchant_id", "start_time"])
    summary = {"as_of": "2025-06-01T00:00:00+00:00", "horizon_days": 14, "n_streams": 0}
    out = render_report(
        empty["plan"], empty["alloc"], empty["fc"], lineup, summary, tmp_path / "r.html"
    )
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert "nothing to order" in text
    assert "<svg" not in text and "Order lists" not in text
    assert set(h[1:] for h in page.hrefs if h.startswith("#")) <= set(page.ids)


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


def test_anchors_are_valid_for_any_id() -> None:
    assert anchor("m", "M01") == "m-M01"
    assert anchor("s", "直播 1") == "s-.76f4.64ad.201"
    assert anchor("s", 'a"b<c') != anchor("s", "a_b_c")


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


def test_the_scales_per_lead_are_said_in_one_sentence_in_lead_order() -> None:
    from demandmatch.report.how import model_words

    summary = {"model_lead_scale_6h": 0.98, "model_lead_scale_168h": 1.03}
    words = " ".join(model_words(summary))
    assert "\u00d70.98 at 6 hours, \u00d71.03 at 168 hours" in words
    assert "Model lead scale" not in words  # not again as a bare figure
