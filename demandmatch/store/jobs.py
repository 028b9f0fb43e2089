"""Background imports: a large upload is previewed on a worker thread while the caller polls
its progress (stage, rows done of the rows expected) from the jobs table."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, insert, select, update

from demandmatch.catalog import CatalogFileError, Limits

from .accounts import iso, now, require_merchant
from .audit import Actor
from .engine import reading, writing
from .errors import NotFound, StoreError
from .previews import create_preview
from .tables import jobs

log = logging.getLogger(__name__)
_EVERY = 0.25  # seconds between progress writes


def estimate_rows(data: bytes, kind: str) -> int:
    """Rows an upload holds, roughly and cheaply: lines of text, or the sheet's XML size."""
    if kind != "xlsx":
        return data.count(b"\n")
    import io
    import zipfile

    try:
        sizes = [
            m.file_size
            for m in zipfile.ZipFile(io.BytesIO(data)).infolist()
            if m.filename.startswith("xl/worksheets/sheet")
        ]
    except (zipfile.BadZipFile, ValueError, OSError):
        return 0
    return max(sizes, default=0) // 400  # an XLSX row of a catalog is ~400 bytes of XML


def get_job(engine: Engine, merchant_id: str, job_id: str) -> dict[str, object]:
    with reading(engine) as conn:
        row = conn.execute(
            select(jobs).where(jobs.c.job_id == job_id, jobs.c.merchant_id == merchant_id)
        ).first()
    if row is None:
        raise NotFound(f"no job {job_id} for merchant {merchant_id}")
    total = max(int(row.total), 1)
    return {
        "id": row.job_id,
        "merchant_id": row.merchant_id,
        "kind": row.kind,
        "status": row.status,
        "stage": row.stage,
        "done": int(row.done),
        "total": int(row.total),
        "progress": 1.0 if row.status == "done" else min(int(row.done) / total, 0.99),
        "preview_id": row.preview_id,
        "error": {"code": row.error_code, "message": row.error} if row.error else None,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


class JobRunner:
    """Runs previews of large uploads on worker threads (two at most at a time)."""

    def __init__(self, engine: Engine, workers: int = 2) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import")

    def submit_preview(
        self,
        merchant_id: str,
        data: bytes,
        filename: str,
        actor: Actor,
        *,
        mode: str,
        sheet: str | None,
        limits: Limits,
        expected_rows: int,
    ) -> dict[str, object]:
        job_id = "job_" + secrets.token_hex(12)
        with writing(self.engine) as conn:
            require_merchant(conn, merchant_id)
            conn.execute(
                insert(jobs).values(
                    job_id=job_id,
                    merchant_id=merchant_id,
                    kind="import",
                    status="queued",
                    stage="queued",
                    done=0,
                    total=max(expected_rows, 1),
                    created_at=now(),
                    updated_at=now(),
                )
            )
        self.pool.submit(self._run, job_id, merchant_id, data, filename, actor, mode, sheet, limits)
        return get_job(self.engine, merchant_id, job_id)

    def _set(self, job_id: str, **values: object) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                update(jobs).where(jobs.c.job_id == job_id).values(updated_at=now(), **values)
            )

    def _run(self, job_id, merchant_id, data, filename, actor, mode, sheet, limits) -> None:
        last = [0.0]
        lock = threading.Lock()

        def progress(stage: str, done: int, total: int) -> None:
            with lock:
                if time.monotonic() - last[0] < _EVERY and stage == "reading":
                    return
                last[0] = time.monotonic()
            self._set(job_id, status="running", stage=stage, done=done, total=max(total, 1))

        try:
            self._set(job_id, status="running", stage="reading")
            preview = create_preview(
                self.engine,
                merchant_id,
                data,
                filename,
                actor,
                mode=mode,
                sheet=sheet,
                limits=limits,
                progress=progress,
            )
            rows = int(preview["counts"]["rows"])
            self._set(
                job_id,
                status="done",
                stage="done",
                done=rows,
                total=rows,
                preview_id=preview["id"],
            )
        except (CatalogFileError, StoreError) as err:
            self._set(
                job_id, status="failed", stage="failed", error_code=err.code, error=err.message
            )
        except Exception:  # a bug must still end the job with an answer
            log.exception("import job %s failed", job_id)
            self._set(
                job_id,
                status="failed",
                stage="failed",
                error_code="internal_error",
                error="the import failed on the server; the catalog is unchanged",
            )

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
