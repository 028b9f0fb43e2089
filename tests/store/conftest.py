"""Stores to test on: SQLite always; PostgreSQL too when DEMANDMATCH_TEST_PG_URL names a
server (`.ci/run` starts one). Each PostgreSQL test gets a schema of its own."""

from __future__ import annotations

import os
import secrets
from urllib.parse import quote

import pytest

from demandmatch.store import Store

PG_ENV = "DEMANDMATCH_TEST_PG_URL"


def _pg_url(schema: str) -> str:
    base = os.environ[PG_ENV]
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def _pg_admin(sql: str) -> None:
    import psycopg

    url = os.environ[PG_ENV].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store's URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not os.environ.get(PG_ENV):
        pytest.skip(f"PostgreSQL: set {PG_ENV} to a server's URL (.ci/run starts one)")
    schema = "t_" + secrets.token_hex(6)
    _pg_admin(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_url(schema)
    finally:
        _pg_admin(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()
