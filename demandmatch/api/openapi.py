"""Print the service's OpenAPI schema: `python -m demandmatch.api.openapi > docs/openapi.json`."""

from __future__ import annotations

import json
import sys

from fastapi import FastAPI


def schema(app: FastAPI | None = None) -> dict:
    """The OpenAPI document of the app (of a store-less app when none is given)."""
    if app is None:
        from .app import create_app

        app = create_app(store=None)  # type: ignore[arg-type] - routes are not called
    return app.openapi()


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dumps(schema()))
