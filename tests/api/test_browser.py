"""The merchant's page in a real browser (Debian's chromium driven by Playwright) against
`demandmatch serve` on 127.0.0.1: errors per cell, a fixed file applied, rollback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from demandmatch.store import Store
from tests.browser import launch, require_chromium

HEAD = "货号,商品名称,类目,吊牌价,进价,库存"
BAD = f"{HEAD}\nA001,<b>Apple</b>,fruit,abc,5,7\nA002,Pear,fruit,8,4,-3\nA003,Fig,fruit,3,1,1\n"
FIXED = "".join(
    [
        f"{HEAD}\n",
        "A001,<b>Apple</b>,fruit,10,5,7\n",
        "A002,Pear,fruit,8,4,3\n",
        "A003,Fig,fruit,3,1,1\n",
        "A004,Kiwi,fruit,2,1,1\n",
        "A005,Plum,fruit,2,1,1\n",
        "A006,Lime,fruit,2,1,1\n",
    ]
)
CHANGE = f"{HEAD}\nA001,,,,,99\n"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    require_chromium()
    url = f"sqlite:///{tmp_path / 'page.db'}"
    store = Store(url)
    token = store.add_merchant("M01", "Shop")
    store.close()
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demandmatch.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--store",
            url,
            "--background-rows",
            "6",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stdout.read().decode()) from None
                time.sleep(0.1)
        yield base, token, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_upload_errors_fix_apply_rollback(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, token, url = server
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.goto(base + "/")
        page.fill("#token", token)
        page.click("#token-form button")
        expect(page.locator("#who")).to_contain_text("merchant M01")

        def upload(name: str, text: str) -> None:
            page.set_input_files(
                "#file",
                files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode("gb18030")}],
            )
            page.click("#upload-button")

        upload("bad.csv", BAD)
        expect(page.locator("#preview-summary")).to_contain_text("2 rejected")
        bad = page.locator("#rejected-table td.bad")
        expect(bad).to_have_count(2)
        assert bad.nth(0).get_attribute("data-code") == "not_a_number"
        assert "found 'abc'" in bad.nth(0).get_attribute("title")
        assert bad.nth(1).get_attribute("data-code") == "negative_stock"
        expect(page.locator("#rejected-table tr[data-row='2'] td").nth(1)).to_have_text(
            "<b>Apple</b>"
        )  # escaped: shown as text, not markup

        upload("fixed.csv", FIXED)  # 7 lines: a background job with a progress bar
        expect(page.locator("#progress")).to_be_visible()
        expect(page.locator("#preview-summary")).to_contain_text("6 to create")
        expect(page.locator("#rejected-table")).to_have_count(0)
        page.click("#apply-button")
        expect(page.locator("#applied")).to_have_text("Applied as version 1.")
        expect(page.locator("#versions-table tr.current")).to_have_attribute("data-version", "1")

        upload("change.csv", CHANGE)
        expect(page.locator("#updates-table")).to_contain_text("on_hand: 7 → 99")
        page.click("#apply-button")
        expect(page.locator("#versions-table tr.current")).to_have_attribute("data-version", "2")

        page.click("#versions-table button[data-action=rollback][data-version='1']")
        current = page.locator("#versions-table tr.current")
        expect(current).to_have_attribute("data-version", "3")
        expect(current).to_contain_text("rollback to version 1")
        expect(page.locator("#audit-table")).to_contain_text("rollback")
        browser.close()
    store = Store(url)
    frame, version = store.catalog("M01")
    store.close()
    assert version == 3 and frame.set_index("sku_id").loc["A001", "on_hand"] == 7
