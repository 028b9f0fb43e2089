"""Load a data directory into typed tables and enforce the data contract; write a table back.

Every file is read as text first so that a bad cell can be reported where it is (see `parse`);
the rules across tables follow (see `validate`). Nothing is written by loading.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .parse import typed_frame
from .plausible import DataWarning, Limits
from .schema import TABLES, TableSpec
from .tables import ContractError, Tables
from .validate import check_references

# the file types a table may come in; a table file of another type is reported, not read
READABLE = (".csv", ".tsv", ".parquet", ".xlsx")
_READABLE_TEXT = ".csv, .tsv, .parquet or .xlsx"
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

DEFAULT_LIMITS = Limits()

# reads the first sheet of an .xlsx file as a headerless grid of text cells (header first),
# raising ContractError for a file it cannot read
SheetReader = Callable[[Path, str], pd.DataFrame]
STORE_SOURCE = "the catalog store"  # where a catalog from --store is said to come from


@dataclass(frozen=True)
class StoredCatalog:
    """Merchants' current catalogs from the catalog store: `rows` in the contract's catalog
    columns and dtypes, `versions` each merchant's current version (0: nothing imported)."""

    rows: pd.DataFrame
    versions: Mapping[str, int]

    @property
    def merchants(self) -> set[str]:
        return {m for m, v in self.versions.items() if v > 0}


def load_tables(
    data_dir: Path | str,
    timezone: str = "Asia/Shanghai",
    limits: Limits | None = DEFAULT_LIMITS,
    read_sheet: SheetReader | None = None,
    stored: StoredCatalog | None = None,
) -> Tables:
    """Load and validate every table of a data directory, then the rules across tables.

    Required tables must be present as `<table>.csv`, `.tsv`, `.parquet` or `.xlsx` (the first
    sheet); absent optional tables become empty frames with the contract's columns. Other files
    are ignored; a table file of a type the loader does not read is reported. Cells beyond
    `limits` are errors (None: no plausibility bounds). An .xlsx table is read by `read_sheet`
    (demandmatch.sheets.read_sheet, the catalog import's safe reader, which the runs pass);
    without one it is an error that says so. What the load could go on with but a person should
    know (a column named in another case, a semicolon-separated file, a file not read) is in the
    returned tables' `warnings`.

    With `stored`, each merchant that has a version in the catalog store takes its catalog
    from there; the catalog file, which may then be absent, gives the rows of the others.
    """
    notes: list[DataWarning] = []
    files, unread = _table_files(_directory(data_dir), notes)
    for name, spec in TABLES.items():
        if spec.required and name not in files and not (name == "catalog" and stored):
            found = (
                f"; found {', '.join(unread[name])}, which is not read" if unread.get(name) else ""
            )
            raise ContractError(
                name,
                f"required table is missing: expected {name}.csv or {name}.parquet "
                f"(or .tsv, .xlsx) in the data directory{found}",
            )
    frames = {
        name: load_table(files[name], name, timezone, limits, notes, read_sheet)
        if name in files
        else _empty(name)
        for name in TABLES
    }
    names = {name: path.name for name, path in files.items()}
    if stored is not None:
        frames["catalog"] = _with_stored(frames["catalog"], stored)
        names["catalog"] = STORE_SOURCE + (f" and {names['catalog']}" if "catalog" in names else "")
    tables = Tables(**frames, warnings=tuple(notes))
    # each file's keys were checked as it loaded; the store's keys by the store
    check_references(tables, names, keys=False)
    return tables


def _with_stored(from_file: pd.DataFrame, stored: StoredCatalog) -> pd.DataFrame:
    """The file's rows of merchants the store has no version of, then the store's rows."""
    kept = from_file[~from_file["merchant_id"].isin(stored.merchants)]
    rows = stored.rows.reindex(columns=from_file.columns)
    for name, dtype in from_file.dtypes.items():
        rows[name] = rows[name].astype(dtype)
    return pd.concat([kept, rows], ignore_index=True)


def load_table(
    path: Path | str,
    table: str,
    timezone: str = "Asia/Shanghai",
    limits: Limits | None = DEFAULT_LIMITS,
    warnings: list[DataWarning] | None = None,
    read_sheet: SheetReader | None = None,
) -> pd.DataFrame:
    """Read one file (CSV, TSV, Parquet, or XLSX through `read_sheet`) as a typed table.

    Contract columns come first in the contract's order, with the dtypes documented on
    `Tables`; extra columns follow as read and are otherwise ignored. A column whose name
    differs from the contract's only in case or spaces is read as the contract's column, and a
    CSV separated by semicolons, tabs or pipes is read as such, each with a note appended to
    `warnings`. Naive timestamps are local time in `timezone`; all timestamps are returned in
    UTC.
    """
    spec = _spec(table)
    _check_timezone(timezone)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{table}: file not found: {path}")
    notes = [] if warnings is None else warnings
    raw = _read_raw(path, table, notes, read_sheet)
    raw.columns = _contract_names([str(c) for c in raw.columns], spec, path.name, notes)
    frame = typed_frame(raw, spec, path.name, timezone, limits)
    if spec.required and frame.empty:
        raise ContractError(table, "has a header but no data rows", file=path.name)
    return frame


