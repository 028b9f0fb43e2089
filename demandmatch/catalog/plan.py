"""An import as a plan: what the file would create, change, keep and retire, and what is wrong.

A blank cell means "no change": an existing SKU keeps its stored value, a new SKU takes the
contract's default (and a blank required cell of a new SKU is an error). The domain rules run
on the row as it would be stored, so a new unit cost is checked against the stored salvage.
Nothing here touches a database: the store saves the plan and applies it later.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pandas as pd

from .cells import FIELD_NAMES, FIELDS, Cells, check_cells
from .errors import CellIssue
from .files import Grid, Limits, Progress, read_grid
from .headers import HeaderMap, map_header

MODES = ("upsert", "replace")
_NUMERIC = tuple(c.name for c in FIELDS if c.kind != "string")


@dataclass
class ImportPlan:
    """The preview of one upload against one catalog version."""

    merchant_id: str
    mode: str
    file: dict[str, object]
    header: list[str]
    mapping: list[dict[str, str]]
    ignored: list[str]
    n_rows: int
    writes: pd.DataFrame  # full rows to store (creates, then updates): FIELD_NAMES + _row
    n_creates: int
    updates: list[dict[str, object]]  # row, sku_id, changes {field: {before, after}}
    n_unchanged: int
    retires: list[str]
    errors: list[CellIssue]
    warnings: list[CellIssue]
    rejected: list[dict[str, object]] = field(default_factory=list)  # row, cells, errors

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.n_rows,
            "creates": self.n_creates,
            "updates": len(self.updates),
            "unchanged": self.n_unchanged,
            "retires": len(self.retires),
            "rejected": len(self.rejected),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    def report(self) -> dict[str, object]:
        """Everything the preview shows, as JSON-ready values."""
        creates = self.writes.iloc[: self.n_creates]
        return {
            "merchant_id": self.merchant_id,
            "mode": self.mode,
            "file": self.file,
            "header": self.header,
            "mapping": self.mapping,
            "ignored_columns": self.ignored,
            "counts": self.counts(),
            "creates": [
                {"row": int(r), "sku_id": s}
                for r, s in zip(creates["_row"], creates["sku_id"], strict=True)
            ],
            "updates": self.updates,
            "retires": self.retires,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
            "rejected": self.rejected,
        }


def plan_import(
    data: bytes,
    filename: str,
    merchant_id: str,
    current: pd.DataFrame,
    *,
    mode: str = "upsert",
    sheet: str | None = None,
    limits: Limits = Limits(),
    progress: Progress | None = None,
) -> ImportPlan:
    """Read, check and compare an upload with the merchant's current catalog.

    `current` holds the stored rows in the contract's catalog columns (merchant_id optional).
    Raises CatalogFileError when the file as a whole cannot be read; every problem of a cell
    or a row is in the plan instead.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    name = PurePath(filename or "upload").name
    grid = read_grid(data, name, limits, sheet, progress)
    if progress is not None:
        progress("checking", 0, len(grid.rows))
    hmap = map_header(grid.header, name)
    cells = check_cells(grid, hmap, merchant_id, name)
    file = {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    file.update(grid.describe())
    if progress is not None:
        progress("comparing", 0, len(grid.rows))
    return _plan(grid, hmap, cells, merchant_id, current, mode, file)


def _plan(
    grid: Grid,
    hmap: HeaderMap,
    cells: Cells,
    merchant_id: str,
    current: pd.DataFrame,
    mode: str,
    file: dict[str, object],
) -> ImportPlan:
    stored = current.set_index("sku_id", drop=False) if len(current) else _empty_current()
    sku = cells.values["sku_id"]
    where = stored.index.get_indexer(sku.fillna("\0missing"))
    issues = list(cells.issues)
    issues += _stored_case_clash(sku, where, stored, cells.row_numbers, hmap.label("sku_id"))
    merged = _merge(cells, stored, where, hmap, issues)
    issues += _domain_rules(merged, cells.row_numbers, hmap)
    order = {f: i for i, f in enumerate(hmap.header)}
    issues.sort(key=lambda e: (e.row, order.get(e.column, -1)))
    errors = [e for e in issues if e.severity == "error"]
    warnings = [e for e in issues if e.severity == "warning"]
    bad_rows = {e.row for e in errors}
    ok = ~np.isin(cells.row_numbers, list(bad_rows))
    new = ok & (where < 0)
    changes, changed = _compare(merged, stored, where, ok & (where >= 0))
    merged["_row"] = cells.row_numbers
    writes = pd.concat([merged[new], merged[changed]], ignore_index=True)
    updates = [
        {"row": int(merged["_row"].iat[i]), "sku_id": merged["sku_id"].iat[i], "changes": c}
        for i, c in changes
    ]
    n_unchanged = int((ok & (where >= 0)).sum()) - len(updates)
    retires: list[str] = []
    if mode == "replace":
        named = set(sku.dropna())
        retires = [s for s in stored.index if s not in named]
    rejected = _rejected(grid, cells.row_numbers, errors)
    return ImportPlan(
        merchant_id=merchant_id,
        mode=mode,
        file=file,
        header=list(grid.header),
        mapping=hmap.as_list(),
        ignored=list(hmap.ignored),
        n_rows=len(grid.rows),
        writes=writes,
        n_creates=int(new.sum()),
        updates=updates,
        n_unchanged=n_unchanged,
        retires=retires,
        errors=errors,
        warnings=warnings,
        rejected=rejected,
    )


def _empty_current() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in FIELD_NAMES})
    return frame.set_index("sku_id", drop=False)


