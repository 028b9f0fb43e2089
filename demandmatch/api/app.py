"""The catalog service: the REST API, the merchant's page and OpenAPI at /docs."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from demandmatch.catalog import CatalogFileError, Limits
from demandmatch.store import Store, StoreError

from . import pages, routes

log = logging.getLogger(__name__)
BACKGROUND_ROWS = 50_000
_TOO_LARGE = {"file_too_large", "unzipped_too_large", "too_many_rows"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(
    store: Store, *, limits: Limits = Limits(), background_rows: int = BACKGROUND_ROWS
) -> FastAPI:
    """The FastAPI app over a store. Uploads of `background_rows` rows or more (estimated
    from the file) are previewed as background jobs."""
    app = FastAPI(
        title="demandmatch catalog service",
        version="1",
        summary="Merchants import their catalogs: preview, apply, versions, rollback, audit.",
        description=(
            "Every call under /api/v1 (but the templates and health) carries "
            "`Authorization: Bearer <token>`. A merchant's token reaches only its own "
            "catalog: any other merchant id answers 404, as an id that does not exist. "
            'Errors answer `{"error": {"code", "message"}}`.'
        ),
    )
    app.state.store = store
    app.state.limits = limits
    app.state.background_rows = background_rows
    app.include_router(routes.router)
    app.include_router(pages.router)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.exception_handler(StoreError)
    def _store_error(_request: Request, err: StoreError) -> JSONResponse:
        return _error(err.status, err.code, err.message)

    @app.exception_handler(CatalogFileError)
    def _file_error(_request: Request, err: CatalogFileError) -> JSONResponse:
        return _error(413 if err.code in _TOO_LARGE else 422, err.code, err.message)

    @app.exception_handler(RequestValidationError)
    def _bad_request(_request: Request, err: RequestValidationError) -> JSONResponse:
        parts = []
        for e in err.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where}: {e.get('msg')}")
        return _error(422, "bad_request", "; ".join(parts) or "bad request")

    @app.exception_handler(Exception)
    def _internal(_request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=err)
        return _error(500, "internal_error", "the server failed; nothing was changed")

    @app.middleware("http")
    async def _hygiene(request: Request, call_next):
        length = request.headers.get("content-length", "")
        too_big = length.isdigit() and int(length) > limits.max_bytes + 1024 * 1024
        if request.method == "POST" and too_big:
            return _error(
                413,
                "file_too_large",
                f"the upload is over the limit of {limits.max_bytes:,} bytes",
            )
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app
