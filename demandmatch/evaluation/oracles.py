"""Reference forecasts that know more than any forecaster can, built from a demo world's truth
(truth.csv): the bounds a forecast and a plan are measured against.

- the oracle: the true negative binomial of each row (`quantiles_negbin` / `survival_negbin`);
- hype-blind: the truth with the stream's hidden hype integrated out over its prior, the best
  any forecaster can do without reading the hype from the short videos;
- video-horizon: the hype known exactly on rows whose stream had a video by the as-of time and
  integrated out elsewhere: a ceiling no forecast made at the as-of time can pass;
- no-history (`cold_blind`): also a new SKU's popularity and a new streamer's skill integrated
  out, a reference for a forecast without history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandmatch.data.schema import QUANTILE_LEVELS
from demandmatch.data.tables import Tables
from demandmatch.evaluation.backtest import PLAN_TIME
from demandmatch.evaluation.metrics import bias
from demandmatch.forecast.distributions import quantiles_negbin_mixed, survival_negbin_mixed
from demandmatch.simulate import HYPE_SD, POP_SD

LEVELS = np.array(QUANTILE_LEVELS)


Hype = tuple[tuple[float, float], ...]  # a normal scale mixture: (weight, sd) pairs
DEMO_HYPE: Hype = ((1.0, HYPE_SD),)


def hype_blind(
    t: pd.DataFrame, hype: Hype = DEMO_HYPE, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """Survival curves and q05..q95 of each row's demand for a forecaster that knows everything
    but the stream's hidden hype: the true NB with the hype integrated out over its prior,
    centred at `hype_center`, a normal scale mixture `hype` (the world's scenario.json "hype";
    the demo's: one normal of spread HYPE_SD). The ceiling for a forecast that cannot read the
    hype from the short videos."""
    hidden, center = t["log_hype"].to_numpy(), t["hype_center"].to_numpy()
    if len(hype) == 1:
        return blind(t, hidden, center, np.full(len(t), hype[0][1]), nodes)
    parts = [blind(t, hidden, center, np.full(len(t), sd), nodes)[0] for _, sd in hype]
    weights = [w / sum(w for w, _ in hype) for w, _ in hype]
    surv = []
    for curves in zip(*parts, strict=True):
        top = max(len(c) for c in curves)
        surv.append(
            sum(w * np.pad(c, (0, top - len(c))) for w, c in zip(weights, curves, strict=True))
        )
    return surv, quantiles_of(surv, LEVELS)


def hype_blind_mean(t: pd.DataFrame, hype: Hype = DEMO_HYPE) -> np.ndarray:
    """The mean of `hype_blind`'s demand per row."""
    hidden, center = t["log_hype"].to_numpy(), t["hype_center"].to_numpy()
    total = sum(w for w, _ in hype)
    return sum(w / total * blind_mean(t, hidden, center, np.full(len(t), sd)) for w, sd in hype)


def quantiles_of(survival: list[np.ndarray], levels: np.ndarray) -> np.ndarray:
    """Quantiles (smallest k with P(D <= k) >= level) of each row's survival curve
    (survival[i][u - 1] = P(D >= u))."""
    out = np.zeros((len(survival), len(levels)))
    for i, s in enumerate(survival):
        cdf = 1.0 - np.asarray(s, dtype=float)  # P(D <= k), k = 0 .. len(s) - 1
        out[i] = np.searchsorted(cdf, np.asarray(levels) - 1e-12)
    return out


def video_horizon(
    t: pd.DataFrame, has_video: np.ndarray, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """As hype_blind, but the hype is known exactly on rows whose stream had a video by the
    as-of time: more than any reading of the videos gives, so a ceiling for the plan's forecast,
    whose far streams have no video yet."""
    hv = np.asarray(has_video, dtype=bool)
    hype = t["log_hype"].to_numpy()
    center = np.where(hv, hype, t["hype_center"].to_numpy())
    return blind(t, hype, center, np.where(hv, 0.0, HYPE_SD), nodes)


def has_video(tables: Tables, stream_ids: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    """Whether each stream had a video snapshot observed by as_of."""
    v = tables.video_traffic
    seen = set(v.loc[v["observed_at"] <= as_of, "stream_id"])
    return stream_ids.isin(seen).to_numpy()


def cold_blind(
    t: pd.DataFrame, cold_sku: np.ndarray, cold_host: np.ndarray, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """As hype_blind, and for a SKU new to streams its own popularity (normal, spread POP_SD
    around its brand's), for a streamer new to streams the skill plus category taste (normal
    with the mean and spread across the world's streamers of that category) integrated out too:
    a reference for a forecast that has no history of the SKU or the streamer. Not a strict
    floor: a lineup lists hits first, so a new SKU's slot hints at its popularity."""
    return blind(t, *cold_prior(t, cold_sku, cold_host), nodes)


def cold_prior(
    t: pd.DataFrame, cold_sku: np.ndarray, cold_host: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden part of the log mean, its prior's centre, its prior's spread) per row for the
    no-history reference (cold_blind)."""
    host = t[["streamer_id", "category", "log_host"]].drop_duplicates(["streamer_id", "category"])
    prior = host.groupby("category")["log_host"].agg(["mean", "var"])
    h_mean = t["category"].map(prior["mean"]).to_numpy()
    h_var = t["category"].map(prior["var"]).fillna(0.0).to_numpy()
    cs, ch = cold_sku.astype(float), cold_host.astype(float)
    hidden = t["log_hype"].to_numpy() + cs * t["log_sku_pop"].to_numpy()
    hidden = hidden + ch * t["log_host"].to_numpy()
    center = t["hype_center"].to_numpy() + ch * h_mean
    sd = np.sqrt(HYPE_SD**2 + cs * POP_SD**2 + ch * h_var)
    return hidden, center, sd


def blind_mean(
    t: pd.DataFrame, hidden: np.ndarray, center: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    """The mean demand of each row when the log mean's `hidden` part is unknown beyond its
    normal prior N(center, sd^2): the median sits at the prior's centre, the mean exp(sd^2 / 2)
    above it."""
    return t["mean"].to_numpy() * np.exp(center - hidden + 0.5 * np.asarray(sd, dtype=float) ** 2)


def blind(
    t: pd.DataFrame, hidden: np.ndarray, center: np.ndarray, sd: np.ndarray, nodes: int = 9
) -> tuple[list[np.ndarray], np.ndarray]:
    """Survival curves and q05..q95 of each row's demand when the log mean's `hidden` part is
    unknown beyond its normal prior N(center, sd^2): the true NB mixed over that prior
    (Gauss-Hermite nodes, distributions.survival_negbin_mixed)."""
    sd = np.asarray(sd, dtype=float)
    mean = blind_mean(t, hidden, center, sd)
    size = t["size"].to_numpy()
    surv = survival_negbin_mixed(mean, size, sd, nodes=nodes)
    return surv, quantiles_negbin_mixed(mean, size, sd, LEVELS, nodes=nodes)


def hype_blind_bias(truth: pd.DataFrame, scored: pd.DataFrame) -> float:
    """Bias of the mean of a forecaster that knows everything but each stream's hidden hype,
    over the stream items a backtest scored as of its origins (`scored`: its rows): how far the
    hype those weeks happened to have moves the bias of any forecast made before it shows
    (`hype_blind`)."""
    items = scored.loc[scored["lead"] == PLAN_TIME, ["stream_id", "sku_id"]]
    t = items.merge(truth, on=["stream_id", "sku_id"], how="left")
    hype, center = t["log_hype"].to_numpy(), t["hype_center"].to_numpy()
    blind = blind_mean(t, hype, center, np.full(len(t), HYPE_SD))
    return bias(t["mean"].to_numpy(), blind)
