"""Any upload through the API answers a preview (201) or a clear error (413/422), never a
500 or a traceback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demandmatch.api.app import create_app
from demandmatch.catalog import Limits
from demandmatch.store import Store
from tests.catalog.helpers import xlsx
from tests.catalog.test_fuzz import cell, headers, xlsx_value


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    token = store.add_merchant("M01")
    app = create_app(store, limits=Limits(max_bytes=50_000, max_rows=500))
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c
    store.close()


def check(client, data: bytes, name: str, mode: str = "upsert") -> None:
    r = client.post(
        "/api/v1/merchants/M01/imports", files={"file": (name, data)}, data={"mode": mode}
    )
    assert r.status_code in (201, 413, 422), (r.status_code, r.text[:300])
    body = r.json()
    if r.status_code == 201:
        assert body["counts"]["rows"] >= 1
    else:
        assert body["error"]["code"] and body["error"]["message"]
        assert "Traceback" not in body["error"]["message"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    header=headers(),
    rows=st.lists(st.lists(cell, max_size=10), max_size=6),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
    name=st.sampled_from(["c.csv", "c.tsv", "c.xlsx", "c", "../x.csv"]),
)
def test_text_uploads(client, header, rows, encoding, name):
    text = "\n".join(",".join(r) for r in [header, *rows])
    check(client, text.encode(encoding, "replace"), name)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    header=headers(extra=False),
    rows=st.lists(st.lists(xlsx_value, max_size=9), max_size=5),
    mode=st.sampled_from(["upsert", "replace"]),
)
def test_xlsx_uploads(client, header, rows, mode):
    check(client, xlsx([header, *rows]), "c.xlsx", mode)
