"""The one wiring of a run: load -> stages -> write -> track, for a forecast and plan
(`run_forecast`) and for a backtest (`backtest_job`), called by the CLI, the API and the
benchmarks. Also the bridge from a demand forecast to the optimiser's inputs (`plan_stock`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .censoring import cap_forecast
from .compliance import check_compliance, unverified_rows, withhold
from .config import Config, ServiceLevels
from .data import StoredCatalog, data_hash, load_tables
from .data.tables import Tables
from .errors import UsageError
from .evaluation.backtest import BacktestResult, rolling_origins, run_backtest
from .forecast.stages import DemandForecast, FittedDemand, fit_demand, predict_demand
from .optimise import OptimiserSettings, PlanResult, plan_orders
from .preflight import (
    check_as_of,
    check_data_dir,
    check_engine,
    check_horizon,
    check_out_dir,
    check_solver,
    parse_as_of,
)
from .records import RunInfo, RunTracking, data_label, run_name
from .report import summarise, write_outputs
from .sheets import read_sheet
from .simulate import load_truth
from .staging import OutputFolder
from .timing import Progress, Timer, quiet

__all__ = [
    "ForecastRun",
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
    record: dict[str, object]  # what run.json holds


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
    planner: Callable[..., PlanResult] = plan_orders,
) -> PlanResult:
    o = config.optimiser
    items, skus, merchants = optimiser_inputs(forecast, tables, o.service_levels)
    settings = OptimiserSettings.from_config(o)
    survival = survival or forecast.survival
    if config.compliance.unverified == "withhold":  # no demand planned: no stock sent there
        survival = withhold(survival, unverified_rows(forecast.lineup, tables.streamers))
    return planner(items, skus, merchants, survival, settings)


def run_forecast(
    data_dir: Path | str,
    out_dir: Path | str,
    config: Config,
    as_of: pd.Timestamp | str | None = None,
    horizon_days: int | None = None,
    project_dir: Path | None = None,
    progress: Progress = quiet,
    timer: Timer | None = None,
    config_name: str = "defaults",
    store: str | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> ForecastRun:
    """Load, forecast, plan, write the contract's outputs and track the run.

    `engine` "dask": features, trees, forecasts and the plan on the Dask cluster at `scheduler`
    (a LocalCluster of this machine's cores when None; see demandmatch.engine).

    With `store` (a catalog store URL), each merchant with a catalog version there plans on it
    instead of the data directory's catalog; run.json and the tracking run record the version.

    Everything an operator can get wrong (paths, flags, the solver, the as-of time and horizon
    against the data) is checked before the fit and raises UsageError; input that breaks the
    contract raises ContractError. `out_dir` is replaced as one unit under a lock (see
    demandmatch.staging): a second run into it fails at once with OutputBusy, and an error or
    an interrupt leaves the old outputs as they were. A tracking failure is a warning.
    """
    timer = timer or Timer()
    data = check_data_dir(data_dir)
    out = check_out_dir(out_dir, data, markers=("run.json",))
    horizon = check_horizon(config.horizon_days if horizon_days is None else horizon_days)
    limits = config.limits.data_limits()
    as_of_ts = parse_as_of(as_of, config.timezone, limits)
    check_solver(config.optimiser.solver)
    check_engine(engine, scheduler)
    with OutputFolder(out) as folder:
        with timer.stage("load", progress):
            stored = None if store is None else stored_catalog(store)
            tables = load_tables(data, config.timezone, limits, read_sheet, stored)
            digest = data_hash(data)
        as_of_ts = check_as_of(tables, as_of_ts, horizon, config.timezone)
        warnings = list(tables.warnings)
        name = run_name("forecast", as_of_ts, data, config_name, config.timezone)
        tags = {"data_hash": digest, "kind": "forecast", "data": data_label(data)}
        versions = catalog_versions(tables, stored)
        tags.update({f"catalog_version.{m}": v for m, v in versions.items()})
        with _tracking_stage(config, timer, progress):
            tracking = RunTracking.start(config, project_dir or Path.cwd(), name, tags, warnings)
        record = RunInfo("forecast", config, data, digest, tracking, timer, run_name=name)
        try:
            with _engine(engine, scheduler) as client:
                fitted, fc = _forecast(client, tables, config, as_of_ts, horizon, timer, progress)
                fc, capped = cap_forecast(
                    fc, fitted.past, config.limits.sold_out_share, config.limits.sold_out_cap
                )
                warnings += [capped] if capped else []
                with timer.stage("optimise", progress):
                    result = plan_stock(fc, tables, config, planner=_planner(client))
            checks = check_compliance(
                fc.lineup,
                fc.forecasts,
                result.plan,
                result.allocation,
                tables.streamers,
                config.compliance,
            )
            summary = summarise(fc, result, tables, checks, config.compliance)
            summary["catalog_versions"] = versions
            summary["warnings"] = [w.as_dict() for w in warnings]
            with folder.stage() as staging:
                with timer.stage("write", progress):
                    write_outputs(staging, fc, result, tables, summary, checks, config.timezone)
                    files = written(staging)
                with _tracking_stage(config, timer, progress):
                    tracking.finish(
                        config,
                        _plan_metrics(summary, result),
                        {
                            **tags,
                            "solver_status": result.stats.status,
                            "model_fallbacks": "; ".join(fc.fallbacks) or "none",
                        },
                        files,
                        timer,
                        model=fitted.model,
                    )
                summary["run_id"] = tracking.run_id
                extra = {
                    "as_of": summary["as_of"],
                    "horizon_days": summary["horizon_days"],
                    "summary": summary,
                    "solver": result.stats.__dict__,
                }
                info = record.as_dict(staging, files, extra)
                _write_json(staging / "run.json", info)
        except BaseException:
            tracking.abandon()
            raise
    return ForecastRun(fc, result, summary, timer.seconds, tracking.run_id, out, info)


def _engine(engine: str, scheduler: str | None):
    """A Dask client for the run's stages (closed after the plan), or None on one machine."""
    if engine != "dask":
        return nullcontext(None)
    from .engine import dask_client

    return dask_client(scheduler)


def _forecast(
    client: object | None,
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None,
    horizon: int,
    timer: Timer,
    progress: Progress,
) -> tuple[FittedDemand, DemandForecast]:
    """(the fitted model, its forecast) on this machine, or on the cluster of `client`."""
    if client is None:
        fitted = fit_demand(tables, config, as_of, timer=timer, progress=progress)
        return fitted, predict_demand(
            fitted, tables, config, horizon, timer=timer, progress=progress
        )
    from .engine import fit_predict_on_cluster

    return fit_predict_on_cluster(client, tables, config, as_of, horizon, timer, progress)


def _planner(client: object | None) -> Callable[..., PlanResult]:
    if client is None:
        return plan_orders
    from .engine import plan_by_merchant

    return partial(plan_by_merchant, client)


def stored_catalog(url: str) -> StoredCatalog:
    """Every merchant's current catalog in the store at `url`; a store that cannot be read is
    the `--store` flag's error."""
    from .store import StoreError, current_catalog

    try:
        rows, versions = current_catalog(url)
    except StoreError as err:
        raise UsageError("--store", str(err)) from None
    except Exception as err:  # a URL the database driver refuses, a server that is down
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError("--store", f"cannot read the catalog store: {reason}") from None
    return StoredCatalog(rows, versions)


def catalog_versions(tables: Tables, stored: StoredCatalog | None) -> dict[str, str]:
    """Where each merchant's catalog came from: `v<N>` of the store, or `file`."""
    merchants = sorted(tables.catalog["merchant_id"].astype(str).unique())
    if stored is None:
        return {m: "file" for m in merchants}
    return {m: f"v{stored.versions[m]}" if m in stored.merchants else "file" for m in merchants}


def written(folder: Path) -> list[Path]:
    """The files a writer put in the staging folder (whatever it returns): the set run.json
    lists and the tracking run keeps."""
    return sorted(p for p in folder.iterdir() if p.is_file())


def _tracking_stage(config: Config, timer: Timer, progress: Progress):
    """The `track` stage, timed and shown only when the run is tracked."""
    return timer.stage("track", progress) if config.tracking.enabled else nullcontext()


def _plan_metrics(summary: dict[str, object], result: PlanResult) -> dict[str, object]:
    metrics: dict[str, object] = {
        k: v for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    metrics["solver_objective"] = float(result.stats.objective)
    metrics["solver_best_bound"] = float(result.stats.best_bound)
    metrics["n_warnings"] = len(summary.get("warnings") or [])  # type: ignore[arg-type]
    return metrics


def _write_json(path: Path, info: dict) -> None:
    path.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")


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
    timer: Timer | None = None,
    config_name: str = "defaults",
) -> tuple[BacktestResult, str | None]:
    """Load, backtest, write backtest_summary.csv / backtest_metrics.csv / backtest_rows.csv /
    backtest_choices.csv and run.json (as one unit, like a forecast's outputs), and log the run
    to MLflow (metrics named `<lead>.<segment>.<metric>`, and `<choice>.mean` / `.min` / `.max`
    of the held-out choices over the origins)."""
    timer = timer or Timer()
    data = check_data_dir(data_dir)
    out = check_out_dir(out_dir, data, markers=("run.json", "backtest_summary.csv"))
    check_horizon(horizon_days)
    for flag, value in (("--origins", n_origins), ("--step-days", step_days)):
        if value < 1:
            raise UsageError(flag, f"must be at least 1, found {value}")
    limits = config.limits.data_limits()
    with OutputFolder(out) as folder:
        with timer.stage("load", progress):
            tables = load_tables(data, config.timezone, limits, read_sheet)
            digest = data_hash(data)
            truth = None
            if truth_path is not None:
                tp = Path(truth_path)
                truth = load_truth(tp.parent if tp.is_file() else tp)
        origins = rolling_origins(tables, n_origins, step_days, horizon_days)
        warnings = list(tables.warnings)
        name = run_name("backtest", None, data, config_name, config.timezone)
        name = name.replace("backtest", f"backtest {len(origins)} origins", 1)
        tags = {"kind": "backtest", "data_hash": digest, "data": data_label(data)}
        tracking = RunTracking.start(config, project_dir or Path.cwd(), name, tags, warnings)
        record = RunInfo("backtest", config, data, digest, tracking, timer, run_name=name)
        try:
            result = run_backtest(
                tables, config, origins, horizon_days, truth=truth, progress=progress
            )
            with folder.stage() as staging:
                files = []
                with timer.stage("write", progress):
                    for file, frame in (
                        ("backtest_summary.csv", result.summary),
                        ("backtest_metrics.csv", result.metrics),
                        ("backtest_rows.csv", result.rows),
                        ("backtest_choices.csv", result.choices),
                    ):
                        frame.to_csv(staging / file, index=False, float_format="%.5g")
                        files.append(staging / file)
                with _tracking_stage(config, timer, progress):
                    tracking.finish(config, _backtest_metrics(result), tags, files, timer)
                extra = {
                    "origins": [o.isoformat() for o in origins],
                    "step_days": step_days,
                    "horizon_days": horizon_days,
                    "truth": truth is not None,
                }
                _write_json(staging / "run.json", record.as_dict(staging, files, extra))
        except BaseException:
            tracking.abandon()
            raise
    return result, tracking.run_id


def _backtest_metrics(result: BacktestResult) -> dict[str, object]:
    metrics: dict[str, object] = {
        f"{r['lead']}.{r['segment']}.{k}": float(r[k])
        for r in result.summary.to_dict("records")
        for k in result.summary.columns
        if k not in ("lead", "segment") and pd.notna(r[k])
    }
    for name in result.choices.columns.drop("origin", errors="ignore"):
        for stat in ("mean", "min", "max"):
            metrics[f"{name}.{stat}"] = float(result.choices[name].agg(stat))
    return metrics
