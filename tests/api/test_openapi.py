"""The API's OpenAPI schema is committed in docs/, so a change to the API is a deliberate
change to that file too."""

from __future__ import annotations

import json
from pathlib import Path

from demandmatch.api.openapi import dumps, schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_matches_the_app():
    committed = json.loads(DOC.read_text(encoding="utf-8"))
    assert committed == json.loads(dumps(schema())), (
        "the API changed: review it, then run "
        "`python -m demandmatch.api.openapi > docs/openapi.json`"
    )


def test_openapi_names_every_route_and_the_bearer_rule():
    document = schema()
    paths = set(document["paths"])
    assert {
        "/api/v1/merchants/{merchant_id}/imports",
        "/api/v1/merchants/{merchant_id}/imports/{preview_id}/apply",
        "/api/v1/merchants/{merchant_id}/catalog/rollback",
        "/api/v1/merchants/{merchant_id}/catalog/versions",
        "/api/v1/merchants/{merchant_id}/jobs/{job_id}",
        "/api/v1/merchants/{merchant_id}/audit",
        "/api/v1/template.{fmt}",
    } <= paths
    assert not any(p.startswith("/ui/") for p in paths)
    assert "Bearer" in document["info"]["description"]
