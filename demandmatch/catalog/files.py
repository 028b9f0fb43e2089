"""Read a merchant's upload (CSV, TSV or XLSX bytes) into a grid of text cells.

The extension must agree with the content; text is UTF-8 (with or without BOM), UTF-16 with a
BOM (Excel's "Unicode text") or GB18030/GBK (what Excel in China saves by default). A stray
quote does not abort the file: the row it breaks is reported and the rows after it are read.
Every limit (bytes, unzipped bytes of an XLSX, rows) is checked before the work it bounds.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath

from .errors import CatalogFileError
from .headers import map_header

Progress = Callable[[str, int, int], None]
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
EXTENSIONS = (*TEXT_EXTENSIONS, ".xlsx")
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # legacy .xls and other compound files
_DELIMITERS = (",", "\t", ";")


@dataclass(frozen=True)
class Limits:
    """What an upload may be. Sizes are in bytes."""

    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 200_000
    max_unzipped_bytes: int = 200 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_rows, self.max_unzipped_bytes) <= 0:
            raise ValueError("upload limits must be positive")


@dataclass
class Grid:
    """The file as text cells: a header and data rows padded to the header's width.

    `row_numbers[i]` is the row a spreadsheet shows for data row i (header = its own row
    number, usually 1); fully blank rows are skipped but still counted. `bad_rows` maps a
    data row position to what is wrong with its shape (extra cells, an unbalanced quote).
    """

    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    kind: str  # "csv", "tsv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    bad_rows: dict[int, str] = field(default_factory=dict)
    numeric_sku_rows: list[int] = field(default_factory=list)  # XLSX SKU cells holding numbers

    def describe(self) -> dict[str, object]:
        delimiter = {",": "comma", "\t": "tab", ";": "semicolon"}.get(self.delimiter or "")
        return {
            "kind": self.kind,
            "encoding": self.encoding,
            "delimiter": delimiter,
            "sheet": self.sheet,
        }


def file_kind(data: bytes, filename: str) -> str:
    """`csv`, `tsv` or `xlsx` from the extension, after checking the content agrees."""
    name = PurePath(filename or "upload").name
    suffix = PurePath(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise CatalogFileError(
            "unsupported_type",
            f"{name}: unsupported file type '{suffix or 'none'}'; upload {', '.join(EXTENSIONS)}",
        )
    if not data:
        raise CatalogFileError("empty_file", f"{name}: the file is empty (0 bytes)")
    looks = _sniff(data)
    if suffix == ".xlsx":
        if looks != "xlsx":
            raise CatalogFileError(
                "extension_mismatch",
                f"{name}: named .xlsx but the content is {_LOOKS[looks]}, not an Excel workbook",
            )
        return "xlsx"
    if looks != "text":
        raise CatalogFileError(
            "extension_mismatch",
            f"{name}: named {suffix} but the content is {_LOOKS[looks]}; "
            + ("rename it to .xlsx" if looks == "xlsx" else "save the sheet as .xlsx or CSV"),
        )
    return "tsv" if suffix == ".tsv" else "csv"


_LOOKS = {
    "xlsx": "an XLSX workbook",
    "zip": "a zip archive",
    "ole": "a legacy Office file (.xls); save it as .xlsx",
    "binary": "binary data",
    "text": "text",
}


def _sniff(data: bytes) -> str:
    if data.startswith(_ZIP):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "zip"
        return "xlsx" if "xl/workbook.xml" in names else "zip"
    if data.startswith(_OLE):
        return "ole"
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    return "binary" if b"\x00" in head else "text"


def read_grid(
    data: bytes,
    filename: str,
    limits: Limits = Limits(),
    sheet: str | None = None,
    progress: Progress | None = None,
) -> Grid:
    """Check the upload against the limits and read it as a grid of text cells."""
    name = PurePath(filename or "upload").name
    if len(data) > limits.max_bytes:
        raise CatalogFileError(
            "file_too_large",
            f"{name}: {len(data):,} bytes is over the limit of {limits.max_bytes:,} bytes",
        )
    kind = file_kind(data, name)
    if progress is not None:
        progress("reading", 0, 1)
    if kind == "xlsx":
        from .workbook import read_xlsx

        return read_xlsx(data, name, limits, sheet, progress)
    text, encoding = decode(data, name)
    return _read_text(text, name, kind, encoding, limits, progress)


def decode(data: bytes, file: str) -> tuple[str, str]:
    """The text of the file and the encoding it was read in."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", file), "utf-16"
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", file), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        offset = err.start
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise CatalogFileError(
            "bad_encoding",
            f"{file}: not UTF-8 (bad byte at offset {offset}) nor GB18030/GBK text; "
            "save it as 'CSV UTF-8'",
        ) from None


