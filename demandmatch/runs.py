"""The one wiring of a run: load -> stages -> write -> track, for a forecast and plan
(`run_forecast`) and for a backtest (`backtest_job`), called by the CLI, the API and the
benchmarks. Also the bridge from a demand forecast to the optimiser's inputs (`plan_stock`)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Config, ServiceLevels
from .data import data_hash, load_tables
from .data.schema import ALLOCATION_COLUMNS, FORECAST_COLUMNS, PLAN_COLUMNS
from .data.tables import Tables
from .evaluation.backtest import BacktestResult, rolling_origins, run_backtest
from .forecast.rows import to_utc
from .forecast.stages import DemandForecast, forecast_demand
from .optimise import OptimiserSettings, PlanResult, plan_orders
from .report import render_report, summarise
from .simulate import load_truth
from .timing import Progress, Timer, quiet

__all__ = [
    "ForecastRun",
    "atomic_write",
    "backtest_job",
    "find_truth",
    "optimiser_inputs",
    "plan_stock",
    "run_forecast",
]


@dataclass(frozen=True)
class ForecastRun:
    forecast: DemandForecast
    result: PlanResult
    summary: dict[str, object]
    timings: dict[str, float]
    run_id: str | None
    out_dir: Path


def optimiser_inputs(
    forecast: DemandForecast, tables: Tables, service_levels: ServiceLevels | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(items, skus, merchants) as the optimiser takes them.

    An order arrives at as_of + lead_time_days (order_arrives_at: it can be sold in the streams
    that start at or after that) and a perishable unit expires shelf_life_days after it
    arrives; stock on hand is taken as arrived at as_of (its age is unknown). Leftovers are
    valued at salvage at the end of the horizon. min_fill_rate comes from `service_levels`
    (sku, category, default).
    """
    up = forecast.lineup
    items = up[["stream_id", "sku_id", "merchant_id", "start_time", "live_price"]].assign(
        return_rate=forecast.forecasts["return_rate"].to_numpy()
    )
    first = up.groupby(["merchant_id", "sku_id"])["start_time"].min().rename("first_start")
    skus = tables.catalog.merge(first.reset_index(), on=["merchant_id", "sku_id"])
    arrival = forecast.as_of + pd.to_timedelta(skus["lead_time_days"], unit="D")
    skus["order_arrives_at"] = arrival
    shelf = pd.to_timedelta(pd.to_numeric(skus["shelf_life_days"]), unit="D")
    skus["on_hand_expires_at"] = forecast.as_of + shelf
    skus["order_expires_at"] = arrival + shelf
    skus["salvage_at"] = forecast.as_of + pd.Timedelta(days=forecast.horizon_days)
    levels = service_levels or ServiceLevels()
    skus["min_fill_rate"] = (
        skus["sku_id"]
        .map(levels.skus)
        .fillna(skus["category"].map(levels.categories))
        .fillna(np.nan if levels.default is None else levels.default)
        .astype(float)
    )
    cols = ["merchant_id", "sku_id", "unit_cost", "salvage_value", "on_hand", "case_pack", "moq"]
    extra = ["unit_volume_l", "shelf_life_days", "lead_time_days", "order_arrives_at", "category"]
    expiry = ["on_hand_expires_at", "order_expires_at", "salvage_at", "min_fill_rate"]
    skus = skus[cols + extra + expiry]
    merchants = tables.merchants[["merchant_id", "budget", "capacity_l"]]
    return items.reset_index(drop=True), skus.reset_index(drop=True), merchants


def plan_stock(
    forecast: DemandForecast,
    tables: Tables,
    config: Config,
    survival: list[np.ndarray] | None = None,
) -> PlanResult:
    o = config.optimiser
    items, skus, merchants = optimiser_inputs(forecast, tables, o.service_levels)
    settings = OptimiserSettings(
        time_limit_s=o.time_limit_s,
        mip_gap=o.mip_gap,
        max_breakpoints=o.max_breakpoints,
        solver=o.solver,
        mip_max_skus=o.mip_max_skus,
    )
    return plan_orders(items, skus, merchants, survival or forecast.survival, settings)


def run_forecast(
    data_dir: Path | str,
    out_dir: Path | str,
    config: Config,
    as_of: pd.Timestamp | str | None = None,
    horizon_days: int | None = None,
    project_dir: Path | None = None,
    progress: Progress = quiet,
) -> ForecastRun:
    """Load, forecast, plan, write the contract's outputs and track the run."""
    timer = Timer()
    out_dir = Path(out_dir)
    with timer.stage("load", progress):
        tables = load_tables(data_dir, config.timezone)
        digest = data_hash(data_dir)
    as_of_ts = None if as_of is None else to_utc(pd.Timestamp(as_of), config.timezone)
    fc = forecast_demand(tables, config, as_of_ts, horizon_days, timer=timer, progress=progress)
    with timer.stage("optimise", progress):
        result = plan_stock(fc, tables, config)
    summary = summarise(fc, result, tables)
    with timer.stage("write", progress):
        lineup = fc.lineup[
            [
                "stream_id",
                "sku_id",
                "merchant_id",
                "streamer_id",
                "start_time",
                "live_price",
                "slot",
                "featured",
                "title",
                "category",
                "unit_cost",
            ]
        ]
        files = _write_outputs(out_dir, fc.forecasts, result, lineup, summary)
    run_id = None
    if config.tracking.enabled:
        with timer.stage("track", progress):
            run_id = _track(config, digest, summary, files, result, project_dir or Path.cwd())
    summary["run_id"] = run_id
    run_info = {
        "run_id": run_id,
        "config": config.model_dump(mode="json"),
        "data_dir": str(data_dir),
        "data_hash": digest,
        "as_of": summary["as_of"],
        "horizon_days": summary["horizon_days"],
        "summary": summary,
        "solver": result.stats.__dict__,
        "timings_s": timer.seconds,
    }
    atomic_write(out_dir / "run.json", json.dumps(run_info, indent=2, default=str))
    return ForecastRun(fc, result, summary, timer.seconds, run_id, out_dir)


