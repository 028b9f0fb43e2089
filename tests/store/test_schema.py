"""The migrations build exactly the tables the code uses; each heavy library stays in its
package."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import demandmatch
from demandmatch.store.tables import metadata

PACKAGE = Path(demandmatch.__file__).parent


def test_migrations_match_the_tables(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_opening_twice_migrates_once(store_url, store):
    from demandmatch.store import Store

    again = Store(store_url)
    assert again.merchants() == []
    again.close()


def _imports(folder: str) -> set[str]:
    found = set()
    for path in (PACKAGE / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_heavy_libraries_stay_behind_their_package():
    assert not {"fastapi", "starlette", "uvicorn"} & _imports("store")
    assert not {"sqlalchemy", "alembic"} & _imports("api")
    assert not {"sqlalchemy", "alembic", "fastapi", "starlette"} & _imports("catalog")
