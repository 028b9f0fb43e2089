"""Exact expected outcomes of a purchase-and-allocation plan under given demand distributions.

The model (one SKU shown in streams k, in start order). Stock is two batches: the n0 units on
hand and the q units ordered now. The order arrives at as-of + lead time: its units can be sold
only in streams that start at or after the arrival; streams before it sell from stock on hand
only. Each batch may expire: a unit can be sold in a stream only if the stream starts before the
unit's expiry, and a unit left at the end (unsold or returned) is worth the salvage value v only
if it has not expired by the salvage time (the end of the horizon), else nothing. So batch b has
a salvage value v_b in {v, 0} and a set of streams it can serve. Stock on hand never expires
later than a new delivery, so v_0 <= v_1. Without expiry or lead time both batches are one,
worth v, and serve every stream.

Stream k gets a0_k on-hand and a1_k ordered units and sells min(D_k, a0_k + a1_k), on-hand
units first (first expiring, first out); a share r_k of the units sold comes back after the
stream and is left over at the end. With p = live_price, c = unit_cost and
C_k(a) = (1 - r_k) E[min(D_k, a)] = (1 - r_k) sum_{u <= a} P(D_k >= u), expected profit is

    P = v_0 n0 + v_1 q - c q + sum_k [(p_k - v_1) C_k(a0_k + a1_k) + (v_1 - v_0) C_k(a0_k)].

With v_0 = v_1 = v this is sum_k (p_k - v) C_k(a_k) + v (n0 + q) - c q: the u-th unit given to
stream k is worth (p_k - v)(1 - r_k) P(D_k >= u) above salvage, non-increasing in u. When an
on-hand unit can also go wherever an ordered one can (the order arrives late, nothing expires
first), the best allocation takes the largest positive marginals over the SKU's streams, at most
n0 of them in the streams before the arrival (demandmatch.optimise.stock.pooled_units).
Otherwise the best split is a small concave flow problem that demandmatch.optimise.stock's
Placement solves one unit at a time along best augmenting paths (a new ordered unit to a
stream, or to a stream in place of an on-hand unit that moves to another stream), which also
makes the value concave in q.

Demand distributions arrive as survival arrays: survival[r][u - 1] = P(D >= u) for the r-th
lineup row, u = 1..len, and 0 beyond the end. Everything here is numpy/pandas and exact; the
optimiser builds its curves with it and benchmarks score any plan (naive, oracle) with it under
the true distributions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from demandmatch.data.schema import PLAN_COLUMNS
from demandmatch.optimise.stock import SkuStreams, place_stock
from demandmatch.optimise.types import PlanInputs

__all__ = [
    "ARRIVAL_COLUMNS",
    "EXPIRY_COLUMNS",
    "ITEM_COLUMNS",
    "OUTCOME_COLUMNS",
    "SKU_COLUMNS",
    "allocate",
    "check_survival",
    "expected_min",
    "expected_outcomes",
    "item_groups",
    "plan_inputs",
    "require_columns",
    "score_plan",
]

OUTCOME_COLUMNS: tuple[str, ...] = tuple(c for c in PLAN_COLUMNS if c != "flags")
ITEM_COLUMNS: tuple[str, ...] = ("stream_id", "sku_id", "merchant_id", "live_price", "return_rate")
SKU_COLUMNS: tuple[str, ...] = ("merchant_id", "sku_id", "unit_cost", "salvage_value", "on_hand")
# optional skus columns (timestamps, NaT = never): expiry of the units on hand and of units
# ordered now, and when leftovers are valued at salvage (the end of the horizon)
EXPIRY_COLUMNS: tuple[str, ...] = ("on_hand_expires_at", "order_expires_at", "salvage_at")
# optional skus column (timestamp, NaT = before every stream): when an order placed now arrives
ARRIVAL_COLUMNS: tuple[str, ...] = ("order_arrives_at",)
_SURVIVAL_TOL = 1e-9


def check_survival(survival: Sequence[np.ndarray], n_rows: int) -> list[np.ndarray]:
    """Survival arrays as clean float vectors, one per lineup row, or a ValueError saying which.

    Values must be finite, in [0, 1] and non-increasing (to 1e-9; rounding noise is removed
    so that the greedy allocation stays exact). Checked a block of rows at a time.
    """
    if len(survival) != n_rows:
        raise ValueError(f"survival has {len(survival)} arrays but items has {n_rows} rows")
    arrays = [np.asarray(s, dtype=float) for s in survival]
    for r, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError(f"survival[{r}] must be 1-D, got shape {a.shape}")
    out = []
    for lo in range(0, len(arrays), _BLOCK):
        out.extend(_check_block(arrays[lo : lo + _BLOCK], lo))
    return out


_BLOCK = 4096


def _check_block(arrays: list[np.ndarray], first: int) -> list[np.ndarray]:
    if not arrays:
        return []
    sizes = np.array([a.size for a in arrays], dtype=np.int64)
    flat = np.concatenate(arrays)
    row = np.repeat(np.arange(len(arrays), dtype=np.int32), sizes)
    bad = ~np.isfinite(flat)
    if bad.any():
        raise ValueError(f"survival[{first + int(row[np.argmax(bad)])}] has non-finite values")
    bad = (flat < -_SURVIVAL_TOL) | (flat > 1 + _SURVIVAL_TOL)
    if bad.any():
        raise ValueError(f"survival[{first + int(row[np.argmax(bad)])}] has values outside [0, 1]")
    rise = np.diff(flat)
    same = row[1:] == row[:-1]
    bad = same & (rise > _SURVIVAL_TOL)
    if bad.any():
        r = first + int(row[1:][np.argmax(bad)])
        raise ValueError(f"survival[{r}] increases: P(D >= u) must not grow with u")
    noisy = np.zeros(len(arrays), dtype=bool)
    noisy[row[1:][same & (rise > 0)]] = True
    noisy[row[(flat < 0) | (flat > 1)]] = True
    return [
        np.minimum.accumulate(np.clip(a, 0.0, 1.0)) if fix else a
        for a, fix in zip(arrays, noisy, strict=True)
    ]


def require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Raise a ValueError naming the frame and every required column it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks required column(s): {', '.join(missing)}")


def item_groups(items: pd.DataFrame, skus: pd.DataFrame) -> list[np.ndarray]:
    """Per row of `skus`, the positions of its `items` rows in stream order.

    Stream order is start_time, then stream_id (when those columns exist); it decides ties in
    the allocation. Every items row must belong to a skus row and skus keys must be unique.
    """
    keys = ["merchant_id", "sku_id"]
    sku_index = pd.MultiIndex.from_frame(skus[keys].astype(str))
    if sku_index.has_duplicates:
        dup = sku_index[sku_index.duplicated()][0]
        raise ValueError(f"skus has more than one row for (merchant_id, sku_id) = {dup}")
    pos = sku_index.get_indexer(pd.MultiIndex.from_frame(items[keys].astype(str)))
    if (pos < 0).any():
        r = int(np.flatnonzero(pos < 0)[0])
        raise ValueError(
            f"items row {r}: (merchant_id, sku_id) = {tuple(items[keys].iloc[r])} has no skus row"
        )
    sort_cols = [c for c in ("start_time", "stream_id") if c in items.columns]
    ranked = items[sort_cols].reset_index(drop=True)
    order = (
        ranked.sort_values(sort_cols, kind="stable").index.to_numpy()
        if sort_cols
        else np.arange(len(items))
    )
    order = order[np.argsort(pos[order], kind="stable")]
    bounds = np.searchsorted(pos[order], np.arange(len(skus) + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(len(skus))]


def _timestamps(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(frame[col], utc=True)


def _batch_rows(
    items: pd.DataFrame, skus: pd.DataFrame, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per items row, whether on-hand units, ordered units and an order at all (its arrival
    alone) can be sold there; per skus row, each batch's leftover value.

    A batch whose expiry is NaT keeps; otherwise its units can be sold in a stream that starts
    before the expiry and are worth salvage_value at the end only if they expire after
    salvage_at (a NaT salvage_at values every leftover). The on-hand expiry is cut to the
    order's when it is later (or blank while the order's is not). An order serves the streams
    that start at or after order_arrives_at (NaT: every stream).
    """
    salvage = skus["salvage_value"].to_numpy(dtype=float)
    ordered = _timestamps(skus, "order_expires_at")
    on_hand = _timestamps(skus, "on_hand_expires_at")
    on_hand = on_hand.where(on_hand.notna() & (ordered.isna() | (on_hand <= ordered)), ordered)
    at = _timestamps(skus, "salvage_at")
    arrives = _timestamps(skus, "order_arrives_at")
    valued = [(e.isna() | at.isna() | (e > at)).to_numpy() for e in (on_hand, ordered)]
    v = [np.where(ok, salvage, 0.0) for ok in valued]
    limits = [_naive(t)[owner] for t in (on_hand, ordered, arrives)]
    if "start_time" not in items.columns:
        if any((~np.isnat(x)).any() for x in limits):
            raise ValueError("items needs start_time to apply expiry dates and arrivals")
        every = np.ones(len(items), dtype=bool)
        return every, every, every, v[0], v[1]
    start = _naive(_timestamps(items, "start_time"))
    ok0, ok1 = (np.isnat(e) | (start < e) for e in limits[:2])
    arrived = np.isnat(limits[2]) | (start >= limits[2])
    return ok0, ok1 & arrived, arrived, v[0], v[1]


