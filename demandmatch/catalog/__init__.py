"""Merchants' catalog files: read (CSV, TSV, XLSX), check, compare and export."""

from .errors import CatalogFileError, CellIssue
from .files import Limits, read_grid
from .plan import MODES, ImportPlan, diff_catalogs, plan_import

__all__ = [
    "MODES",
    "CatalogFileError",
    "CellIssue",
    "ImportPlan",
    "Limits",
    "diff_catalogs",
    "plan_import",
    "read_grid",
]
