"""The catalog store as one object: what the API, the CLI and the forecast call."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from demandmatch.catalog import Limits
from demandmatch.catalog.exports import export_catalog, rejected_csv

from . import accounts, audit, jobs, previews, versions
from .audit import Actor
from .engine import make_engine, reading, resolve_url, upgrade, writing
from .errors import NotFound


class Store:
    """A catalog store at a URL (see engine.resolve_url); migrated to the latest schema on
    opening. Every method that names a merchant raises NotFound when it does not exist."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = resolve_url(url)
        self.engine: Engine = make_engine(self.url)
        if migrate:
            upgrade(self.engine)
        self._runner: jobs.JobRunner | None = None

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        self.engine.dispose()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    # --- merchants and tokens ----------------------------------------------------------------

    def add_merchant(self, merchant_id: str, name: str | None = None) -> str:
        """Add a merchant and return its first API token (shown this once)."""
        with writing(self.engine) as conn:
            accounts.add_merchant(conn, merchant_id, name)
            token = accounts.issue_token(conn, merchant_id, "first token")
            audit.record(conn, Actor(), "merchant_added", merchant_id, detail=name)
        return token

    def issue_token(self, merchant_id: str | None, label: str | None = None) -> str:
        """A new token for a merchant, or a platform admin token when merchant_id is None."""
        with writing(self.engine) as conn:
            token = accounts.issue_token(conn, merchant_id, label)
            audit.record(conn, Actor(), "token_issued", merchant_id, detail=label or "admin")
        return token

    def revoke_token(self, token_id: str) -> None:
        with writing(self.engine) as conn:
            accounts.revoke_token(conn, token_id)

    def authenticate(self, token: str | None) -> accounts.Principal:
        with reading(self.engine) as conn:
            return accounts.authenticate(conn, token)

    def merchants(self, only: str | None = None) -> list[dict[str, object]]:
        with reading(self.engine) as conn:
            return accounts.list_merchants(conn, only)

    # --- catalogs ----------------------------------------------------------------------------

    def catalog(self, merchant_id: str, version: int | None = None) -> tuple[pd.DataFrame, int]:
        """The merchant's catalog at `version` (default: current) and that version's number."""
        with reading(self.engine) as conn:
            current = accounts.require_merchant(conn, merchant_id)
            known = version is None or version == current
            if not known and not versions.version_exists(conn, merchant_id, version):
                raise NotFound(f"merchant {merchant_id} has no catalog version {version}")
            at = current if version is None else version
            frame = versions.snapshot(conn, merchant_id, at)
        frame.insert(0, "merchant_id", merchant_id)
        return frame, at

    def export(self, merchant_id: str, fmt: str = "csv", version: int | None = None) -> bytes:
        frame, _ = self.catalog(merchant_id, version)
        return export_catalog(frame, fmt)

    def versions(self, merchant_id: str) -> list[dict[str, object]]:
        with reading(self.engine) as conn:
            accounts.require_merchant(conn, merchant_id)
            return versions.list_versions(conn, merchant_id)

    def current_catalog(self) -> tuple[pd.DataFrame, dict[str, int]]:
        with reading(self.engine) as conn:
            frame, at = versions.current_all(conn)
        return frame, at

    # --- imports -----------------------------------------------------------------------------

    def preview(
        self,
        merchant_id: str,
        data: bytes,
        filename: str,
        actor: Actor = Actor(),
        *,
        mode: str = "upsert",
        sheet: str | None = None,
        limits: Limits = Limits(),
        progress=None,
        limit: int | None = None,
    ) -> dict[str, object]:
        """Check an upload against the current catalog and save its preview (lists cut at
        `limit` entries in the answer; all are kept)."""
        return previews.create_preview(
            self.engine,
            merchant_id,
            data,
            filename,
            actor,
            mode=mode,
            sheet=sheet,
            limits=limits,
            progress=progress,
            limit=limit,
        )

    def get_preview(
        self, merchant_id: str, preview_id: str, limit: int | None = 1000
    ) -> dict[str, object]:
        return previews.get_preview(self.engine, merchant_id, preview_id, limit)

    def rejected_csv(self, merchant_id: str, preview_id: str) -> bytes:
        header, rejected = previews.rejected_rows(self.engine, merchant_id, preview_id)
        return rejected_csv(header, rejected)

    def apply(
        self,
        merchant_id: str,
        preview_id: str,
        actor: Actor = Actor(),
        *,
        allow_partial: bool = False,
    ) -> dict[str, object]:
        return previews.apply_preview(
            self.engine, merchant_id, preview_id, actor, allow_partial=allow_partial
        )

    def rollback(self, merchant_id: str, version: int, actor: Actor = Actor()) -> dict:
        return previews.rollback(self.engine, merchant_id, version, actor)

    def audit(self, merchant_id: str | None, limit: int = 200) -> list[dict[str, object]]:
        with reading(self.engine) as conn:
            if merchant_id is not None:
                accounts.require_merchant(conn, merchant_id)
            return audit.entries(conn, merchant_id, limit)

    # --- background jobs ---------------------------------------------------------------------

    @property
    def runner(self) -> jobs.JobRunner:
        if self._runner is None:
            self._runner = jobs.JobRunner(self.engine)
        return self._runner

    def job(self, merchant_id: str, job_id: str) -> dict[str, object]:
        return jobs.get_job(self.engine, merchant_id, job_id)
