"""The experiments' one door into the rest of demandmatch: every function of the engine they use
is imported here, and the few things the engine does not offer yet are written here.

Written here (not offered by the engine today):
- `DropFeatures`: a demand model fitted without a group of feature columns (the video
  features), so that an experiment can ask what they are worth;
- `simulate`: a demo world of a named scenario (only the default until the simulator takes a
  scenario);
- `backtest_contract`: the rolling-origin loop of `backtest.run_backtest`, keeping each origin's
  forecast so that the plan made from it can be scored (against the oracle plan where the truth
  is known, else replayed on the realised sales);
- `backtest_m5`: the same loop on M5's daily series with its direct features.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from demandmatch.backtest import PIT_BAND, find_truth, rolling_origins, score, scored_rows
from demandmatch.config import Config, load_config
from demandmatch.contract import data_hash, load_tables
from demandmatch.distributions import quantiles_negbin, survival_from_quantiles, survival_negbin
from demandmatch.evaluation import (
    coverage_negbin,
    expected_pinball_negbin,
    pinball,
    pit_coverage,
    rmsse,
    weighted_rmsse,
)
from demandmatch.forecast import learns_censoring, make_demand_model
from demandmatch.outcomes import expected_outcomes
from demandmatch.pipeline import Timer, fit_demand, optimiser_inputs, plan_stock, predict_demand
from demandmatch.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.simulate import load_truth, simulate_world, write_world
from demandmatch.tables import Tables

__all__ = [
    "PIT_BAND",
    "QUANTILE_COLUMNS",
    "QUANTILE_LEVELS",
    "Config",
    "coverage_negbin",
    "expected_pinball_negbin",
    "find_truth",
    "fit_demand",
    "load_config",
    "pinball",
    "predict_demand",
    "quantiles_negbin",
    "rolling_origins",
    "score",
]

Progress = Callable[[str], None]
DEFAULT_SCENARIO = "default"
M5_ENV = "DEMANDMATCH_M5_DIR"
# feature groups an experiment can leave out: columns named with these prefixes (or exactly)
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {"video": ("video_", "views_per_follower")}
LEVELS = np.asarray(QUANTILE_LEVELS)


def _quiet(step: str) -> None:
    return None


# --- models -------------------------------------------------------------------------------


class DropFeatures:
    """A demand model fitted and asked without the columns of `groups` (FEATURE_GROUPS): the
    rest of its behaviour (censoring, held-out choices, survival curves) is the wrapped
    model's. A model's log-linear start only uses the terms whose columns are present."""

    def __init__(self, model: Any, groups: Sequence[str]) -> None:
        self.model = model
        self.groups = tuple(groups)
        self.levels = model.levels
        self.learns_censoring = learns_censoring(model)

    def _cut(self, X: pd.DataFrame) -> pd.DataFrame:
        prefixes = tuple(p for g in self.groups for p in FEATURE_GROUPS[g])
        return X[[c for c in X.columns if not str(c).startswith(prefixes)]]

    def fit(self, X: pd.DataFrame, y: np.ndarray, **kw: Any) -> DropFeatures:
        self.model.fit(self._cut(X), y, **(kw if self.learns_censoring else {}))
        self.dropped_ = sorted(set(X.columns) - set(self._cut(X).columns))
        return self

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_mean(self._cut(X))

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_quantiles(self._cut(X))

    def __getattr__(self, name: str) -> Any:  # predict_forecast, held_out_choices, ...
        if name in ("model", "groups") or name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self.model, name)
        if name == "predict_forecast":
            return lambda X: attr(self._cut(X))
        return attr


def make_model(config: Config, drop_features: Sequence[str], params: dict[str, Any]) -> Any:
    """The configured demand model with `params` on top, without the `drop_features` groups."""
    model = make_demand_model(config, **params)
    return DropFeatures(model, drop_features) if drop_features else model


def _forecast(model: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    if hasattr(model, "predict_forecast"):
        return model.predict_forecast(X)
    q = model.predict_quantiles(X)
    return model.predict_mean(X), q, survival_from_quantiles(LEVELS, q)


# --- datasets -----------------------------------------------------------------------------


def simulate(seed: int, size: str, scenario: str) -> Any:
    """A demo world; a scenario other than the default needs a simulator that takes one."""
    if "scenario" in inspect.signature(simulate_world).parameters:
        return simulate_world(seed, size, scenario=scenario)  # type: ignore[call-arg]
    if scenario != DEFAULT_SCENARIO:
        raise ValueError(
            f"scenario {scenario!r} not supported: this version's simulator builds only the "
            f"{DEFAULT_SCENARIO!r} world"
        )
    return simulate_world(seed, size)


def demo_world(seed: int, size: str, scenario: str, cache: Path) -> Path:
    """The world's folder (data/ and truth.csv) under `cache`, simulated once and reused."""
    folder = cache / f"{size}-{scenario}-s{seed}"
    meta = folder / "world.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        if info.get("seed") == seed and info.get("size") == size:
            return folder
    write_world(simulate(seed, size, scenario), folder)
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


