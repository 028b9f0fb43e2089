"""Imports as plan, then apply: save a preview of an upload, apply it once, roll back.

A preview records the version it was compared with. Applying it checks, under the write
lock, that this version is still current: if another import or a rollback landed first, the
apply is refused with a message that says so, and nothing is written. Applying a preview that
was applied already answers with the version it made.
"""

from __future__ import annotations

import io
import json
import secrets
import zlib
from collections.abc import Callable
from pathlib import PurePath

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update

from demandmatch.catalog import Limits, diff_catalogs, plan_import

from .accounts import iso, now, require_merchant
from .audit import Actor, record
from .engine import reading, writing
from .errors import Conflict, NotFound, Refused
from .tables import catalog_versions, previews, uploads
from .versions import snapshot, version_exists, write_version

Progress = Callable[[str, int, int], None]
_LIST_KEYS = ("creates", "updates", "retires", "errors", "warnings", "rejected")


def _pack(value: object) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False).encode(), 3)


def _unpack(blob: bytes) -> object:
    return json.loads(zlib.decompress(blob))


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def _display_name(filename: str) -> str:
    name = PurePath(filename or "upload").name
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-200:] or "upload"


def create_preview(
    engine: Engine,
    merchant_id: str,
    data: bytes,
    filename: str,
    actor: Actor,
    *,
    mode: str = "upsert",
    sheet: str | None = None,
    limits: Limits = Limits(),
    progress: Progress | None = None,
    limit: int | None = None,
) -> dict[str, object]:
    """Check an upload against the current catalog and save the plan; returns the preview.

    A file that cannot be read at all raises CatalogFileError and saves nothing."""
    with reading(engine) as conn:
        base = require_merchant(conn, merchant_id)
        current = snapshot(conn, merchant_id, None)
    name = _display_name(filename)
    plan = plan_import(
        data, name, merchant_id, current, mode=mode, sheet=sheet, limits=limits, progress=progress
    )
    if progress is not None:
        progress("saving", 0, 1)
    preview_id = "pv_" + secrets.token_hex(12)
    upload_id = "up_" + secrets.token_hex(12)
    report = plan.report()
    report["file"]["stored_name"] = f"{upload_id}.{plan.file['kind']}"
    counts = plan.counts()
    with writing(engine) as conn:
        require_merchant(conn, merchant_id)
        conn.execute(
            insert(uploads).values(
                upload_id=upload_id,
                merchant_id=merchant_id,
                stored_name=report["file"]["stored_name"],
                original_name=name,
                kind=plan.file["kind"],
                size=len(data),
                sha256=plan.file["sha256"],
                created_at=now(),
                token_id=actor.token_id,
                content=data,
            )
        )
        conn.execute(
            insert(previews).values(
                preview_id=preview_id,
                merchant_id=merchant_id,
                upload_id=upload_id,
                base_version=base,
                mode=mode,
                created_at=now(),
                token_id=actor.token_id,
                status="ready",
                counts=json.dumps(counts),
                report=_pack(report),
                writes=_parquet(plan.writes),
                retires=_pack(plan.retires),
            )
        )
        record(
            conn,
            actor,
            "import",
            merchant_id,
            version=base,
            preview_id=preview_id,
            counts=counts,
            file_sha256=str(plan.file["sha256"]),
            detail=f"{name} ({mode})",
        )
    return _view(preview_id, merchant_id, base, mode, "ready", None, report, limit)


def _view(
    preview_id: str,
    merchant_id: str,
    base: int,
    mode: str,
    status: str,
    applied_version: int | None,
    report: dict,
    limit: int | None,
) -> dict[str, object]:
    out = {
        "id": preview_id,
        "merchant_id": merchant_id,
        "base_version": base,
        "mode": mode,
        "status": status,
        "applied_version": applied_version,
        **{k: v for k, v in report.items() if k not in ("merchant_id", "mode")},
    }
    out["truncated"] = {k: limit is not None and len(out[k]) > limit for k in _LIST_KEYS}
    if limit is not None:
        for key in _LIST_KEYS:
            out[key] = out[key][:limit]
    return out


