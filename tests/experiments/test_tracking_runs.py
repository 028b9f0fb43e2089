"""Tracking for experiments: runs opened before their work (real durations, FAILED or KILLED
when the work stops), nested children, runs found by tag, Parquet tables read back."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from demandmatch import tracking, tracking_registry, tracking_runs

pytestmark = pytest.mark.slow


def test_a_run_spans_its_work_and_nests(store: str) -> None:
    with tracking_runs.open_run(store, "exp", "parent", {"kind": "experiment"}) as parent:  # noqa: SIM117
        with tracking_runs.open_run(
            store, "exp", "child a", {"kind": "experiment-child", "variant": "a"}, parent.run_id
        ) as child:
            time.sleep(0.3)  # the work
            child.log_metrics({"pinball": 1.5, "skipped": float("nan")})
            child.log_params({"config": {"model": {"name": "lgbm_negbin"}}})
            table = pd.DataFrame({"origin": pd.to_datetime(["2024-10-01"], utc=True), "x": [1.0]})
            child.log_table(table, "rows.parquet")
    run = tracking_runs.get_run(store, child.run_id)
    assert run["status"] == "FINISHED"
    assert (run["end_time"] - run["start_time"]).total_seconds() >= 0.3
    assert run[f"tags.{tracking_runs.PARENT_TAG}"] == parent.run_id
    assert run["metrics.pinball"] == 1.5 and "metrics.skipped" not in run
    assert run["params.config.model.name"] == "lgbm_negbin"
    pd.testing.assert_frame_equal(
        tracking_runs.read_table(store, child.run_id, "rows.parquet"), table
    )
    found = tracking.find_runs(store, {"kind": "experiment-child", "variant": "a"}, ["exp"])
    assert list(found["run_id"]) == [child.run_id]
    assert tracking.find_runs(store, {"variant": "it's b"}).empty  # quotes are escaped
    assert tracking.find_runs(store, {"kind": "experiment"}, ["no such"]).empty


def test_failed_and_interrupted_work_ends_the_run(store: str) -> None:
    with pytest.raises(RuntimeError), tracking_runs.open_run(store, "exp", "boom") as broken:
        raise RuntimeError("the work failed")
    with (
        pytest.raises(KeyboardInterrupt),
        tracking_runs.open_run(store, "exp", "ctrl-c") as stopped,
    ):
        raise KeyboardInterrupt
    assert tracking_runs.get_run(store, broken.run_id)["status"] == "FAILED"
    assert tracking_runs.get_run(store, stopped.run_id)["status"] == "KILLED"
    with tracking_runs.open_run(store, "exp", "again", resume_run_id=broken.run_id) as resumed:
        assert resumed.run_id == broken.run_id
        assert tracking_runs.get_run(store, broken.run_id)["status"] == "RUNNING"
    assert tracking_runs.get_run(store, broken.run_id)["status"] == "FINISHED"


def test_no_store_is_created_by_looking(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path}/none/mlflow.db"
    assert tracking.find_runs(uri, {"kind": "experiment"}).empty
    assert tracking_registry.alias_version(uri, "demandmatch-demand", "champion") is None
    assert not (tmp_path / "none").exists()
