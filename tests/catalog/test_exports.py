"""Exports are safe from formula injection and import back unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demandmatch.catalog import plan_import
from demandmatch.catalog.exports import (
    export_catalog,
    rejected_csv,
    safe_cell,
    template,
)
from demandmatch.catalog.files import read_grid

from .helpers import stored


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1+2", "'+1+2"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),  # a plain number is not a formula
        ("+3.5e2", "+3.5e2"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (None, ""),
    ],
)
def test_safe_cell(value, safe):
    assert safe_cell(value) == safe


def _cells(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_export_quotes_dangerous_text():
    catalog = stored(
        {"sku_id": "=1+1", "title": "@cmd", "category": "-x", "list_price": 2.0, "unit_cost": 1.0}
    )
    catalog.insert(0, "merchant_id", "M01")
    rows = _cells(export_catalog(catalog, "csv"))
    assert rows[1][:5] == ["M01", "'=1+1", "'@cmd", "'-x", ""]
    assert rows[1][5:8] == ["2", "1", "0"]


def test_xlsx_export_writes_no_formulas():
    from openpyxl import load_workbook

    catalog = stored(
        {"sku_id": "007", "title": "=cmd()", "category": "c", "list_price": 2.5, "unit_cost": 1.0}
    )
    catalog.insert(0, "merchant_id", "M01")
    book = load_workbook(io.BytesIO(export_catalog(catalog, "xlsx")))
    ws = book.active
    row = [c for c in ws[2]]
    assert [c.data_type for c in row[:4]] == ["s", "s", "s", "s"]
    assert [c.value for c in row[:4]] == ["M01", "007", "'=cmd()", "c"]
    assert row[5].value == 2.5


def test_templates_read_back_as_the_catalog_columns():
    grid = read_grid(template("csv") + b"00123,x,c,,1,1\r\n", "t.csv")
    assert grid.encoding == "utf-8-sig"
    assert grid.header[:3] == ["sku_id", "title", "category"]
    assert grid.rows[0][0] == "00123"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template("xlsx")))
    assert book.sheetnames == ["catalog", "columns"]
    assert book["catalog"].column_dimensions["A"].number_format == "@"  # SKU typed later stays text


def test_rejected_rows_download_fixes_and_reimports():
    text = "sku_id,title,category,list_price,unit_cost\nA,=evil,c,abc,1\nB,ok,c,2,1\n"
    p = plan_import(text.encode(), "c.csv", "M01", stored())
    data = rejected_csv(p.header, p.rejected)
    rows = _cells(data)
    assert rows[0] == ["sku_id", "title", "category", "list_price", "unit_cost", "_errors"]
    assert rows[1][:5] == ["A", "'=evil", "c", "abc", "1"]
    assert "list_price: must be a number, found 'abc'" in rows[1][5]
    fixed = data.replace(b"abc", b"3")
    again = plan_import(fixed, "fixed.csv", "M01", stored())
    assert again.errors == [] and again.ignored == []
    assert again.writes.iloc[0]["title"] == "=evil"


text_cell = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(text_cell, text_cell, st.integers(0, 10**6)),
        min_size=1,
        max_size=8,
        unique_by=lambda r: r[0].casefold(),
    )
)
def test_export_then_import_changes_nothing(rows):
    catalog = stored(
        *[
            {
                "sku_id": sku,
                "title": title,
                "category": "c",
                "list_price": 9.5,
                "unit_cost": 3.0,
                "on_hand": n,
            }
            for sku, title, n in rows
        ]
    )
    catalog.insert(0, "merchant_id", "M01")
    for fmt in ("csv", "xlsx"):
        p = plan_import(export_catalog(catalog, fmt), f"e.{fmt}", "M01", catalog)
        assert p.errors == [], (fmt, p.errors[:3])
        assert p.counts()["unchanged"] == len(rows), (fmt, p.updates[:3])
