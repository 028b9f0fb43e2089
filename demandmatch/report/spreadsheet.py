"""Output tables as files a spreadsheet opens cleanly: CSV text and an XLSX workbook.

Whole numbers are written as integers and fractions with at most four decimals (2, 2.5, not
2.0000); timestamps in the configured time zone as local "YYYY-MM-DD HH:MM" (the contract's
naive, platform-local form); every text cell goes through the catalog's formula guard
(`safe_cell`: a leading = + - @, tab or CR gets a quote prefix), so no spreadsheet runs a
merchant's title or id as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from demandmatch.catalog.exports import safe_cell

BOM = "\ufeff"
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
# number formats of the workbook, by kind of column
XLSX_FORMATS = {
    "int": "#,##0",
    "units": "#,##0.0",
    "money": '"\u00a5"#,##0.00',
    "share": "0.0%",
    "time": "yyyy-mm-dd hh:mm",
    "text": "@",
}


def number_text(value: float) -> str:
    """A number with at most four decimals, without trailing zeros ("" for NaN)."""
    if value is None or not np.isfinite(value):
        return ""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def cell_texts(series: pd.Series, timezone: str) -> list[str]:
    """One column as the text of its CSV cells."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ["" if pd.isna(v) else str(bool(v)) for v in series]
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return local_times(series, timezone)
    if pd.api.types.is_integer_dtype(dtype):
        return ["" if pd.isna(v) else str(int(v)) for v in series]
    if pd.api.types.is_float_dtype(dtype):
        return [number_text(v) for v in series.to_numpy(dtype=float)]
    return [_object_text(v, timezone) for v in series]


def local_times(series: pd.Series, timezone: str) -> list[str]:
    s = pd.to_datetime(series, utc=True).dt.tz_convert(timezone)
    return ["" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}" for v in s]


def csv_text(frame: pd.DataFrame, timezone: str = "UTC", bom: bool = False) -> str:
    """The frame as CSV (RFC 4180: header first, CRLF line ends), columns formatted as above."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # a CR or LF in a cell gets quoted
    writer.writerow([safe_cell(c) for c in frame.columns])
    columns = [cell_texts(frame[c], timezone) for c in frame.columns]
    writer.writerows(zip(*columns, strict=True))
    return (BOM if bom else "") + out.getvalue()


def workbook_bytes(
    sheets: Mapping[str, pd.DataFrame], kinds: Mapping[str, str], timezone: str = "UTC"
) -> bytes:
    """An XLSX with one sheet per entry: a bold, frozen header row with a filter, numbers as
    numbers in the formats of `kinds` (column -> int, units, money, share, time, text),
    timestamps as local date-times and text never read as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for name, frame in sheets.items():
        ws = book.create_sheet(sheet_name(name, used))
        ws.append([safe_cell(c) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        columns = [_xlsx_values(frame[c], timezone) for c in frame.columns]
        for row in zip(*columns, strict=True):
            ws.append(list(row))
        for j, col in enumerate(frame.columns, start=1):
            fmt = XLSX_FORMATS.get(kinds.get(col, ""))
            letter = get_column_letter(j)
            width = max([len(str(col))] + [len(str(v)) for v in columns[j - 1][:200]])
            ws.column_dimensions[letter].width = min(60, max(8, width + 2))
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
                    if fmt == "@":
                        cell.number_format = fmt
                elif fmt is not None and cell.value is not None:
                    cell.number_format = fmt
        ws.freeze_panes = "C2" if frame.shape[1] > 2 else "A2"
        if len(frame.columns):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    if not sheets:
        book.create_sheet("plan").append(["no upcoming streams in the planning window"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique sheet name (at most 31 characters, none of []:*?/\\)."""
    base = _SHEET_BAD.sub("_", str(name)).strip("'") or "sheet"
    base = base[:31]
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def _xlsx_values(series: pd.Series, timezone: str) -> list[object]:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        s = pd.to_datetime(series, utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    if pd.api.types.is_bool_dtype(dtype):
        return [None if pd.isna(v) else bool(v) for v in series]
    if pd.api.types.is_integer_dtype(dtype):
        return [None if pd.isna(v) else int(v) for v in series]
    if pd.api.types.is_float_dtype(dtype):
        return [
            None if not np.isfinite(v) else (int(v) if float(v).is_integer() else float(v))
            for v in np.round(series.to_numpy(dtype=float), 4)  # as many decimals as the CSV
        ]
    return [_xlsx_object(v, timezone) for v in series]


def _object_text(value: object, timezone: str) -> str:
    if value is None or (
        not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)
    ):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        return number_text(float(value))
    if isinstance(value, pd.Timestamp):
        return local_times(pd.Series([value]), timezone)[0]
    return safe_cell(value)


def _xlsx_object(value: object, timezone: str) -> object:
    text = _object_text(value, timezone)
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return None if text == "" else value
    return text or None
