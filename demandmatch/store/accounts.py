"""Merchants and API tokens. A token is shown once; the store keeps only its SHA-256.

A token reads `dm_<token id>_<secret>`: the id (kept in clear, and named in the audit log)
finds the row, the secret's hash is compared in constant time. Secrets are 256 random bits,
so a fast hash is enough; there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from .errors import Conflict, NotFound, Unauthorized
from .tables import merchants, tokens

MERCHANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_TOKEN = re.compile(r"dm_([a-f0-9]{16})_([A-Za-z0-9_-]{20,100})")


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for: a merchant, or the platform admin (merchant_id None)."""

    token_id: str
    merchant_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.merchant_id is None

    def can_see(self, merchant_id: str) -> bool:
        return self.is_admin or self.merchant_id == merchant_id


def now() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which were written in UTC."""
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_merchant_id(merchant_id: str) -> str:
    if not MERCHANT_ID.fullmatch(merchant_id or ""):
        raise ValueError(
            f"merchant id {merchant_id!r}: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return merchant_id


def add_merchant(conn: Connection, merchant_id: str, name: str | None) -> None:
    check_merchant_id(merchant_id)
    found = conn.execute(
        select(merchants.c.merchant_id).where(merchants.c.merchant_id == merchant_id)
    )
    if found.first() is not None:
        raise Conflict(f"merchant {merchant_id} already exists", code="merchant_exists")
    conn.execute(
        insert(merchants).values(
            merchant_id=merchant_id, name=name, current_version=0, created_at=now()
        )
    )


def issue_token(conn: Connection, merchant_id: str | None, label: str | None = None) -> str:
    """Make a token for a merchant (or the admin when None); returns it, the only time."""
    if merchant_id is not None:
        require_merchant(conn, merchant_id)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(tokens).values(
            token_id=token_id,
            merchant_id=merchant_id,
            secret_sha256=_hash(secret),
            label=label,
            created_at=now(),
        )
    )
    return f"dm_{token_id}_{secret}"


def revoke_token(conn: Connection, token_id: str) -> None:
    done = conn.execute(
        update(tokens)
        .where(tokens.c.token_id == token_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    if done.rowcount == 0:
        raise NotFound(f"no active token {token_id}")


def authenticate(conn: Connection, token: str | None) -> Principal:
    found = _TOKEN.fullmatch((token or "").strip())
    refused = Unauthorized("missing or unknown token; send 'Authorization: Bearer <token>'")
    if found is None:
        raise refused
    token_id, secret = found.groups()
    row = conn.execute(
        select(tokens.c.merchant_id, tokens.c.secret_sha256, tokens.c.revoked_at).where(
            tokens.c.token_id == token_id
        )
    ).first()
    if row is None or row.revoked_at is not None:
        raise refused
    if not hmac.compare_digest(row.secret_sha256, _hash(secret)):
        raise refused
    return Principal(token_id, row.merchant_id)


def require_merchant(conn: Connection, merchant_id: str, lock: bool = False) -> int:
    """The merchant's current version; NotFound if there is no such merchant. With `lock`,
    the merchant's row stays locked until the transaction ends (PostgreSQL)."""
    query = select(merchants.c.current_version).where(merchants.c.merchant_id == merchant_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no merchant {merchant_id}")
    return int(row.current_version)


def list_merchants(conn: Connection, only: str | None = None) -> list[dict[str, object]]:
    query = select(merchants).order_by(merchants.c.merchant_id)
    if only is not None:
        query = query.where(merchants.c.merchant_id == only)
    return [
        {
            "merchant_id": r.merchant_id,
            "name": r.name,
            "current_version": r.current_version,
            "created_at": iso(r.created_at),
        }
        for r in conn.execute(query)
    ]