def _naive(t: pd.Series) -> np.ndarray:
    """UTC timestamps as a datetime64[ns] array (NaT kept), for fast comparisons."""
    return t.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


def _owner(groups: list[np.ndarray], n_items: int) -> np.ndarray:
    """The skus row of each items row."""
    owner = np.zeros(n_items, dtype=np.int64)
    if groups:
        sizes = [g.size for g in groups]
        owner[np.concatenate(groups)] = np.repeat(np.arange(len(groups)), sizes)
    return owner


def _streams(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    survival: Sequence[np.ndarray],
    groups: list[np.ndarray],
    owner: np.ndarray,
) -> tuple[list[SkuStreams], tuple[np.ndarray, np.ndarray]]:
    ok0, ok1, arrived, v0, v1 = _batch_rows(items, skus, owner)
    price = items["live_price"].to_numpy(dtype=float)
    rate = items["return_rate"].to_numpy(dtype=float)
    late = not arrived.all()
    out = [
        SkuStreams(
            price=price[g],
            rate=rate[g],
            survival=[survival[k] for k in g],
            salvage=(float(v0[i]), float(v1[i])),
            sellable=(ok0[g], ok1[g]),
            arrived=arrived[g] if late else None,
        )
        for i, g in enumerate(groups)
    ]
    return out, (ok0, ok1)


