"""The champion: the gate refuses a worse challenger and accepts a better one; every alias move
is kept; `demandmatch forecast --champion` (what make forecast runs) reads the champion."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from demandmatch.experiments.compare import compare_pair
from demandmatch.experiments.registry import (
    GateRefused,
    champion_config,
    gate_check,
    history,
    promote,
)
from demandmatch.experiments.spec import Gate

from .conftest import pair_frame, side_plans, side_rows, write_experiment

REPO = Path(__file__).resolve().parents[2]


def _gate(loss_delta: float, profit_delta: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows, _ = side_rows(rng, n_streams=60, delta=loss_delta)
    plans = side_plans(rng, n_merchants=4, delta=profit_delta)
    results, _, _ = compare_pair(pair_frame(rows), pair_frame(plans), breakdowns=False)
    return gate_check(results, Gate(metric="true_pinball"))


def test_gate_accepts_a_better_challenger() -> None:
    result = _gate(loss_delta=-0.4, profit_delta=0.0)
    assert result.passed, result.summary()
    assert "better with 95% confidence" in result.summary()
    assert "not worse" in result.summary()


def test_gate_refuses_a_worse_challenger() -> None:
    result = _gate(loss_delta=0.4, profit_delta=0.0)
    assert not result.passed
    assert "not better" in result.summary()


def test_gate_refuses_a_better_forecast_that_loses_profit() -> None:
    result = _gate(loss_delta=-0.4, profit_delta=-80.0)
    assert not result.passed
    assert "cannot be shown not worse" in result.summary()


def test_gate_refuses_a_difference_within_noise() -> None:
    result = _gate(loss_delta=0.0, profit_delta=0.0, seed=3)
    assert not result.passed


def _variants(seed: int = 0):
    rng = np.random.default_rng(seed)
    rows, _ = side_rows(rng, n_streams=60, delta=-0.4, others={"c": 0.5})
    plans = side_plans(rng, n_merchants=4, delta=0.0)
    a, b, c = (rows[rows["side"] == s].drop(columns="side") for s in ("a", "b", "c"))
    pa, pb = (plans[plans["side"] == s].drop(columns="side") for s in ("a", "b"))
    return {
        "baseline": (a, pa, {}),
        "better": (b, pb, {"model": {"n_estimators": 37}}),
        "worse": (c, pb, {"model": {"n_estimators": 11}}),
    }


@pytest.mark.slow
def test_promote_through_the_gate_and_keep_every_move(store: str, tmp_path: Path) -> None:
    ids = write_experiment(store, tmp_path, _variants())
    assert champion_config(store)[0] is None  # nothing promoted yet
    with pytest.raises(GateRefused, match="worse against baseline: failed"):
        promote(store, ids["worse"])
    with pytest.raises(GateRefused, match="the gate's baseline"):
        promote(store, ids["baseline"])
    with pytest.raises(ValueError, match="--force needs --reason"):
        promote(store, ids["worse"], force=True)

    first = promote(store, ids["better"])
    assert (first["version"], first["previous"], first["forced"]) == ("1", None, "false")
    config, text = champion_config(store)
    assert config is not None and config.model.n_estimators == 37
    assert "variant better of experiment toy" in text and "passed the gate" in text

    second = promote(store, ids["worse"], force=True, reason="rollback drill")
    assert (second["version"], second["previous"]) == ("2", "1")
    config, text = champion_config(store)
    assert config is not None and config.model.n_estimators == 11
    assert "rollback drill" in text

    moves = history(store, alias="champion")
    assert list(moves["from"]) == ["", "1"]
    assert list(moves["to"]) == ["1", "2"]
    assert list(moves["run"]) == [ids["better"], ids["worse"]]
    assert list(moves["forced"]) == ["false", "true"]
    assert list(moves["reason"]) == ["passed the gate", "rollback drill"]
    assert all(moves["who"]) and all(moves["when"])
    assert "failed" in moves["gate"].iloc[1]  # the overridden gate's verdict is kept too


def test_make_forecast_asks_for_the_champion() -> None:
    """make forecast passes --champion unless a CONFIG is given (dry run of make)."""
    default = subprocess.run(
        ["make", "-n", "forecast", "DATA=d"], cwd=REPO, capture_output=True, text=True
    ).stdout
    given = subprocess.run(
        ["make", "-n", "forecast", "DATA=d", "CONFIG=mine.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout
    assert "--config configs/default.yaml --champion" in default
    assert "--config mine.yaml" in given and "--champion" not in given
