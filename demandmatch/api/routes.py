"""The REST API under /api/v1: merchants, catalogs, imports (preview, apply), versions,
rollback, jobs and the audit log. Every route but the templates needs a Bearer token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from demandmatch.catalog import CatalogFileError
from demandmatch.catalog.exports import catalog_rows, template
from demandmatch.catalog.files import file_kind
from demandmatch.store import NotFound, Refused
from demandmatch.store.accounts import Principal
from demandmatch.store.jobs import estimate_rows

from . import models
from .auth import actor, principal, scoped, store_of

router = APIRouter(prefix="/api/v1")
Who = Annotated[Principal, Depends(principal)]
_ERRORS = {
    401: {"model": models.ErrorResponse, "description": "missing or unknown token"},
    404: {"model": models.ErrorResponse, "description": "no such id, or not the caller's"},
}
_CSV = "text/csv; charset=utf-8"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(content: bytes, filename: str, fmt: str) -> Response:
    return Response(
        content,
        media_type=_CSV if fmt == "csv" else _XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/health", tags=["service"])
def health(request: Request) -> dict[str, str]:
    """Whether the service runs, and on which database."""
    return {"status": "ok", "store": store_of(request).backend}


@router.get("/me", response_model=models.Me, responses=_ERRORS, tags=["merchants"])
def me(who: Who) -> dict[str, object]:
    """The caller's token id and merchant (null for the platform admin)."""
    return {"token_id": who.token_id, "merchant_id": who.merchant_id, "is_admin": who.is_admin}


@router.get(
    "/merchants", response_model=list[models.Merchant], responses=_ERRORS, tags=["merchants"]
)
def merchants(request: Request, who: Who) -> list[dict[str, object]]:
    """All merchants for the admin; only itself for a merchant."""
    return store_of(request).merchants(only=who.merchant_id)


@router.post(
    "/merchants",
    status_code=201,
    response_model=models.NewMerchantToken,
    responses={**_ERRORS, 409: {"model": models.ErrorResponse}},
    tags=["merchants"],
)
def add_merchant(request: Request, who: Who, body: models.NewMerchant) -> dict[str, str]:
    """Admin only: add a merchant; its token is in the answer, this once."""
    if not who.is_admin:
        raise NotFound("no such route for a merchant token")
    try:
        token = store_of(request).add_merchant(body.merchant_id, body.name)
    except ValueError as err:
        raise Refused(str(err), code="bad_merchant_id") from err
    return {"merchant_id": body.merchant_id, "token": token}


@router.get(
    "/merchants/{merchant_id}/catalog",
    response_model=models.CatalogPage,
    responses=_ERRORS,
    tags=["catalog"],
)
def catalog(
    request: Request,
    who: Who,
    merchant_id: str,
    version: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, object]:
    """The catalog's rows (current, or at `version`), in the contract's columns."""
    frame, at = store_of(request).catalog(scoped(who, merchant_id), version)
    page = frame.iloc[offset : offset + limit]
    columns = list(frame.columns)
    items = [dict(zip(columns, row, strict=True)) for row in catalog_rows(page)]
    for item in items:
        for key, value in item.items():
            if value == "":
                item[key] = None
    return {
        "merchant_id": merchant_id,
        "version": at,
        "total": len(frame),
        "offset": offset,
        "items": items,
    }


@router.get("/merchants/{merchant_id}/catalog/export", responses=_ERRORS, tags=["catalog"])
def export(
    request: Request,
    who: Who,
    merchant_id: str,
    format: Literal["csv", "xlsx"] = "csv",
    version: int | None = None,
) -> Response:
    """The catalog as CSV (UTF-8 with BOM) or XLSX; text is safe from formula injection."""
    store = store_of(request)
    frame, at = store.catalog(scoped(who, merchant_id), version)
    from demandmatch.catalog.exports import export_catalog

    return _download(export_catalog(frame, format), f"{merchant_id}-catalog-v{at}.{format}", format)


@router.get(
    "/merchants/{merchant_id}/catalog/versions",
    response_model=list[models.Version],
    responses=_ERRORS,
    tags=["catalog"],
)
def versions(request: Request, who: Who, merchant_id: str) -> list[dict[str, object]]:
    """Every version of the catalog, newest first."""
    return store_of(request).versions(scoped(who, merchant_id))


@router.post(
    "/merchants/{merchant_id}/catalog/rollback",
    response_model=models.RollbackResult,
    responses={**_ERRORS, 422: {"model": models.ErrorResponse}},
    tags=["catalog"],
)
def rollback(
    request: Request, who: Who, merchant_id: str, body: models.RollbackRequest
) -> dict[str, object]:
    """Make the catalog as it was at `version`, as a new version."""
    return store_of(request).rollback(scoped(who, merchant_id), body.version, actor(request, who))


