"""Experiments: files that name variants, datasets and a backtest (spec), run as one MLflow
parent with a child per variant x dataset x seed (runner), compared on identical rows with
block-bootstrap intervals (compare, paired, report), and a champion promoted through a gate
(registry). The rest of demandmatch is reached through one adapter module (engine).

Names are imported when first used, so that the command line starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOME = {
    "Comparison": "compare",
    "compare_sides": "compare",
    "resolve_sides": "compare",
    "champion_config": "registry",
    "gate_check": "registry",
    "promote": "registry",
    "run_experiment": "runner",
    "Experiment": "spec",
    "ExperimentSpec": "spec",
    "SpecError": "spec",
    "load_experiment": "spec",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOME[name]}", __name__), name)
