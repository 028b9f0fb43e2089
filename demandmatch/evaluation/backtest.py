"""Rolling-origin backtest: refit at each origin, forecast the following days as of the origin and
as nowcasts a few hours before each stream, and score against what happened.

Realised scores use the recorded sales. A sold-out row only bounds demand from below, so
pinball loss, coverage, WAPE and bias are computed on rows that did not sell out (the share left
out is reported as `censored_share`). When the true demand distribution is known (the demo
world's truth.csv), every row is also scored exactly against it: expected pinball loss of the
forecast and of the truth's own quantiles (the oracle), coverage and bias of the mean.

Coverage comes two ways: of the q10-q90 interval, ends included, and of the randomised PIT's
10-90% band (`pit_coverage`). Demand is a count, so a calibrated forecast's q10-q90 holds more
than 80% (the demo truth's own: 0.844), while its PIT band holds 80% exactly: the second tells
calibrated from wide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandmatch.config import Config
from demandmatch.data.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.data.tables import Tables
from demandmatch.features import prepare_tables
from demandmatch.forecast.distributions import quantiles_negbin
from demandmatch.forecast.models.base import DemandEstimator
from demandmatch.forecast.rows import default_as_of, sold_out
from demandmatch.forecast.stages import DemandForecast, FittedDemand, fit_demand, predict_demand
from demandmatch.timing import Progress, Timer, quiet

from .metrics import (
    bias,
    coverage_negbin,
    expected_pinball_negbin,
    pinball,
    pit_coverage,
    pit_coverage_negbin,
    wape,
)

LEVELS = np.array(QUANTILE_LEVELS)
# what run_backtest hands each forecast to: the fit it came from, the forecast, its scored rows
OnForecast = Callable[[FittedDemand, DemandForecast, pd.DataFrame], None]
PIT_BAND = (0.1, 0.9)
PLAN_TIME = "origin"  # the lead label of forecasts made as of the origin
SEGMENTS = ("all", "warm", "cold")


@dataclass(frozen=True)
class BacktestResult:
    rows: pd.DataFrame  # one row per (origin, lead, stream item): forecast and outcome columns
    metrics: pd.DataFrame  # one row per (origin, lead, segment)
    summary: pd.DataFrame  # metrics averaged over origins, one row per (lead, segment)
    timings: dict[str, float]
    # one row per origin: what the model chose on its held-out rows there (the share of rounds
    # grown, the scale of the mean, ...; see LGBMNegBinDemand.held_out_choices), empty for a
    # model without them. A scale far from its usual is the first thing to look at when one
    # window's bias stands out
    choices: pd.DataFrame


def history_end(tables: Tables) -> pd.Timestamp:
    """Start of the first upcoming stream, or of the last stream when none is upcoming."""
    try:
        return default_as_of(tables)
    except ValueError:
        return tables.streams["start_time"].max()


def rolling_origins(
    tables: Tables, n_origins: int, step_days: int, horizon_days: int
) -> list[pd.Timestamp]:
    """`n_origins` origins `step_days` apart, the last one `horizon_days` before the end of the
    history (`history_end`), so every window has outcomes."""
    last = history_end(tables) - pd.Timedelta(days=horizon_days)
    return [last - pd.Timedelta(days=step_days * k) for k in range(n_origins)][::-1]


def scored_rows(
    fc: DemandForecast, origin: pd.Timestamp, lead: str, truth: pd.DataFrame | None
) -> pd.DataFrame:
    up = fc.lineup
    out = fc.forecasts.copy()
    out.insert(0, "lead", lead)
    out.insert(0, "origin", origin)
    out["start_time"] = up["start_time"].to_numpy()
    out["units_sold"] = up["units_sold"].to_numpy(dtype=float)
    out["sold_out"] = sold_out(up)
    # each outcome's share of the randomised PIT in the 10-90% band (see pit_coverage)
    out["pit_10_90"] = pit_coverage(fc.survival, out["units_sold"].to_numpy(), *PIT_BAND)
    if truth is not None:
        t = out[["stream_id", "sku_id"]].merge(
            truth[["stream_id", "sku_id", "mean", "size"]], on=["stream_id", "sku_id"], how="left"
        )
        out["true_mean"] = t["mean"].to_numpy()
        out["true_size"] = t["size"].to_numpy()
        if t["mean"].notna().all():
            out["true_pit_10_90"] = pit_coverage_negbin(
                fc.survival, t["mean"].to_numpy(), t["size"].to_numpy(), *PIT_BAND
            )
    return out


def score(rows: pd.DataFrame) -> dict[str, float]:
    """Metrics of one group of scored rows (see the module docstring)."""
    q = rows[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    res: dict[str, float] = {"n": float(len(rows))}
    obs = ~rows["sold_out"].to_numpy(dtype=bool) & rows["units_sold"].notna().to_numpy()
    res["censored_share"] = float(1.0 - obs.mean()) if len(rows) else np.nan
    if obs.any():
        y = rows["units_sold"].to_numpy(dtype=float)[obs]
        res["pinball"] = float(pinball(y, q[obs], LEVELS).mean())
        res["wape"] = wape(y, rows["mean"].to_numpy(dtype=float)[obs])
        res["bias"] = bias(y, rows["mean"].to_numpy(dtype=float)[obs])
        res["coverage_10_90"] = float(((y >= q[obs, 1]) & (y <= q[obs, -2])).mean())
        res["coverage_05_95"] = float(((y >= q[obs, 0]) & (y <= q[obs, -1])).mean())
        if "pit_10_90" in rows:
            res["pit_coverage_10_90"] = float(rows["pit_10_90"].to_numpy(dtype=float)[obs].mean())
    if "true_mean" in rows and rows["true_mean"].notna().all() and len(rows):
        mu, size = rows["true_mean"].to_numpy(), rows["true_size"].to_numpy()
        loss = expected_pinball_negbin(q, LEVELS, mu, size).mean()
        oracle_q = quantiles_negbin(mu, size, LEVELS)
        oracle = expected_pinball_negbin(oracle_q, LEVELS, mu, size).mean()
        res["true_pinball"] = float(loss)
        res["oracle_pinball"] = float(oracle)
        res["pinball_vs_oracle"] = float(loss / oracle) if oracle > 0 else np.nan
        res["true_coverage_10_90"] = float(coverage_negbin(q[:, 1], q[:, -2], mu, size).mean())
        res["true_coverage_05_95"] = float(coverage_negbin(q[:, 0], q[:, -1], mu, size).mean())
        res["true_bias"] = bias(mu, rows["mean"].to_numpy(dtype=float))
        if "true_pit_10_90" in rows:
            res["true_pit_coverage_10_90"] = float(rows["true_pit_10_90"].mean())
    return res


def metrics_table(rows: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Scores per group of `by` and segment (all, warm, cold-start)."""
    out = []
    for key, g in rows.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        cold = g["cold_start"].astype(bool)
        for seg, part in (("all", g), ("warm", g[~cold]), ("cold", g[cold])):
            if len(part):
                out.append({**dict(zip(by, key, strict=True)), "segment": seg, **score(part)})
    return pd.DataFrame(out)


