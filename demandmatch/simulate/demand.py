"""True demand of stream items, and what happened in past streams: stock, sales, returns,
viewers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .profiles import CATEGORIES

# A merchant's gut: stock = recent mean sales x lognormal(log GUT_CENTER, GUT_SIGMA); a sell-out
# is remembered as SELLOUT_BUMP x what sold. Tuned so that 10-25% of past rows sell out: with
# negative binomial demand and noisy history, a centre near 1.1 would sell out about half.
GUT_CENTER = 2.0
GUT_SIGMA = 0.35
SELLOUT_BUMP = 2.0
UNLIMITED_SHARE = 0.2  # past items with no stock limit (stock_allocated blank)


def demand_mean(
    items: pd.DataFrame, streams: pd.DataFrame, streamers: pd.DataFrame, catalog: pd.DataFrame
) -> np.ndarray:
    """The true mean units demanded of every stream item (the formula is in the package
    docstring)."""
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
    return np.exp(log_mu)


def play_history(rng: np.random.Generator, items: pd.DataFrame, streams: pd.DataFrame) -> None:
    """Outcomes of past stream items, in start order (sets units_sold, units_returned and
    stock_allocated in place; blank for upcoming items).

    The merchant stocks by gut feeling: the SKU's recent mean sales (or, for a SKU new to
    streams, that of its other SKUs), scaled by how much this streamer recently sold against
    all its streamers, times lognormal noise (see GUT_CENTER); no limit for about a fifth of
    items. Sales are censored by stock; returns are binomial in units sold."""
    n = len(items)
    past = ~streams["_upcoming"].to_numpy()[items["_s"]]
    noise = np.exp(rng.normal(np.log(GUT_CENTER), GUT_SIGMA, size=n))
    unlimited = rng.random(n) < UNLIMITED_SHARE
    host = streams["_h"].to_numpy()[items["_s"]].tolist()
    demand, sku, merchant = items["demand"].tolist(), items["_k"].tolist(), items["_m"].tolist()
    stock = np.full(n, -1, dtype=np.int64)
    sold = np.full(n, -1, dtype=np.int64)
    recent: dict[object, list[float]] = {}
    for i in np.flatnonzero(past).tolist():
        m, h = merchant[i], host[i]
        if not unlimited[i]:
            stock[i] = max(1, round(_gut(recent, sku[i], m, h) * noise[i]))
        sold[i] = demand[i] if unlimited[i] else min(demand[i], stock[i])
        remembered = sold[i] * (SELLOUT_BUMP if sold[i] == stock[i] else 1.0)
        for key in (sku[i], ("m", m), ("mh", m, h)):
            recent.setdefault(key, []).append(remembered)
    returned = rng.binomial(np.maximum(sold, 0), items["_return_rate"].to_numpy())
    items["units_sold"] = nullable(sold, past)
    items["units_returned"] = nullable(returned, past)
    items["stock_allocated"] = nullable(stock, stock >= 0)


def _gut(recent: dict[object, list[float]], sku: int, merchant: int, host: int) -> float:
    """A merchant's guess of what a SKU will sell with a streamer, from recent sales."""
    theirs = recent.get(("m", merchant), [])[-60:]
    if not theirs:
        return 10.0
    overall = max(float(np.mean(theirs)), 0.5)
    own = recent.get(sku, [])[-5:]
    base = float(np.mean(own)) if own else overall
    with_host = recent.get(("mh", merchant, host), [])[-30:]
    if len(with_host) < 5:
        return base
    return base * float(np.clip(np.mean(with_host) / overall, 0.2, 5.0))


def nullable(values: np.ndarray, known: np.ndarray) -> pd.arrays.IntegerArray:
    """Integers, blank where not `known`."""
    return pd.arrays.IntegerArray(np.where(known, values, 0).astype(np.int64), ~known)


def item_return_rates(
    items: pd.DataFrame, streams: pd.DataFrame, streamers: pd.DataFrame, catalog: pd.DataFrame
) -> np.ndarray:
    """Category base x SKU factor x streamer factor, clipped to [0, 0.9]."""
    k = items["_k"].to_numpy()
    base = np.array([c.return_rate for c in CATEGORIES])[catalog["_cat"].to_numpy()[k]]
    host = streamers["_ret"].to_numpy()[streams["_h"].to_numpy()[items["_s"]]]
    return np.clip(base * catalog["_ret"].to_numpy()[k] * host, 0.0, 0.9)


def stream_viewers(
    rng: np.random.Generator, streams: pd.DataFrame, followers: np.ndarray
) -> pd.arrays.IntegerArray:
    """Unique viewers of past streams: followers^0.85 x hype x length x noise."""
    n = len(streams)
    v = (
        0.8
        * followers[streams["_h"].to_numpy()] ** 0.85
        * np.exp(streams["_loghype"].to_numpy())
        * np.sqrt(streams["duration_min"].to_numpy() / 120.0)
        * (1.0 + 0.5 * streams["_fest"].to_numpy())
        * np.exp(rng.normal(0.0, 0.25, n))
    )
    return nullable(np.round(v).astype(np.int64), ~streams["_upcoming"].to_numpy())