def _preview_row(conn: Connection, merchant_id: str, preview_id: str, lock: bool = False):
    query = select(previews).where(
        previews.c.preview_id == preview_id, previews.c.merchant_id == merchant_id
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no preview {preview_id} for merchant {merchant_id}")
    return row


def get_preview(
    engine: Engine, merchant_id: str, preview_id: str, limit: int | None = 1000
) -> dict[str, object]:
    with reading(engine) as conn:
        row = _preview_row(conn, merchant_id, preview_id)
    return _view(
        row.preview_id,
        merchant_id,
        row.base_version,
        row.mode,
        row.status,
        row.applied_version,
        _unpack(row.report),
        limit,
    )


def apply_preview(
    engine: Engine, merchant_id: str, preview_id: str, actor: Actor, *, allow_partial: bool = False
) -> dict[str, object]:
    """Store the preview's changes as a new version, once. See the module docstring."""
    with writing(engine) as conn:
        current = require_merchant(conn, merchant_id, lock=True)
        row = _preview_row(conn, merchant_id, preview_id, lock=True)
        counts = json.loads(row.counts)
        if row.status == "applied":
            return _applied(row.applied_version, row.base_version, counts, already=True)
        if row.base_version != current:
            raise Conflict(_moved_on(conn, merchant_id, row.base_version, current))
        if counts["rejected"] and not allow_partial:
            raise Refused(
                f"{counts['rejected']} row(s) of this file were rejected, so nothing was "
                "applied; fix them and upload the file again, or apply with allow_partial to "
                f"store only the {counts['rows'] - counts['rejected']} valid row(s)",
                code="rows_rejected",
            )
        writes = pd.read_parquet(io.BytesIO(row.writes)).drop(columns="_row")
        retires = _unpack(row.retires)
        version = current
        if len(writes) or retires:
            version = write_version(
                conn,
                merchant_id,
                current,
                writes,
                retires,
                action="import",
                n_creates=counts["creates"],
                token_id=actor.token_id,
                preview_id=preview_id,
                file_sha256=_file_hash(row),
            )
        conn.execute(
            update(previews)
            .where(previews.c.preview_id == preview_id)
            .values(status="applied", applied_version=version, applied_at=now())
        )
        record(
            conn,
            actor,
            "apply",
            merchant_id,
            version=version,
            preview_id=preview_id,
            counts=counts,
            file_sha256=_file_hash(row),
            detail=None if version != current else "no changes; no new version",
        )
    return _applied(version, current, counts, already=False)


def _file_hash(row) -> str:
    return str(_unpack(row.report)["file"]["sha256"])


def _applied(version: int, before: int, counts: dict, already: bool) -> dict[str, object]:
    """`changed`: whether applying the preview made a new version (now or the first time)."""
    return {
        "version": version,
        "changed": version != before,
        "already_applied": already,
        "counts": counts,
    }


def _moved_on(conn: Connection, merchant_id: str, base: int, current: int) -> str:
    v = catalog_versions.c
    last = conn.execute(
        select(v.action, v.created_at, v.token_id).where(
            v.merchant_id == merchant_id, v.version == current
        )
    ).first()
    how = ""
    if last is not None:
        who = f"token {last.token_id}" if last.token_id else "the command line"
        how = f" (an {last.action} at {iso(last.created_at)} by {who})"
    return (
        f"the catalog moved on since this preview was made: the preview compares the file "
        f"with version {base}, but version {current} is now current{how}. Nothing was "
        "applied; upload the file again to preview it against the current version"
    )


def rollback(engine: Engine, merchant_id: str, version: int, actor: Actor) -> dict[str, object]:
    """Make the catalog as it was at `version`, as a new version (history is kept)."""
    with writing(engine) as conn:
        current = require_merchant(conn, merchant_id, lock=True)
        if not version_exists(conn, merchant_id, version):
            raise NotFound(f"merchant {merchant_id} has no catalog version {version}")
        if version == current:
            raise Refused(
                f"version {version} is already the current version", code="already_current"
            )
        target = snapshot(conn, merchant_id, version)
        now_frame = snapshot(conn, merchant_id, None)
        writes, retires = diff_catalogs(now_frame, target)
        created = int((~writes["sku_id"].isin(set(now_frame["sku_id"]))).sum())
        new = write_version(
            conn,
            merchant_id,
            current,
            writes,
            retires,
            action="rollback",
            n_creates=created,
            token_id=actor.token_id,
            rolled_back_to=version,
        )
        counts = {"creates": created, "updates": len(writes) - created, "retires": len(retires)}
        record(
            conn,
            actor,
            "rollback",
            merchant_id,
            version=new,
            counts=counts,
            detail=f"to version {version}",
        )
    return {"version": new, "rolled_back_to": version, "counts": counts}


def rejected_rows(engine: Engine, merchant_id: str, preview_id: str) -> tuple[list[str], list]:
    """The header and the rejected rows (cells and errors) of a preview."""
    with reading(engine) as conn:
        row = _preview_row(conn, merchant_id, preview_id)
    report = _unpack(row.report)
    return report["header"], report["rejected"]
