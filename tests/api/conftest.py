"""An app over a fresh store (SQLite, and PostgreSQL when configured) with two merchants."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from demandmatch.api.app import create_app
from demandmatch.catalog import Limits
from tests.store.conftest import store, store_url  # noqa: F401 - fixtures used here

HEAD = "sku_id,title,category,brand,list_price,unit_cost,on_hand"


@dataclass
class Service:
    client: TestClient
    store: object
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def upload(self, who, merchant, text, name="c.csv", **form):
        data = text.encode() if isinstance(text, str) else text
        return self.client.post(
            f"/api/v1/merchants/{merchant}/imports",
            files={"file": (name, data, "text/csv")},
            data=form,
            headers=self.auth(who),
        )


@pytest.fixture
def service(store):  # noqa: F811 - the fixture imported above
    tokens = {"M01": store.add_merchant("M01", "Shop <one>"), "M02": store.add_merchant("M02")}
    tokens["admin"] = store.issue_token(None)
    app = create_app(store, limits=Limits(max_bytes=200_000, max_rows=5_000), background_rows=1_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client, store, tokens)
