"""Load a data directory into typed tables and enforce the data contract.

Every file is read as text first so that a bad cell can be reported where it is: the file, the
1-based data row and the column, what is wrong and what was found. Checks are vectorised masks
over whole columns; only the first bad cell (row-major, columns in file order) is described.
Nothing is written by loading.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .schema import TABLES, Column, TableSpec
from .tables import ContractError, Tables

_TRUE = frozenset({"true", "1", "yes", "t"})
_FALSE = frozenset({"false", "0", "no", "f"})
_FORMATS = (".csv", ".parquet")
_EXCEL = {".xlsx": "openpyxl", ".xlsm": "openpyxl", ".xls": "xlrd"}
# A UTC offset after the time of day ("...T20:00+08:00", "... 20:00:00Z"); anchoring on the time
# keeps a bare date's "-01" from being read as an offset.
_OFFSET = r"(?i)[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
# Plain decimal text (RE2: \d is ASCII); "nan", "inf", "1,5" and "0x10" are not numbers here.
_DECIMAL = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_INT_LIMIT = 2.0**63
_SHOW = 40  # longest found value quoted in a message


@dataclass(frozen=True)
class _Issue:
    """Rows of one column (or one rule) that break the contract, and how to describe one.

    `mask[i]` marks a bad row at position i; `describe(i)` says what is wrong there and what
    was found. Describing only on demand keeps the checks vectorised.
    """

    column: str
    mask: np.ndarray
    describe: Callable[[int], str]


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
    _check_references(tables, {name: path.name for name, path in files.items()}, keys=False)
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
    frame = _typed_frame(raw, spec, path.name, timezone)
    if spec.required and frame.empty:
        raise ContractError(table, "has a header but no data rows", file=path.name)
    return frame


def validate_references(tables: Tables) -> None:
    """Check the rules across tables (ids that must exist, ordered times, returns <= sales).

    Raises the first broken rule as a ContractError naming the referencing table, row and
    column. Keys are checked for uniqueness first, since the lookups rely on them.
    """
    _check_references(tables, {})


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
    return _typed_frame(raw, spec, f"{table}.csv", "UTC")


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


# --- one table -------------------------------------------------------------------------------


def _typed_frame(raw: pd.DataFrame, spec: TableSpec, file: str, timezone: str) -> pd.DataFrame:
    """Check every cell, then the keys, and return the typed frame."""
    for col in spec.columns:
        if col.required and col.name not in raw.columns:
            header = ", ".join(map(str, raw.columns[:20]))
            raise ContractError(
                spec.name,
                f"required column is missing (header: {header})",
                column=col.name,
                file=file,
            )
    position = {name: i for i, name in enumerate(raw.columns)}
    in_file_order = sorted(spec.columns, key=lambda c: position.get(c.name, len(position)))
    values: dict[str, pd.Series] = {}
    issues: list[_Issue] = []
    for col in in_file_order:
        if col.name in raw.columns:
            source = raw[col.name].reset_index(drop=True)
        else:
            source = pd.Series([""] * len(raw), dtype=object)
        values[col.name], found = _parse_column(col, source, timezone)
        issues.extend(found)
    _raise_first(issues, spec.name, file)
    frame = pd.DataFrame({c.name: values[c.name] for c in spec.columns})
    extras = [name for name in raw.columns if name not in values]
    if extras:
        frame = pd.concat([frame, raw[extras].reset_index(drop=True)], axis=1)
    _raise_first(_key_issues(frame, spec), spec.name, file)
    return frame


def _parse_column(col: Column, source: pd.Series, timezone: str) -> tuple[pd.Series, list[_Issue]]:
    """Typed values of one column and the issues found in it (blank, type, bounds)."""
    if col.kind == "timestamp" and pd.api.types.is_datetime64_any_dtype(source):
        return _native_timestamps(col, source, timezone)
    text = _Text.of(source)
    issues = []
    if col.required:
        issues.append(_Issue(col.name, text.blank, lambda i: "required value is blank"))
    parse = {
        "string": _strings,
        "number": _numbers,
        "integer": _numbers,
        "boolean": _booleans,
        "timestamp": lambda c, t: _timestamps(c, t, timezone),
    }[col.kind]
    values, found = parse(col, text)
    return values, issues + found


@dataclass(frozen=True)
class _Text:
    """One column's cells as stripped text in Arrow (vectorised string kernels), with the
    mask of blank cells ("" or whitespace in the file, null in Parquet)."""

    cells: pa.Array
    blank: np.ndarray

    @classmethod
    def of(cls, source: pd.Series) -> _Text:
        try:
            cells = pa.array(source.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # non-text cells, e.g. Parquet numbers
            null = source.isna().to_numpy()
            text = source.astype(str).to_numpy(dtype=object)
            cells = pa.array(np.where(null, None, text), type=pa.string())
        cells = pc.utf8_trim_whitespace(pc.fill_null(cells.cast(pa.string()), ""))
        return cls(cells, np.asarray(pc.equal(cells, "")))

    def at(self, i: int) -> str:
        """The text of row position i, shortened for a message."""
        value = self.cells[i].as_py()
        return value if len(value) <= _SHOW else value[: _SHOW - 3] + "..."

    def strings(self) -> np.ndarray:
        return self.cells.to_numpy(zero_copy_only=False)

    def matches(self, pattern: str) -> np.ndarray:
        return np.asarray(pc.match_substring_regex(self.cells, pattern))


def _strings(col: Column, text: _Text) -> tuple[pd.Series, list[_Issue]]:
    values = text.strings()
    values[text.blank] = col.default
    return pd.Series(values, dtype=object), []


def _numbers(col: Column, text: _Text) -> tuple[pd.Series, list[_Issue]]:
    """Numbers and integers: decimal text, finite, whole for integers, within the lower bound."""
    decimal = text.matches(_DECIMAL)
    cells = pc.if_else(pa.array(decimal), text.cells, pa.scalar("nan"))
    num = np.asarray(cells.cast(pa.float64()), dtype=np.float64)
    ok = decimal & np.isfinite(num)
    kind = "an integer" if col.kind == "integer" else "a number"
    issues = [
        _Issue(col.name, ~text.blank & ~ok, lambda i: f"must be {kind}, found '{text.at(i)}'")
    ]
    if col.kind == "integer":
        not_whole = ok & (np.floor(num) != num)
        too_big = ok & ~not_whole & (np.abs(num) >= _INT_LIMIT)
        issues += [
            _Issue(col.name, not_whole, lambda i: f"must be a whole number, found {text.at(i)}"),
            _Issue(col.name, too_big, lambda i: f"is too large for an integer, found {text.at(i)}"),
        ]
        ok = ok & ~not_whole & ~too_big
    if col.min is not None:
        below = num <= col.min if col.min_exclusive else num < col.min
        op = ">" if col.min_exclusive else ">="
        message = f"must be {op} {col.min:g}, found "
        issues.append(_Issue(col.name, ok & below, lambda i: message + text.at(i)))
    if col.default is not None:
        num = np.where(text.blank, float(col.default), num)  # type: ignore[arg-type]
    num = np.where(ok | text.blank, num, np.nan)
    whole_always = col.kind == "integer" and (col.required or col.default is not None)
    if whole_always and np.isfinite(num).all():
        return pd.Series(num.astype(np.int64)), issues
    return pd.Series(num), issues


def _booleans(col: Column, text: _Text) -> tuple[pd.Series, list[_Issue]]:
    low = pc.utf8_lower(text.cells)
    true = np.asarray(pc.is_in(low, value_set=pa.array(sorted(_TRUE))))
    false = np.asarray(pc.is_in(low, value_set=pa.array(sorted(_FALSE))))
    issue = _Issue(
        col.name,
        ~text.blank & ~true & ~false,
        lambda i: f"must be a boolean (true/false, 1/0, yes/no, t/f), found '{text.at(i)}'",
    )
    values = true | (text.blank & bool(col.default))
    return pd.Series(values, dtype=bool), [issue]


def _timestamps(col: Column, text: _Text, timezone: str) -> tuple[pd.Series, list[_Issue]]:
    """ISO 8601 text to UTC: an offset is honoured, a naive time is local to `timezone`."""
    cells = text.strings()
    cells[text.blank] = None
    parsed = pd.Series(pd.to_datetime(cells, format="ISO8601", utc=True, errors="coerce"))
    naive = ~text.matches(_OFFSET) & parsed.notna().to_numpy()
    if naive.any():
        parsed = parsed.astype("datetime64[ns, UTC]")
        parsed[naive] = _localize(parsed[naive].dt.tz_localize(None), timezone)
    issue = _Issue(
        col.name,
        ~text.blank & parsed.isna().to_numpy(),
        lambda i: f"must be an ISO 8601 timestamp, found '{text.at(i)}'",
    )
    return parsed.astype("datetime64[ns, UTC]"), [issue]


def _native_timestamps(
    col: Column, source: pd.Series, timezone: str
) -> tuple[pd.Series, list[_Issue]]:
    """Timestamps already typed (Parquet): naive ones are local to `timezone`."""
    values = source.reset_index(drop=True)
    values = _localize(values, timezone) if values.dt.tz is None else values.dt.tz_convert("UTC")
    blank = values.isna().to_numpy()
    issues = [_Issue(col.name, blank, lambda i: "required value is blank")] if col.required else []
    return values.astype("datetime64[ns, UTC]"), issues


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    """Wall-clock times in `timezone` to UTC; a repeated hour takes its first occurrence and a
    skipped hour moves forward, so no valid-looking time is rejected."""
    first = np.ones(len(naive), dtype=bool)
    aware = naive.dt.tz_localize(timezone, ambiguous=first, nonexistent="shift_forward")
    return aware.dt.tz_convert("UTC")


def _key_issues(frame: pd.DataFrame, spec: TableSpec) -> list[_Issue]:
    """Duplicate keys (and unique columns), reported at the second occurrence."""
    keys = [spec.key] if spec.key else []
    keys += [(c.name,) for c in spec.columns if c.unique]
    return [_duplicate_issue(frame, list(key)) for key in keys]


def _duplicate_issue(frame: pd.DataFrame, key: list[str]) -> _Issue:
    dup = frame.duplicated(subset=key, keep="first").to_numpy()

    def describe(i: int) -> str:
        value = tuple(frame[k].iloc[i] for k in key)
        first = int((frame[key] == frame[key].iloc[i]).all(axis=1).to_numpy().argmax())
        label = key[0] if len(key) == 1 else f"({', '.join(key)})"
        shown = _value(value[0]) if len(key) == 1 else f"({', '.join(map(_value, value))})"
        return f"duplicate {label} {shown}, first seen at row {first + 1}"

    return _Issue(key[-1], dup, describe)


def _value(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)


def _raise_first(issues: Iterable[_Issue], table: str, file: str | None) -> None:
    """Raise the earliest issue by row; ties go to the issue listed first."""
    best: tuple[int, _Issue] | None = None
    for issue in issues:
        if issue.mask.any():
            row = int(issue.mask.argmax())
            if best is None or row < best[0]:
                best = (row, issue)
    if best is not None:
        row, issue = best
        raise ContractError(table, issue.describe(row), row=row + 1, column=issue.column, file=file)


# --- across tables ---------------------------------------------------------------------------


def _check_references(tables: Tables, files: Mapping[str, str], keys: bool = True) -> None:
    """Raise the first broken cross-table rule; tables in order streams, lineups, videos."""
    if keys:
        for name, frame in tables.as_dict().items():
            _raise_first(_key_issues(frame, TABLES[name]), name, files.get(name))
    catalog = _Catalog.of(tables)
    _raise_first(_stream_issues(tables), "streams", files.get("streams"))
    _raise_first(_item_issues(tables, catalog), "stream_items", files.get("stream_items"))
    _raise_first(_video_issues(tables, catalog), "video_traffic", files.get("video_traffic"))


@dataclass(frozen=True)
class _Catalog:
    """Which merchant sells which SKU, as integer codes for vectorised membership tests,
    plus the merchant of every stream."""

    merchants: pd.Index
    skus: pd.Index
    codes: np.ndarray  # sorted merchant_code * width + sku_code of every catalog row
    stream_merchant: pd.Series

    @classmethod
    def of(cls, tables: Tables) -> _Catalog:
        cat = tables.catalog
        merchants, skus = pd.Index(cat["merchant_id"].unique()), pd.Index(cat["sku_id"].unique())
        codes = merchants.get_indexer(cat["merchant_id"]) * (len(skus) + 1)
        codes = np.sort(codes + skus.get_indexer(cat["sku_id"]))
        by_stream = tables.streams.set_index("stream_id")["merchant_id"]
        return cls(merchants, skus, codes, by_stream)

    def listed(self, merchant: pd.Series, sku: pd.Series) -> np.ndarray:
        """True where the merchant's catalog has the SKU."""
        m, k = self.merchants.get_indexer(merchant), self.skus.get_indexer(sku)
        code = m * (len(self.skus) + 1) + k
        at = np.minimum(np.searchsorted(self.codes, code), max(len(self.codes) - 1, 0))
        found = self.codes[at] == code if len(self.codes) else np.zeros(len(code), dtype=bool)
        return (m >= 0) & (k >= 0) & found


