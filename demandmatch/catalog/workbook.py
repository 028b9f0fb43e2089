"""Read the first (or a named) sheet of an XLSX upload, safely.

The zip's unpacked size is checked before anything is parsed (a zip bomb is refused), and the
XML is parsed through defusedxml (entity expansion and external entities are refused).
"""

from __future__ import annotations

import io
import zipfile

from .errors import CatalogFileError
from .files import Grid, Limits, Progress, add_row, cell_text, header_sku_column

_MAX_RATIO = 200  # a member that unpacks to more than 200x its packed size is a bomb


def read_xlsx(
    data: bytes, file: str, limits: Limits, sheet: str | None, progress: Progress | None
) -> Grid:
    _check_zip(data, file, limits)
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise CatalogFileError(
            "bad_workbook", f"{file}: reading XLSX needs the defusedxml package installed"
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl and defusedxml raise many types for a bad workbook
        raise CatalogFileError("bad_workbook", f"{file}: not a readable workbook ({err})") from err
    try:
        return _read_sheet(book, file, limits, sheet, progress)
    except CatalogFileError:
        raise
    except Exception as err:
        raise CatalogFileError("bad_workbook", f"{file}: not a readable sheet ({err})") from err
    finally:
        book.close()


def sheet_names(data: bytes, file: str = "upload.xlsx") -> list[str]:
    """The workbook's sheet names, in order."""
    _check_zip(data, file, Limits())
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except Exception as err:
        raise CatalogFileError("bad_workbook", f"{file}: not a readable workbook ({err})") from err
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _check_zip(data: bytes, file: str, limits: Limits) -> None:
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise CatalogFileError("bad_workbook", f"{file}: not a readable workbook ({err})") from err
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise CatalogFileError(
            "unzipped_too_large",
            f"{file}: unpacks to {total:,} bytes, over the limit of "
            f"{limits.max_unzipped_bytes:,} bytes",
        )
    for m in members:
        if m.file_size > 1_000_000 and m.file_size > _MAX_RATIO * max(m.compress_size, 1):
            raise CatalogFileError(
                "unzipped_too_large",
                f"{file}: member {m.filename} unpacks {m.file_size // max(m.compress_size, 1)}x "
                "its packed size; refused as a zip bomb",
            )


def _read_sheet(book, file: str, limits: Limits, sheet: str | None, progress) -> Grid:
    if sheet:
        if sheet not in book.sheetnames:
            names = ", ".join(repr(s) for s in book.sheetnames)
            raise CatalogFileError(
                "sheet_not_found", f"{file}: no sheet named {sheet!r}; the sheets are {names}"
            )
        ws = book[sheet]
    else:
        ws = book.worksheets[0]
    name = ws.title
    estimate = ws.max_row or 0
    ws.reset_dimensions()  # a wrong <dimension> tag must not cut rows or columns
    grid = Grid([], [], [], "xlsx", sheet=name)
    sku_at: int | None = None
    header_row = 0
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [cell_text(v) for v in values]
        if not any(c.strip() for c in cells):
            continue
        if not grid.header:
            grid.header = [c.strip() for c in cells]
            header_row = number
            sku_at = header_sku_column(grid.header, file)
            continue
        add_row(grid, cells, number, file, limits)
        if sku_at is not None and sku_at < len(values):
            v = values[sku_at]
            if isinstance(v, int | float) and not isinstance(v, bool):
                grid.numeric_sku_rows.append(len(grid.rows) - 1)
        if progress is not None and len(grid.rows) % 20_000 == 0:
            progress("reading", len(grid.rows), estimate)
    if not grid.header:
        raise CatalogFileError("no_header", f"{file}: sheet {name!r} is empty; no header row")
    if not grid.rows:
        raise CatalogFileError(
            "no_rows", f"{file}: sheet {name!r} has a header (row {header_row}) but no data rows"
        )
    return grid
