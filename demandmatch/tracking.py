"""MLflow tracking of runs: with tracking_runs (runs opened by the experiments and found again)
and tracking_registry (the model registry) beside it, the only modules that import mlflow, and
only inside functions.

Runs go through an explicit `MlflowClient` for the given URI rather than mlflow's global
"active run" state, so logging never changes the tracking URI of the calling process and two
runs in one process cannot tangle. The default backend is SQLite in the project directory
(MLflow's file store is deprecated); for a SQLite backend the artifacts of a new experiment sit
beside the database, so a run never writes into the current directory by surprise.

A forecast opens its run when the work starts (`TrackedRun.open`) and ends it when the outputs
are written, so the run's duration is the work's. Every call has a short HTTP timeout and few
retries (`request_limits`), and any failure is a `TrackingError` with a one-line reason, which
the caller records as a warning rather than failing the plan. The first use of a SQLite store
(MLflow creates and migrates its schema) is serialised across processes with a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import pickle
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

_NOISY_LOGGERS = ("mlflow", "alembic", "urllib3")
_TIMEOUT_ENV = "MLFLOW_HTTP_REQUEST_TIMEOUT"
_RETRIES_ENV = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
_BACKOFF_ENV = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"
MODEL_DIR = "model"
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
    """A client for the URI; for SQLite, made under an exclusive lock on the database's folder,
    since MLflow creates and migrates the schema on first use and two processes doing so at
    once break it ("Online migration expected to match one row")."""
    from mlflow.tracking import MlflowClient

    db = sqlite_path(tracking_uri)
    if db is None:
        return MlflowClient(tracking_uri=tracking_uri)
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(db.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return MlflowClient(tracking_uri=tracking_uri)
    finally:
        os.close(fd)  # releases the lock


class TrackingError(RuntimeError):
    """Tracking failed; `reason` says why in one line (the plan does not depend on it);
    `unreachable` when the server did not answer (so further calls would wait in vain)."""

    def __init__(self, reason: str, unreachable: bool = False) -> None:
        self.reason, self.unreachable = reason, unreachable
        super().__init__(reason)


@contextmanager
def request_limits(timeout_s: int, max_retries: int) -> Iterator[None]:
    """MLflow's HTTP timeout and retries for the block (MLflow reads them from the environment
    at each request), unless the environment already sets them; restored afterwards."""
    wanted = {_TIMEOUT_ENV: str(int(timeout_s)), _RETRIES_ENV: str(int(max_retries))}
    wanted[_BACKOFF_ENV] = "1"
    saved = {k: os.environ.get(k) for k in wanted}
    for key, value in wanted.items():
        if saved[key] is None:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


@contextmanager
def _guarded(timeout_s: int, max_retries: int) -> Iterator[None]:
    """Quiet MLflow, limit its requests, and turn any failure into a TrackingError."""
    try:
        with request_limits(timeout_s, max_retries), _quiet_mlflow():
            yield
    except TrackingError:
        raise
    except Exception as err:  # MLflow, requests, SQLAlchemy and OS errors alike
        reason = failure_reason(err)
        raise TrackingError(reason, "tracking server" in reason) from err


def failure_reason(err: BaseException) -> str:
    """One short line for why a tracking call failed."""
    text = " ".join(str(err).split()) or type(err).__name__
    host = re.search(r"host='([^']+)', port=(\d+)", text)
    where = f" {host.group(1)}:{host.group(2)}" if host else ""
    if re.search(r"refused|Failed to establish a new connection", text):
        return f"cannot connect to the tracking server{where} (connection refused)"
    if re.search(r"timed? ?out", text, re.IGNORECASE):
        return f"the tracking server{where} did not answer in time"
    if "Max retries exceeded" in text or "ConnectionError" in text:
        return f"cannot reach the tracking server{where}"
    return f"{type(err).__name__}: {text}"[:200]


class TrackedRun:
    """An MLflow run opened when the work starts and ended when it ends. Every call is
    limited by the timeout and retries it was opened with and raises TrackingError on any
    failure; once one call failed, the caller stops tracking (see runs.py)."""

    def __init__(self, client: MlflowClient, run_id: str, timeout_s: int, max_retries: int):
        self.client, self.run_id = client, run_id
        self._limits = (timeout_s, max_retries)

    @classmethod
    def open(
        cls,
        *,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        tags: Mapping[str, object],
        timeout_s: int = 5,
        max_retries: int = 1,
    ) -> TrackedRun:
        with _guarded(timeout_s, max_retries):
            client = _client(tracking_uri)
            experiment_id = ensure_experiment(client, tracking_uri, experiment)
            run = client.create_run(experiment_id, run_name=run_name, tags=run_tags(tags))
        return cls(client, run.info.run_id, timeout_s, max_retries)

    def log(
        self,
        params: Mapping[str, object] | None = None,
        metrics: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        """Params (flattened), finite metrics and tags, in batches within MLflow's limits."""
        from mlflow.entities import Metric, Param, RunTag

        now = _now_ms()
        metric = [Metric(k, v, now, 0) for k, v in clean_metrics(metrics or {}).items()]
        param = [Param(k, v) for k, v in flatten_params(params or {}).items()]
        tag = [RunTag(clean_key(k), _text(v)[:MAX_TAG_VALUE]) for k, v in (tags or {}).items()]
        rounds = max(-(-len(metric) // 900), -(-len(param) // 100), -(-len(tag) // 100), 1)
        with _guarded(*self._limits):
            for r in range(rounds):  # at most 100 params, 100 tags, 1000 entities a batch
                self.client.log_batch(
                    self.run_id,
                    metrics=metric[r * 900 : (r + 1) * 900],
                    params=param[r * 100 : (r + 1) * 100],
                    tags=tag[r * 100 : (r + 1) * 100],
                )

    def log_files(self, paths: list[Path], folder: str | None = None) -> None:
        with _guarded(*self._limits):
            for path in paths:
                self.client.log_artifact(self.run_id, str(path), folder)

    def log_text(self, name: str, text: str, folder: str | None = None) -> None:
        """A small file made from `text`, as an artifact named `name`."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            self.log_files([path], folder)

    def log_model(self, model: object, config: Mapping[str, object]) -> None:
        """The fitted demand model, pickled, with the config it was made from, under
        `model/` (`load_model` reads them back)."""
        with tempfile.TemporaryDirectory() as tmp:
            pkl, cfg = Path(tmp) / "model.pkl", Path(tmp) / "config.json"
            pkl.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
            cfg.write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
            self.log_files([pkl, cfg], MODEL_DIR)

    def end(self, status: str = "FINISHED") -> None:
        with _guarded(*self._limits):
            self.client.set_terminated(self.run_id, status=status)

    def abandon(self) -> None:
        """Mark the run FAILED; never raises."""
        with contextlib.suppress(TrackingError):
            self.end("FAILED")


def load_model(tracking_uri: str, run_id: str) -> tuple[Any, dict[str, object]]:
    """The demand model a forecast run logged, and the config it was made from."""
    with _quiet_mlflow(), tempfile.TemporaryDirectory() as tmp:
        client = _client(tracking_uri)
        local = Path(client.download_artifacts(run_id, MODEL_DIR, tmp))
        model = pickle.loads((local / "model.pkl").read_bytes())
        config = json.loads((local / "config.json").read_text(encoding="utf-8"))
    return model, config


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


def _quote(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")