def _missing(column: str, values: pd.Series, known: pd.Series, where: str) -> _Issue:
    """Rows whose non-blank `values` are not among `known`."""
    mask = (values.notna() & ~values.isin(known)).to_numpy()
    return _Issue(column, mask, lambda i: f"{_value(values.iloc[i])} is not in {where}")


def _stream_issues(tables: Tables) -> list[_Issue]:
    streams = tables.streams.reset_index(drop=True)
    merchant = streams["merchant_id"]
    issues = [
        _missing(
            "streamer_id", streams["streamer_id"], tables.streamers["streamer_id"], "streamers"
        )
    ]
    if not tables.merchants.empty:
        issues.append(
            _missing("merchant_id", merchant, tables.merchants["merchant_id"], "merchants")
        )
    no_catalog = (~merchant.isin(tables.catalog["merchant_id"])).to_numpy()
    message = "merchant {} has no rows in catalog"
    issues.append(
        _Issue("merchant_id", no_catalog, lambda i: message.format(_value(merchant.iloc[i])))
    )
    return issues


def _item_issues(tables: Tables, catalog: _Catalog) -> list[_Issue]:
    items = tables.stream_items.reset_index(drop=True)
    issues = [_missing("stream_id", items["stream_id"], tables.streams["stream_id"], "streams")]
    issues.append(_sku_issue(tables, catalog, items))
    sold, returned = items["units_sold"].to_numpy(), items["units_returned"].to_numpy()
    issues.append(
        _Issue(
            "units_returned",
            returned > sold,
            lambda i: f"must be <= units_sold ({sold[i]:.15g}), found {returned[i]:.15g}",
        )
    )
    return issues


