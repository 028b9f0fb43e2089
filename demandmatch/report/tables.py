"""The report's tables as plain data: formatted cells with their sort keys, rows with the
attributes the page's filters read. The template lays them out; nothing here is markup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .format import fmt_value, is_missing, is_number, label


@dataclass(frozen=True)
class Cell:
    """A cell's text, the key it sorts by (numbers as text, "" = its text) and CSS class."""

    text: str
    key: str = ""
    cls: str = ""
    hover: str = ""


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    attrs: tuple[tuple[str, str], ...] = ()  # data-* attributes for the filters
    cls: str = ""


@dataclass(frozen=True)
class Table:
    """Headers, rows and an optional footer; `numeric` marks right-aligned, numerically sorted
    columns; a `sortable` table sorts by a click on a header."""

    headers: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[Row, ...]
    footer: tuple[str, ...] | None = None
    sortable: bool = False
    anchor: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)  # per header: a tooltip


def num(text: str, value: object) -> Cell:
    """A right-aligned cell sorted by `value` (blank sorts last)."""
    key = "" if is_missing(value) else repr(float(value))  # type: ignore[arg-type]
    return Cell(text, key, "num")


def records_table(records: Sequence[dict[str, object]]) -> Table:
    """A table for a list of dicts, columns in first-seen order."""
    keys: list[str] = []
    for rec in records:
        keys.extend(k for k in rec if k not in keys)
    numeric = tuple(any(is_number(rec.get(k)) for rec in records) for k in keys)
    rows = tuple(
        Row(
            tuple(
                num(fmt_value(k, rec.get(k)), rec.get(k)) if n else Cell(fmt_value(k, rec.get(k)))
                for k, n in zip(keys, numeric, strict=True)
            )
        )
        for rec in records
    )
    return Table(tuple(label(k) for k in keys), numeric, rows)


def anchor(prefix: str, value: object) -> str:
    """An id for a fragment link: the prefix and the value's letters, digits, - and _ (other
    characters as their code), so any id from the data makes a valid, distinct anchor."""
    text = "".join(
        c if c.isascii() and (c.isalnum() or c in "-_") else f".{ord(c):x}" for c in str(value)
    )
    return f"{prefix}-{text}"
