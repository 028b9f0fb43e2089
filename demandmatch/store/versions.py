"""Catalog versions: read any version, and write a new one in the caller's transaction.

Writing version V+1 closes the rows of the SKUs it changes or retires (valid_to = V+1) and
inserts the new rows (valid_from = V+1), in bulk: PostgreSQL through COPY, SQLite through one
executemany. The caller holds the write transaction, so a version is all there or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import (
    ARRAY,
    Connection,
    String,
    and_,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from demandmatch.data.schema import TABLES

from .accounts import iso, now
from .tables import ITEM_FIELDS, catalog_items, catalog_versions, merchants

_SPEC = {c.name: c for c in TABLES["catalog"].columns}
_CHUNK = 2000
_INSERT_COLUMNS = ("merchant_id", "valid_from", "valid_to", *ITEM_FIELDS)


def _live_at(version: int):
    c = catalog_items.c
    return and_(c.valid_from <= version, or_(c.valid_to.is_(None), c.valid_to > version))


def snapshot(conn: Connection, merchant_id: str, version: int | None) -> pd.DataFrame:
    """The merchant's catalog at `version` (None: the current one), typed as the contract's
    loader types it, sorted by SKU."""
    c = catalog_items.c
    cond = c.valid_to.is_(None) if version is None else _live_at(version)
    query = (
        select(*(c[name] for name in ITEM_FIELDS))
        .where(c.merchant_id == merchant_id, cond)
        .order_by(c.sku_id)
    )
    return typed(conn.execute(query).all(), ITEM_FIELDS)


def current_all(conn: Connection) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every merchant's current catalog (with merchant_id) and each merchant's version."""
    c = catalog_items.c
    query = (
        select(c.merchant_id, *(c[name] for name in ITEM_FIELDS))
        .where(c.valid_to.is_(None))
        .order_by(c.merchant_id, c.sku_id)
    )
    frame = typed(conn.execute(query).all(), ("merchant_id", *ITEM_FIELDS))
    versions = {
        r.merchant_id: int(r.current_version)
        for r in conn.execute(select(merchants.c.merchant_id, merchants.c.current_version))
    }
    return frame, versions


def typed(rows: list, columns: Iterable[str]) -> pd.DataFrame:
    """Rows from the database as a frame with the contract loader's dtypes."""
    columns = list(columns)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for name in columns:
        col = _SPEC[name]
        if col.kind == "string":
            frame[name] = frame[name].astype(object)
        elif col.kind == "integer" and (col.required or col.default is not None):
            frame[name] = frame[name].astype(np.int64)
        else:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
    return frame


def list_versions(conn: Connection, merchant_id: str) -> list[dict[str, object]]:
    v = catalog_versions.c
    current = conn.execute(
        select(merchants.c.current_version).where(merchants.c.merchant_id == merchant_id)
    ).scalar_one()
    rows = conn.execute(
        select(catalog_versions).where(v.merchant_id == merchant_id).order_by(v.version.desc())
    )
    return [
        {
            "version": r.version,
            "current": r.version == current,
            "created_at": iso(r.created_at),
            "action": r.action,
            "base_version": r.base_version,
            "rolled_back_to": r.rolled_back_to,
            "preview_id": r.preview_id,
            "token_id": r.token_id,
            "creates": r.n_creates,
            "updates": r.n_updates,
            "retires": r.n_retires,
            "skus": r.n_skus,
            "file_sha256": r.file_sha256,
        }
        for r in rows
    ]


def version_exists(conn: Connection, merchant_id: str, version: int) -> bool:
    v = catalog_versions.c
    query = select(v.version).where(v.merchant_id == merchant_id, v.version == version)
    return conn.execute(query).first() is not None


def write_version(
    conn: Connection,
    merchant_id: str,
    base: int,
    writes: pd.DataFrame,
    retires: list[str],
    *,
    action: str,
    n_creates: int,
    token_id: str | None = None,
    preview_id: str | None = None,
    rolled_back_to: int | None = None,
    file_sha256: str | None = None,
) -> int:
    """Store version base+1 of the merchant's catalog. The caller has checked that `base` is
    current and holds the write transaction (and, on PostgreSQL, the merchant's row lock)."""
    new = base + 1
    c = catalog_items.c
    closing = list(writes["sku_id"]) + list(retires)
    _close(conn, merchant_id, closing, new)
    _insert(conn, merchant_id, writes, new)
    if conn.dialect.name == "postgresql" and len(writes) >= 10_000:
        conn.execute(text("ANALYZE catalog_items"))  # plans of the next versions see the rows
    n_skus = conn.execute(
        select(func.count()).where(c.merchant_id == merchant_id, c.valid_to.is_(None))
    ).scalar_one()
    conn.execute(
        insert(catalog_versions).values(
            merchant_id=merchant_id,
            version=new,
            created_at=now(),
            action=action,
            base_version=base,
            rolled_back_to=rolled_back_to,
            preview_id=preview_id,
            token_id=token_id,
            n_creates=n_creates,
            n_updates=len(writes) - n_creates,
            n_retires=len(retires),
            n_skus=n_skus,
            file_sha256=file_sha256,
        )
    )
    conn.execute(
        update(merchants).where(merchants.c.merchant_id == merchant_id).values(current_version=new)
    )
    return new


def _close(conn: Connection, merchant_id: str, skus: list[str], version: int) -> None:
    """End the current rows of these SKUs at `version`."""
    c = catalog_items.c
    current = and_(c.merchant_id == merchant_id, c.valid_to.is_(None))
    if conn.dialect.name == "postgresql":  # one array parameter: a hashed lookup, one statement
        if skus:
            wanted = bindparam("skus", value=skus, type_=ARRAY(String))
            conn.execute(
                update(catalog_items)
                .where(current, c.sku_id == any_(wanted))
                .values(valid_to=version)
            )
        return
    for start in range(0, len(skus), _CHUNK):
        chunk = skus[start : start + _CHUNK]
        conn.execute(
            update(catalog_items).where(current, c.sku_id.in_(chunk)).values(valid_to=version)
        )


def _records(merchant_id: str, writes: pd.DataFrame, version: int) -> list[tuple]:
    n = len(writes)
    columns: list[list] = [[merchant_id] * n, [version] * n, [None] * n]
    for name in ITEM_FIELDS:
        col = _SPEC[name]
        values = writes[name]
        if col.kind == "string":
            columns.append([None if v is None or v != v else str(v) for v in values])
            continue
        arr = values.to_numpy(dtype=np.float64)
        known = ~np.isnan(arr)
        if col.kind == "integer":
            ints = np.where(known, arr, 0).astype(np.int64).tolist()
            columns.append(_blanks(ints, known))
        else:
            columns.append(_blanks(arr.tolist(), known))
    return list(zip(*columns, strict=True))


def _blanks(values: list, known: np.ndarray) -> list:
    """None where a value is unknown (NULL in the database)."""
    if known.all():
        return values
    return [v if k else None for v, k in zip(values, known.tolist(), strict=True)]


def _insert(conn: Connection, merchant_id: str, writes: pd.DataFrame, version: int) -> None:
    if writes.empty:
        return
    records = _records(merchant_id, writes, version)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        names = ", ".join(_INSERT_COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY catalog_items ({names}) FROM STDIN") as copy:
            for record in records:
                copy.write_row(record)
        return
    rows = [dict(zip(_INSERT_COLUMNS, r, strict=True)) for r in records]
    conn.execute(insert(catalog_items), rows)
