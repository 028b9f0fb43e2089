"""The datasets of an experiment, loaded once per process and backtested for one child."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import engine
from .spec import Backtest, Child, DataDir, DatasetCase, DemoWorlds, M5Subset


@dataclass(frozen=True)
class LoadedData:
    case: DatasetCase
    data_hash: str
    scenario: str
    tables: engine.Tables | None = None  # contract tables (demo worlds and data directories)
    truth: pd.DataFrame | None = None
    m5: engine.M5 | None = None


def load_dataset(case: DatasetCase, timezone: str, cache: Path) -> LoadedData:
    spec = case.spec
    if isinstance(spec, DemoWorlds):
        assert case.world_seed is not None
        folder = engine.demo_world(case.world_seed, spec.size, spec.scenario, cache)
        data = folder / "data"
        return LoadedData(
            case,
            engine.contract_hash(data),
            spec.scenario,
            engine.load_contract(data, timezone),
            engine.read_truth(folder),
        )
    if isinstance(spec, M5Subset):
        folder = engine.m5_folder(spec.path)
        m5 = engine.load_m5(folder, spec.n_series, spec.sample_seed)
        return LoadedData(case, engine.files_hash(folder), "m5", m5=m5)
    assert isinstance(spec, DataDir)
    data = Path(spec.path).expanduser()
    if not data.is_dir():
        raise FileNotFoundError(f"dataset {case.name}: data directory not found: {data}")
    truth_path: Path | None
    if spec.truth == "auto":
        truth_path = engine.find_truth(data)
    else:
        truth_path = None if spec.truth is None else Path(spec.truth)
    return LoadedData(
        case,
        engine.contract_hash(data),
        "data",
        engine.load_contract(data, timezone),
        engine.read_truth(truth_path),
    )


def backtest_child(
    child: Child, data: LoadedData, bt: Backtest, progress: engine.Progress
) -> engine.BacktestOutput:
    """The child's config backtested on its dataset (engine.backtest_contract / _m5)."""
    if data.m5 is not None:
        spec = data.case.spec
        assert isinstance(spec, M5Subset)
        origins = engine.m5_origins(
            data.m5.sales.shape[1], bt.origins, bt.step_days, bt.horizon_days
        )
        return engine.backtest_m5(
            data.m5,
            child.config,
            origins,
            bt.horizon_days,
            spec.train_window_days,
            spec.train_step_days,
            progress,
        )
    origins = engine.rolling_origins(data.tables, bt.origins, bt.step_days, bt.horizon_days)
    return engine.backtest_contract(
        data.tables, data.truth, child.config, origins, bt.horizon_days, bt.leads, progress
    )