def m5_module() -> ModuleType:
    """The M5 loader and its direct features."""
    try:
        from demandmatch.data import m5  # type: ignore[import-not-found]

        return m5
    except ImportError:
        pass
    path = Path(__file__).resolve().parents[2] / "experiments" / "m5_data.py"
    if not path.is_file():
        raise ImportError("the M5 loader is not installed with this copy of demandmatch")
    spec = importlib.util.spec_from_file_location("demandmatch_m5_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def load_m5(folder: Path, n_series: int | None, seed: int) -> Any:
    return m5_module().load_m5(folder, n_series, seed)


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


def lead_hours(leads: Sequence[str]) -> list[tuple[str, float | None]]:
    return [(x, None if x == "origin" else float(x[:-1])) for x in leads]


def backtest_contract(
    tables: Tables,
    truth: pd.DataFrame | None,
    config: Config,
    make: Callable[[], Any],
    origins: Sequence[pd.Timestamp],
    horizon_days: int,
    leads: Sequence[str],
    progress: Progress = _quiet,
) -> BacktestOutput:
    """At each origin fit on what ended by it, forecast the next `horizon_days` at each lead
    (scored as `backtest.scored_rows` does) and plan from the origin's forecast."""
    timer = Timer()
    rows, plans, model = [], [], None
    basis = "none"
    for k, origin in enumerate(origins, 1):
        progress(f"origin {k}/{len(origins)}: fit")
        fitted = fit_demand(tables, config, origin, make(), timer=timer)
        model = fitted.model
        for label, hours in lead_hours(leads):
            progress(f"origin {k}/{len(origins)}: forecast {label}")
            fc = predict_demand(fitted, tables, config, horizon_days, hours, timer=timer)
            if fc.forecasts.empty:
                continue
            r = scored_rows(fc, fitted.as_of, label, truth)
            r["category"] = fc.lineup["category"].to_numpy()
            r["streamer_id"] = fc.lineup["streamer_id"].to_numpy()
            rows.append(r)
            if label == "origin":
                progress(f"origin {k}/{len(origins)}: plan")
                with timer.stage("plan", _quiet):
                    p, basis = plan_outcomes(fc, tables, config, r)
                plans.append(p.assign(origin=fitted.as_of))
    if not rows:
        raise ValueError("no stream starts in any backtest window: nothing to score")
    plan_frame = pd.concat(plans, ignore_index=True) if plans else pd.DataFrame()
    return BacktestOutput(
        pd.concat(rows, ignore_index=True), plan_frame, model, timer.seconds, basis
    )


def plan_outcomes(
    fc: Any, tables: Tables, config: Config, rows: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """Per SKU: the profit of the plan made from forecast `fc` and of the reference plan.

    With the truth (rows carry true_mean/true_size): both plans scored exactly in expectation
    under the true distributions, the reference being the oracle plan (planned on the truth).
    Without: both replayed on the realised sales (a point mass at units_sold), the reference
    being the plan made in hindsight; where a stream sold out, demand was at least its sales,
    so a plan that offered it more units is credited only units_sold: a lower bound
    (`lower_bound`)."""
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
        res = plan_stock(fc, tables, config, survival=plan_surv)
        order = res.plan.set_index(["merchant_id", "sku_id"])["order_qty"]
        order = order.reindex(pd.MultiIndex.from_frame(skus[["merchant_id", "sku_id"]]))
        alloc = res.allocation.set_index(["stream_id", "sku_id"])["allocated_units"]
        alloc = alloc.reindex(pd.MultiIndex.from_frame(items[["stream_id", "sku_id"]]))
        alloc = alloc.fillna(0).astype(int).reset_index(drop=True)
        o = expected_outcomes(items, skus, surv, order.fillna(0).reset_index(drop=True), alloc)
        waste = o["expected_leftover"] * (skus["unit_cost"] - skus["salvage_value"]).clip(lower=0)
        out[name] = o.assign(leftover_cost=waste.to_numpy())
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
    m5: Any,
    make: Callable[[], Any],
    origins: Sequence[int],
    horizon_days: int,
    window: int,
    train_step: int,
    progress: Progress = _quiet,
) -> BacktestOutput:
    """At each origin (a day index), fit a direct model on the days up to it and forecast each
    item's next 1..horizon_days days; no plan (M5 has no costs). RMSSE (level-12 weighted, as
    in M5) per origin, averaged, goes in `metrics`; each row carries its squared error over its
    series' naive scale (`scaled_sq_err`) so that runs can be paired on it."""
    mod = m5_module()
    if horizon_days > 28:
        raise ValueError("the M5 direct features forecast at most 28 days ahead")
    rows, scores, model = [], [], None
    timer = Timer()
    n = m5.n_series
    for k, o in enumerate(origins, 1):
        progress(f"origin {k}/{len(origins)}: fit")
        head = m5.head(o + 1)
        feats = mod.DirectFeatures(head)
        with timer.stage("demand model", _quiet):
            i, oo, h = feats.training_rows(window, train_step, horizon_days)
            model = make()
            fit_kw = {"time": oo + h} if learns_censoring(model) else {}
            model.fit(feats.rows(i, oo, h), feats.target(i, oo, h), **fit_kw)
        progress(f"origin {k}/{len(origins)}: forecast")
        ti, th = np.repeat(np.arange(n), horizon_days), np.tile(np.arange(1, horizon_days + 1), n)
        with timer.stage("predict", _quiet):
            mean, q, surv = _forecast(model, feats.rows(ti, np.full(len(ti), o), th))
        y = m5.sales[ti, o + th]
        history = head.sales
        # rmsse of an error of 1 on every day is 1 / sqrt(scale): each series' naive scale
        scale = 1.0 / rmsse(history, np.ones((n, 1)), np.zeros((n, 1))) ** 2
        weights = mod.level12_weights(head, o + 1)
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
                "cold_start": (o - mod.first_sale(history)[ti]) < 28,
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