def plan_inputs(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    survival: Sequence[np.ndarray],
    checked: bool = False,
) -> PlanInputs:
    """The PlanInputs of a lineup (items), its SKUs and the demand of each lineup row, or a
    ValueError naming the first missing column, unmatched row or bad survival array.

    `items` needs ITEM_COLUMNS (and start_time for expiry and arrival), `skus` SKU_COLUMNS and
    optionally the EXPIRY_COLUMNS and ARRIVAL_COLUMNS. `checked`: survival is already clean.
    """
    require_columns(items, "items", ITEM_COLUMNS)
    require_columns(skus, "skus", SKU_COLUMNS)
    surv = list(survival) if checked else check_survival(survival, len(items))
    groups = item_groups(items, skus)
    owner = _owner(groups, len(items))
    streams, sellable = _streams(items, skus, surv, groups, owner)
    start = _timestamps(items, "start_time").reset_index(drop=True)
    reaches = start[sellable[1]].groupby(owner[sellable[1]]).min()
    reaches = pd.DatetimeIndex(reaches.reindex(range(len(skus))))
    return PlanInputs(items, skus, surv, groups, owner, streams, sellable, reaches)


def _aligned(values: pd.Series, frame: pd.DataFrame, keys: list[str], what: str) -> np.ndarray:
    """`values` as non-negative integers per row of `frame`: matched by the key columns when its
    index is a MultiIndex named `keys`, otherwise by index label."""
    if isinstance(values.index, pd.MultiIndex) and list(values.index.names) == keys:
        at = values.index.get_indexer(pd.MultiIndex.from_frame(frame[keys]))
        got = pd.Series(np.where(at >= 0, values.to_numpy()[np.maximum(at, 0)], np.nan))
    else:
        got = values.reindex(frame.index)
    arr = got.to_numpy(dtype=float)
    if np.isnan(arr).any():
        r = int(np.flatnonzero(np.isnan(arr))[0])
        raise ValueError(f"{what} has no value for row {r} ({tuple(frame[keys].iloc[r])})")
    if (arr < 0).any() or not np.all(arr == np.round(arr)):
        raise ValueError(f"{what} must hold non-negative integers")
    return arr.astype(np.int64)


