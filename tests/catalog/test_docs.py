"""The import guide documents every code an import can answer."""

from __future__ import annotations

from pathlib import Path

from demandmatch.catalog.errors import ERROR_CODES, FILE_CODES, WARNING_CODES
from demandmatch.catalog.headers import SYNONYMS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_code_and_column_is_documented():
    guide = (DOCS / "catalog-import.md").read_text(encoding="utf-8")
    for code in [*ERROR_CODES, *WARNING_CODES, *FILE_CODES]:
        assert f"`{code}`" in guide, code
    for column in SYNONYMS:
        assert f"`{column}`" in guide, column
