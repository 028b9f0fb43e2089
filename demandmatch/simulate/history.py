"""What happened in past streams: the merchant's stock, units sold and returned, viewers."""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

# A merchant's gut: stock = recent mean sales x lognormal(log GUT_CENTER, GUT_SIGMA); a sell-out
# is remembered as SELLOUT_BUMP x what sold. Tuned so that 10-25% of past rows sell out: with
# negative binomial demand and noisy history, a centre near 1.1 would sell out about half.
GUT_CENTER = 2.0
GUT_SIGMA = 0.35
SELLOUT_BUMP = 2.0
UNLIMITED_SHARE = 0.2  # past items with no stock limit (stock_allocated blank)
# how many recent remembered sales the gut averages: the SKU's own, the merchant's, and the
# merchant's with this streamer
OWN_WINDOW, MERCHANT_WINDOW, HOST_WINDOW = 5, 60, 30


def play_history(
    rng: np.random.Generator,
    items: pd.DataFrame,
    streams: pd.DataFrame,
    gut_centers: np.ndarray | None = None,
) -> None:
    """Outcomes of past stream items, in start order (sets units_sold, units_returned and
    stock_allocated in place; blank for upcoming items).

    The merchant stocks by gut feeling: the SKU's recent mean sales (or, for a SKU new to
    streams, that of its other SKUs), scaled by how much this streamer recently sold against
    all its streamers, times lognormal noise around its gut centre (`gut_centers`, one per
    merchant; GUT_CENTER for all when None); no limit for about a fifth of items. Sales are
    censored by stock; returns are binomial in units sold."""
    n = len(items)
    past = ~streams["_upcoming"].to_numpy()[items["_s"]]
    merchant_arr = items["_m"].to_numpy()
    if gut_centers is None:
        loc: float | np.ndarray = np.log(GUT_CENTER)
    else:
        loc = np.log(np.asarray(gut_centers, dtype=float))[merchant_arr]
    noise = np.exp(rng.normal(loc, GUT_SIGMA, size=n)).tolist()
    unlimited = (rng.random(n) < UNLIMITED_SHARE).tolist()
    host = streams["_h"].to_numpy()[items["_s"]].tolist()
    demand, sku, merchant = items["demand"].tolist(), items["_k"].tolist(), merchant_arr.tolist()
    stock = [-1] * n
    sold = [-1] * n
    # recent remembered sales per SKU, per merchant and per (merchant, streamer): each a window
    # [values, their sum]. Every remembered value is a whole number, so the running sums are
    # exact and their means equal numpy's mean of the same window.
    own: dict[int, list] = {}
    theirs: dict[int, list] = {}
    paired: dict[tuple[int, int], list] = {}
    for i in np.flatnonzero(past).tolist():
        k, m, h = sku[i], merchant[i], host[i]
        if unlimited[i]:
            sold[i] = demand[i]
        else:
            stock[i] = max(1, round(_gut(own.get(k), theirs.get(m), paired.get((m, h))) * noise[i]))
            sold[i] = min(demand[i], stock[i])
        value = sold[i] * (SELLOUT_BUMP if sold[i] == stock[i] else 1.0)
        for table, key, width in ((own, k, OWN_WINDOW), (theirs, m, MERCHANT_WINDOW)):
            _remember(table, key, width, value)
        _remember(paired, (m, h), HOST_WINDOW, value)
    stock_arr, sold_arr = np.array(stock, dtype=np.int64), np.array(sold, dtype=np.int64)
    returned = rng.binomial(np.maximum(sold_arr, 0), items["_return_rate"].to_numpy())
    items["units_sold"] = nullable(sold_arr, past)
    items["units_returned"] = nullable(returned, past)
    items["stock_allocated"] = nullable(stock_arr, stock_arr >= 0)


def _remember(table: dict, key: object, width: int, value: float) -> None:
    """Appends `value` to the window of `key`, keeping its last `width` values and their sum."""
    got = table.get(key)
    if got is None:
        table[key] = [deque([value]), value]
        return
    window = got[0]
    window.append(value)
    got[1] += value
    if len(window) > width:
        got[1] -= window.popleft()


def _gut(own: list | None, theirs: list | None, paired: list | None) -> float:
    """A merchant's guess of what a SKU will sell with a streamer, from the windows of recent
    sales of the SKU, of the merchant and of the merchant with this streamer."""
    if theirs is None:
        return 10.0
    overall = max(theirs[1] / len(theirs[0]), 0.5)
    base = own[1] / len(own[0]) if own is not None else overall
    if paired is None or len(paired[0]) < 5:
        return base
    return base * min(max(paired[1] / len(paired[0]) / overall, 0.2), 5.0)


def nullable(values: np.ndarray, known: np.ndarray) -> pd.arrays.IntegerArray:
    """Integers, blank where not `known`."""
    return pd.arrays.IntegerArray(np.where(known, values, 0).astype(np.int64), ~known)


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
        * np.exp(rng.normal(0.0, 0.25, size=n))
    )
    return nullable(np.round(v).astype(np.int64), ~streams["_upcoming"].to_numpy())
