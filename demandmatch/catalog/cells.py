"""Every cell of an upload checked against the contract's catalog columns, in one pass.

Typing reuses the contract loader's column parser (decimal text, whole numbers, lower bounds),
so an upload and a data directory accept the same cells. Unlike the loader, which stops at the
first bad cell, every bad cell becomes a CellIssue with a stable code, and a blank cell stays
blank (NaN / None) here: whether it means "keep the stored value" or "use the default" is
decided against the current catalog (see plan.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from demandmatch.data.parse import parse_column
from demandmatch.data.schema import TABLES, Column

from .errors import CatalogFileError, CellIssue
from .files import Grid
from .headers import HeaderMap

CATALOG = TABLES["catalog"]
FIELDS: tuple[Column, ...] = tuple(c for c in CATALOG.columns if c.name != "merchant_id")
FIELD_NAMES: tuple[str, ...] = tuple(c.name for c in FIELDS)
REQUIRED: tuple[str, ...] = tuple(c.name for c in FIELDS if c.required)
TEXT_FIELDS: tuple[str, ...] = tuple(c.name for c in FIELDS if c.kind == "string")
# Beyond these a value is a typo or an overflow, not a product (yuan, units, days, litres).
MAX_VALUE: dict[str, float] = {
    "list_price": 1e8,
    "unit_cost": 1e8,
    "salvage_value": 1e8,
    "on_hand": 1e10,
    "case_pack": 1e7,
    "moq": 1e10,
    "lead_time_days": 3650,
    "shelf_life_days": 36500,
    "unit_volume_l": 1e5,
}
MAX_TEXT: dict[str, int] = {"sku_id": 100, "title": 500, "category": 200, "brand": 200}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Cells:
    """The typed cells of every data row, blank masks and the issues found.

    `values` has one column per contract field (no merchant_id): float64 for numbers and
    integers (NaN where blank or invalid), object for text (None where blank).
    """

    values: pd.DataFrame
    blank: dict[str, np.ndarray]
    row_numbers: np.ndarray
    issues: list[CellIssue]

    def rejected(self) -> np.ndarray:
        """Rows with at least one error, as a boolean mask by position."""
        bad = np.zeros(len(self.values), dtype=bool)
        at = {n: i for i, n in enumerate(self.row_numbers.tolist())}
        for issue in self.issues:
            if issue.severity == "error":
                bad[at[issue.row]] = True
        return bad


_ESCAPED = r"^'[=+\-@\t\r]"


def unescape(cells: pa.Array) -> pa.Array:
    """Undo the quote prefix our exports put before a leading = + - @ tab or CR."""
    escaped = pc.match_substring_regex(cells, _ESCAPED)
    return pc.if_else(escaped, pc.utf8_slice_codeunits(cells, 1), cells)


def _cells_text(column: tuple | list) -> tuple[pd.Series, np.ndarray, pa.Array]:
    """A column's cells stripped and unescaped: as objects, its blank mask, as Arrow."""
    cells = pc.utf8_trim_whitespace(pa.array(column, type=pa.string()))
    cells = unescape(cells)
    blank = np.asarray(pc.equal(cells, ""))
    return pd.Series(cells.to_numpy(zero_copy_only=False), dtype=object), blank, cells


def check_cells(grid: Grid, hmap: HeaderMap, merchant_id: str, file: str) -> Cells:
    """Type every cell of the mapped columns and collect the issues of each."""
    if "sku_id" not in hmap.columns:
        header = ", ".join(hmap.header[:20])
        raise CatalogFileError(
            "missing_column",
            f"{file}: no SKU column (sku_id, SKU, 货号, ...) in the header ({header})",
        )
    n = len(grid.rows)
    numbers = np.asarray(grid.row_numbers, dtype=np.int64)
    by_column = list(zip(*grid.rows, strict=True)) if n else []
    issues: list[CellIssue] = []
    values: dict[str, pd.Series] = {}
    blank: dict[str, np.ndarray] = {}
    for col in FIELDS:
        at = hmap.columns.get(col.name)
        text, blank[col.name], cells = _cells_text(by_column[at] if at is not None else [""] * n)
        loose = dataclasses.replace(col, required=False, default=None)
        parsed, found = parse_column(loose, text, "UTC")
        label = hmap.label(col.name)
        for issue in found:
            for i in np.flatnonzero(issue.mask):
                message = issue.describe(int(i))
                issues.append(
                    CellIssue(
                        int(numbers[i]),
                        label,
                        col.name,
                        text.iat[i],
                        _code(col.name, message),
                        message,
                    )
                )
        values[col.name] = _bounded(col, parsed, text, cells, numbers, label, issues)
    frame = pd.DataFrame(values)
    _check_merchant(grid, hmap, merchant_id, numbers, issues)
    _check_skus(frame["sku_id"], hmap.label("sku_id"), numbers, issues)
    for i, message in grid.bad_rows.items():
        issues.append(CellIssue(int(numbers[i]), "", "", "", "bad_row", message))
    for i in grid.numeric_sku_rows:
        issues.append(
            CellIssue(
                int(numbers[i]),
                hmap.label("sku_id"),
                "sku_id",
                str(frame["sku_id"].iat[i]),
                "sku_stored_as_number",
                "the SKU cell is a number in the workbook, so Excel may have dropped leading "
                "zeros; format the column as text",
                "warning",
            )
        )
    return Cells(frame, blank, numbers, issues)


