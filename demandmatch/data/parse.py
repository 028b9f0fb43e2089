"""One table's cells typed by the contract's column specs: every cell read as text (or as typed
by Parquet), checked with vectorised masks over whole columns, and the first bad cell (row-major,
columns in file order) described: the file, the 1-based data row, the column, what is wrong and
what was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .plausible import Limits
from .schema import Column, TableSpec
from .tables import ContractError
from .texts import as_text
from .validate import Issue, key_issues, raise_first

_TRUE = frozenset({"true", "1", "yes", "t"})

_FALSE = frozenset({"false", "0", "no", "f"})

# A UTC offset after the time of day ("...T20:00+08:00", "... 20:00:00Z"); anchoring on the time
# keeps a bare date's "-01" from being read as an offset.
_OFFSET = r"(?i)[T ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"

# Plain decimal text (RE2: \d is ASCII); "nan", "inf", "1,5" and "0x10" are not numbers here.
_DECIMAL = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"

_INT_LIMIT = 2.0**63

_SHOW = 40  # longest found value quoted in a message


def typed_frame(
    raw: pd.DataFrame, spec: TableSpec, file: str, timezone: str, limits: Limits | None = None
) -> pd.DataFrame:
    """Check every cell (against `limits` too, when given), then the keys, and return the typed
    frame."""
    for col in spec.columns:
        if col.required and col.name not in raw.columns:
            header = ", ".join(map(str, raw.columns[:20]))
            hint = ""
            if len(raw.columns) == 1 and len(spec.columns) > 1:
                hint = "; the header is one column: is the file separated by commas?"
            raise ContractError(
                spec.name,
                f"required column is missing (header: {header}){hint}",
                column=col.name,
                file=file,
            )
    position = {name: i for i, name in enumerate(raw.columns)}
    in_file_order = sorted(spec.columns, key=lambda c: position.get(c.name, len(position)))
    values: dict[str, pd.Series] = {}
    issues: list[Issue] = []
    for col in in_file_order:
        if col.name in raw.columns:
            source = raw[col.name].reset_index(drop=True)
        else:
            source = pd.Series([""] * len(raw), dtype=object)
        bounds = _Bounds.of(limits, spec.name, col.name)
        values[col.name], found = parse_column(col, source, timezone, bounds)
        issues.extend(found)
    raise_first(issues, spec.name, file)
    frame = pd.DataFrame({c.name: values[c.name] for c in spec.columns})
    extras = [name for name in raw.columns if name not in values]
    if extras:
        frame = pd.concat([frame, raw[extras].reset_index(drop=True)], axis=1)
    raise_first(key_issues(frame, spec), spec.name, file)
    return frame


@dataclass(frozen=True)
class _Bounds:
    """A column's plausible range: an upper bound on a number and the config key that sets it,
    or the span of a timestamp."""

    upper: float | None = None
    key: str = ""
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None
    span_text: str = ""

    @classmethod
    def of(cls, limits: Limits | None, table: str, column: str) -> _Bounds:
        if limits is None:
            return cls()
        upper = limits.upper(table, column)
        span = (limits.earliest, limits.latest)
        if upper is None:
            return cls(span=span, span_text=limits.span())
        return cls(upper[0], upper[1], span, limits.span())


_NONE = _Bounds()


def parse_column(
    col: Column, source: pd.Series, timezone: str, bounds: _Bounds = _NONE
) -> tuple[pd.Series, list[Issue]]:
    """Typed values of one column and the issues found in it (blank, type, bounds)."""
    if col.kind == "timestamp" and pd.api.types.is_datetime64_any_dtype(source):
        values, found = _native_timestamps(col, source, timezone)
        return values, found + _span_issues(col, values, bounds, lambda i: str(values.iloc[i]))
    text = _Text.of(source)
    issues = []
    if col.required:
        issues.append(Issue(col.name, text.blank, lambda i: "required value is blank"))
    parse = {
        "string": _strings,
        "number": _numbers,
        "integer": _numbers,
        "boolean": _booleans,
        "timestamp": lambda c, t: _timestamps(c, t, timezone, bounds),
    }[col.kind]
    values, found = parse(col, text)
    if col.kind in ("number", "integer") and bounds.upper is not None:
        upper, key = bounds.upper, bounds.key
        above = np.asarray(values.to_numpy(dtype=float) > upper) & ~text.blank
        message = f"must be <= {upper:g} (config {key}), found "
        found.append(Issue(col.name, above, lambda i: message + text.at(i)))
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
            text = as_text(source)
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


def _strings(col: Column, text: _Text) -> tuple[pd.Series, list[Issue]]:
    values = text.strings()
    values[text.blank] = col.default
    return pd.Series(values, dtype=object), []


def _numbers(col: Column, text: _Text) -> tuple[pd.Series, list[Issue]]:
    """Numbers and integers: decimal text, finite, whole for integers, within the lower bound."""
    decimal = text.matches(_DECIMAL)
    cells = pc.if_else(pa.array(decimal), text.cells, pa.scalar("nan"))
    num = np.asarray(cells.cast(pa.float64()), dtype=np.float64)
    ok = decimal & np.isfinite(num)
    kind = "an integer" if col.kind == "integer" else "a number"
    issues = [Issue(col.name, ~text.blank & ~ok, lambda i: f"must be {kind}, found '{text.at(i)}'")]
    if col.kind == "integer":
        not_whole = ok & (np.floor(num) != num)
        too_big = ok & ~not_whole & (np.abs(num) >= _INT_LIMIT)
        issues += [
            Issue(col.name, not_whole, lambda i: f"must be a whole number, found {text.at(i)}"),
            Issue(col.name, too_big, lambda i: f"is too large for an integer, found {text.at(i)}"),
        ]
        ok = ok & ~not_whole & ~too_big
    if col.min is not None:
        below = num <= col.min if col.min_exclusive else num < col.min
        op = ">" if col.min_exclusive else ">="
        message = f"must be {op} {col.min:g}, found "
        issues.append(Issue(col.name, ok & below, lambda i: message + text.at(i)))
    if col.default is not None:
        num = np.where(text.blank, float(col.default), num)  # type: ignore[arg-type]
    num = np.where(ok | text.blank, num, np.nan)
    whole_always = col.kind == "integer" and (col.required or col.default is not None)
    if whole_always and np.isfinite(num).all():
        return pd.Series(num.astype(np.int64)), issues
    return pd.Series(num), issues


def _booleans(col: Column, text: _Text) -> tuple[pd.Series, list[Issue]]:
    low = pc.utf8_lower(text.cells)
    true = np.asarray(pc.is_in(low, value_set=pa.array(sorted(_TRUE))))
    false = np.asarray(pc.is_in(low, value_set=pa.array(sorted(_FALSE))))
    issue = Issue(
        col.name,
        ~text.blank & ~true & ~false,
        lambda i: f"must be a boolean (true/false, 1/0, yes/no, t/f), found '{text.at(i)}'",
    )
    values = true | (text.blank & bool(col.default))
    return pd.Series(values, dtype=bool), [issue]


def _timestamps(
    col: Column, text: _Text, timezone: str, bounds: _Bounds = _NONE
) -> tuple[pd.Series, list[Issue]]:
    """ISO 8601 text to UTC: an offset is honoured, a naive time is local to `timezone`; a
    date out of the plausible span is an error (also one too far out for pandas to hold)."""
    cells = text.strings()
    cells[text.blank] = None
    parsed = pd.Series(pd.to_datetime(cells, format="ISO8601", utc=True, errors="coerce"))
    naive = ~text.matches(_OFFSET) & parsed.notna().to_numpy()
    if naive.any():
        parsed = parsed.astype("datetime64[ns, UTC]")
        parsed[naive] = _localize(parsed[naive].dt.tz_localize(None), timezone)

    def unparsed(i: int) -> str:
        year = re.match(r"[+-]?(\d{4,})-\d{1,2}", text.at(i))
        if year and bounds.span is not None:
            lo, hi = bounds.span
            if not lo.year <= int(year.group(1)) <= hi.year:
                return f"must be between {bounds.span_text}, found '{text.at(i)}'"
        return f"must be an ISO 8601 timestamp, found '{text.at(i)}'"

    issue = Issue(col.name, ~text.blank & parsed.isna().to_numpy(), unparsed)
    values = parsed.astype("datetime64[ns, UTC]")
    return values, [issue, *_span_issues(col, values, bounds, lambda i: f"'{text.at(i)}'")]


def _span_issues(col: Column, values: pd.Series, bounds: _Bounds, shown) -> list[Issue]:
    if bounds.span is None:
        return []
    lo, hi = bounds.span
    out = (values.notna() & ((values < lo) | (values >= hi))).to_numpy()
    return [Issue(col.name, out, lambda i: f"must be between {bounds.span_text}, found {shown(i)}")]


def _native_timestamps(
    col: Column, source: pd.Series, timezone: str
) -> tuple[pd.Series, list[Issue]]:
    """Timestamps already typed (Parquet): naive ones are local to `timezone`."""
    values = source.reset_index(drop=True)
    values = _localize(values, timezone) if values.dt.tz is None else values.dt.tz_convert("UTC")
    blank = values.isna().to_numpy()
    issues = [Issue(col.name, blank, lambda i: "required value is blank")] if col.required else []
    return values.astype("datetime64[ns, UTC]"), issues


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    """Wall-clock times in `timezone` to UTC; a repeated hour takes its first occurrence and a
    skipped hour moves forward, so no valid-looking time is rejected."""
    first = np.ones(len(naive), dtype=bool)
    aware = naive.dt.tz_localize(timezone, ambiguous=first, nonexistent="shift_forward")
    return aware.dt.tz_convert("UTC")
