"""The command itself: --version, --tracking/--no-tracking, and what it shows while it works
(a line per stage with the elapsed time when not on a terminal, bars with the time left on one)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from demandmatch.cli import app
from demandmatch.progress import StageBar, StageLines, previous_stages
from demandmatch.records import version
from demandmatch.tracking import search_runs, sqlite_uri

runner = CliRunner()


def test_version_is_printed():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"demandmatch {version()}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", version())


@pytest.mark.parametrize("command", ["forecast", "backtest"])
def test_tracking_is_one_switch(command):
    text = " ".join(runner.invoke(app, [command, "--help"]).output.split())
    assert "--tracking --no-tracking" in text and "--no-no-tracking" not in text


@pytest.mark.slow
def test_the_switch_overrides_the_config_and_stages_show_as_lines(
    tiny_world, tmp_path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = Path(shutil.copytree(tiny_world.data, tmp_path / "world" / "data"))
    uri = sqlite_uri(tmp_path / "mlflow.db")
    config = tmp_path / "quiet.yaml"  # says: do not track
    config.write_text(
        "horizon_days: 3\nmodel:\n  name: sku_empirical\n"
        f"tracking:\n  enabled: false\n  uri: {uri}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["forecast", "--data", str(data), "--out", str(out), "--config", str(config)]
    result = runner.invoke(app, [*args, "--tracking"])
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["tracking"] == "ok" and run["run_id"] in result.output
    assert list(search_runs(uri, "demandmatch")["run_id"]) == [run["run_id"]]
    # not a terminal: a line as each stage starts and ends, with the time since the start
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("[")]
    stages = [re.fullmatch(r"\[ *\d+\.\d s\] (.+) (\.\.\.|done in \d+\.\d s)", ln) for ln in lines]
    assert all(stages), lines
    started = [m.group(1) for m in stages if m.group(2) == "..."]
    assert started == ["load", "track", "features", "demand model", "upcoming features"] + [
        "demand forecast",
        "optimise",
        "write",
        "track",
    ]
    assert len(lines) == 2 * len(started)
    assert [s for s, _ in previous_stages(out)] == started


def test_on_a_terminal_each_stage_has_a_bar_and_the_time_left():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    bar = StageBar(console, [("load", 0.5), ("demand model", 300.0)])
    bar("load")
    bar.done("load", 0.4)
    bar("demand model")
    bar.progress.refresh()
    bar("features")  # never run before: no estimate
    bar.progress.refresh()
    bar.close()
    text = buffer.getvalue()
    assert "done in 0.4 s" in text
    assert re.search(r"ETA (29\d|300) s", text)
    assert "features" in text


def test_lines_name_each_stage_with_the_elapsed_time():
    stream = io.StringIO()
    lines = StageLines(stream)
    lines("optimise")
    lines.done("optimise", 1.25)
    assert re.fullmatch(
        r"\[ +\d\.\d s\] optimise \.\.\.\n\[ +\d\.\d s\] optimise done in 1\.2 s\n",
        stream.getvalue(),
    )
