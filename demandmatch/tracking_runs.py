"""Runs opened before their work and found again: the experiments' parent and child runs, their
tables as Parquet artifacts, and searches by tag. With `tracking` and `tracking_registry`, the
only modules that import mlflow, and only inside functions."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .tracking import (
    MAX_TAG_VALUE,
    _client,
    _log_values,
    _quiet_mlflow,
    _run_record,
    _text,
    clean_key,
    ensure_experiment,
    run_tags,
)

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


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
