"""Shared fixtures: a tiny simulated world (tables, truth and a fast config) that the forecast,
evaluation and run tests share, simulated once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from demandmatch.config import Config, load_config
from demandmatch.data import Tables, load_tables
from demandmatch.simulate import load_truth, simulate_world, write_world

# a model small enough for tests: few trees, one thread, no tracking
FAST = {"tracking": {"enabled": False}, "model": {"n_estimators": 30, "n_jobs": 1}}


@dataclass(frozen=True)
class TinyWorld:
    root: Path  # holds data/ and truth.csv
    data: Path
    tables: Tables
    truth: pd.DataFrame
    config: Config


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> TinyWorld:
    """A tiny demo world (seed 5) written as CSV and loaded back through the contract."""
    root = tmp_path_factory.mktemp("tiny-world")
    data = write_world(simulate_world(5, "tiny"), root)
    config = load_config(None, FAST)
    return TinyWorld(root, data, load_tables(data, config.timezone), load_truth(root), config)
