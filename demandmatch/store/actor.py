"""Who acts on the store, as the audit log records it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A token over the API (with the client's IP), or the local command line."""

    token_id: str | None = None
    ip: str | None = None
    via: str = "cli"