def _merge(
    cells: Cells, stored: pd.DataFrame, where: np.ndarray, hmap: HeaderMap, issues: list
) -> pd.DataFrame:
    """The rows as they would be stored: blank keeps the stored value, or takes the default."""
    old = where >= 0
    merged: dict[str, object] = {"sku_id": cells.values["sku_id"].to_numpy(dtype=object)}
    for col in FIELDS[1:]:
        value = cells.values[col.name].to_numpy(dtype=object if col.kind == "string" else float)
        blank = cells.blank[col.name]
        if col.name in stored.columns:
            before = stored[col.name].to_numpy()[np.where(old, where, 0)] if len(stored) else None
            keep = blank & old
            if keep.any():
                value = value.copy()
                value[keep] = before[keep]
        fresh = blank & ~old
        if col.default is not None and fresh.any():
            value = value.copy()
            value[fresh] = col.default
        if col.required:
            for i in np.flatnonzero(fresh & cells.values["sku_id"].notna().to_numpy()):
                issues.append(
                    CellIssue(
                        int(cells.row_numbers[i]),
                        hmap.label(col.name),
                        col.name,
                        "",
                        "blank_required",
                        "required value is blank (the SKU is new, so there is no stored value "
                        "to keep)",
                    )
                )
        merged[col.name] = value
    return pd.DataFrame(merged)


def _stored_case_clash(sku, where, stored, numbers, label) -> list[CellIssue]:
    """New SKUs that differ only by case from a stored SKU."""
    if not len(stored):
        return []
    folded = {s.casefold(): s for s in stored.index}
    found = []
    for i in np.flatnonzero((where < 0) & sku.notna().to_numpy()):
        twin = folded.get(sku.iat[i].casefold())
        if twin is not None:
            found.append(
                CellIssue(
                    int(numbers[i]),
                    label,
                    "sku_id",
                    sku.iat[i],
                    "duplicate_sku_case",
                    f"SKU {sku.iat[i]!r} differs only by letter case from the stored SKU "
                    f"{twin!r}; use the stored spelling",
                )
            )
    return found


def _fmt(x: float) -> str:
    return f"{x:.15g}"


