"""The audit log: who (token id), when, what (version, counts, file hash) and from where."""

from __future__ import annotations

import json

from sqlalchemy import Connection, insert, select

from .accounts import iso, now
from .actor import Actor
from .tables import audit_log


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    merchant_id: str | None,
    *,
    version: int | None = None,
    preview_id: str | None = None,
    counts: dict[str, int] | None = None,
    file_sha256: str | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=now(),
            merchant_id=merchant_id,
            token_id=actor.token_id,
            via=actor.via,
            ip=actor.ip,
            action=action,
            version=version,
            preview_id=preview_id,
            counts=json.dumps(counts) if counts is not None else None,
            file_sha256=file_sha256,
            detail=detail,
        )
    )


def entries(conn: Connection, merchant_id: str | None, limit: int = 200) -> list[dict[str, object]]:
    """Newest first; all merchants' when merchant_id is None (the admin's view)."""
    query = select(audit_log).order_by(audit_log.c.audit_id.desc()).limit(limit)
    if merchant_id is not None:
        query = query.where(audit_log.c.merchant_id == merchant_id)
    return [
        {
            "at": iso(r.at),
            "merchant_id": r.merchant_id,
            "token_id": r.token_id,
            "via": r.via,
            "ip": r.ip,
            "action": r.action,
            "version": r.version,
            "preview_id": r.preview_id,
            "counts": json.loads(r.counts) if r.counts else None,
            "file_sha256": r.file_sha256,
            "detail": r.detail,
        }
        for r in conn.execute(query)
    ]