def allocate(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    survival: Sequence[np.ndarray],
    order_qty: pd.Series,
) -> pd.Series:
    """Best allocation of each SKU's stock after ordering, as units per items row (its index).

    `order_qty` is indexed like `skus` or by a (merchant_id, sku_id) MultiIndex.
    """
    inputs = plan_inputs(items, skus, survival)
    q = _aligned(order_qty, skus, ["merchant_id", "sku_id"], "order_qty")
    out = np.zeros(len(items), dtype=np.int64)
    for i, g in enumerate(inputs.groups):
        a0, a1 = place_stock(inputs.streams[i], int(inputs.on_hand[i]), int(q[i]))
        out[g] = a0 + a1
    return pd.Series(out, index=items.index, name="allocated_units")


def expected_outcomes(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    survival: Sequence[np.ndarray],
    order_qty: pd.Series,
    allocation: pd.Series | None = None,
) -> pd.DataFrame:
    """Exact expected outcome of a plan: one row per skus row, PLAN_COLUMNS except flags.

    expected_demand = sum_k E[D_k]; expected_sales = sum_k E[min(D_k, a_k)];
    expected_leftover = stock_after - sales + returns (expired units included);
    expected_lost_sales = demand - sales; fill_rate = sales / demand (1.0 when demand is 0);
    expected_profit as in the module docstring.

    `order_qty` is indexed like `skus` or by (merchant_id, sku_id); `allocation` like `items`
    or by (stream_id, sku_id). Without an allocation each SKU's stock is allocated optimally.
    With one, stream k offers at most a_k units, split between the batches as well as possible
    (units expired at a stream's start, or ordered units that arrive after it, are not offered
    there). A plan that allocates more than a SKU's stock is rejected with a ValueError.
    """
    inputs = plan_inputs(items, skus, survival)
    q = _aligned(order_qty, skus, ["merchant_id", "sku_id"], "order_qty")
    alloc = (
        None
        if allocation is None
        else _aligned(allocation, items, ["stream_id", "sku_id"], "allocation")
    )
    return score_plan(inputs, q, alloc)[2]


