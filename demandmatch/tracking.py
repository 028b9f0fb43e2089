"""MLflow tracking of runs: with tracking_registry (the model registry) beside it, the only
module that imports mlflow, and only inside functions.

Runs go through an explicit `MlflowClient` for the given URI rather than mlflow's global
"active run" state, so logging never changes the tracking URI of the calling process and two
runs in one process cannot tangle. The default backend is SQLite in the project directory
(MLflow's file store is deprecated); for a SQLite backend the artifacts of a new experiment sit
beside the database, so a run never writes into the current directory by surprise.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

ENV_URI = "MLFLOW_TRACKING_URI"
DB_NAME = "mlflow.db"
ARTIFACT_DIR = "mlartifacts"

# MLflow's limits (mlflow.utils.validation); kept here so flattening needs no mlflow import.
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_KEY = 250

_NOISY_LOGGERS = ("mlflow", "alembic")
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")
_RUN_COLUMNS = [
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
]


def resolve_tracking_uri(configured: str | None, project_dir: Path) -> str:
    """The tracking URI: MLFLOW_TRACKING_URI if set, else `configured`, else SQLite in
    `project_dir` (absolute path)."""
    env = os.environ.get(ENV_URI, "").strip()
    if env:
        return env
    if configured:
        return configured
    return sqlite_uri(Path(project_dir).resolve() / DB_NAME)


def sqlite_uri(db_path: Path) -> str:
    """`sqlite:///` + an absolute path (so four slashes on POSIX)."""
    return f"sqlite:///{Path(db_path).resolve().as_posix()}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI, or None for any other backend or in-memory."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).resolve()


def flatten_params(params: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """Nested dicts to dotted keys, values as text cut to MLflow's length limit.

    Lists and tuples are kept whole as JSON (a list of festivals is one setting); keys are
    limited to the characters MLflow accepts.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, name))
        else:
            flat[clean_key(name)] = _text(value)[:MAX_PARAM_VALUE]
    return flat


def clean_metrics(metrics: Mapping[str, object]) -> dict[str, float]:
    """Finite numeric metrics only: NaN, infinities and non-numbers are left out."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[clean_key(key)] = number
    return out


def clean_key(key: str) -> str:
    """A key MLflow accepts: allowed characters only, at most 250 of them."""
    return _BAD_KEY_CHARS.sub("_", str(key))[:MAX_KEY]


def log_run(
    *,
    tracking_uri: str,
    experiment: str,
    run_name: str,
    params: dict[str, object],
    metrics: dict[str, float],
    tags: dict[str, str],
    artifacts: list[Path],
    config: dict[str, object],
) -> str:
    """Log one finished run (params, metrics, tags, files and `config.json`); return its id.

    The experiment is created if missing. The run is marked FAILED, and still ended, if
    anything goes wrong while logging.
    """
    missing = [str(p) for p in artifacts if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"artifact files not found: {', '.join(missing)}")
    with _quiet_mlflow():
        client = _client(tracking_uri)
        experiment_id = ensure_experiment(client, tracking_uri, experiment)
        with _run(client, experiment_id, run_name, tags) as run_id:
            _log_values(client, run_id, params, metrics)
            _log_files(client, run_id, artifacts, config)
    return run_id


def search_runs(tracking_uri: str, experiment: str) -> pd.DataFrame:
    """Every run of `experiment`, newest first: one row per run with its `params.*`,
    `metrics.*` and `tags.*` columns; empty if the experiment (or the database) does not
    exist, and a missing SQLite database is not created by looking."""
    return find_runs(tracking_uri, {}, [experiment])


def ensure_experiment(client: MlflowClient, tracking_uri: str, name: str) -> str:
    """The id of experiment `name`, created if missing (artifacts beside a SQLite database)."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage != "active":
            raise ValueError(
                f"MLflow experiment {name!r} is deleted; restore it or choose another name"
            )
        return str(exp.experiment_id)
    try:
        return str(
            client.create_experiment(name, artifact_location=artifact_location(tracking_uri))
        )
    except MlflowException:
        exp = client.get_experiment_by_name(name)  # created meanwhile by another process
        if exp is None:
            raise
        return str(exp.experiment_id)


