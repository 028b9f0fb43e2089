"""The merchant's page: paste a token, upload, read the preview, apply, roll back.

The page is one HTML document; its parts (preview, versions, audit) are HTML fragments made
here by Jinja with autoescaping, so merchant text is escaped wherever it shows. The page's
script only fetches them with the token and wires the buttons (no inline script: the
Content-Security-Policy forbids it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from demandmatch.store.accounts import Principal

from .auth import principal, scoped, store_of

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(principal)]
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _html(template: str, **context: object) -> HTMLResponse:
    body = _env.get_template(template).render(**context)
    return HTMLResponse(body, headers={"Content-Security-Policy": _CSP})


@router.get("/", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    limits = request.app.state.limits
    return _html(
        "page.html",
        max_mb=limits.max_bytes / 1024 / 1024,
        max_rows=limits.max_rows,
        background_rows=request.app.state.background_rows,
    )


@router.get("/ui/merchants/{merchant_id}/imports/{preview_id}", response_class=HTMLResponse)
def preview_part(
    request: Request,
    who: Who,
    merchant_id: str,
    preview_id: str,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> HTMLResponse:
    preview = store_of(request).get_preview(scoped(who, merchant_id), preview_id, limit)
    bad_cells = {row["row"]: {e["column"]: e for e in row["errors"]} for row in preview["rejected"]}
    return _html("preview.html", p=preview, bad_cells=bad_cells, limit=limit)


@router.get("/ui/merchants/{merchant_id}/versions", response_class=HTMLResponse)
def versions_part(request: Request, who: Who, merchant_id: str) -> HTMLResponse:
    versions = store_of(request).versions(scoped(who, merchant_id))
    return _html("versions.html", versions=versions, merchant_id=merchant_id)


@router.get("/ui/merchants/{merchant_id}/audit", response_class=HTMLResponse)
def audit_part(request: Request, who: Who, merchant_id: str) -> HTMLResponse:
    entries = store_of(request).audit(scoped(who, merchant_id), 100)
    return _html("audit.html", entries=entries)