def expected_min(survival: list[np.ndarray], stocks: list) -> list[np.ndarray]:
    """Per stock vector (units per items row; None = unlimited), E[min(D_r, a_r)] per row,
    from prefix sums of a block of survival arrays at a time."""
    out = [np.zeros(len(survival)) for _ in stocks]
    for lo in range(0, len(survival), _BLOCK):
        block = survival[lo : lo + _BLOCK]
        sizes = np.array([s.size for s in block], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        cs = np.concatenate([[0.0], np.cumsum(np.concatenate(block))])
        for a, res in zip(stocks, out, strict=True):
            at = sizes if a is None else np.minimum(a[lo : lo + _BLOCK], sizes)
            res[lo : lo + len(block)] = cs[starts + at] - cs[starts]
    return out


def _pooled_split(inputs: PlanInputs, alloc: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """On-hand units per items row of the pooled SKUs' allocation `alloc` (on_hand_first,
    vectorised): the streams only stock on hand reaches, then the rest in stream order."""
    owner, order, early = inputs.owner, inputs.order, inputs.early_rows
    a0 = np.where(early & pooled[owner], alloc, 0).astype(np.int64)
    n = len(inputs.skus)
    left = inputs.on_hand - np.bincount(owner, weights=a0, minlength=n).astype(np.int64)
    rest = np.where(~early[order] & pooled[owner[order]], alloc[order], 0).astype(np.int64)
    before = np.cumsum(rest) - rest  # this SKU's earlier streams, plus every earlier SKU's
    sizes = np.array([g.size for g in inputs.groups], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    offset = np.repeat(np.append(before, 0)[first], sizes)
    room = np.maximum(left[owner[order]] - (before - offset), 0)
    a0[order] += np.minimum(rest, room)
    return a0


def score_plan(
    inputs: PlanInputs, q: np.ndarray, alloc: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(on-hand units, ordered units, per items row; the outcome frame, per skus row) of
    ordering q (per skus row); `alloc` (per items row) caps each stream as in
    expected_outcomes, None = the best split."""
    skus, groups, streams, owner = inputs.skus, inputs.groups, inputs.streams, inputs.owner
    on_hand = inputs.on_hand
    stock = on_hand + q
    n, n_items = len(skus), len(inputs.items)
    a0 = np.zeros(n_items, dtype=np.int64)
    a1 = np.zeros(n_items, dtype=np.int64)
    fast = np.zeros(n, dtype=bool)
    if alloc is not None:
        over = np.bincount(owner, weights=alloc, minlength=n) > stock
        if over.any():
            i = int(np.argmax(over))
            raise ValueError(
                f"allocation of {tuple(skus[['merchant_id', 'sku_id']].iloc[i])} "
                f"({int(alloc[groups[i]].sum())} units) exceeds its stock after ordering "
                f"({int(stock[i])})"
            )
        # pooled: the batch a unit comes from does not change its value, as long as the streams
        # before the order's arrival get no more than the stock on hand
        early = inputs.early_rows
        in_early = np.bincount(owner, weights=np.where(early, alloc, 0), minlength=n)
        fast = inputs.pooled & (in_early <= on_hand)
        reach = inputs.sellable[1] | (early & (on_hand[owner] > 0))
        offered = np.where(fast[owner] & reach, alloc, 0).astype(np.int64)
        a0 = _pooled_split(inputs, offered, fast)
        a1 = offered - a0
    for i, g in enumerate(groups):
        if not fast[i]:
            caps = None if alloc is None else alloc[g]
            a0[g], a1[g] = place_stock(streams[i], int(on_hand[i]), int(q[i]), caps)
    # for pooled SKUs (v_0 = v_1) the value does not depend on the split: count every unit sold
    # as ordered, so that it reads the same whichever batch the split names
    sold, sold0, demand_r = expected_min(
        inputs.survival, [a0 + a1, np.where(inputs.pooled[owner], 0, a0), None]
    )
    price, rate = inputs.price, inputs.rate

    def per_sku(x: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=x, minlength=n)

    kept, kept0 = per_sku((1.0 - rate) * sold), per_sku((1.0 - rate) * sold0)
    v0, v1 = inputs.salvage
    value = per_sku(price * (1.0 - rate) * sold) + v0 * (on_hand - kept0) + v1 * (q - kept + kept0)
    demand, sales, returned = per_sku(demand_r), per_sku(sold), per_sku(rate * sold)
    fill = np.where(demand > 0, sales / np.where(demand > 0, demand, 1.0), 1.0)
    cost = skus["unit_cost"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "merchant_id": skus["merchant_id"].to_numpy(),
            "sku_id": skus["sku_id"].to_numpy(),
            "on_hand": on_hand,
            "order_qty": q,
            "stock_after": stock,
            "expected_demand": demand,
            "expected_sales": sales,
            "expected_leftover": stock - sales + returned,
            "expected_lost_sales": demand - sales,
            "fill_rate": fill,
            "expected_profit": value - cost * q,
        },
        columns=list(OUTCOME_COLUMNS),
    )
    return a0, a1, frame
