"""Load a data directory into typed tables and enforce the data contract; write a table back.

Every file is read as text first so that a bad cell can be reported where it is (see `parse`);
the rules across tables follow (see `validate`). Nothing is written by loading.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd

from .parse import typed_frame
from .schema import TABLES, TableSpec
from .tables import ContractError, Tables
from .validate import check_references

_FORMATS = (".csv", ".parquet")

_EXCEL = {".xlsx": "openpyxl", ".xlsm": "openpyxl", ".xls": "xlrd"}


def load_tables(data_dir: Path | str, timezone: str = "Asia/Shanghai") -> Tables:
    """Load and validate every table of a data directory, then the rules across tables.

    Required tables must be present as `<table>.csv` or `<table>.parquet`; absent optional
    tables become empty frames with the contract's columns. Other files are ignored.
    """
    files = _table_files(_directory(data_dir))
    for name, spec in TABLES.items():
        if spec.required and name not in files:
            raise ContractError(
                name,
                f"required table is missing: expected {name}.csv or {name}.parquet "
                "in the data directory",
            )
    frames = {
        name: load_table(files[name], name, timezone) if name in files else _empty(name)
        for name in TABLES
    }
    tables = Tables(**frames)
    # each file's keys were checked as it loaded
    check_references(tables, {name: path.name for name, path in files.items()}, keys=False)
    return tables


def load_table(path: Path | str, table: str, timezone: str = "Asia/Shanghai") -> pd.DataFrame:
    """Read one file (CSV, Parquet, or Excel when its reader is installed) as a typed table.

    Contract columns come first in the contract's order, with the dtypes documented on
    `Tables`; extra columns follow as read and are otherwise ignored. Naive timestamps are
    local time in `timezone`; all timestamps are returned in UTC.
    """
    spec = _spec(table)
    _check_timezone(timezone)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{table}: file not found: {path}")
    raw = _read_raw(path, table)
    frame = typed_frame(raw, spec, path.name, timezone)
    if spec.required and frame.empty:
        raise ContractError(table, "has a header but no data rows", file=path.name)
    return frame


def data_hash(data_dir: Path | str) -> str:
    """SHA-256 over the contract files of a directory: sorted names, then sizes and bytes.

    Only `<table>.csv` / `<table>.parquet` files count, so unrelated files in the directory
    do not change the hash of the input a run saw.
    """
    directory = _directory(data_dir)
    digest = hashlib.sha256()
    for path in sorted(_contract_paths(directory), key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def write_table(df: pd.DataFrame, path: Path | str) -> None:
    """Write a table as UTF-8 CSV that `load_table` reads back to the same values.

    Booleans become true/false, timestamps ISO 8601 (tz-aware ones in UTC with a `Z`), blank
    cells empty, and float columns holding only whole numbers are written without `.0`.
    Leading and trailing spaces in strings do not survive, since the loader strips them.
    """
    out = pd.DataFrame({i: _csv_column(df.iloc[:, i]) for i in range(df.shape[1])})
    out.columns = [str(c) for c in df.columns]
    out.to_csv(Path(path), index=False, lineterminator="\n", encoding="utf-8")


# --- files -----------------------------------------------------------------------------------


def _directory(data_dir: Path | str) -> Path:
    directory = Path(data_dir)
    if not directory.exists():
        raise FileNotFoundError(f"data directory not found: {directory}")
    if not directory.is_dir():
        raise NotADirectoryError(f"not a data directory: {directory}")
    return directory


def _contract_paths(directory: Path) -> list[Path]:
    names = {f"{table}{suffix}" for table in TABLES for suffix in _FORMATS}
    return [p for p in directory.iterdir() if p.name in names and p.is_file()]


def _table_files(directory: Path) -> dict[str, Path]:
    """Map each table present to its file; a table given both as CSV and Parquet is an error."""
    files: dict[str, Path] = {}
    for path in sorted(_contract_paths(directory)):
        table = path.name.rsplit(".", 1)[0]
        if table in files:
            raise ContractError(
                table,
                f"both {table}.csv and {table}.parquet are present; keep only one",
                file=path.name,
            )
        files[table] = path
    return files


def _empty(table: str) -> pd.DataFrame:
    """An absent optional table: no rows, the contract's columns, the documented dtypes."""
    spec = TABLES[table]
    raw = pd.DataFrame({name: pd.Series(dtype=object) for name in spec.column_names})
    return typed_frame(raw, spec, f"{table}.csv", "UTC")


