"""The demand stage: learn from the streams that ended by a time, forecast the ones after it.

`fit_demand` builds the training rows (each past stream item once per training lead, features as
of `start - lead`) and fits the configured model; `predict_demand` forecasts the streams starting
in a horizon, either as of the fit's time (the plan) or as a nowcast a given number of hours
before each stream (what the planner would see then). `forecast_demand` is the two in one.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import Config
from .data.schema import FORECAST_COLUMNS, QUANTILE_COLUMNS, QUANTILE_LEVELS
from .data.tables import Tables
from .demand import DemandModel, make_model
from .distributions import survival_from_quantiles
from .features import FeatureTables, build_features, prepare_tables
from .returns import return_rates

Progress = Callable[[str], None]


def quiet(step: str) -> None:
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
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 3)


@dataclass(frozen=True)
class DemandForecast:
    """Forecasts for the upcoming lineup, and the distributions the optimiser plans on."""

    as_of: pd.Timestamp
    horizon_days: int
    lineup: pd.DataFrame  # upcoming rows: stream, SKU, catalog, streamer, cutoff, cold flags
    forecasts: pd.DataFrame  # FORECAST_COLUMNS, aligned with lineup
    survival: list[np.ndarray]  # P(D >= u) per lineup row
    n_train: int
    # what the model's fit chose on held-out rows (model_round_share, ...), for the run's log
    model_choices: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FittedDemand:
    """A demand model fitted on everything that ended by `as_of`."""

    as_of: pd.Timestamp
    model: DemandModel
    source: FeatureTables  # the tables the features were built from, prepared once
    past: pd.DataFrame  # the rows learned from (once each)
    n_train: int  # training rows (past rows x training leads)

    @property
    def lineup(self) -> pd.DataFrame:
        """Every stream item with its stream, streamer and catalog columns."""
        return self.source.lineup


def to_utc(ts: pd.Timestamp | str, timezone: str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    if ts.tzinfo is None:
        ts = ts.tz_localize(timezone)
    return ts.tz_convert("UTC")


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


def training_rows(past: pd.DataFrame, leads_hours: Sequence[float]) -> pd.DataFrame:
    """Each past row once per lead, with `cutoff` = start - lead."""
    parts = [
        past.assign(cutoff=past["start_time"] - pd.Timedelta(hours=float(h)))
        for h in sorted(set(leads_hours))
    ]
    return pd.concat(parts, ignore_index=True)


def sold_out(rows: pd.DataFrame) -> np.ndarray:
    """Rows whose sales hit the stock they were given: demand was at least units_sold."""
    stock = rows["stock_allocated"]
    return (stock.notna() & (rows["units_sold"] >= stock)).to_numpy(dtype=bool)


# the model config's settings that only lgbm_negbin takes, under the same names
NEGBIN_SETTINGS = (
    "censoring",
    "holdout",
    "effect_sd",
    "bags",
    "holdout_rounds",
    "launch_holdout",
    "round_shares",
)


def make_demand_model(config: Config, **overrides: object) -> DemandModel:
    """The configured demand model (`overrides` replace its parameters)."""
    m = config.model
    lgbm: dict[str, object] = dict(
        n_estimators=m.n_estimators,
        learning_rate=m.learning_rate,
        num_leaves=m.num_leaves,
        min_child_samples=m.min_child_samples,
        subsample=m.subsample,
        colsample_bytree=m.colsample_bytree,
        n_jobs=m.n_jobs,
        random_state=config.seed,
    )
    params = {
        "lgbm_negbin": dict(lgbm, **{k: getattr(m, k) for k in NEGBIN_SETTINGS}),
        "lgbm_quantile": lgbm,
    }.get(m.name, {})
    return make_model(m.name, **{**params, **overrides})


def fit_demand(
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None = None,
    model: DemandModel | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
    source: FeatureTables | None = None,
) -> FittedDemand:
    """Fit the model (default: the configured one) on the stream items that ended by `as_of`
    (default: `default_as_of`). `source`: `prepare_tables(tables)` when a caller fits several
    times on the same tables (a backtest), so that it is prepared once."""
    timer = timer or Timer()
    as_of = default_as_of(tables) if as_of is None else to_utc(as_of, config.timezone)
    if source is not None and source.tables is not tables:
        raise ValueError("source must be prepared from the tables fitted on")
    with timer.stage("features", progress):
        source = prepare_tables(tables) if source is None else source
        past, _ = split_rows(source.lineup, as_of, 0)
        if past.empty:
            raise ValueError(f"no stream ended with recorded sales by {as_of}: nothing to learn")
        train = training_rows(past, config.train_lead_hours)
        X = build_features(train, None, source, config.festivals, config.timezone, history=past)
    model = make_demand_model(config) if model is None else model
    with timer.stage("demand model", progress):
        y = train["units_sold"].to_numpy(dtype=float)
        if learns_censoring(model):
            model.fit(X, y, censored=sold_out(train), time=train["start_time"].to_numpy())
        else:
            model.fit(X, y)
    return FittedDemand(as_of, model, source, past, len(train))


def learns_censoring(model: DemandModel) -> bool:
    """Whether the model's fit takes `censored=` and `time=`: its `learns_censoring` says so,
    else fit's signature (which a wrapper around fit can hide)."""
    flag = getattr(model, "learns_censoring", None)
    if flag is not None:
        return bool(flag)
    return "censored" in inspect.signature(model.fit).parameters


