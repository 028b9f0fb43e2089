"""Exact expected outcomes of a purchase-and-allocation plan under given demand distributions.

The model (one SKU i shown in streams k): stock S = on_hand + q is split into allocations
a_k >= 0 with sum_k a_k <= S; stream k sells min(D_k, a_k); a share r_k of the units sold comes
back after the stream and is left over at the end. With p = live_price, v = salvage_value and
c = unit_cost the expected profit is

    P(q, a) = sum_k (p_k - v)(1 - r_k) E[min(D_k, a_k)] + v (on_hand + q) - c q,

and E[min(D, a)] = sum_{u <= a} P(D >= u). The u-th unit given to stream k is therefore worth
(p_k - v)(1 - r_k) P(D_k >= u) on top of its salvage value, a non-increasing sequence in u, so
the best allocation of S units takes the S largest positive marginals over the SKU's streams.

Demand distributions arrive as survival arrays: survival[r][u - 1] = P(D >= u) for the r-th
lineup row, u = 1..len, and 0 beyond the end. Everything here is numpy/pandas and exact; the
optimiser fills its plan with it and benchmarks score any plan (naive, oracle) with it under
the true distributions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from demandmatch.schema import PLAN_COLUMNS

OUTCOME_COLUMNS: tuple[str, ...] = tuple(c for c in PLAN_COLUMNS if c != "flags")
ITEM_COLUMNS: tuple[str, ...] = ("stream_id", "sku_id", "merchant_id", "live_price", "return_rate")
SKU_COLUMNS: tuple[str, ...] = ("merchant_id", "sku_id", "unit_cost", "salvage_value", "on_hand")
_SURVIVAL_TOL = 1e-9


def stream_marginals(
    price: float, salvage: float, return_rate: float, survival: np.ndarray
) -> np.ndarray:
    """Value, above salvage, of the u-th unit allocated to a stream: (p - v)(1 - r) P(D >= u).

    Non-increasing in u because the survival function is; may be negative when the live price
    is below the salvage value (such units are better kept than offered).
    """
    return (float(price) - float(salvage)) * (1.0 - float(return_rate)) * np.asarray(survival)


def best_allocation(marginals: Sequence[np.ndarray], stock: int) -> np.ndarray:
    """Units per stream that maximise expected value: the `stock` largest positive marginals.

    Exact because each stream's marginals are non-increasing (the chosen set is a prefix of
    every stream). Ties go to the earlier stream in `marginals`, then to the earlier unit.
    Stock beyond the positive marginals is left unallocated (it is worth its salvage value).
    """
    k = len(marginals)
    if k == 0 or stock <= 0:
        return np.zeros(k, dtype=np.int64)
    positive = [np.asarray(m, dtype=float) > 0 for m in marginals]
    counts = np.array([int(p.sum()) for p in positive], dtype=np.int64)
    if stock >= counts.sum():
        return counts
    values = np.concatenate(
        [np.asarray(m, dtype=float)[p] for m, p in zip(marginals, positive, strict=True)]
    )
    stream = np.repeat(np.arange(k), counts)
    unit = np.concatenate([np.arange(c) for c in counts])
    order = np.lexsort((unit, stream, -values))
    return np.bincount(stream[order[:stock]], minlength=k).astype(np.int64)


def value_curve(marginals: Sequence[np.ndarray]) -> np.ndarray:
    """G(S) for S = 0..L: the expected value above salvage of S units allocated optimally.

    G is the running sum of the SKU's positive marginals sorted from largest, so it is concave
    and flat (G(S) = G(L)) for S >= L, L being the number of positive marginals.
    """
    if len(marginals) == 0:
        return np.zeros(1)
    values = np.concatenate([np.asarray(m, dtype=float) for m in marginals])
    values = np.sort(values[values > 0])[::-1]
    return np.concatenate([[0.0], np.cumsum(values)])


def check_survival(survival: Sequence[np.ndarray], n_rows: int) -> list[np.ndarray]:
    """Survival arrays as clean float vectors, one per lineup row, or a ValueError saying which.

    Values must be finite, in [0, 1] and non-increasing (to 1e-9; rounding noise is removed
    so that the greedy allocation stays exact).
    """
    if len(survival) != n_rows:
        raise ValueError(f"survival has {len(survival)} arrays but items has {n_rows} rows")
    out = []
    for r, s in enumerate(survival):
        a = np.asarray(s, dtype=float)
        if a.ndim != 1:
            raise ValueError(f"survival[{r}] must be 1-D, got shape {a.shape}")
        if a.size and not np.all(np.isfinite(a)):
            raise ValueError(f"survival[{r}] has non-finite values")
        if a.size and (a.min() < -_SURVIVAL_TOL or a.max() > 1 + _SURVIVAL_TOL):
            raise ValueError(f"survival[{r}] has values outside [0, 1]")
        if a.size > 1 and np.max(np.diff(a)) > _SURVIVAL_TOL:
            raise ValueError(f"survival[{r}] increases: P(D >= u) must not grow with u")
        out.append(np.minimum.accumulate(np.clip(a, 0.0, 1.0)))
    return out


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


def sku_marginals(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    survival: Sequence[np.ndarray],
    groups: list[np.ndarray],
) -> list[list[np.ndarray]]:
    """Per skus row, the per-unit marginal values of each of its streams (in `groups` order)."""
    price = items["live_price"].to_numpy(dtype=float)
    rate = items["return_rate"].to_numpy(dtype=float)
    salvage = skus["salvage_value"].to_numpy(dtype=float)
    return [
        [stream_marginals(price[k], salvage[i], rate[k], survival[k]) for k in g]
        for i, g in enumerate(groups)
    ]


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
    require_columns(items, "items", ITEM_COLUMNS)
    require_columns(skus, "skus", SKU_COLUMNS)
    surv = check_survival(survival, len(items))
    groups = item_groups(items, skus)
    q = _aligned(order_qty, skus, ["merchant_id", "sku_id"], "order_qty")
    stock = skus["on_hand"].to_numpy(dtype=np.int64) + q
    out = np.zeros(len(items), dtype=np.int64)
    for i, margs in enumerate(sku_marginals(items, skus, surv, groups)):
        out[groups[i]] = best_allocation(margs, int(stock[i]))
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
    expected_leftover = stock_after - sales + sum_k r_k E[sales_k]; expected_lost_sales =
    demand - sales; fill_rate = sales / demand (1.0 when demand is 0); expected_profit = P_i.

    `order_qty` is indexed like `skus` or by (merchant_id, sku_id); `allocation` like `items`
    or by (stream_id, sku_id). Without an allocation each SKU's stock is allocated optimally.
    A plan that allocates more than a SKU's stock is rejected with a ValueError.
    """
    require_columns(items, "items", ITEM_COLUMNS)
    require_columns(skus, "skus", SKU_COLUMNS)
    surv = check_survival(survival, len(items))
    groups = item_groups(items, skus)
    q = _aligned(order_qty, skus, ["merchant_id", "sku_id"], "order_qty")
    on_hand = skus["on_hand"].to_numpy(dtype=np.int64)
    stock = on_hand + q
    alloc = (
        None
        if allocation is None
        else _aligned(allocation, items, ["stream_id", "sku_id"], "allocation")
    )
    price = items["live_price"].to_numpy(dtype=float)
    rate = items["return_rate"].to_numpy(dtype=float)
    cost = skus["unit_cost"].to_numpy(dtype=float)
    salvage = skus["salvage_value"].to_numpy(dtype=float)
    margs_all = sku_marginals(items, skus, surv, groups)
    n = len(skus)
    demand, sales, returned, value = (np.zeros(n) for _ in range(4))
    for i, g in enumerate(groups):
        a = best_allocation(margs_all[i], int(stock[i])) if alloc is None else alloc[g]
        if a.sum() > stock[i]:
            raise ValueError(
                f"allocation of {tuple(skus[['merchant_id', 'sku_id']].iloc[i])} "
                f"({int(a.sum())} units) exceeds its stock after ordering ({int(stock[i])})"
            )
        sold = np.array([surv[k][: a[j]].sum() for j, k in enumerate(g)])
        demand[i] = sum(surv[k].sum() for k in g)
        sales[i] = sold.sum()
        returned[i] = (rate[g] * sold).sum()
        value[i] = ((price[g] - salvage[i]) * (1.0 - rate[g]) * sold).sum()
    fill = np.where(demand > 0, sales / np.where(demand > 0, demand, 1.0), 1.0)
    return pd.DataFrame(
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
            "expected_profit": value + salvage * stock - cost * q,
        },
        columns=list(OUTCOME_COLUMNS),
    )
