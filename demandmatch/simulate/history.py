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
    memory = _Memory()
    for i in np.flatnonzero(past).tolist():
        m, h = merchant[i], host[i]
        if unlimited[i]:
            sold[i] = demand[i]
        else:
            stock[i] = max(1, round(memory.gut(sku[i], m, h) * noise[i]))
            sold[i] = min(demand[i], stock[i])
        memory.add(sku[i], m, h, sold[i] * (SELLOUT_BUMP if sold[i] == stock[i] else 1.0))
    stock_arr, sold_arr = np.array(stock, dtype=np.int64), np.array(sold, dtype=np.int64)
    returned = rng.binomial(np.maximum(sold_arr, 0), items["_return_rate"].to_numpy())
    items["units_sold"] = nullable(sold_arr, past)
    items["units_returned"] = nullable(returned, past)
    items["stock_allocated"] = nullable(stock_arr, stock_arr >= 0)


class _Memory:
    """A merchant's recent remembered sales per SKU, per merchant and per (merchant, streamer),
    each kept as a window with its running sum. Every remembered value is a whole number, so
    the running sums are exact and their means equal numpy's mean of the same window."""

    def __init__(self) -> None:
        self.windows: dict[object, tuple[deque[float], list[float]]] = {}

    def add(self, sku: int, merchant: int, host: int, value: float) -> None:
        for key, width in ((sku, OWN_WINDOW), (("m", merchant), MERCHANT_WINDOW)):
            self._push(key, width, value)
        self._push(("mh", merchant, host), HOST_WINDOW, value)

    def _push(self, key: object, width: int, value: float) -> None:
        got = self.windows.get(key)
        if got is None:
            got = self.windows[key] = (deque(), [0.0])
        window, total = got
        window.append(value)
        total[0] += value
        if len(window) > width:
            total[0] -= window.popleft()

    def gut(self, sku: int, merchant: int, host: int) -> float:
        """A merchant's guess of what a SKU will sell with a streamer, from recent sales."""
        theirs = self.windows.get(("m", merchant))
        if theirs is None:
            return 10.0
        overall = max(theirs[1][0] / len(theirs[0]), 0.5)
        own = self.windows.get(sku)
        base = own[1][0] / len(own[0]) if own else overall
        with_host = self.windows.get(("mh", merchant, host))
        if with_host is None or len(with_host[0]) < 5:
            return base
        ratio = with_host[1][0] / len(with_host[0]) / overall
        return base * min(max(ratio, 0.2), 5.0)


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
