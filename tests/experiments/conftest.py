"""Hand-built scored rows with a known difference between two forecasters, and a tracking store
holding them as an experiment's runs (real MLflow runs on a temporary SQLite store)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from demandmatch import tracking_runs
from demandmatch.config import load_config
from demandmatch.experiments.runner import KIND_CHILD, KIND_PARENT

ORIGINS = pd.date_range("2024-10-01", periods=4, freq="7D", tz="UTC")


def side_rows(
    rng: np.random.Generator,
    n_streams: int,
    delta: float,
    block_sd: float = 0.6,
    row_sd: float = 0.3,
    others: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Scored rows of two sides on the same streams (several SKUs per stream): side b's loss is
    side a's plus `delta` plus noise shared by a stream's rows (block_sd) and noise of its own
    (row_sd); `others` adds more sides the same way (name -> delta). Returns (the sides' rows
    stacked with a `side` column, the per-row loss of a)."""
    sizes = rng.integers(2, 7, n_streams)
    stream = np.repeat(np.arange(n_streams), sizes)
    n = len(stream)
    loss_a = rng.gamma(2.0, 1.0, n)
    y = rng.poisson(5, n).astype(float)
    losses = {"a": loss_a}
    for side, d in {"b": delta, **(others or {})}.items():
        shared = rng.normal(0, block_sd, n_streams)[stream]
        losses[side] = loss_a + d + shared + rng.normal(0, row_sd, n)
    frames = [
        pd.DataFrame(
            {
                "side": side,
                "dataset": "demo-tiny-w0",
                "scenario": "demo",
                "seed": 0,
                "origin": ORIGINS[stream % len(ORIGINS)],
                "lead": "origin",
                "stream_id": [f"S{s:04d}" for s in stream],
                "sku_id": [f"K{i:05d}" for i in range(n)],
                "category": np.where(stream % 2 == 0, "home", "snacks"),
                "cold_start": (np.arange(n) % 5) == 0,
                "units_sold": y,
                "obs": True,
                "pinball_row": loss,
                "true_pinball_row": loss,
            }
        )
        for side, loss in losses.items()
    ]
    return pd.concat(frames, ignore_index=True), loss_a


def side_plans(rng: np.random.Generator, n_merchants: int, delta: float) -> pd.DataFrame:
    """Per-SKU plan profit of two sides: b's is a's plus `delta` per SKU plus noise."""
    rows = []
    for m in range(n_merchants):
        for origin in ORIGINS:
            for k in range(6):
                profit = float(rng.gamma(3.0, 300.0))
                common = dict(
                    dataset="demo-tiny-w0",
                    scenario="demo",
                    seed=0,
                    origin=origin,
                    merchant_id=f"M{m:02d}",
                    sku_id=f"M{m:02d}-{k}",
                    category="home",
                    reference_profit=profit * 1.2,
                    leftover_cost=50.0,
                    lower_bound=False,
                    basis="truth",
                )
                noise = float(rng.normal(0, 20))
                rows.append({**common, "side": "a", "profit": profit})
                rows.append({**common, "side": "b", "profit": profit + delta + noise})
    return pd.DataFrame(rows)


def pair_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Stacked sides -> one row per key with _a and _b columns (as compare.pair_tables)."""
    from demandmatch.experiments.compare import PLAN_KEYS, ROW_KEYS, pair_tables

    keys = ROW_KEYS if "stream_id" in rows else PLAN_KEYS
    a = rows[rows["side"] == "a"].drop(columns="side")
    b = rows[rows["side"] == "b"].drop(columns="side")
    return pair_tables(a, b, keys)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database of a tracking store that holds one empty run, made once per session: MLflow
    builds a new store's schema in seconds, a copy of this file takes none."""
    folder = tmp_path_factory.mktemp("empty-store")
    with tracking_runs.open_run(f"sqlite:///{folder}/mlflow.db", "schema", "schema"):
        pass
    return folder / "mlflow.db"


def new_store(empty: Path, folder: Path) -> str:
    """A tracking store of its own in `folder` (a copy of `empty_store`); its URI."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty, folder / "mlflow.db")
    return f"sqlite:///{folder}/mlflow.db"


@pytest.fixture(scope="module")
def store(empty_store: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tracking store shared by a test module."""
    return new_store(empty_store, tmp_path_factory.mktemp("store"))


GATE = {"metric": "true_pinball", "confidence": 0.95, "profit_not_worse": True}


def write_experiment(
    uri: str,
    tmp: Path,
    variants: dict[str, tuple[pd.DataFrame, pd.DataFrame, dict]],
    name: str = "toy",
    gate: dict | None = None,
) -> dict[str, str]:
    """An experiment's parent run and one finished child per variant, each holding its rows,
    plans and a model folder (config.yaml with the variant's config overrides); run ids by
    variant. The first variant is the gate's baseline."""
    spec = {"name": name, "question": "toy", "gate": gate or GATE}
    ids = {}
    with tracking_runs.open_run(
        uri, name, name, {"kind": KIND_PARENT, "experiment": name}
    ) as parent:
        path = tmp / "experiment.yaml"
        path.write_text(yaml.safe_dump(spec))
        parent.log_file(path)
        for variant, (rows, plans, overrides) in variants.items():
            tags = {"kind": KIND_CHILD, "experiment": name, "variant": variant, "seed": 0}
            tags["decision_basis"] = "truth"
            config = load_config(None, overrides)
            with tracking_runs.open_run(
                uri, name, f"{variant} | demo | seed 0", tags, parent.run_id
            ) as run:
                run.log_params({"config": config.model_dump(mode="json")})
                run.log_table(rows.assign(variant=variant), "rows.parquet")
                run.log_table(plans.assign(variant=variant), "plans.parquet")
                folder = tmp / variant / "model"
                folder.mkdir(parents=True)
                (folder / "model.pkl").write_bytes(pickle.dumps({"fitted": variant}))
                (folder / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")))
                run.log_folder(folder, "model")
            ids[variant] = run.run_id
    return ids
