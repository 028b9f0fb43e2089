"""A history mostly sold out: demand above the stock a stream had was never seen, so a
censoring-aware model can put the mean almost anywhere above it (1,000x the usual has been seen).
When more than a configured share of the past stream items sold out, each forecast is capped at a
multiple of the most its SKU (else its merchant, else anyone) sold in one stream, and the run
says so."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from demandmatch.data.plausible import DataWarning
from demandmatch.data.schema import QUANTILE_COLUMNS
from demandmatch.forecast.rows import sold_out
from demandmatch.forecast.stages import DemandForecast


def sold_out_share(past: pd.DataFrame) -> float:
    """Share of the past stream items (with sales recorded) whose sales hit their stock."""
    return float(sold_out(past).mean()) if len(past) else 0.0


def demand_caps(upcoming: pd.DataFrame, past: pd.DataFrame, factor: float) -> np.ndarray:
    """Per upcoming row, `factor` times the most its SKU sold in one past stream (its
    merchant's most for a SKU never sold, the overall most for a new merchant), at least 1."""
    sold = past["units_sold"].astype(float)
    by_sku = sold.groupby([past["merchant_id"], past["sku_id"]]).max()
    by_merchant = sold.groupby(past["merchant_id"]).max()
    key = pd.MultiIndex.from_frame(upcoming[["merchant_id", "sku_id"]])
    most = pd.Series(by_sku.reindex(key).to_numpy(), index=upcoming.index)
    most = most.fillna(upcoming["merchant_id"].map(by_merchant))
    most = most.fillna(float(sold.max()) if len(sold) else 0.0)
    return np.maximum(np.ceil(factor * most.to_numpy(dtype=float)), 1.0)


def cap_forecast(
    forecast: DemandForecast, past: pd.DataFrame, share: float, factor: float
) -> tuple[DemandForecast, DataWarning | None]:
    """The forecast capped when more than `share` of `past` sold out (else as it is), and the
    warning that says so. A capped row's distribution is that of min(D, cap): its quantiles
    are clipped, its P(D >= u) cut at the cap and its mean recomputed from it."""
    observed = sold_out_share(past)
    if observed <= share or forecast.forecasts.empty:
        return forecast, None
    caps = demand_caps(forecast.lineup, past, factor)
    survival = [s[: int(c)] for s, c in zip(forecast.survival, caps, strict=True)]
    capped = np.array([len(s) > int(c) for s, c in zip(forecast.survival, caps, strict=True)])
    fc = forecast.forecasts.copy()
    quantiles = fc[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    fc[list(QUANTILE_COLUMNS)] = np.minimum(quantiles, caps[:, None])
    truncated_mean = np.array([float(s.sum()) for s in survival])
    mean = fc["mean"].to_numpy(dtype=float)
    fc["mean"] = np.where(capped, truncated_mean, np.minimum(mean, caps))
    warning = DataWarning(
        "sold_out_history",
        f"{observed:.0%} of the past stream items sold out (units_sold >= stock_allocated), so "
        "demand above the stock they had was never seen; forecasts are capped at "
        f"{factor:g}x the most each SKU sold in a stream ({int(capped.sum())} of {len(fc)} "
        "upcoming rows capped; config limits.sold_out_share, limits.sold_out_cap)",
    )
    return replace(forecast, forecasts=fc, survival=survival), warning
