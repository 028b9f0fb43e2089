"""The fault suite's shared pieces: a copy of the tiny world to break, a fast config, the real
command run in process (typer's runner) or as a process, and what a clean failure looks like:
an exit status, one line naming the flag, key, file, row or column, and no traceback."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from demandmatch.cli import app

# the fastest demand model and a short horizon (a small report): the faults are about the run
EMPIRICAL = "horizon_days: 3\nmodel:\n  name: sku_empirical\n"


@pytest.fixture
def data(tiny_world, tmp_path: Path) -> Path:
    """A private copy of the tiny world's data (seed 5) to break."""
    return Path(shutil.copytree(tiny_world.data, tmp_path / "world" / "data"))


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    path = tmp_path / "fast.yaml"
    path.write_text(EMPIRICAL, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _no_ambient_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLFLOW_TRACKING_URI of the machine must not decide where a test's runs go."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def forecast(data: Path, out: Path, *args: str) -> Result:
    return cli("forecast", "--data", data, "--out", out, *args)


def assert_clean_failure(result: Result, code: int, *needles: str) -> str:
    """The command failed with `code` and one line holding every needle, no traceback."""
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text and isinstance(result.exception, SystemExit), text
    lines = [line for line in text.splitlines() if line.strip()]
    message = next((line for line in lines if line.startswith(("error", "invalid input"))), "")
    assert message, text
    for needle in needles:
        assert needle in message, message
    return message


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)


def set_cell(data: Path, table: str, row: int, column: str, value: str) -> None:
    """Replace one cell; `row` is the 1-based data row."""
    path = data / f"{table}.csv"
    rows = read_rows(path)
    rows[row][rows[0].index(column)] = value
    write_rows(path, rows)


def _as_in_a_terminal() -> None:
    """Ctrl-C interrupts the child even when this test runs where SIGINT is ignored (a
    background job), as it does a command run in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_process(*args: str, cwd: Path) -> subprocess.Popen:
    """The real command as its own process (for signals and concurrency), untracked by the
    machine's MLFLOW_TRACKING_URI."""
    full = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full["MPLBACKEND"] = "Agg"
    return subprocess.Popen(
        [sys.executable, "-m", "demandmatch.cli", *map(str, args)],
        cwd=cwd,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_in_a_terminal,
    )
