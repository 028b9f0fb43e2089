"""The report in a real browser (Debian's chromium driven by Playwright) from its file URL: the
contents links land, the order lists sort and filter, times are local, every order row has a
reason, streams open from a link, and nothing logs an error. The page's height at 1400 px wide
is measured and printed, with a screenshot of its first screen kept as an artifact.

`DEMANDMATCH_REPORT=path/to/report.html` runs the same checks on another report (the demo's,
from `make forecast`) and prints its height: `pytest -s -k any_report tests/report/test_browser.py`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from demandmatch.report.format import fmt_time
from tests.browser import launch, require_chromium
from tests.report.test_render import render
from tests.report.world import Planned

pytestmark = pytest.mark.slow
WIDTH = 1400


def check_page(page, shots: Path) -> int:  # noqa: ANN001 (playwright's Page)
    """The checks any report passes; returns the page's height in px."""
    from playwright.sync_api import expect

    # local times: the as-of time shown is its UTC instant in the zone the header names
    zone = re.search(r"Times are (\S+) \(UTC", page.locator("header").inner_text()).group(1)
    as_of = page.locator("#as-of")
    shown = fmt_time(pd.Timestamp(as_of.get_attribute("datetime")), zone)
    expect(as_of).to_have_text(shown)

    # contents: every link lands on its section, scrolled into view
    links = page.locator("nav.toc a")
    assert links.count() >= 5
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        links.nth(i).click()
        assert page.evaluate("location.hash") == href
        top = page.evaluate(f"document.getElementById({href[1:]!r}).getBoundingClientRect().top")
        assert -2 <= top < page.viewport_size["height"], href

    # every order row says why its stock stops where it does
    reasons = page.locator("table[id^='orders-'] tbody tr td:last-child").all_inner_texts()
    assert reasons and all(len(r.strip()) > 10 for r in reasons)

    # sorting: the first order list by its Order column, then back, then by SKU
    table = page.locator("table[id^='orders-']").first
    header = table.locator("thead th")
    names = [h.strip().split("\n")[0] for h in header.all_inner_texts()]
    col = names.index("Order")

    def column(c: int, attr: str | None = "data-v") -> list:
        cells = table.locator(f"tbody tr td:nth-child({c + 1})")
        if attr is None:
            return [t.strip() for t in cells.all_inner_texts()]
        return [
            float(v) for v in cells.evaluate_all(f"cs => cs.map(c => c.getAttribute('{attr}'))")
        ]

    header.nth(col).click()
    assert header.nth(col).get_attribute("aria-sort") == "descending"
    down = column(col)
    assert down == sorted(down, reverse=True)
    header.nth(col).click()
    up = column(col)
    assert up == sorted(up) and header.nth(col).get_attribute("aria-sort") == "ascending"
    header.nth(0).click()
    skus = column(0, None)
    assert skus == sorted(skus, key=str.lower)

    # filtering: by text, then by kind of row
    box = page.locator(".filters").first
    first_sku = skus[0]
    box.locator("input").fill(first_sku)
    visible = table.locator("tbody tr:visible")
    assert visible.count() >= 1
    assert all(first_sku.lower() in t.lower() for t in visible.all_inner_texts())
    expect(box.locator(".count")).to_contain_text(f"{visible.count()} of {len(skus)}")
    box.locator("input").fill("")
    box.locator("select").select_option("order")
    ordered = table.locator("tbody tr[data-order='1']").count()
    assert visible.count() == ordered
    assert all(v == "1" for v in visible.evaluate_all("rs => rs.map(r => r.dataset.order)"))
    box.locator("select").select_option("all")
    assert visible.count() == len(skus)

    # streams are folded, and a link to one opens it
    details = page.locator("details")
    assert details.count() > 0
    assert page.locator("details[open]").count() == 0
    target = details.first.get_attribute("id")
    page.evaluate(f"location.hash = {target!r}")
    expect(page.locator(f"details[id='{target}']")).to_have_attribute("open", "")

    page.evaluate("window.scrollTo(0, 0); location.hash = ''")
    page.evaluate("document.querySelectorAll('details[open]').forEach(d => d.open = false)")
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "first-screen.png"))
    return int(page.evaluate("document.documentElement.scrollHeight"))


def open_report(path: Path, shots: Path) -> tuple[int, list[str]]:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.set_default_timeout(20_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "data:")) else errors.append(r.url),
        )
        page.goto(path.resolve().as_uri())
        height = check_page(page, shots)
        if path.stat().st_size < 5_000_000:
            page.screenshot(path=str(shots / "full-page.png"), full_page=True)
        browser.close()
    return height, errors


def test_report_in_chromium(planned: Planned, tmp_path_factory: pytest.TempPathFactory):
    require_chromium()
    root = tmp_path_factory.mktemp("browser")
    path = root / "report.html"
    render(planned, path)
    height, errors = open_report(path, root / "artifacts")
    assert errors == []  # no console error, no page error, no request off the page
    assert (root / "artifacts" / "first-screen.png").stat().st_size > 10_000
    # 27 streams, 5 SKUs: the page stays a few screens long
    assert 2_000 < height < 9_000
    print(f"\nreport height at {WIDTH} px: {height} px; screenshots in {root / 'artifacts'}")


def test_local_times_and_filter_in_chromium(planned: Planned, tmp_path: Path):
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    path = tmp_path / "report.html"
    render(planned, path)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(path.as_uri())
        expect(page.locator("#as-of")).to_have_text("Sun 01 Jun 08:00")  # 00:00 UTC
        expect(page.locator("details[id='s-S01'] summary")).to_contain_text("Sun 01 Jun 20:00")
        box = page.locator(".filters").first
        box.locator("input").fill("sequin")
        rows = page.locator("#orders-M1 tbody tr:visible")
        expect(rows).to_have_count(1)
        expect(rows.first.locator("td").first).to_have_text("SKU-R")
        box.locator("input").fill("")
        box.locator("select").select_option("attention")
        expect(box.locator(".count")).to_have_text("2 of 4 SKUs shown")  # SKU-A, SKU-R: with H3
        browser.close()


def test_any_report(tmp_path: Path):
    given = os.environ.get("DEMANDMATCH_REPORT")
    if not given:
        pytest.skip("set DEMANDMATCH_REPORT to a report.html to check and measure it")
    require_chromium()
    height, errors = open_report(Path(given), tmp_path)
    assert errors == []
    print(f"\n{given}: height at {WIDTH} px: {height} px; first screen in {tmp_path}")