def _strict(data: bytes, encoding: str, file: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise CatalogFileError(
            "bad_encoding",
            f"{file}: starts with a {encoding.upper()} byte-order mark but has a bad byte at "
            f"offset {err.start}",
        ) from None


def _read_text(
    text: str, file: str, kind: str, encoding: str, limits: Limits, progress: Progress | None
) -> Grid:
    lines = io.StringIO(text, newline="")
    first = lines.readline()
    lines.seek(0)
    delimiter = "\t" if kind == "tsv" else _delimiter(first)
    estimate = max(text.count("\n"), 1)
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed(), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    header_row = 0
    grid = Grid([], [], [], kind, encoding, delimiter)
    number = 0
    for record in reader:
        source = consumed[:]
        consumed.clear()
        width = len(header) if header is not None else len(record)
        if len(source) > 1 and header is not None and _broken(record, source, width, delimiter):
            pieces = [(_one_line(line, delimiter), line) for line in source]
        else:
            pieces = [(record, "".join(source))]
        for cells, line in pieces:
            number += 1
            if not "".join(cells).strip():
                continue
            if header is None:
                header, header_row = cells, number
                continue
            _add_row(grid, cells, number, len(header), file, limits)
            if len(pieces) > 1 and _opens_quote(line, delimiter):
                grid.bad_rows[len(grid.rows) - 1] = 'unbalanced quote (") in this row'
            if progress is not None and len(grid.rows) % 20_000 == 0:
                progress("reading", len(grid.rows), estimate)
    return _finish(grid, header, header_row, file)


def _broken(record: list[str], lines: list[str], width: int, delimiter: str) -> bool:
    """Whether a record spanning several lines is a quote left open rather than a cell with
    line breaks: its cell count is wrong, or a later line is a whole row on its own."""
    if len(record) != width:
        return True
    for line in lines[1:]:
        if len(_one_line(line, delimiter)) == width and not _opens_quote(line, delimiter):
            return True
    return False


def _opens_quote(line: str, delimiter: str) -> bool:
    """Whether a line, read alone, ends inside a quoted cell (a quote opens a cell only at
    its start, as in CSV; a quote inside a cell is a plain character)."""
    quoted, start, i, text = False, True, 0, line.rstrip("\r\n")
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1 : i + 2] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == delimiter:
            start = True
            i += 1
            continue
        elif ch == '"' and start:
            quoted = True
        start = False
        i += 1
    return quoted


def _one_line(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter, strict=False), [])


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _add_row(grid: Grid, cells: list[str], number: int, width: int, file: str, limits: Limits):
    if len(grid.rows) >= limits.max_rows:
        raise CatalogFileError(
            "too_many_rows", f"{file}: more than {limits.max_rows:,} data rows (the limit)"
        )
    if len(cells) > width:
        extra = cells[width:]
        cells = cells[:width]
        if any(c.strip() for c in extra):
            grid.bad_rows[len(grid.rows)] = (
                f"the row has {width + len(extra)} cells but the header has {width}"
            )
    elif len(cells) < width:
        cells = cells + [""] * (width - len(cells))
    grid.rows.append(cells)
    grid.row_numbers.append(number)


def _finish(grid: Grid, header: list[str] | None, header_row: int, file: str) -> Grid:
    if header is None:
        raise CatalogFileError("no_header", f"{file}: no header row (the file has no cells)")
    grid.header = [h.strip() for h in header]
    if not grid.rows:
        raise CatalogFileError(
            "no_rows", f"{file}: a header (row {header_row}) but no data rows below it"
        )
    return grid


def cell_text(value: object) -> str:
    """A spreadsheet cell's value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def add_row(grid: Grid, cells: list[str], number: int, file: str, limits: Limits) -> None:
    """Append one data row to a grid whose header is set (shared with the XLSX reader)."""
    _add_row(grid, cells, number, len(grid.header), file, limits)


def header_sku_column(header: list[str], file: str) -> int | None:
    """Position of the SKU column in a header row, if the header names one."""
    return map_header([str(h) for h in header], file).columns.get("sku_id")