def artifact_location(tracking_uri: str) -> str | None:
    """`<db dir>/mlartifacts` as a file URI for a SQLite backend; None leaves it to MLflow."""
    db = sqlite_path(tracking_uri)
    return None if db is None else (db.parent / ARTIFACT_DIR).as_uri()


def _client(tracking_uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    db = sqlite_path(tracking_uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=tracking_uri)


@contextmanager
def _run(
    client: MlflowClient, experiment_id: str, run_name: str, tags: Mapping[str, object]
) -> Iterator[str]:
    """A run that is always ended: FINISHED on success, FAILED on any error."""
    run = client.create_run(experiment_id, run_name=run_name, tags=run_tags(tags))
    run_id = run.info.run_id
    try:
        yield run_id
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")


def run_tags(tags: Mapping[str, object]) -> dict[str, str]:
    """MLflow's context tags (user, source, git commit when there is one) under the given ones."""
    from mlflow.tracking.context.registry import resolve_tags

    given = {clean_key(k): _text(v)[:MAX_TAG_VALUE] for k, v in tags.items()}
    try:
        context = resolve_tags()
    except Exception:  # context tags are a courtesy; a run must not fail for them
        context = {}
    return {**context, **given}


def _log_values(
    client: MlflowClient, run_id: str, params: Mapping[str, object], metrics: Mapping[str, object]
) -> None:
    from mlflow.entities import Metric, Param

    now = _now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in clean_metrics(metrics).items()],
        params=[Param(k, v) for k, v in flatten_params(params).items()],
    )


def _log_files(
    client: MlflowClient, run_id: str, artifacts: list[Path], config: Mapping[str, object]
) -> None:
    for path in artifacts:
        client.log_artifact(run_id, str(path))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.json"
        cfg.write_text(json.dumps(config, indent=2, sort_keys=True, default=str), encoding="utf-8")
        client.log_artifact(run_id, str(cfg))


def _run_record(run: Any) -> dict[str, object]:
    info, data = run.info, run.data
    record: dict[str, object] = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "start_time": _timestamp(info.start_time),
        "end_time": _timestamp(info.end_time),
        "artifact_uri": info.artifact_uri,
    }
    record.update({f"params.{k}": v for k, v in data.params.items()})
    record.update({f"metrics.{k}": v for k, v in data.metrics.items()})
    record.update({f"tags.{k}": v for k, v in data.tags.items()})
    return record


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Hold MLflow's and alembic's INFO chatter (database creation, migrations) for the call;
    warnings and errors still show. MLflow sets up its logger on import, so import it first."""
    import mlflow.tracking  # noqa: F401

    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        if lg.getEffectiveLevel() < logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _timestamp(ms: int | None) -> pd.Timestamp | None:
    return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC")


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- runs opened before their work, and found again (the model registry: tracking_registry) --

PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag: the UI nests a child under its parent


class RunHandle:
    """An open run: log to it while the work goes on; `open_run` ends it."""

    def __init__(self, client: MlflowClient, run_id: str, experiment_id: str) -> None:
        self.client, self.run_id, self.experiment_id = client, run_id, experiment_id

    def log_params(self, params: Mapping[str, object]) -> None:
        _log_values(self.client, self.run_id, params, {})

    def log_metrics(self, metrics: Mapping[str, object]) -> None:
        _log_values(self.client, self.run_id, {}, metrics)

    def set_tags(self, tags: Mapping[str, object]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, clean_key(key), _text(value)[:MAX_TAG_VALUE])

    def log_file(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)

    def log_folder(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(path), folder)

    def log_table(self, frame: pd.DataFrame, name: str) -> None:
        """`frame` as the Parquet artifact `name` (read back with `read_table`)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            frame.to_parquet(path, index=False)
            self.log_file(path)


