"""Small catalogs for the import tests, built by hand so every answer is known."""

from __future__ import annotations

import io

import pandas as pd

from demandmatch.catalog.cells import FIELD_NAMES

HEADER = "sku_id,title,category,brand,list_price,unit_cost,salvage_value,on_hand,case_pack,moq"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def stored(*rows: dict) -> pd.DataFrame:
    """A current catalog as the store hands it over: contract columns and dtypes."""
    defaults = {
        "brand": None,
        "salvage_value": 0.0,
        "on_hand": 0,
        "case_pack": 1,
        "moq": 0,
        "lead_time_days": 0,
        "shelf_life_days": float("nan"),
        "unit_volume_l": float("nan"),
    }
    frame = pd.DataFrame([{**defaults, **r} for r in rows], columns=list(FIELD_NAMES))
    for name in ("on_hand", "case_pack", "moq", "lead_time_days"):
        frame[name] = frame[name].astype("int64")
    for name in ("list_price", "unit_cost", "salvage_value", "shelf_life_days", "unit_volume_l"):
        frame[name] = frame[name].astype("float64")
    return frame


def xlsx(rows: list[list[object]], sheet: str = "Sheet1", extra: dict | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for name, more in (extra or {}).items():
        other = book.create_sheet(name)
        for row in more:
            other.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
