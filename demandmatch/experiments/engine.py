"""The experiments' one door into the rest of demandmatch: every function of the engine they use
is imported here, and the little the engine does not offer is written here.

- `demo_world`: a demo world of any scenario of the simulator's zoo, written once to a cache
  folder and reused;
- `backtest_contract`: the engine's rolling-origin backtest (`run_backtest`), keeping from each
  origin the plan made from its forecast, scored against the oracle plan where the truth is
  known, else replayed on the realised sales (`plan_outcomes`);
- `backtest_m5`: the same on M5's daily series with its direct features (no plan: no costs).

Feature groups a variant leaves out (`model.drop_features`) are a setting of the config, applied
where the engine hands the features to the model, so a promoted config reproduces in
`demandmatch forecast`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demandmatch.config import Config, load_config
from demandmatch.data import Tables, data_hash, load_tables
from demandmatch.data.m5 import M5, DirectFeatures, first_sale, level12_weights, load_m5
from demandmatch.data.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.evaluation.backtest import (
    PIT_BAND,
    PLAN_TIME,
    rolling_origins,
    run_backtest,
    score,
)
from demandmatch.evaluation.metrics import (
    coverage_negbin,
    expected_pinball_negbin,
    pinball,
    pit_coverage,
    rmsse,
    weighted_rmsse,
)
from demandmatch.evaluation.plans import plan_quantities, sku_outcomes
from demandmatch.forecast.distributions import quantiles_negbin, survival_negbin
from demandmatch.forecast.stages import (
    DemandForecast,
    FittedDemand,
    make_demand_model,
    model_features,
)
from demandmatch.runs import find_truth, optimiser_inputs, plan_stock
from demandmatch.simulate import DEMO, load_scenario, load_truth, simulate_world, write_world
from demandmatch.simulate import scenario as resolve_scenario
from demandmatch.timing import Progress, Timer, quiet

__all__ = [
    "DEFAULT_SCENARIO",
    "QUANTILE_COLUMNS",
    "QUANTILE_LEVELS",
    "Config",
    "Progress",
    "coverage_negbin",
    "expected_pinball_negbin",
    "find_truth",
    "load_config",
    "load_m5",
    "pinball",
    "quantiles_negbin",
    "resolve_scenario",
    "rolling_origins",
    "score",
]

DEFAULT_SCENARIO = DEMO.name  # the simulator's own default world
M5_ENV = "DEMANDMATCH_M5_DIR"
LEVELS = np.asarray(QUANTILE_LEVELS)


# --- datasets -----------------------------------------------------------------------------


def demo_world(seed: int, size: str, scenario: str, cache: Path) -> Path:
    """The world's folder (data/, truth.csv, world.json, scenario.json) under `cache`, simulated
    once and reused; written beside and moved into place, so an interrupted run leaves no
    half-written world to reuse."""
    wanted = resolve_scenario(scenario)
    folder = Path(cache) / f"{size}-{wanted.name}-s{seed}"
    meta = folder / "world.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        same = info.get("seed") == seed and info.get("size") == size
        if same and load_scenario(folder).name == wanted.name:
            return folder
    part = folder.with_name(folder.name + ".partial")
    shutil.rmtree(part, ignore_errors=True)
    write_world(simulate_world(seed, size, wanted), part)
    shutil.rmtree(folder, ignore_errors=True)
    part.rename(folder)
    return folder


def load_contract(data_dir: Path, timezone: str) -> Tables:
    return load_tables(data_dir, timezone)


def contract_hash(data_dir: Path) -> str:
    return data_hash(data_dir)


def read_truth(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    return load_truth(path.parent if path.is_file() else path)


def m5_folder(path: str | None) -> Path:
    """The M5 subset folder: the given path, else the one DEMANDMATCH_M5_DIR names."""
    chosen = path or os.environ.get(M5_ENV, "").strip()
    if not chosen:
        raise ValueError(f"the m5 dataset needs a path, or the folder in ${M5_ENV}")
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"M5 folder not found: {folder}")
    return folder


def files_hash(folder: Path) -> str:
    """SHA-256 over a folder's files: sorted names, sizes and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


# --- backtests ----------------------------------------------------------------------------


@dataclass
class BacktestOutput:
    rows: pd.DataFrame  # one row per (origin, lead, stream item): forecast, outcome, truth
    plans: pd.DataFrame  # one row per (origin, SKU): the plan's profit and the reference's
    model: Any  # the last origin's fitted model
    timings: dict[str, float] = field(default_factory=dict)
    decision_basis: str = "none"  # truth | realised | none
    metrics: dict[str, float] = field(default_factory=dict)  # dataset-specific (RMSSE)