@router.post(
    "/merchants/{merchant_id}/imports",
    status_code=201,
    response_model=models.Preview,
    responses={
        **_ERRORS,
        202: {"model": models.Job, "description": "a large file: previewed in the background"},
        413: {"model": models.ErrorResponse, "description": "over a size or row limit"},
        422: {"model": models.ErrorResponse, "description": "the file cannot be read"},
    },
    tags=["imports"],
)
def create_import(
    request: Request,
    who: Who,
    merchant_id: str,
    file: Annotated[UploadFile, File(description="CSV, TSV or XLSX")],
    mode: Annotated[Literal["upsert", "replace"], Form()] = "upsert",
    sheet: Annotated[str | None, Form(description="XLSX sheet (default: the first)")] = None,
    limit: Annotated[int, Query(ge=0, le=100_000)] = 1000,
):
    """Upload a file and get its preview: creates, per-field updates, unchanged, retires,
    warnings and rejected rows with cell-level errors. Nothing changes until it is applied.
    Files of `background_rows` rows or more answer 202 with a job to poll."""
    store = store_of(request)
    scoped(who, merchant_id)
    limits = request.app.state.limits
    data = file.file.read(limits.max_bytes + 1)
    name = file.filename or "upload"
    if len(data) > limits.max_bytes:
        raise CatalogFileError(
            "file_too_large", f"{name}: over the limit of {limits.max_bytes:,} bytes"
        )
    kind = file_kind(data, name)
    if estimate_rows(data, kind) >= request.app.state.background_rows:
        job = store.runner.submit_preview(
            merchant_id,
            data,
            name,
            actor(request, who),
            mode=mode,
            sheet=sheet or None,
            limits=limits,
            expected_rows=estimate_rows(data, kind),
        )
        return JSONResponse(job, status_code=202)
    return store.preview(
        merchant_id,
        data,
        name,
        actor(request, who),
        mode=mode,
        sheet=sheet or None,
        limits=limits,
        limit=limit,
    )


@router.get(
    "/merchants/{merchant_id}/imports/{preview_id}",
    response_model=models.Preview,
    responses=_ERRORS,
    tags=["imports"],
)
def get_import(
    request: Request,
    who: Who,
    merchant_id: str,
    preview_id: str,
    limit: Annotated[int, Query(ge=0, le=100_000)] = 1000,
) -> dict[str, object]:
    """A preview again (lists cut at `limit` entries)."""
    return store_of(request).get_preview(scoped(who, merchant_id), preview_id, limit)


@router.get(
    "/merchants/{merchant_id}/imports/{preview_id}/rejected.csv",
    responses=_ERRORS,
    tags=["imports"],
)
def rejected(request: Request, who: Who, merchant_id: str, preview_id: str) -> Response:
    """The rejected rows as uploaded plus an `_errors` column: fix them and upload again."""
    content = store_of(request).rejected_csv(scoped(who, merchant_id), preview_id)
    return _download(content, f"{merchant_id}-{preview_id}-rejected.csv", "csv")


@router.post(
    "/merchants/{merchant_id}/imports/{preview_id}/apply",
    response_model=models.ApplyResult,
    responses={
        **_ERRORS,
        409: {"model": models.ErrorResponse, "description": "the catalog moved on"},
        422: {"model": models.ErrorResponse, "description": "rows were rejected"},
    },
    tags=["imports"],
)
def apply(
    request: Request,
    who: Who,
    merchant_id: str,
    preview_id: str,
    body: Annotated[models.ApplyRequest | None, Body()] = None,
) -> dict[str, object]:
    """Store the preview as a new catalog version. Applying it again answers with the same
    version; if the catalog moved on since the preview, 409 and nothing is written."""
    allow = body.allow_partial if body is not None else False
    return store_of(request).apply(
        scoped(who, merchant_id), preview_id, actor(request, who), allow_partial=allow
    )


@router.get(
    "/merchants/{merchant_id}/jobs/{job_id}",
    response_model=models.Job,
    responses=_ERRORS,
    tags=["imports"],
)
def job(request: Request, who: Who, merchant_id: str, job_id: str) -> dict[str, object]:
    """Progress of a background import; when done, `preview_id` names its preview."""
    return store_of(request).job(scoped(who, merchant_id), job_id)


@router.get(
    "/merchants/{merchant_id}/audit",
    response_model=list[models.AuditEntry],
    responses=_ERRORS,
    tags=["audit"],
)
def merchant_audit(
    request: Request,
    who: Who,
    merchant_id: str,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, object]]:
    """Imports, applies and rollbacks of this merchant's catalog, newest first."""
    return store_of(request).audit(scoped(who, merchant_id), limit)


@router.get("/audit", response_model=list[models.AuditEntry], responses=_ERRORS, tags=["audit"])
def all_audit(
    request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=10_000)] = 200
) -> list[dict[str, object]]:
    """The admin's view: every merchant's entries. A merchant token gets its own."""
    return store_of(request).audit(who.merchant_id, limit)


@router.get("/template.{fmt}", tags=["catalog"])
def catalog_template(fmt: Literal["csv", "xlsx"]) -> Response:
    """An empty catalog to fill in: CSV with a BOM, or XLSX with the SKU column as text."""
    return _download(template(fmt), f"catalog-template.{fmt}", fmt)