def run_backtest(
    tables: Tables,
    config: Config,
    origins: Sequence[pd.Timestamp],
    horizon_days: int = 7,
    nowcast_hours: Sequence[float] = (72.0, 24.0, 6.0),
    truth: pd.DataFrame | None = None,
    progress: Progress = quiet,
    model_factory: Callable[[], DemandEstimator] | None = None,
    on_forecast: OnForecast | None = None,
) -> BacktestResult:
    """At each origin: fit on what ended by it, forecast the next `horizon_days` as of the
    origin and as nowcasts `nowcast_hours` before each stream, and score all of them.
    `model_factory` makes a fresh model per origin (default: the configured one).
    `on_forecast(fitted, forecast, rows)` gets every forecast that has rows, with its fit and
    its scored rows (not to be changed), for what a caller keeps beyond the scores: a plan made
    from the origin's forecast (lead PLAN_TIME), the fitted model."""
    timer = Timer()
    with timer.stage("features", progress):
        source = prepare_tables(tables)  # once for every origin
    scored, choices = [], []
    for k, origin in enumerate(origins, 1):
        model = model_factory() if model_factory is not None else None
        step = _at_origin(progress, k, len(origins))
        fitted = fit_demand(tables, config, origin, model, timer, step, source)
        leads: list[tuple[str, float | None]] = [(PLAN_TIME, None)]
        leads += [(f"{h:g}h", float(h)) for h in nowcast_hours]
        for label, hours in leads:
            fc = predict_demand(fitted, tables, config, horizon_days, hours, timer, step)
            if not fc.forecasts.empty:
                scored.append(scored_rows(fc, fitted.as_of, label, truth))
                if on_forecast is not None:
                    on_forecast(fitted, fc, scored[-1])
        if fc.model_choices:  # the same fit at every lead: the last forecast's will do
            choices.append({"origin": fitted.as_of, **fc.model_choices})
    if not scored:
        raise ValueError("no stream starts in any backtest window: nothing to score")
    rows = pd.concat(scored, ignore_index=True)
    metrics = metrics_table(rows, ["origin", "lead"])
    value_cols = [c for c in metrics.columns if c not in ("origin", "lead", "segment")]
    summary = (
        metrics.groupby(["lead", "segment"], sort=False)[value_cols]
        .mean()
        .reset_index()
        .assign(n=lambda d: metrics.groupby(["lead", "segment"], sort=False)["n"].sum().values)
    )
    return BacktestResult(rows, metrics, summary, timer.seconds, pd.DataFrame(choices))


def _at_origin(progress: Progress, k: int, n: int) -> Progress:
    """`progress` with each step named with its origin: "origin 2/3: demand model"."""
    return lambda step: progress(f"origin {k}/{n}: {step}")
