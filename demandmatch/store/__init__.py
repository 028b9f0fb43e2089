"""The catalog store: merchants, tokens, versioned catalogs, previews, audit (SQLAlchemy).

SQLite by default (`sqlite:///demandmatch.db` in the working folder), PostgreSQL by URL
(`postgresql+psycopg://...`); the URL comes from `--store` or $DEMANDMATCH_STORE.
"""

from __future__ import annotations

import pandas as pd

from .actor import Actor
from .errors import Conflict, NotFound, Refused, StoreError, Unauthorized

DEFAULT_URL = "sqlite:///demandmatch.db"
ENV_VAR = "DEMANDMATCH_STORE"

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "Actor",
    "Conflict",
    "NotFound",
    "Refused",
    "Store",
    "StoreError",
    "Unauthorized",
    "current_catalog",
]


def __getattr__(name: str):
    if name == "Store":  # imported on first use: the CLI starts without sqlalchemy
        from .service import Store

        return Store
    raise AttributeError(name)


def current_catalog(url: str | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every merchant's current catalog, for a forecast run.

    Returns the rows in the contract's catalog columns and dtypes (as `load_tables` gives
    them; sorted by merchant and SKU) and each merchant's current catalog version, to record
    in run.json and the tracking run. Merchants without an imported catalog have version 0
    and no rows.
    """
    from .service import Store

    store = Store(url)
    try:
        return store.current_catalog()
    finally:
        store.close()