@contextmanager
def open_run(
    tracking_uri: str,
    experiment: str,
    run_name: str,
    tags: Mapping[str, object] | None = None,
    parent_run_id: str | None = None,
    resume_run_id: str | None = None,
) -> Iterator[RunHandle]:
    """Open a run now, before its work, so that its start and end times are the work's; it
    ends FINISHED, FAILED on an error or KILLED on Ctrl-C. `parent_run_id` nests it under a
    parent run; `resume_run_id` reopens an earlier run instead of creating one."""
    with _quiet_mlflow():
        client = _client(tracking_uri)
        if resume_run_id is not None:
            run = client.get_run(resume_run_id)
            client.update_run(resume_run_id, status="RUNNING")
            run_id, experiment_id = resume_run_id, run.info.experiment_id
        else:
            experiment_id = ensure_experiment(client, tracking_uri, experiment)
            given = dict(tags or {})
            if parent_run_id is not None:
                given[PARENT_TAG] = parent_run_id
            run = client.create_run(experiment_id, run_name=run_name, tags=run_tags(given))
            run_id = run.info.run_id
    handle = RunHandle(client, run_id, str(experiment_id))
    try:
        with _quiet_mlflow():
            yield handle
    except KeyboardInterrupt:
        client.set_terminated(run_id, status="KILLED")
        raise
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")


def find_runs(
    tracking_uri: str, tags: Mapping[str, str], experiments: list[str] | None = None
) -> pd.DataFrame:
    """Runs (as `search_runs` gives them, newest first) whose tags equal `tags`, in the named
    experiments or in every active one; empty when the store does not exist."""
    db = sqlite_path(tracking_uri)
    if db is not None and not db.is_file():
        return pd.DataFrame(columns=_RUN_COLUMNS)
    with _quiet_mlflow():
        client = _client(tracking_uri)
        if experiments is None:
            found = client.search_experiments()
        else:
            found = [client.get_experiment_by_name(n) for n in experiments]
        ids = [e.experiment_id for e in found if e is not None]
        records: list[dict[str, object]] = []
        query = " and ".join(f"tags.`{k}` = '{_quote(v)}'" for k, v in tags.items())
        for lo in range(0, len(ids), 100):  # MLflow searches at most 100 experiments at once
            token: str | None = None
            while True:
                page = client.search_runs(
                    ids[lo : lo + 100],
                    filter_string=query,
                    order_by=["attributes.start_time DESC"],
                    max_results=1000,
                    page_token=token,
                )
                records.extend(_run_record(r) for r in page)
                token = page.token
                if not token:
                    break
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=_RUN_COLUMNS + sorted(set(frame.columns) - set(_RUN_COLUMNS)))


def get_run(tracking_uri: str, run_id: str) -> dict[str, object]:
    """One run's record (as a row of `search_runs`); a KeyError naming it when unknown."""
    from mlflow.exceptions import MlflowException

    with _quiet_mlflow():
        try:
            run = _client(tracking_uri).get_run(run_id)
        except MlflowException as err:
            raise KeyError(f"no run {run_id!r} in {tracking_uri}") from err
        return _run_record(run)


def download_artifact(tracking_uri: str, run_id: str, path: str, dst_dir: Path) -> Path:
    """Copy a run's artifact (file or folder) into `dst_dir`; its local path."""
    Path(dst_dir).mkdir(parents=True, exist_ok=True)
    with _quiet_mlflow():
        return Path(_client(tracking_uri).download_artifacts(run_id, path, str(dst_dir)))


def read_table(tracking_uri: str, run_id: str, name: str) -> pd.DataFrame:
    """A Parquet artifact logged with `RunHandle.log_table`."""
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(download_artifact(tracking_uri, run_id, name, Path(tmp)))


def _quote(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")
