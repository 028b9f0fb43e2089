"""The one wiring of the stages, called by the CLI, the API and the experiments."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Config
from .contract import data_hash, load_tables
from .demand import DemandModel, make_model
from .distributions import survival_from_quantiles
from .features import build_features, lineup_frame
from .optimise import OptimiserSettings, PlanResult, plan_orders
from .report import render_report
from .returns import return_rates
from .schema import (
    ALLOCATION_COLUMNS,
    FORECAST_COLUMNS,
    PLAN_COLUMNS,
    QUANTILE_COLUMNS,
    QUANTILE_LEVELS,
)
from .tables import Tables

Progress = Callable[[str], None]


def _quiet(step: str) -> None:
    return None


@dataclass
class Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress) -> Iterator[None]:
        progress(name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - t0, 3)


@dataclass(frozen=True)
class DemandForecast:
    """Forecasts for the upcoming lineup, and the distributions the optimiser plans on."""

    as_of: pd.Timestamp
    horizon_days: int
    lineup: pd.DataFrame  # upcoming rows: stream, SKU, catalog and streamer columns
    forecasts: pd.DataFrame  # FORECAST_COLUMNS, aligned with lineup
    survival: list[np.ndarray]  # P(D >= u) per lineup row
    n_train: int


@dataclass(frozen=True)
class ForecastRun:
    forecast: DemandForecast
    result: PlanResult
    summary: dict[str, object]
    timings: dict[str, float]
    run_id: str | None
    out_dir: Path


def default_as_of(tables: Tables) -> pd.Timestamp:
    """The earliest start of a stream whose outcome columns are all blank."""
    items = tables.stream_items
    outcome = ["units_sold", "units_returned", "stock_allocated"]
    blank = items[outcome].isna().all(axis=1).groupby(items["stream_id"]).all()
    upcoming = tables.streams[tables.streams["stream_id"].map(blank).fillna(False).astype(bool)]
    if upcoming.empty:
        raise ValueError(
            "every stream has outcomes, so there is nothing upcoming to plan; give --as-of"
        )
    return upcoming["start_time"].min()


def split_rows(
    lineup: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(past rows the model learns from, upcoming rows to forecast)."""
    end = as_of + pd.Timedelta(days=horizon_days)
    upcoming = lineup[(lineup["start_time"] >= as_of) & (lineup["start_time"] < end)]
    past = lineup[lineup["units_sold"].notna() & (lineup["end_time"] <= as_of)]
    return past, upcoming


def forecast_demand(
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None = None,
    horizon_days: int | None = None,
    model: DemandModel | None = None,
    timer: Timer | None = None,
    progress: Progress = _quiet,
) -> DemandForecast:
    timer = timer or Timer()
    as_of = default_as_of(tables) if as_of is None else _utc(as_of, config.timezone)
    horizon_days = config.horizon_days if horizon_days is None else horizon_days
    with timer.stage("features", progress):
        lineup = lineup_frame(tables)
        past, upcoming = split_rows(lineup, as_of, horizon_days)
        rows = pd.concat([past, upcoming], ignore_index=True)
        cutoffs = pd.concat(
            [
                past.groupby("stream_id")["start_time"].first()
                - pd.Timedelta(hours=config.lead_hours),
                pd.Series(as_of, index=upcoming["stream_id"].unique()),
            ]
        )
        feats = build_features(rows, cutoffs, tables, config.festivals, config.timezone)
        X_train, X_up = feats.iloc[: len(past)], feats.iloc[len(past) :]
        upcoming = rows.iloc[len(past) :].reset_index(drop=True)
        X_up = X_up.reset_index(drop=True)
    if upcoming.empty:
        empty = pd.DataFrame(columns=list(FORECAST_COLUMNS))
        return DemandForecast(as_of, horizon_days, upcoming, empty, [], len(past))
    with timer.stage("demand model", progress):
        if model is None:
            m = config.model
            model = make_model(
                m.name,
                **(
                    dict(
                        n_estimators=m.n_estimators,
                        learning_rate=m.learning_rate,
                        num_leaves=m.num_leaves,
                        min_child_samples=m.min_child_samples,
                        subsample=m.subsample,
                        colsample_bytree=m.colsample_bytree,
                        n_jobs=m.n_jobs,
                        random_state=config.seed,
                    )
                    if m.name == "lgbm_quantile"
                    else {}
                ),
            )
        model.fit(X_train, past["units_sold"].to_numpy(dtype=float))
        q = model.predict_quantiles(X_up)
        mean = model.predict_mean(X_up)
        rr = return_rates(upcoming, past, config.model.return_prior_strength)
    forecasts = pd.DataFrame(
        {
            "stream_id": upcoming["stream_id"],
            "sku_id": upcoming["sku_id"],
            "merchant_id": upcoming["merchant_id"],
            "mean": mean,
            **{c: q[:, i] for i, c in enumerate(QUANTILE_COLUMNS)},
            "return_rate": rr,
            "cold_start": (X_up["cold_sku"] | X_up["cold_streamer"]).to_numpy(),
        }
    )[list(FORECAST_COLUMNS)]
    survival = survival_from_quantiles(np.array(QUANTILE_LEVELS), q)
    return DemandForecast(as_of, horizon_days, upcoming, forecasts, survival, len(past))


