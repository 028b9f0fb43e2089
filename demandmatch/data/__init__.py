"""The data contract in code: the tables' column specs (`schema`), their in-memory form
(`tables`), loading and typing a data directory (`load`, `parse`), columns as text (`texts`) and
the rules on the loaded tables (`validate`). `m5` adapts the M5 competition's data for the
real-data benchmark."""

from .load import StoredCatalog, data_hash, load_table, load_tables, write_table
from .tables import ContractError, Tables
from .validate import validate_references

__all__ = [
    "ContractError",
    "StoredCatalog",
    "Tables",
    "data_hash",
    "load_table",
    "load_tables",
    "validate_references",
    "write_table",
]
