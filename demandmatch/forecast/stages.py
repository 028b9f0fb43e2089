"""The demand stage: learn from the streams that ended by a time, forecast the ones after it.

`fit_demand` builds the training rows (each past stream item once per training lead, features as
of `start - lead`) and fits the configured model; `predict_demand` forecasts the streams starting
in a horizon, either as of the fit's time (the plan) or as a nowcast a given number of hours
before each stream (what the planner would see then). `forecast_demand` is the two in one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from demandmatch.config import FEATURE_GROUPS, Config
from demandmatch.data.schema import FORECAST_COLUMNS, QUANTILE_COLUMNS
from demandmatch.data.tables import Tables
from demandmatch.features import FeatureTables, build_features, prepare_tables
from demandmatch.timing import Progress, Timer, quiet

from .models.base import DemandEstimator
from .models.registry import model_class
from .returns import return_rates
from .rows import (
    default_as_of,
    leads_per_item,
    sold_out,
    split_rows,
    to_utc,
    training_rows,
)

FeatureBuilder = Callable[..., pd.DataFrame]  # build_features' arguments and result


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
    # the robust defaults the fit fell back on where its held-out rows could not choose, in
    # words, for the run's summary
    fallbacks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FittedDemand:
    """A demand model fitted on everything that ended by `as_of`."""

    as_of: pd.Timestamp
    model: DemandEstimator
    source: FeatureTables  # the tables the features were built from, prepared once
    past: pd.DataFrame  # the rows learned from (once each)
    n_train: int  # training rows (past rows x training leads)

    @property
    def lineup(self) -> pd.DataFrame:
        """Every stream item with its stream, streamer and catalog columns."""
        return self.source.lineup


def make_demand_model(config: Config, **overrides: object) -> DemandEstimator:
    """The configured demand model: the parameters its settings declare, read from the config's
    model section, its seed from `seed` (`overrides` replace any of them)."""
    cls = model_class(config.model.name)
    params = {k: getattr(config.model, k) for k in cls.settings_model.model_fields}
    if cls.uses_seed:
        params["random_state"] = config.seed
    return cls(**{**params, **overrides})


def model_features(X: pd.DataFrame, drop: Sequence[str]) -> pd.DataFrame:
    """The feature rows the model is fitted and asked on: `X` without the columns of the
    feature groups `drop` (config `model.drop_features`, FEATURE_GROUPS)."""
    prefixes = tuple(p for group in drop for p in FEATURE_GROUPS[group])
    if not prefixes:
        return X
    return X[[c for c in X.columns if not str(c).startswith(prefixes)]]


def fit_demand(
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None = None,
    model: DemandEstimator | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
    source: FeatureTables | None = None,
    features: FeatureBuilder = build_features,
) -> FittedDemand:
    """Fit the model (default: the configured one) on the stream items that ended by `as_of`
    (default: `default_as_of`). `source`: `prepare_tables(tables)` when a caller fits several
    times on the same tables (a backtest), so that it is prepared once. `features`: builds the
    feature rows as `build_features` does (the Dask engine's builds them on a cluster)."""
    timer = timer or Timer()
    as_of = default_as_of(tables) if as_of is None else to_utc(as_of, config.timezone)
    if source is not None and source.tables is not tables:
        raise ValueError("source must be prepared from the tables fitted on")
    with timer.stage("features", progress):
        source = prepare_tables(tables) if source is None else source
        past, _ = split_rows(source.lineup, as_of, 0)
        if past.empty:
            raise ValueError(f"no stream ended with recorded sales by {as_of}: nothing to learn")
        per_item = leads_per_item(
            len(past), config.train_lead_hours, config.train_leads_per_item, config.train_rows_max
        )
        train = training_rows(past, config.train_lead_hours, per_item, config.seed)
        X = features(train, None, source, config.festivals, config.timezone, as_of)
        X = model_features(X, config.model.drop_features)
    model = make_demand_model(config) if model is None else model
    with timer.stage("demand model", progress):
        y = train["units_sold"].to_numpy(dtype=float)
        if model.learns_censoring:
            # as datetime64 (UTC), not an object array of Timestamps: the same order, read
            # without a Python object per row
            time = train["start_time"].to_numpy(dtype="datetime64[ns]")
            model.fit(X, y, censored=sold_out(train), time=time)
        else:
            model.fit(X, y)
    return FittedDemand(as_of, model, source, past, len(train))


def upcoming_features(
    fitted: FittedDemand,
    tables: Tables,
    config: Config,
    upcoming: pd.DataFrame,
    lead_hours: float | None = None,
    features: FeatureBuilder = build_features,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(upcoming rows with their cutoff, their feature rows): as of the fit's as-of time, or
    each `lead_hours` before its stream starts, from the streams that ended by then. Tables
    other than the fit's are prepared again (their videos' reach fitted anew)."""
    if lead_hours is None:
        cutoff = pd.Series(fitted.as_of, index=upcoming.index)
    else:
        cutoff = upcoming["start_time"] - pd.Timedelta(hours=float(lead_hours))
    upcoming = upcoming.assign(cutoff=cutoff).reset_index(drop=True)
    source = fitted.source if tables is fitted.source.tables else prepare_tables(tables)
    X = features(upcoming, None, source, config.festivals, config.timezone)
    return upcoming, X


def predict_demand(
    fitted: FittedDemand,
    tables: Tables,
    config: Config,
    horizon_days: int | None = None,
    lead_hours: float | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
    features: FeatureBuilder = build_features,
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
    with timer.stage("features", progress, "upcoming features"):
        upcoming, X = upcoming_features(fitted, tables, config, upcoming, lead_hours, features)
    with timer.stage("demand model", progress, "demand forecast"):
        mean, q, survival = model.predict_forecast(model_features(X, config.model.drop_features))
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
    choices = model.held_out_choices()
    return DemandForecast(
        as_of,
        horizon_days,
        upcoming,
        forecasts,
        survival,
        fitted.n_train,
        choices,
        model.fallbacks(),
    )


def forecast_demand(
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None = None,
    horizon_days: int | None = None,
    model: DemandEstimator | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
    lead_hours: float | None = None,
) -> DemandForecast:
    """Fit on the streams that ended by as_of, forecast those starting in the horizon."""
    timer = timer or Timer()
    fitted = fit_demand(tables, config, as_of, model, timer, progress)
    return predict_demand(fitted, tables, config, horizon_days, lead_hours, timer, progress)
