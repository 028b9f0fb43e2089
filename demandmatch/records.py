"""The record of a run: its MLflow run (a readable name, opened when the work starts, stage
timings as metrics, warnings as a tag and an artifact, the fitted model) and its run.json.

Tracking cannot sink a plan: any tracking failure becomes a warning and the status
`failed (reason)` in run.json, and the run goes on untracked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from .config import Config
from .data.plausible import DataWarning
from .timing import Timer

GENERIC_DATA_NAMES = ("data", "input", "inputs", "tables")


def data_label(data_dir: Path) -> str:
    """The data folder's name, with its parent's when the name says nothing (`world/data`)."""
    path = Path(data_dir).resolve()
    if path.name.lower() in GENERIC_DATA_NAMES and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name


def run_name(
    kind: str, as_of: pd.Timestamp | None, data_dir: Path, config_name: str, timezone: str
) -> str:
    """`forecast as of 2024-11-06 21:00 | demo-world/data | fast | 06-01 10:32:05`: what was
    run on what, and when (so two runs of the same inputs still differ)."""
    now = datetime.now().astimezone()
    at = "" if as_of is None else f" as of {as_of.tz_convert(timezone):%Y-%m-%d %H:%M}"
    return f"{kind}{at} | {data_label(data_dir)} | {config_name} | {now:%m-%d %H:%M:%S}"


def version() -> str:
    try:
        return metadata.version("demandmatch")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class RunTracking:
    """The MLflow side of one run: off, live, or failed (and then off for the rest of it).
    Failures are appended to `warnings`, the run's shared list."""

    warnings: list[DataWarning]
    run: object | None = None  # a demandmatch.tracking.TrackedRun while live
    status: str = "off"
    tracking_uri: str | None = None
    run_id: str | None = None

    @classmethod
    def start(
        cls,
        config: Config,
        project_dir: Path,
        name: str,
        tags: dict[str, object],
        warnings: list[DataWarning],
    ) -> RunTracking:
        me = cls(warnings)
        if not config.tracking.enabled:
            return me
        from .tracking import TrackedRun, TrackingError, resolve_tracking_uri

        t = config.tracking
        me.tracking_uri = resolve_tracking_uri(t.uri, project_dir)
        try:
            me.run = TrackedRun.open(
                tracking_uri=me.tracking_uri,
                experiment=t.experiment,
                run_name=name,
                tags=tags,
                timeout_s=t.timeout_s,
                max_retries=t.max_retries,
            )
            me.status, me.run_id = "running", me.run.run_id
        except TrackingError as err:
            me._fail(err)
        return me

    def finish(
        self,
        config: Config,
        metrics: dict[str, object],
        tags: dict[str, object],
        files: list[Path],
        timer: Timer,
        model: object | None = None,
    ) -> None:
        """Log the params, metrics with stage timings, warnings, the files and the model, and
        end the run FINISHED; on a failure, note it and stop."""
        from .tracking import TrackingError

        if self.run is None:
            return
        run = self.run
        timings = {f"time.{k.replace(' ', '_')}_s": v for k, v in timer.seconds.items()}
        notes = [w.as_dict() for w in self.warnings]
        try:
            run.log(  # type: ignore[attr-defined]
                params=config.model_dump(mode="json"),
                metrics={**metrics, **timings, "time.total_s": timer.elapsed},
                tags={**tags, "warnings": "; ".join(w.code for w in self.warnings) or "none"},
            )
            run.log_files(files)  # type: ignore[attr-defined]
            cfg = config.model_dump(mode="json")
            run.log_text("config.json", json.dumps(cfg, indent=2, sort_keys=True))  # type: ignore[attr-defined]
            run.log_text("warnings.json", json.dumps(notes, indent=2))  # type: ignore[attr-defined]
            if model is not None:
                run.log_model(model, cfg)  # type: ignore[attr-defined]
            run.end()  # type: ignore[attr-defined]
            self.status = "ok"
        except TrackingError as err:
            self._fail(err)

    def abandon(self) -> None:
        """The run failed: mark its MLflow run FAILED (best effort)."""
        if self.run is not None:
            self.run.abandon()  # type: ignore[attr-defined]

    def _fail(self, err) -> None:
        self.status = f"failed ({err.reason})"
        self.warnings.append(
            DataWarning("tracking", f"tracking: failed ({err.reason}); the plan does not need it")
        )
        if self.run is not None and not err.unreachable:
            self.run.abandon()  # type: ignore[attr-defined]
        self.run = None


def file_digests(folder: Path, names: list[str]) -> dict[str, dict[str, object]]:
    """SHA-256 and size of each named file: run.json lists the set it belongs to, so a reader
    can check that what it read is one run's."""
    out: dict[str, dict[str, object]] = {}
    for name in sorted(names):
        path = folder / name
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        out[name] = {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}
    return out


@dataclass
class RunInfo:
    """What run.json holds (besides what a kind of run adds in `extra`)."""

    kind: str
    config: Config
    data_dir: Path
    data_hash: str
    tracking: RunTracking
    timer: Timer
    started_at: str = field(default_factory=lambda: datetime.now().astimezone().isoformat())
    run_name: str = ""

    def as_dict(self, folder: Path, files: list[Path], extra: dict[str, object]) -> dict:
        return {
            "kind": self.kind,
            "version": version(),
            "run_id": self.tracking.run_id,
            "run_name": self.run_name,
            "tracking": self.tracking.status,
            "tracking_uri": self.tracking.tracking_uri,
            "started_at": self.started_at,
            "finished_at": datetime.now().astimezone().isoformat(),
            "config": self.config.model_dump(mode="json"),
            "data_dir": str(self.data_dir),
            "data_hash": self.data_hash,
            **extra,
            "warnings": [w.as_dict() for w in self.tracking.warnings],
            "timings_s": self.timer.seconds,
            "stages": [{"stage": n, "seconds": s} for n, s in self.timer.steps],
            "files": file_digests(folder, [p.name for p in files]),
        }
