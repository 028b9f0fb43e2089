"""MLflow tracking: a run logged to a temporary SQLite backend, read back with mlflow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from demandmatch.tracking import (
    MAX_PARAM_VALUE,
    artifact_location,
    clean_metrics,
    flatten_params,
    log_run,
    resolve_tracking_uri,
    search_runs,
    sqlite_path,
)

mlflow_tracking = pytest.importorskip("mlflow.tracking")  # imported once for the module

CONFIG: dict[str, object] = {
    "seed": 7,
    "model": {"name": "lgbm_quantile", "learning_rate": 0.05},
    "tracking": {"enabled": True, "uri": None},
    "festivals": [{"name": "618", "month": 6, "day": 18}],
}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """One run logged to a fresh database; (tracking uri, run id, database dir)."""
    root = tmp_path_factory.mktemp("tracking")
    db_dir = root / "state"
    uri = f"sqlite:///{db_dir}/mlflow.db"
    plan = root / "out" / "plan.csv"
    plan.parent.mkdir()
    plan.write_text("merchant_id,sku_id,order_qty\nM1,A,12\n", encoding="utf-8")
    run_id = log_run(
        tracking_uri=uri,
        experiment="demo",
        run_name="forecast 2025-06-01",
        params={**CONFIG, "long": "x" * (MAX_PARAM_VALUE + 50)},
        metrics={"spend": 1234.5, "fill_rate": 0.9, "gap": float("nan"), "bad": float("inf")},
        tags={"data_hash": "abc123", "kind": "forecast"},
        artifacts=[plan],
        config=CONFIG,
    )
    return uri, run_id, db_dir


def test_run_reads_back(logged: tuple[str, str, Path]) -> None:
    uri, run_id, _ = logged
    run = mlflow_tracking.MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "forecast 2025-06-01"
    params = run.data.params
    assert params["seed"] == "7"
    assert params["model.name"] == "lgbm_quantile"
    assert params["model.learning_rate"] == "0.05"
    assert params["tracking.uri"] == "None"
    assert json.loads(params["festivals"]) == [{"day": 18, "month": 6, "name": "618"}]
    assert len(params["long"]) == MAX_PARAM_VALUE
    assert run.data.metrics == {"spend": 1234.5, "fill_rate": 0.9}  # NaN and inf left out
    assert run.data.tags["data_hash"] == "abc123"
    assert run.data.tags["kind"] == "forecast"


def test_artifacts_sit_beside_the_database(logged: tuple[str, str, Path]) -> None:
    uri, run_id, db_dir = logged
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    names = {a.path for a in client.list_artifacts(run_id)}
    assert names == {"plan.csv", "config.json"}
    local = Path(client.download_artifacts(run_id, "config.json", str(db_dir.parent)))
    assert json.loads(local.read_text(encoding="utf-8")) == CONFIG
    run_dir = db_dir / "mlartifacts" / run_id / "artifacts"
    assert (run_dir / "plan.csv").read_text(encoding="utf-8").endswith("M1,A,12\n")
    assert (db_dir / "mlflow.db").is_file()


def test_search_runs_compares_runs(logged: tuple[str, str, Path], tmp_path: Path) -> None:
    uri, first, _ = logged
    second = log_run(
        tracking_uri=uri,
        experiment="demo",
        run_name="second",
        params={"seed": 8},
        metrics={"spend": 99.0},
        tags={"data_hash": "def456"},
        artifacts=[],
        config={"seed": 8},
    )
    runs = search_runs(uri, "demo")
    assert set(runs["run_id"]) >= {first, second}
    by_id = runs.set_index("run_id")
    assert by_id.loc[second, "metrics.spend"] == 99.0
    assert by_id.loc[first, "params.seed"] == "7"
    assert by_id.loc[second, "tags.data_hash"] == "def456"
    assert by_id.loc[second, "status"] == "FINISHED"
    assert search_runs(uri, "no such experiment").empty
    missing_db = tmp_path / "none" / "mlflow.db"
    assert search_runs(f"sqlite:///{missing_db}", "demo").empty
    assert not missing_db.parent.exists()


def test_failed_logging_ends_the_run(logged: tuple[str, str, Path]) -> None:
    uri, _, _ = logged
    with pytest.raises(TypeError):
        log_run(
            tracking_uri=uri,
            experiment="demo",
            run_name="broken",
            params={},
            metrics={},
            tags={},
            artifacts=[],
            config={"not json": _Unserialisable()},
        )
    runs = search_runs(uri, "demo")
    broken = runs[runs["run_name"] == "broken"]
    assert list(broken["status"]) == ["FAILED"]


class _Unserialisable:
    def __str__(self) -> str:
        raise TypeError("cannot be written as JSON")


def test_deleted_experiment_is_a_clear_error(logged: tuple[str, str, Path]) -> None:
    uri, _, _ = logged
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    client.delete_experiment(client.create_experiment("gone"))
    with pytest.raises(ValueError, match="'gone' is deleted"):
        log_run(
            tracking_uri=uri,
            experiment="gone",
            run_name="x",
            params={},
            metrics={},
            tags={},
            artifacts=[],
            config={},
        )


def test_missing_artifact_is_refused_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        log_run(
            tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",
            experiment="demo",
            run_name="x",
            params={},
            metrics={},
            tags={},
            artifacts=[tmp_path / "nope.csv"],
            config={},
        )
    assert not (tmp_path / "mlflow.db").exists()


def test_quiet_on_a_fresh_database(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path}/fresh/mlflow.db"
    log_run(
        tracking_uri=uri,
        experiment="quiet",
        run_name="q",
        params={"a": 1},
        metrics={"m": 1.0},
        tags={"data_hash": "h"},
        artifacts=[],
        config={},
    )
    out, err = capfd.readouterr()
    assert out == ""
    assert "Creating initial MLflow database" not in err
    assert search_runs(uri, "quiet")["metrics.m"].tolist() == [1.0]


def test_env_uri_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert resolve_tracking_uri("sqlite:///elsewhere.db", tmp_path) == (
        "http://tracking.example:5000"
    )


def test_configured_then_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri("sqlite:////data/runs.db", tmp_path) == "sqlite:////data/runs.db"
    default = resolve_tracking_uri(None, tmp_path)
    assert default == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert sqlite_path(default) == tmp_path.resolve() / "mlflow.db"
    monkeypatch.chdir(tmp_path)
    relative = resolve_tracking_uri(None, Path("project"))
    assert sqlite_path(relative) == tmp_path.resolve() / "project" / "mlflow.db"  # absolute


def test_artifact_location_only_for_sqlite(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/db/mlflow.db"
    assert artifact_location(uri) == (tmp_path / "db" / "mlartifacts").resolve().as_uri()
    assert artifact_location("http://tracking.example:5000") is None
    assert artifact_location("sqlite:///:memory:") is None


def test_flatten_and_clean() -> None:
    flat = flatten_params({"a": {"b": {"c": 1}, "d": [1, 2]}, "e f": None, "g:h": True})
    assert flat == {"a.b.c": "1", "a.d": "[1, 2]", "e f": "None", "g_h": "True"}
    assert clean_metrics({"x": 1, "y": math.nan, "z": -math.inf, "w": "n/a"}) == {"x": 1.0}
