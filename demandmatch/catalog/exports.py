"""Files made from merchant text: catalog exports, templates, rejected rows to fix.

A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before them) as a formula,
so every such text cell gets a quote prefix here; plain numbers such as -5 are left as they
are. Imports strip the prefix again (cells.unescape), so an export re-imports unchanged.
CSV is written UTF-8 with a BOM, which Excel needs to show Chinese text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from demandmatch.data.schema import TABLES

from .cells import MAX_TEXT
from .headers import SYNONYMS

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
CATALOG_COLUMNS: tuple[str, ...] = tuple(TABLES["catalog"].column_names)
_INTEGER = {c.name for c in TABLES["catalog"].columns if c.kind == "integer"}


def safe_cell(value: object) -> str:
    """The cell as text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_DANGEROUS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a BOM, every cell passed through safe_cell."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def xlsx_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    sheet: str = "catalog",
    text_columns: Sequence[str] = ("merchant_id", "sku_id"),
    notes: Sequence[Sequence[str]] | None = None,
) -> bytes:
    """An XLSX of one sheet (plus an optional notes sheet); text cells are safe_cell'd and
    stored as strings, never formulas; `text_columns` are formatted as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    ws = book.active
    ws.title = sheet
    ws.append([safe_cell(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    as_text = [i for i, h in enumerate(header) if h in text_columns]
    for row in rows:
        ws.append(
            [
                v if isinstance(v, int | float) and not isinstance(v, bool) else safe_cell(v)
                for v in row
            ]
        )
    for i in as_text:
        letter = ws.cell(row=1, column=i + 1).column_letter
        ws.column_dimensions[letter].number_format = "@"  # typed later, still text
        for cell in ws[letter]:
            cell.number_format = "@"
    for r in ws.iter_rows(min_row=1):
        for cell in r:
            if cell.data_type == "f":  # openpyxl reads a leading "=" as a formula
                cell.data_type = "s"
    if notes:
        info = book.create_sheet("columns")
        for line in notes:
            info.append([safe_cell(v) for v in line])
        for cell in info[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def catalog_rows(catalog: pd.DataFrame) -> list[list[object]]:
    """Rows of a typed catalog in the contract's column order, whole numbers without .0."""
    columns = []
    for name in CATALOG_COLUMNS:
        values = catalog[name].to_numpy(dtype=object) if name in catalog else None
        if values is None:
            columns.append([""] * len(catalog))
            continue
        out = []
        for v in values:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                out.append("")
            elif name in _INTEGER or (isinstance(v, float) and v.is_integer()):
                out.append(int(v))
            else:
                out.append(v)
        columns.append(out)
    return [list(r) for r in zip(*columns, strict=True)] if len(catalog) else []


def export_catalog(catalog: pd.DataFrame, fmt: str = "csv") -> bytes:
    """A catalog as a formula-safe CSV (with BOM) or XLSX in the contract's columns."""
    rows = catalog_rows(catalog)
    if fmt == "csv":
        return csv_bytes(CATALOG_COLUMNS, rows)
    if fmt == "xlsx":
        return xlsx_bytes(CATALOG_COLUMNS, rows)
    raise ValueError(f"export format must be csv or xlsx, not {fmt!r}")


def template(fmt: str = "csv") -> bytes:
    """An empty catalog to fill in: the header (CSV with BOM), or an XLSX with the header, the
    SKU column formatted as text and a sheet describing each column."""
    header = [c for c in CATALOG_COLUMNS if c != "merchant_id"]
    if fmt == "csv":
        return csv_bytes(header, [])
    if fmt != "xlsx":
        raise ValueError(f"template format must be csv or xlsx, not {fmt!r}")
    notes = [["column", "also read as", "type", "required", "limit"]]
    for col in TABLES["catalog"].columns:
        if col.name == "merchant_id":
            continue
        also = ", ".join(n for n in SYNONYMS[col.name] if n != col.name)
        bound = "" if col.min is None else (">" if col.min_exclusive else ">=") + f" {col.min:g}"
        if col.name in MAX_TEXT:
            bound = f"at most {MAX_TEXT[col.name]} characters"
        required = "yes" if col.required else f"no (default {col.default})"
        notes.append([col.name, also, col.kind, required, bound])
    return xlsx_bytes(header, [], notes=notes)


def rejected_csv(header: Sequence[str], rejected: Sequence[dict]) -> bytes:
    """The rejected rows as the file had them, plus an `_errors` column, to fix and re-upload."""
    width = len(header)

    def rows():
        for r in rejected:
            cells = list(r["cells"])[:width] + [""] * max(0, width - len(r["cells"]))
            said = "; ".join(f"{e['column'] or 'row'}: {e['message']}" for e in r["errors"])
            yield [*cells, said]

    return csv_bytes([*header, "_errors"], rows())
