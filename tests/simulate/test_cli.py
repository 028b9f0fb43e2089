"""`demandmatch simulate`: scenarios, sizes and reuse from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from demandmatch.cli import app
from demandmatch.simulate import SCENARIOS, load_scenario

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["simulate", *args])


def test_list_scenarios_names_every_one() -> None:
    result = run("--list-scenarios")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert listed == list(SCENARIOS)


def test_scenario_and_scale_reach_the_world(tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = run("--out", str(out), "--size", "tiny", "--scale", "2", "--scenario", "lead_0_3")
    assert result.exit_code == 0, result.output
    assert load_scenario(out) == SCENARIOS["lead_0_3"]
    assert len(pd.read_csv(out / "data" / "merchants.csv")) == 4  # tiny has 2
    assert pd.read_csv(out / "data" / "catalog.csv")["lead_time_days"].between(0, 3).all()
    meta = json.loads((out / "world.json").read_text())
    assert meta["size"]["n_merchants"] == 4
    # reuse keeps the same world, and rebuilds it for another scenario
    stamp = (out / "truth.csv").stat().st_mtime_ns
    args = ("--out", str(out), "--size", "tiny", "--scale", "2", "--reuse")
    assert "already there" in run(*args, "--scenario", "lead_0_3").output
    assert (out / "truth.csv").stat().st_mtime_ns == stamp
    assert run(*args, "--scenario", "weak_video").exit_code == 0
    assert load_scenario(out).name == "weak_video"


def test_bad_scenarios_are_clear_errors(tmp_path: Path) -> None:
    out = str(tmp_path / "w")
    unknown = run("--out", out, "--scenario", "demo,sunny")
    assert unknown.exit_code == 2 and "unknown scenario sunny" in unknown.output
    clash = run("--out", out, "--scenario", "launch_boost,no_launch_boost")
    assert clash.exit_code == 2 and "cannot compose" in clash.output
    assert run("--scenario", "demo").exit_code == 2  # no --out
    assert not (tmp_path / "w").exists()