def _domain_rules(merged: pd.DataFrame, numbers: np.ndarray, hmap: HeaderMap) -> list[CellIssue]:
    """Rules across the columns of a row, on the values it would be stored with."""
    v = {name: merged[name].to_numpy(dtype=float) for name in _NUMERIC}
    found: list[CellIssue] = []

    def add(mask, name, code, message, severity="error"):
        for i in np.flatnonzero(mask):
            found.append(
                CellIssue(
                    int(numbers[i]),
                    hmap.label(name),
                    name,
                    _fmt(v[name][i]),
                    code,
                    message(i),
                    severity,
                )
            )

    with np.errstate(invalid="ignore"):
        add(
            v["salvage_value"] > v["unit_cost"],
            "salvage_value",
            "salvage_above_cost",
            lambda i: (
                f"salvage_value {_fmt(v['salvage_value'][i])} is above unit_cost "
                f"{_fmt(v['unit_cost'][i])}; an unsold unit cannot be worth more than it cost"
            ),
        )
        add(
            v["unit_cost"] > v["list_price"],
            "unit_cost",
            "cost_above_price",
            lambda i: (
                f"unit_cost {_fmt(v['unit_cost'][i])} is above list_price "
                f"{_fmt(v['list_price'][i])}"
            ),
            "warning",
        )
        add(
            v["shelf_life_days"] < v["lead_time_days"],
            "shelf_life_days",
            "shelf_life_below_lead_time",
            lambda i: (
                f"shelf_life_days {_fmt(v['shelf_life_days'][i])} is shorter than "
                f"lead_time_days {_fmt(v['lead_time_days'][i])}"
            ),
            "warning",
        )
        moq, pack = v["moq"], v["case_pack"]
        odd = (moq > 0) & (pack >= 1) & (np.fmod(moq, pack) != 0)
    if odd.any():
        rounded = np.where(odd, np.ceil(moq / np.where(pack >= 1, pack, 1)) * pack, moq)
        add(
            odd,
            "moq",
            "moq_rounded_up",
            lambda i: (
                f"moq {_fmt(moq[i])} is not a multiple of case_pack {_fmt(pack[i])}; "
                f"rounded up to {_fmt(rounded[i])}"
            ),
            "warning",
        )
        merged["moq"] = rounded
    return found


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a is None and b is None:
        return True
    return a == b


def _json_value(x: object) -> object:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def _compare(
    merged: pd.DataFrame, stored: pd.DataFrame, where: np.ndarray, candidates: np.ndarray
) -> tuple[list[tuple[int, dict[str, dict[str, object]]]], np.ndarray]:
    """Per-field changes of existing SKUs: (position, {field: {before, after}}) and a mask."""
    changed = np.zeros(len(merged), dtype=bool)
    per_row: dict[int, dict[str, dict[str, object]]] = {}
    at = np.where(candidates, where, 0)
    for name in FIELD_NAMES[1:]:
        if name not in stored.columns or not len(stored):
            continue
        new = merged[name].to_numpy()
        old = stored[name].to_numpy()[at]
        if name in _NUMERIC:
            a, b = new.astype(float), old.astype(float)
            differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        else:
            a, b = new, old
            differ = np.array([not _same(x, y) for x, y in zip(a, b, strict=True)], dtype=bool)
        differ &= candidates
        for i in np.flatnonzero(differ):
            per_row.setdefault(int(i), {})[name] = {
                "before": _json_value(b[i]),
                "after": _json_value(a[i]),
            }
        changed |= differ
    return sorted(per_row.items()), changed


def _rejected(grid: Grid, numbers: np.ndarray, errors: list[CellIssue]) -> list[dict[str, object]]:
    by_row: dict[int, list[dict[str, object]]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(e.as_dict())
    position = {int(n): i for i, n in enumerate(numbers)}
    return [
        {"row": row, "cells": grid.rows[position[row]], "errors": found}
        for row, found in sorted(by_row.items())
    ]


def diff_catalogs(current: pd.DataFrame, target: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows to write and SKUs to retire so that `current` becomes `target` (for a rollback)."""
    stored = current.set_index("sku_id", drop=False) if len(current) else _empty_current()
    target = target[list(FIELD_NAMES)].reset_index(drop=True)
    where = stored.index.get_indexer(target["sku_id"])
    everything = np.ones(len(target), dtype=bool)
    _, changed = _compare(target, stored, where, everything & (where >= 0))
    writes = target[(where < 0) | changed].reset_index(drop=True)
    keep = set(target["sku_id"])
    return writes, [s for s in stored.index if s not in keep]