def find_truth(data_dir: Path) -> Path | None:
    """The demo world keeps truth.csv beside its data directory, never inside it."""
    candidate = Path(data_dir).resolve().parent / "truth.csv"
    return candidate if candidate.is_file() else None


def backtest_job(
    data_dir: Path | str,
    out_dir: Path | str,
    config: Config,
    n_origins: int = 4,
    step_days: int = 7,
    horizon_days: int = 7,
    truth_path: Path | str | None = None,
    project_dir: Path | None = None,
    progress: Progress = quiet,
) -> tuple[BacktestResult, str | None]:
    """Load, backtest, write backtest_summary.csv / backtest_metrics.csv / backtest_rows.csv /
    backtest_choices.csv, and log the run to MLflow (metrics named `<lead>.<segment>.<metric>`,
    and `<choice>.mean` / `.min` / `.max` of the held-out choices over the origins)."""
    tables = load_tables(data_dir, config.timezone)
    truth = None
    if truth_path is not None:
        tp = Path(truth_path)
        truth = load_truth(tp.parent if tp.is_file() else tp)
    origins = rolling_origins(tables, n_origins, step_days, horizon_days)
    result = run_backtest(tables, config, origins, horizon_days, truth=truth, progress=progress)
    out = Path(out_dir)
    files = []
    for name, frame in (
        ("backtest_summary.csv", result.summary),
        ("backtest_metrics.csv", result.metrics),
        ("backtest_rows.csv", result.rows),
        ("backtest_choices.csv", result.choices),
    ):
        atomic_write(out / name, frame.to_csv(index=False, float_format="%.5g"))
        files.append(out / name)
    run_id = None
    if config.tracking.enabled:
        from .tracking import log_run, resolve_tracking_uri

        metrics = {
            f"{r['lead']}.{r['segment']}.{k}": float(r[k])
            for r in result.summary.to_dict("records")
            for k in result.summary.columns
            if k not in ("lead", "segment") and pd.notna(r[k])
        }
        for name in result.choices.columns.drop("origin", errors="ignore"):
            for stat in ("mean", "min", "max"):
                metrics[f"{name}.{stat}"] = float(result.choices[name].agg(stat))
        run_id = log_run(
            tracking_uri=resolve_tracking_uri(config.tracking.uri, project_dir or Path.cwd()),
            experiment=config.tracking.experiment,
            run_name=f"backtest {len(origins)} origins",
            params={
                **config.model_dump(mode="json"),
                "backtest": {
                    "origins": [o.isoformat() for o in origins],
                    "step_days": step_days,
                    "horizon_days": horizon_days,
                    "truth": truth is not None,
                },
            },
            metrics=metrics,
            tags={"kind": "backtest", "data_hash": data_hash(data_dir)},
            artifacts=files,
            config=config.model_dump(mode="json"),
        )
    return result, run_id


def _write_outputs(
    out_dir: Path,
    forecasts: pd.DataFrame,
    result: PlanResult,
    lineup: pd.DataFrame,
    summary: dict[str, object],
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "forecasts.csv": forecasts[list(FORECAST_COLUMNS)],
        "plan.csv": result.plan[list(PLAN_COLUMNS)],
        "allocation.csv": result.allocation[list(ALLOCATION_COLUMNS)],
    }
    paths = []
    for name, frame in frames.items():
        path = out_dir / name
        atomic_write(path, frame.to_csv(index=False, float_format="%.4f"))
        paths.append(path)
    report = out_dir / "report.html"
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        tmp_report = Path(tmp) / "report.html"
        render_report(
            result.plan,
            result.allocation,
            forecasts,
            lineup,
            {**summary, "shadow_prices": result.shadow_prices.to_dict("records")},
            tmp_report,
        )
        os.replace(tmp_report, report)
    paths.append(report)
    return paths


def _track(
    config: Config,
    digest: str,
    summary: dict[str, object],
    files: list[Path],
    result: PlanResult,
    project_dir: Path,
) -> str:
    from .tracking import log_run, resolve_tracking_uri

    metrics = {k: float(v) for k, v in summary.items() if isinstance(v, int | float)}
    metrics["solver_objective"] = float(result.stats.objective)
    metrics["solver_best_bound"] = float(result.stats.best_bound)
    return log_run(
        tracking_uri=resolve_tracking_uri(config.tracking.uri, project_dir),
        experiment=config.tracking.experiment,
        run_name=f"forecast {summary['as_of']}",
        params=config.model_dump(mode="json"),
        metrics=metrics,
        tags={
            "data_hash": digest,
            "kind": "forecast",
            "solver_status": result.stats.status,
            "model_fallbacks": "; ".join(map(str, summary.get("model_fallbacks") or [])) or "none",
        },
        artifacts=files,
        config=config.model_dump(mode="json"),
    )


def atomic_write(path: Path, text: str) -> None:
    """Write beside the target then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