def nowcast_hours(leads: Sequence[str]) -> tuple[float, ...]:
    """The hours of the nowcast leads ("24h" -> 24.0); "origin" is always forecast."""
    return tuple(float(x[:-1]) for x in leads if x != PLAN_TIME)


def backtest_contract(
    tables: Tables,
    truth: pd.DataFrame | None,
    config: Config,
    origins: Sequence[pd.Timestamp],
    horizon_days: int,
    leads: Sequence[str],
    progress: Progress = quiet,
) -> BacktestOutput:
    """The engine's backtest (`run_backtest`) of the configured model at `origins` and `leads`,
    keeping each stream item's category and streamer, the last origin's fitted model and, from
    the forecast as of each origin, the plan's outcome per SKU (`plan_outcomes`)."""
    rows: list[pd.DataFrame] = []
    plans: list[pd.DataFrame] = []
    kept: dict[str, Any] = {"model": None, "basis": "none"}
    timer = Timer()

    def keep(fitted: FittedDemand, fc: DemandForecast, scored: pd.DataFrame) -> None:
        up = fc.lineup
        rows.append(
            scored.assign(
                category=up["category"].to_numpy(), streamer_id=up["streamer_id"].to_numpy()
            )
        )
        kept["model"] = fitted.model
        if scored["lead"].iloc[0] == PLAN_TIME:
            label = f"origin {len(plans) + 1}/{len(origins)}: plan"
            with timer.stage("plan", lambda _: progress(label)):
                p, kept["basis"] = plan_outcomes(fc, tables, config, scored)
            plans.append(p.assign(origin=fitted.as_of))

    result = run_backtest(
        tables,
        config,
        origins,
        horizon_days,
        nowcast_hours(leads),
        truth=truth,
        progress=progress,
        on_forecast=keep,
    )
    plan_frame = pd.concat(plans, ignore_index=True) if plans else pd.DataFrame()
    return BacktestOutput(
        pd.concat(rows, ignore_index=True),
        plan_frame,
        kept["model"],
        {**result.timings, **timer.seconds},
        kept["basis"],
    )