def optimiser_inputs(
    forecast: DemandForecast, tables: Tables
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(items, skus, merchants) as the optimiser takes them."""
    up = forecast.lineup
    items = up[["stream_id", "sku_id", "merchant_id", "start_time", "live_price"]].assign(
        return_rate=forecast.forecasts["return_rate"].to_numpy()
    )
    first = up.groupby(["merchant_id", "sku_id"])["start_time"].min().rename("first_start")
    skus = tables.catalog.merge(first.reset_index(), on=["merchant_id", "sku_id"])
    arrival = forecast.as_of + pd.to_timedelta(skus["lead_time_days"], unit="D")
    skus["orderable"] = arrival <= skus["first_start"]
    cols = ["merchant_id", "sku_id", "unit_cost", "salvage_value", "on_hand", "case_pack", "moq"]
    skus = skus[cols + ["unit_volume_l", "shelf_life_days", "lead_time_days", "orderable"]]
    merchants = tables.merchants[["merchant_id", "budget", "capacity_l"]]
    return items.reset_index(drop=True), skus.reset_index(drop=True), merchants


def plan_stock(
    forecast: DemandForecast,
    tables: Tables,
    config: Config,
    survival: list[np.ndarray] | None = None,
) -> PlanResult:
    items, skus, merchants = optimiser_inputs(forecast, tables)
    o = config.optimiser
    settings = OptimiserSettings(
        time_limit_s=o.time_limit_s,
        mip_gap=o.mip_gap,
        max_breakpoints=o.max_breakpoints,
        solver=o.solver,
    )
    return plan_orders(items, skus, merchants, survival or forecast.survival, settings)


def summarise(forecast: DemandForecast, result: PlanResult, tables: Tables) -> dict[str, object]:
    plan = result.plan
    cost = plan.merge(tables.catalog[["merchant_id", "sku_id", "unit_cost"]], how="left")
    demand = float(plan["expected_demand"].sum())
    return {
        "as_of": forecast.as_of.isoformat(),
        "horizon_days": forecast.horizon_days,
        "n_streams": int(forecast.lineup["stream_id"].nunique()),
        "n_skus": int(len(plan)),
        "n_merchants": int(plan["merchant_id"].nunique()),
        "n_cold_start": int(forecast.forecasts["cold_start"].sum()),
        "n_train_rows": forecast.n_train,
        "units_to_order": int(plan["order_qty"].sum()),
        "spend": float((cost["order_qty"] * cost["unit_cost"]).sum()),
        "expected_demand": demand,
        "expected_sales": float(plan["expected_sales"].sum()),
        "expected_profit": float(plan["expected_profit"].sum()),
        "expected_leftover": float(plan["expected_leftover"].sum()),
        "expected_lost_sales": float(plan["expected_lost_sales"].sum()),
        "fill_rate": float(plan["expected_sales"].sum() / demand) if demand > 0 else 1.0,
        "solver": result.stats.solver,
        "solver_status": result.stats.status,
        "solver_gap": float(result.stats.gap),
        "solve_time_s": float(result.stats.solve_time_s),
    }


def run_forecast(
    data_dir: Path | str,
    out_dir: Path | str,
    config: Config,
    as_of: pd.Timestamp | str | None = None,
    horizon_days: int | None = None,
    project_dir: Path | None = None,
    progress: Progress = _quiet,
) -> ForecastRun:
    """Load, forecast, plan, write the contract's outputs and track the run."""
    timer = Timer()
    out_dir = Path(out_dir)
    with timer.stage("load", progress):
        tables = load_tables(data_dir, config.timezone)
        digest = data_hash(data_dir)
    as_of_ts = None if as_of is None else _utc(pd.Timestamp(as_of), config.timezone)
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
    _atomic_write(out_dir / "run.json", json.dumps(run_info, indent=2, default=str))
    return ForecastRun(fc, result, summary, timer.seconds, run_id, out_dir)


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
        _atomic_write(path, frame.to_csv(index=False, float_format="%.4f"))
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
        tags={"data_hash": digest, "kind": "forecast", "solver_status": result.stats.status},
        artifacts=files,
        config=config.model_dump(mode="json"),
    )


def _atomic_write(path: Path, text: str) -> None:
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


def _utc(ts: pd.Timestamp, timezone: str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    if ts.tzinfo is None:
        ts = ts.tz_localize(timezone)
    return ts.tz_convert("UTC")