def data_hash(data_dir: Path | str) -> str:
    """SHA-256 over the contract files of a directory: sorted names, then sizes and bytes.

    Only table files of a readable type count, so unrelated files in the directory do not
    change the hash of the input a run saw.
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


def _table_of(path: Path) -> str | None:
    """The table a file is named after (case aside), or None."""
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    return stem if stem in TABLES else (stem.lower() if stem.lower() in TABLES else None)


def _contract_paths(directory: Path) -> list[Path]:
    return [
        p
        for p in directory.iterdir()
        if _table_of(p) and p.suffix.lower() in READABLE and p.is_file()
    ]


def _table_files(
    directory: Path, notes: list[DataWarning]
) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """Each table present and its file; and, per table, the files named after it that are of
    a type the loader does not read. Two readable files for one table are an error."""
    files: dict[str, Path] = {}
    unread: dict[str, list[str]] = {}
    for path in sorted(directory.iterdir()):
        table = _table_of(path)
        if table is None or not path.is_file():
            continue
        if path.suffix.lower() not in READABLE:
            unread.setdefault(table, []).append(path.name)
            continue
        if table in files:
            raise ContractError(
                table,
                f"both {files[table].name} and {path.name} are present; keep only one",
                file=path.name,
            )
        files[table] = path
        if not path.name.startswith(f"{table}."):
            notes.append(
                DataWarning("file_renamed", f"{path.name} read as the {table} table", path.name)
            )
    for table, names in unread.items():
        for name in names:
            if table in files:
                what = f"{files[table].name} is read instead"
            elif TABLES[table].required:
                continue  # the missing-table error names it
            else:
                what = f"the optional {table} table is taken as absent"
            notes.append(
                DataWarning(
                    "file_not_read",
                    f"{name} is not read (the loader reads {_READABLE_TEXT}); {what}",
                    name,
                )
            )
    return files, unread


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


def _read_raw(
    path: Path, table: str, notes: list[DataWarning], read_sheet: SheetReader | None
) -> pd.DataFrame:
    """The file's cells with a clean header: text for CSV and XLSX, native for Parquet."""
    file = path.name
    if path.stat().st_size == 0:
        raise ContractError(table, "file is empty (0 bytes); expected a header row", file=file)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return _from_grid(_read_csv_grid(path, table, notes), table, file)
    if suffix == ".parquet":
        return _read_parquet(path, table)
    if suffix == ".xlsx":
        if read_sheet is None:
            raise ContractError(
                table, "an .xlsx table needs a sheet reader (demandmatch.sheets)", file=file
            )
        return _from_grid(read_sheet(path, table), table, file)
    raise ContractError(table, f"unsupported file type; use {_READABLE_TEXT}", file=file)


def _delimiter(path: Path, table: str, notes: list[DataWarning]) -> str:
    """The header line's separator: a tab for .tsv, else the most frequent of comma,
    semicolon, tab and pipe (a comma when none), noted when it is not a comma."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with path.open("rb") as handle:
        first = handle.readline(1 << 16).decode("utf-8-sig", errors="replace")
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if best == "," or counts[best] <= counts[","]:
        return ","
    notes.append(
        DataWarning(
            "delimiter",
            f"{path.name} is {_DELIMITERS[best]}-separated, not comma-separated; read it as such",
            path.name,
        )
    )
    return best


def _read_csv_grid(path: Path, table: str, notes: list[DataWarning]) -> pd.DataFrame:
    file = path.name
    try:
        return pd.read_csv(
            path,
            sep=_delimiter(path, table, notes),
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


def _loose(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().lower()).strip("_")


def _contract_names(
    names: list[str], spec: TableSpec, file: str, notes: list[DataWarning]
) -> list[str]:
    """The header with each column that differs from a contract column only in case or
    spaces (`Salvage_Value`, `salvage value`) renamed to it, with a note; a near name beside
    the exact one is left as an extra column, also noted."""
    contract = {_loose(c): c for c in spec.column_names}
    out = list(names)
    for i, name in enumerate(names):
        target = contract.get(_loose(name))
        if target is None or name == target:
            continue
        if target in out:
            what = f"ignored: '{target}' is also there and is read"
        else:
            out[i] = target
            what = f"read as '{target}' (the contract's name differs only in case or spaces)"
        notes.append(DataWarning("column_renamed", f"{file}: column '{name}' {what}", file, target))
    return out


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