def _spec(table: str) -> TableSpec:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    return TABLES[table]


def _check_timezone(timezone: str) -> None:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown timezone {timezone!r}") from err


def _read_raw(path: Path, table: str) -> pd.DataFrame:
    """The file's cells with a clean header: text for CSV and Excel, native for Parquet."""
    file = path.name
    if path.stat().st_size == 0:
        raise ContractError(table, "file is empty (0 bytes); expected a header row", file=file)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _from_grid(_read_csv_grid(path, table), table, file)
    if suffix == ".parquet":
        return _read_parquet(path, table)
    if suffix in _EXCEL:
        return _from_grid(_read_excel_grid(path, table, _EXCEL[suffix]), table, file)
    raise ContractError(table, "unsupported file type; use .csv, .parquet or .xlsx", file=file)


def _read_csv_grid(path: Path, table: str) -> pd.DataFrame:
    file = path.name
    try:
        return pd.read_csv(
            path,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError as err:
        raise ContractError(table, "file has no header row", file=file) from err
    except UnicodeDecodeError as err:
        raise ContractError(
            table,
            f"is not UTF-8 text (bad byte at offset {err.start}); save it as UTF-8 CSV",
            file=file,
        ) from err
    except pd.errors.ParserError as err:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if found is None:
            raise ContractError(table, f"malformed CSV: {err}", file=file) from err
        expected, line, saw = (int(g) for g in found.groups())
        raise ContractError(
            table,
            f"malformed CSV: expected {expected} fields, found {saw}",
            row=line - 1,
            file=file,
        ) from err


def _read_excel_grid(path: Path, table: str, engine: str) -> pd.DataFrame:
    if importlib.util.find_spec(engine) is None:
        raise ContractError(
            table,
            f"reading {path.suffix} files needs the optional package {engine} "
            f"(pip install {engine}); or save the sheet as CSV",
            file=path.name,
        )
    try:
        grid = pd.read_excel(path, header=None, dtype=str, na_filter=False, engine=engine)
    except Exception as err:  # the readers raise many types for a corrupt workbook
        raise ContractError(table, f"not a readable workbook: {err}", file=path.name) from err
    if grid.shape[1] == 0:
        raise ContractError(table, "sheet is empty; expected a header row", file=path.name)
    return grid


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise ContractError(table, f"not a readable Parquet file: {err}", file=path.name) from err
    names = [str(c).strip() for c in frame.columns]
    _check_header(names, table, path.name)
    frame.columns = names
    return frame.reset_index(drop=True)


def _from_grid(grid: pd.DataFrame, table: str, file: str) -> pd.DataFrame:
    """Split a headerless text grid into header and data; drop blank lines at the end only.

    Blank lines in the middle are kept as rows (and fail the checks), so row numbers always
    match the file.
    """
    names = [_cell(name) or f"unnamed_{i + 1}" for i, name in enumerate(grid.iloc[0])]
    _check_header(names, table, file)
    data = grid.iloc[1:].reset_index(drop=True)
    data.columns = names
    end = len(data)
    while end > 0 and not any(_cell(cell) for cell in data.iloc[end - 1]):
        end -= 1
    return data.iloc[:end]


def _cell(value: object) -> str:
    return "" if pd.isna(value) else str(value).strip()  # type: ignore[arg-type]


def _check_header(names: list[str], table: str, file: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ContractError(table, "appears twice in the header", column=name, file=file)
        seen.add(name)


# --- writing ---------------------------------------------------------------------------------


def _csv_column(s: pd.Series) -> pd.Series:
    """One column as the text the loader expects."""
    if pd.api.types.is_bool_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
        return pd.Series(np.where(s.to_numpy(dtype=bool), "true", "false"), index=s.index)
    if pd.api.types.is_datetime64_any_dtype(s):
        return _iso_column(s)
    if pd.api.types.is_float_dtype(s):
        known = s.dropna().to_numpy()
        if (np.floor(known) == known).all() and (np.abs(known) < 2.0**53).all():
            return s.astype("Int64")
    return s


def _iso_column(s: pd.Series) -> pd.Series:
    aware = s.dt.tz is not None
    if aware:
        s = s.dt.tz_convert("UTC")
    known = s.dropna()
    fraction = ".%f" if (known.dt.microsecond != 0).any() else ""
    text = s.dt.strftime(f"%Y-%m-%dT%H:%M:%S{fraction}{'Z' if aware else ''}")
    return text.fillna("")