def upcoming_features(
    fitted: FittedDemand,
    tables: Tables,
    config: Config,
    upcoming: pd.DataFrame,
    lead_hours: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(upcoming rows with their cutoff, their feature rows): as of the fit's as-of time, or
    each `lead_hours` before its stream starts, from the streams that ended by then. Tables
    other than the fit's are prepared again (their videos' reach fitted anew)."""
    if lead_hours is None:
        cutoff = pd.Series(fitted.as_of, index=upcoming.index)
    else:
        cutoff = upcoming["start_time"] - pd.Timedelta(hours=float(lead_hours))
    upcoming = upcoming.assign(cutoff=cutoff).reset_index(drop=True)
    known = fitted.lineup[fitted.lineup["end_time"] <= cutoff.max()]
    source = fitted.source if tables is fitted.source.tables else prepare_tables(tables)
    X = build_features(upcoming, None, source, config.festivals, config.timezone, history=known)
    return upcoming, X


def predict_demand(
    fitted: FittedDemand,
    tables: Tables,
    config: Config,
    horizon_days: int | None = None,
    lead_hours: float | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
) -> DemandForecast:
    """Forecast the stream items starting in [as_of, as_of + horizon): as of `as_of`, or with
    `lead_hours`, each `lead_hours` before its stream starts (a nowcast, which may use video
    traffic and streams that ended after as_of but before its cutoff)."""
    timer = timer or Timer()
    as_of, model = fitted.as_of, fitted.model
    horizon_days = config.horizon_days if horizon_days is None else horizon_days
    _, upcoming = split_rows(fitted.lineup, as_of, horizon_days)
    if upcoming.empty:
        empty = pd.DataFrame(columns=list(FORECAST_COLUMNS))
        return DemandForecast(as_of, horizon_days, upcoming, empty, [], fitted.n_train)
    with timer.stage("features", progress):
        upcoming, X = upcoming_features(fitted, tables, config, upcoming, lead_hours)
    with timer.stage("demand model", progress):
        if hasattr(model, "predict_forecast"):  # all three from one pass over the rows
            mean, q, survival = model.predict_forecast(X)
        else:
            q, mean = model.predict_quantiles(X), model.predict_mean(X)
            survival = survival_from_quantiles(np.array(QUANTILE_LEVELS), q)
        rr = return_rates(upcoming, fitted.past, config.model.return_prior_strength)
    upcoming["cold_sku"] = X["cold_sku"].to_numpy(dtype=bool)
    upcoming["cold_streamer"] = X["cold_streamer"].to_numpy(dtype=bool)
    forecasts = pd.DataFrame(
        {
            "stream_id": upcoming["stream_id"],
            "sku_id": upcoming["sku_id"],
            "merchant_id": upcoming["merchant_id"],
            "mean": mean,
            **{c: q[:, i] for i, c in enumerate(QUANTILE_COLUMNS)},
            "return_rate": rr,
            "cold_start": upcoming["cold_sku"] | upcoming["cold_streamer"],
        }
    )[list(FORECAST_COLUMNS)]
    choices = model.held_out_choices() if hasattr(model, "held_out_choices") else {}
    return DemandForecast(
        as_of, horizon_days, upcoming, forecasts, survival, fitted.n_train, choices
    )


def forecast_demand(
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None = None,
    horizon_days: int | None = None,
    model: DemandModel | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
    lead_hours: float | None = None,
) -> DemandForecast:
    """Fit on the streams that ended by as_of, forecast those starting in the horizon."""
    timer = timer or Timer()
    fitted = fit_demand(tables, config, as_of, model, timer, progress)
    return predict_demand(fitted, tables, config, horizon_days, lead_hours, timer, progress)