def _code(field: str, message: str) -> str:
    """A stable code for a message of the contract's column parser."""
    if message.startswith("must be an integer") or message.startswith("must be a whole"):
        return "not_an_integer"
    if message.startswith("must be a number"):
        return "not_a_number"
    if message.startswith("is too large"):
        return "too_large"
    if message.startswith("must be >"):
        return "negative_stock" if field == "on_hand" else "below_minimum"
    if message.startswith("required value is blank"):
        return "blank_required"
    return "invalid"


def _bounded(
    col: Column,
    parsed: pd.Series,
    text: pd.Series,
    cells: pa.Array,
    numbers: np.ndarray,
    label: str,
    issues: list[CellIssue],
) -> pd.Series:
    """Flag absurdly large numbers and over-long text; those cells become blank-invalid."""
    if col.kind == "string":
        limit = MAX_TEXT.get(col.name, 1000)
        long = np.asarray(pc.greater(pc.utf8_length(cells), limit))
        for i in np.flatnonzero(long):
            issues.append(
                CellIssue(
                    int(numbers[i]),
                    label,
                    col.name,
                    text.iat[i][:40] + "...",
                    "too_long",
                    f"is {len(text.iat[i])} characters long; at most {limit} allowed",
                )
            )
        if long.any():
            parsed = parsed.copy()
            parsed[long] = None
        return parsed
    num = parsed.to_numpy(dtype=np.float64)
    limit = MAX_VALUE[col.name]
    huge = np.abs(num) > limit
    for i in np.flatnonzero(huge):
        issues.append(
            CellIssue(
                int(numbers[i]),
                label,
                col.name,
                text.iat[i],
                "too_large",
                f"must be at most {limit:,.0f}, found {text.iat[i]}",
            )
        )
    return pd.Series(np.where(huge, np.nan, num))


def _check_merchant(grid, hmap, merchant_id, numbers, issues) -> None:
    at = hmap.columns.get("merchant_id")
    if at is None:
        return
    for i, row in enumerate(grid.rows):
        given = row[at].strip()
        if given and given != merchant_id:
            issues.append(
                CellIssue(
                    int(numbers[i]),
                    hmap.header[at],
                    "merchant_id",
                    given,
                    "wrong_merchant",
                    f"this file is imported into merchant {merchant_id}'s catalog, "
                    f"but the row names merchant {given}",
                )
            )


def _check_skus(sku: pd.Series, label: str, numbers: np.ndarray, issues: list[CellIssue]) -> None:
    """Blank SKUs, duplicates and SKUs that differ only by case: every row involved fails."""
    known = sku.notna()
    for i in np.flatnonzero(~known.to_numpy()):
        issues.append(
            CellIssue(
                int(numbers[i]), label, "sku_id", "", "blank_required", "required value is blank"
            )
        )
    ids = sku[known]
    folded = pd.Series([v.casefold() for v in ids], index=ids.index, dtype=object)
    candidates = folded.duplicated(keep=False).to_numpy()
    if not candidates.any():
        return
    ids, folded = ids[candidates], folded[candidates]
    groups: dict[str, list[int]] = {}
    for pos, value in ids[ids.duplicated(keep=False)].items():
        groups.setdefault(value, []).append(pos)
    for value, places in groups.items():
        rows = [int(numbers[p]) for p in places]
        for k in range(len(places)):
            if k == 0:
                message = f"duplicate SKU {value!r}, appears again at row {rows[1]}"
            else:
                message = f"duplicate SKU {value!r}, first seen at row {rows[0]}"
            issues.append(CellIssue(rows[k], label, "sku_id", value, "duplicate_sku", message))
    spellings: dict[str, dict[str, int]] = {}
    for pos, key in folded.items():
        spellings.setdefault(key, {}).setdefault(ids.at[pos], pos)
    clashing = {key for key, first in spellings.items() if len(first) > 1}
    for pos, key in folded[folded.isin(clashing)].items():
        value = ids.at[pos]
        other, other_pos = next((v, p) for v, p in spellings[key].items() if v != value)
        issues.append(
            CellIssue(
                int(numbers[pos]),
                label,
                "sku_id",
                value,
                "duplicate_sku_case",
                f"SKU {value!r} differs only by letter case from {other!r} at row "
                f"{int(numbers[other_pos])}; SKUs must differ by more than case",
            )
        )
