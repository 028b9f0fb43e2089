"""Output cells a spreadsheet opens cleanly: whole numbers as integers, local times, no cell run
as a formula, in CSV and in the workbook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from demandmatch.report.spreadsheet import csv_text, number_text, sheet_name, workbook_bytes

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
DANGEROUS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.0, "2"),
        (2.5, "2.5"),
        (1 / 3, "0.3333"),
        (-0.00001, "0"),
        (1234567.0, "1234567"),
        (0.10000000001, "0.1"),
        (float("nan"), ""),
    ],
)
def test_numbers_lose_trailing_zeros(value, text):
    assert number_text(value) == text


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_number_text_reads_back_within_half_a_ten_thousandth(x):
    text = number_text(x)
    assert not text.endswith((".", "0")) or "." not in text
    assert abs(float(text) - x) <= 5e-5 + 1e-12 * abs(x)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def test_csv_cells():
    frame = pd.DataFrame(
        {
            "sku_id": ["=1+1", "-5", "plain"],
            "order_qty": np.array([2, 0, 12], dtype=np.int64),
            "stock": [2.0, 3.0, np.nan],
            "fill_rate": [0.5, 1.0, 0.33333333],
            "cold": [True, False, True],
            "start": pd.to_datetime(["2025-06-01 12:00", "2025-06-01 16:30", None], utc=True),
        }
    )
    rows = _rows(csv_text(frame, "Asia/Shanghai"))
    assert rows[0] == list(frame.columns)
    assert rows[1] == ["'=1+1", "2", "2", "0.5", "True", "2025-06-01 20:00"]
    assert rows[2] == ["-5", "0", "3", "1", "False", "2025-06-02 00:30"]  # -5 is a number
    assert rows[3] == ["plain", "12", "", "0.3333", "True", ""]
    assert csv_text(frame, bom=True).startswith("\ufeffsku_id,")


@pytest.mark.parametrize("text", DANGEROUS)
def test_no_csv_cell_starts_a_formula(text):
    frame = pd.DataFrame({"title": [text], "mixed": pd.Series([text], dtype=object)})
    header_and_row = _rows(csv_text(frame))
    cell = header_and_row[1][0]
    assert cell == "'" + text
    assert header_and_row[1][1] == cell


@given(st.text(min_size=1, max_size=12))
def test_any_text_is_kept_and_never_a_formula(text):
    frame = pd.DataFrame({"title": pd.Series([text], dtype=object)})
    cell = _rows(csv_text(frame))[1][0]
    assert cell in (text, "'" + text)
    if text[0] in "=+-@\t\r" and not PLAIN_NUMBER.fullmatch(text):
        assert cell == "'" + text
    elif not text.startswith("'"):
        assert cell == text


def test_workbook_sheets_formats_and_text(tmp_path):
    frame = pd.DataFrame(
        {
            "merchant_id": ["M1", "M1"],
            "sku_id": ['=HYPERLINK("http://x")', "A-1"],
            "order_qty": np.array([12, 0], dtype=np.int64),
            "spend": [360.0, 0.0],
            "fill_rate": [0.875, 1.0],
            "expected_demand": [14.25, 2.0],
            "first_stream": pd.to_datetime(["2025-06-01 12:00", "2025-06-02 00:00"], utc=True),
        }
    )
    kinds = {
        "sku_id": "text",
        "order_qty": "int",
        "spend": "money",
        "fill_rate": "share",
        "expected_demand": "units",
        "first_stream": "time",
    }
    data = workbook_bytes({"M1": frame, "M[2]": frame.iloc[:1]}, kinds, "Asia/Shanghai")
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["M1", "M_2_"]
    ws = book["M1"]
    assert ws.freeze_panes == "C2"
    assert [c.value for c in ws[1]] == list(frame.columns)
    assert ws.auto_filter.ref == "A1:G3"
    sku = ws["B2"]
    assert sku.data_type == "s" and sku.value == '\'=HYPERLINK("http://x")'
    assert sku.number_format == "@"
    assert ws["C2"].value == 12 and isinstance(ws["C2"].value, int)
    assert ws["C2"].number_format == "#,##0"
    assert ws["D2"].value == 360 and "\u00a5" in ws["D2"].number_format
    assert ws["E2"].value == 0.875 and ws["E2"].number_format == "0.0%"
    assert ws["F3"].value == 2 and ws["F3"].number_format == "#,##0.0"
    assert ws["G2"].value == dt.datetime(2025, 6, 1, 20, 0)  # local time, no offset
    assert ws["G2"].number_format == "yyyy-mm-dd hh:mm"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_sheet_names_are_valid_and_unique():
    used: set[str] = set()
    names = [sheet_name(n, used) for n in ["a/b", "A/B", "x" * 40, "x" * 40, "'q'"]]
    assert names[0] == "a_b" and names[1] == "A_B (2)"
    assert len(names[2]) == 31 and names[3].endswith("(2)") and len(names[3]) == 31
    assert names[4] == "q"