def _video_issues(tables: Tables, catalog: _Catalog) -> list[_Issue]:
    videos = tables.video_traffic.reset_index(drop=True)
    issues = [_missing("stream_id", videos["stream_id"], tables.streams["stream_id"], "streams")]
    issues.append(_sku_issue(tables, catalog, videos))
    published, observed = videos["published_at"], videos["observed_at"]
    issues.append(
        _Issue(
            "observed_at",
            (observed < published).to_numpy(),
            lambda i: (
                f"must be at or after published_at ({_value(published.iloc[i])}), "
                f"found {_value(observed.iloc[i])}"
            ),
        )
    )
    return issues


def _sku_issue(tables: Tables, catalog: _Catalog, rows: pd.DataFrame) -> _Issue:
    """SKUs (when given) that are not in the catalog of the merchant of the row's stream."""
    merchant = rows["stream_id"].map(catalog.stream_merchant)
    sku = rows["sku_id"]
    known = merchant.notna().to_numpy() & sku.notna().to_numpy()
    mask = known & ~catalog.listed(merchant, sku)

    def describe(i: int) -> str:
        cat = tables.catalog
        owners = cat.loc[cat["sku_id"] == sku.iloc[i], "merchant_id"].unique()
        where = f"; it is listed under merchant {_value(owners[0])}" if len(owners) else ""
        return (
            f"SKU {_value(sku.iloc[i])} is not in the catalog of merchant "
            f"{_value(merchant.iloc[i])} (stream {_value(rows['stream_id'].iloc[i])}){where}"
        )

    return _Issue("sku_id", mask, describe)


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
