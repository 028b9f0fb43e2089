"""The MLflow Model Registry behind demandmatch: a run's model folder registered as a version,
aliases moved between versions, and every move kept as a run of its own (who, when, from which
run, why), since the registry keeps only where an alias points now. With `tracking`, the only
module that imports mlflow, and only inside functions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .tracking import (
    MAX_TAG_VALUE,
    _client,
    _quiet_mlflow,
    _text,
    clean_key,
    find_runs,
    sqlite_path,
)
from .tracking_runs import open_run

HISTORY_SUFFIX = " alias history"  # experiment holding one run per move of a model's aliases


def register_version(
    tracking_uri: str, model: str, run_id: str, folder: str, tags: Mapping[str, object]
) -> str:
    """Register a run's artifact folder (a fitted model and its config) as a new version of
    registered model `model`, created if missing; the version number."""
    from mlflow.exceptions import MlflowException

    with _quiet_mlflow():
        client = _client(tracking_uri)
        try:
            client.get_registered_model(model)
        except MlflowException:
            client.create_registered_model(model)
        source = f"{client.get_run(run_id).info.artifact_uri}/{folder}"
        clean = {clean_key(k): _text(v)[:MAX_TAG_VALUE] for k, v in tags.items()}
        return str(client.create_model_version(model, source, run_id, tags=clean).version)


def alias_version(tracking_uri: str, model: str, alias: str) -> dict[str, object] | None:
    """The version an alias points to (version, run_id, source, tags), None when it points
    nowhere, the model is not registered or the store does not exist."""
    from mlflow.exceptions import MlflowException

    db = sqlite_path(tracking_uri)
    if db is not None and not db.is_file():
        return None
    with _quiet_mlflow():
        try:
            v = _client(tracking_uri).get_model_version_by_alias(model, alias)
        except MlflowException:
            return None
    return {"version": str(v.version), "run_id": v.run_id, "source": v.source, "tags": v.tags}


def download_version(tracking_uri: str, source: str, dst_dir: Path) -> Path:
    """A registered version's artifact folder (its `source`), copied into `dst_dir`."""
    from mlflow.artifacts import download_artifacts

    with _quiet_mlflow():
        local = download_artifacts(
            artifact_uri=source, dst_path=str(dst_dir), tracking_uri=tracking_uri
        )
    return Path(local)


def move_alias(
    tracking_uri: str, model: str, alias: str, version: str, record: Mapping[str, object]
) -> str | None:
    """Point `alias` of `model` at `version` and keep the move in the history: one run in the
    experiment "<model> alias history" tagged with the alias, the versions from and to and
    `record` (who, why, from which run, ...). The version it pointed to before, if any."""
    before = alias_version(tracking_uri, model, alias)
    previous = None if before is None else str(before["version"])
    with _quiet_mlflow():
        _client(tracking_uri).set_registered_model_alias(model, alias, version)
    tags = {
        "kind": "alias-move",
        "model": model,
        "alias": alias,
        "version": version,
        "previous_version": previous or "",
        **record,
    }
    name = f"{alias}: v{previous or '-'} -> v{version}"
    with open_run(tracking_uri, model + HISTORY_SUFFIX, name, tags):
        pass
    return previous


def alias_history(tracking_uri: str, model: str, alias: str | None = None) -> pd.DataFrame:
    """Every recorded move of `model`'s aliases (of one alias if given), oldest first."""
    tags = {"kind": "alias-move", "model": model, **({"alias": alias} if alias else {})}
    runs = find_runs(tracking_uri, tags, [model + HISTORY_SUFFIX])
    return runs.sort_values("start_time", kind="stable").reset_index(drop=True)
