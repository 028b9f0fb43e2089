"""Tracking cannot sink a plan: a tracking server that refuses or never answers costs a short
timeout and a warning, and the plan is written whole; runs that first use a fresh SQLite store
together do not break its schema."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from demandmatch.tracking import search_runs, sqlite_uri
from tests.faults.conftest import EMPIRICAL, forecast
from tests.faults.test_one_unit import assert_one_set


def _config(tmp_path: Path, uri: str, extra: str = "") -> Path:
    path = tmp_path / "tracked.yaml"
    path.write_text(f"{EMPIRICAL}tracking:\n  uri: {uri}\n{extra}", encoding="utf-8")
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: nothing listens there


@pytest.mark.slow
def test_a_tracking_server_that_refuses_is_a_warning(data, tmp_path):
    port = _closed_port()
    out = tmp_path / "out"
    result = forecast(data, out, "--config", _config(tmp_path, f"http://127.0.0.1:{port}"))
    assert result.exit_code == 0, result.output
    run = assert_one_set(out)
    reason = f"cannot connect to the tracking server 127.0.0.1:{port} (connection refused)"
    assert run["tracking"] == f"failed ({reason})" and run["run_id"] is None
    assert [w["code"] for w in run["warnings"]] == ["tracking"]
    assert run["summary"]["warnings"] == run["warnings"]  # failed at the start: in the report too
    assert "Traceback" not in result.output and f"failed ({reason})" in result.output


@pytest.mark.slow
def test_a_tracking_server_that_never_answers_costs_its_timeout(data, tmp_path):
    with socket.socket() as server:  # listens, so connections open, but never answers
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        limits = "  timeout_s: 1\n  max_retries: 0\n"
        config = _config(tmp_path, f"http://127.0.0.1:{port}", limits)
        result = forecast(data, tmp_path / "out", "--config", config)
    assert result.exit_code == 0, result.output
    run = assert_one_set(tmp_path / "out")
    assert (
        run["tracking"] == f"failed (the tracking server 127.0.0.1:{port} did not answer in time)"
    )


FIRST_USE = """
import sys
from demandmatch.tracking import TrackedRun
run = TrackedRun.open(tracking_uri=sys.argv[1], experiment="race", run_name=sys.argv[2], tags={})
run.log(metrics={"x": 1.0})
run.end()
"""


@pytest.mark.slow
def test_runs_that_first_use_a_fresh_sqlite_store_together_all_log(tmp_path):
    uri = sqlite_uri(tmp_path / "state" / "mlflow.db")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, uri, f"run {i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    done = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), done
    runs = search_runs(uri, "race")
    assert sorted(runs["run_name"]) == [f"run {i}" for i in range(2)]
    assert (runs["status"] == "FINISHED").all() and (runs["metrics.x"] == 1.0).all()