def plan_outcomes(
    fc: DemandForecast, tables: Tables, config: Config, rows: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """Per SKU: the profit of the plan made from forecast `fc` and of the reference plan.

    With the truth (rows carry true_mean/true_size): both plans scored exactly in expectation
    under the true distributions (evaluation.plans.sku_outcomes), the reference being the
    oracle plan (planned on the truth). Without: both replayed on the realised sales (a point
    mass at units_sold), the reference being the plan made in hindsight; where a stream sold
    out, demand was at least its sales, so a plan that offered it more units is credited only
    units_sold: a lower bound (`lower_bound`)."""
    items, skus, _ = optimiser_inputs(fc, tables, config.optimiser.service_levels)
    if "true_mean" in rows and rows["true_mean"].notna().all():
        surv = survival_negbin(rows["true_mean"].to_numpy(), rows["true_size"].to_numpy())
        basis = "truth"
    else:
        sold = rows["units_sold"].fillna(0).to_numpy()
        surv = [np.ones(int(round(y))) for y in sold]
        basis = "realised"
    out = {}
    for name, plan_surv in (("plan", None), ("reference", surv)):
        order, alloc = plan_quantities(plan_stock(fc, tables, config, plan_surv), items, skus)
        out[name] = sku_outcomes(items, skus, surv, order, alloc)
        if name == "plan" and basis == "realised":
            over = rows["sold_out"].to_numpy(bool) & (alloc.to_numpy() > sold)
            bound = pd.Series(over).groupby([items["merchant_id"], items["sku_id"]]).any()
            keys = pd.MultiIndex.from_frame(skus[["merchant_id", "sku_id"]])
            out[name]["lower_bound"] = bound.reindex(keys).fillna(False).to_numpy()
    plan, ref = out["plan"], out["reference"]
    frame = pd.DataFrame(
        {
            "merchant_id": skus["merchant_id"].to_numpy(),
            "sku_id": skus["sku_id"].to_numpy(),
            "category": skus["category"].to_numpy(),
            "order_qty": plan["order_qty"].to_numpy(),
            "profit": plan["expected_profit"].to_numpy(),
            "reference_profit": ref["expected_profit"].to_numpy(),
            "leftover_cost": plan["leftover_cost"].to_numpy(),
            "reference_leftover_cost": ref["leftover_cost"].to_numpy(),
            "fill_rate": plan["fill_rate"].to_numpy(),
            "lower_bound": plan["lower_bound"].to_numpy() if basis == "realised" else False,
        }
    )
    return frame, basis


def m5_origins(n_days: int, n_origins: int, step_days: int, horizon_days: int) -> list[int]:
    """Day indices of the last observed day at each origin, the last `horizon_days` before the
    end so that every window has outcomes; oldest first."""
    last = n_days - 1 - horizon_days
    out = [last - step_days * k for k in range(n_origins)][::-1]
    if out[0] < 400:
        raise ValueError(f"{n_origins} origins {step_days} days apart leave too little history")
    return out


def backtest_m5(
    m5: M5,
    config: Config,
    origins: Sequence[int],
    horizon_days: int,
    window: int,
    train_step: int,
    progress: Progress = quiet,
) -> BacktestOutput:
    """At each origin (a day index), fit the configured model on M5's direct features of the
    days up to it and forecast each item's next 1..horizon_days days; no plan (M5 has no
    costs). RMSSE (level-12 weighted, as in M5) per origin, averaged, goes in `metrics`; each
    row carries its squared error over its series' naive scale (`scaled_sq_err`) so that runs
    can be paired on it."""
    if horizon_days > 28:
        raise ValueError("the M5 direct features forecast at most 28 days ahead")
    rows, scores, model = [], [], None
    timer = Timer()
    n = m5.n_series
    drop = config.model.drop_features
    for k, o in enumerate(origins, 1):
        step = lambda s, k=k: progress(f"origin {k}/{len(origins)}: {s}")  # noqa: E731
        head = m5.head(o + 1)
        feats = DirectFeatures(head)
        with timer.stage("demand model", step):
            i, oo, h = feats.training_rows(window, train_step, horizon_days)
            model = make_demand_model(config)
            X, y = model_features(feats.rows(i, oo, h), drop), feats.target(i, oo, h)
            if model.learns_censoring:  # no sell-outs in M5; the time orders the hold-out
                model.fit(X, y, time=oo + h)
            else:
                model.fit(X, y)
        ti, th = np.repeat(np.arange(n), horizon_days), np.tile(np.arange(1, horizon_days + 1), n)
        with timer.stage("predict", step):
            upcoming = model_features(feats.rows(ti, np.full(len(ti), o), th), drop)
            mean, q, surv = model.predict_forecast(upcoming)
        y = m5.sales[ti, o + th]
        history = head.sales
        # rmsse of an error of 1 on every day is 1 / sqrt(scale): each series' naive scale
        scale = 1.0 / rmsse(history, np.ones((n, 1)), np.zeros((n, 1))) ** 2
        weights = level12_weights(head, o + 1)
        mean2 = np.maximum(mean, 0).reshape(n, horizon_days)
        scores.append(weighted_rmsse(history, y.reshape(n, horizon_days), mean2, weights))
        dates = m5.calendar["date"].to_numpy()
        week = (th - 1) // 7
        r = pd.DataFrame(
            {
                "origin": pd.Timestamp(dates[o]),
                "lead": [f"{7 * w + 1}-{7 * w + 7}d" for w in week],
                "stream_id": pd.to_datetime(dates[o + th]).strftime("%Y-%m-%d"),
                "sku_id": m5.item_id[ti],
                "merchant_id": m5.store_id[ti],
                "category": m5.dept_id[ti],
                "mean": np.maximum(mean, 0),
                **{c: np.maximum(q[:, j], 0) for j, c in enumerate(QUANTILE_COLUMNS)},
                "cold_start": (o - first_sale(history)[ti]) < 28,
                "units_sold": y.astype(float),
                "sold_out": False,
                "pit_10_90": pit_coverage(surv, y, *PIT_BAND),
                "scaled_sq_err": (np.maximum(mean, 0) - y) ** 2 / scale[ti],
            }
        )
        rows.append(r)
    metrics = {"rmsse": float(np.mean(scores))}
    metrics.update({f"rmsse.origin{k}": s for k, s in enumerate(scores, 1)})
    return BacktestOutput(
        pd.concat(rows, ignore_index=True), pd.DataFrame(), model, timer.seconds, "none", metrics
    )
