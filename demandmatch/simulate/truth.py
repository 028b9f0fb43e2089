"""The true demand of every stream item: its mean (the formula is in the package docstring),
its negative binomial size, the launch boost of a SKU's first streams, and its return rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .profiles import CATEGORIES

LAUNCH_STREAMS = 4  # a launch boost fades linearly to nothing over a SKU's first this many streams


def demand_mean(
    items: pd.DataFrame,
    streams: pd.DataFrame,
    streamers: pd.DataFrame,
    catalog: pd.DataFrame,
    launch_boost: float = 0.0,
) -> np.ndarray:
    """The true mean units demanded of every stream item; `launch_boost` is the log demand a
    launched SKU gains in its first stream (see launch_terms)."""
    s, k = items["_s"].to_numpy(), items["_k"].to_numpy()
    h = streams["_h"].to_numpy()[s]
    cat = catalog["_cat"].to_numpy()[k]
    typical = np.array([c.price for c in CATEGORIES])[cat]
    affinity = np.stack(streamers["_affinity"].to_list())
    hour = streams["_hour"].to_numpy()[s]
    lineup = items.groupby("_s")["_k"].transform("size").to_numpy()
    log_mu = (
        1.9
        + np.array([c.effect for c in CATEGORIES])[cat]
        + catalog["_pop"].to_numpy()[k]
        - 0.6 * np.log(catalog["list_price"].to_numpy()[k] / typical)
        + streamers["_skill"].to_numpy()[h]
        + affinity[h, cat]
        + 0.55 * np.log(streamers["followers"].to_numpy()[h] / 1e5)
        + streams["_loghype"].to_numpy()[s]
        + np.array([c.elasticity for c in CATEGORIES])[cat] * items["_discount"].to_numpy()
        - 0.025 * (items["slot"].to_numpy() - 1)
        + 0.35 * items["featured"].to_numpy()
        + 0.25 * items["_in_video"].to_numpy()
        + np.select([hour < 18, (hour >= 20) & (hour <= 21)], [-0.25, 0.1], 0.0)
        + 0.1 * (streams["_weekday"].to_numpy()[s] >= 4)
        + 0.6 * streams["_fest"].to_numpy()[s]
        + 0.35 * np.log(streams["duration_min"].to_numpy()[s] / 120.0)
        - 0.25 * np.log(lineup / 13.0)
    )
    if launch_boost != 0.0:
        log_mu = log_mu + launch_boost * launch_terms(items, catalog)
    return np.exp(log_mu)


def launch_terms(items: pd.DataFrame, catalog: pd.DataFrame) -> np.ndarray:
    """Per stream item, 1 - j / LAUNCH_STREAMS (at least 0) for the j-th stream (from 0) of a SKU
    launched during the calendar (first shown in the history after its first day, or new in
    the horizon), 0 for every other item. Items are in stream start order."""
    k = items["_k"].to_numpy()
    launched = ((catalog["_launch"].to_numpy() > 0) | catalog["_new"].to_numpy())[k]
    j = items.groupby("_k").cumcount().to_numpy()
    return np.where(launched, np.clip(1.0 - j / LAUNCH_STREAMS, 0.0, None), 0.0)


def item_sizes(
    catalog: pd.DataFrame, items: pd.DataFrame, sku_size: np.ndarray | None
) -> np.ndarray:
    """The negative binomial size of every stream item: its SKU's own (`sku_size`, one per
    catalog row) or else its category's."""
    k = items["_k"].to_numpy()
    if sku_size is not None:
        return np.asarray(sku_size, dtype=float)[k]
    return np.array([c.size for c in CATEGORIES])[catalog["_cat"].to_numpy()[k]]


def item_return_rates(
    items: pd.DataFrame, streams: pd.DataFrame, streamers: pd.DataFrame, catalog: pd.DataFrame
) -> np.ndarray:
    """Category base x SKU factor x streamer factor, clipped to [0, 0.9]."""
    k = items["_k"].to_numpy()
    base = np.array([c.return_rate for c in CATEGORIES])[catalog["_cat"].to_numpy()[k]]
    host = streamers["_ret"].to_numpy()[streams["_h"].to_numpy()[items["_s"]]]
    return np.clip(base * catalog["_ret"].to_numpy()[k] * host, 0.0, 0.9)
