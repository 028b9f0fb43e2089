"""Every one-batch SKU's units ranked by marginal value at once (vectorised over all SKUs).

For a SKU whose stock is one batch (nothing on hand, or on-hand and ordered units alike), the
u-th unit given to stream k is worth (p_k - v)(1 - r_k) P(D_k >= u) above salvage and the best
stock of S units takes the S largest of these (demandmatch.outcomes). Here all SKUs' units are
ranked in one sort, ties by stream order then unit as in outcomes.best_allocation, keeping per
SKU only the units a plan can use: the stock on hand, the ordered units that beat `floor`
(cost - salvage), then `pad` more and at least `min_units` (all positive units when `full`).
Survival arrays are read in place; counts come from a vectorised binary search, so memory
stays at the kept units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demandmatch.stock import SkuStreams


@dataclass(frozen=True)
class Ranked:
    """Per SKU (offsets[i]:offsets[i+1]) its kept units from most valuable: value above
    salvage, items row, P(D >= u) (the expected sale the unit adds)."""

    offsets: np.ndarray
    value: np.ndarray
    item: np.ndarray
    sales: np.ndarray

    def units(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def allocation(self, stock: np.ndarray, n_items: int) -> np.ndarray:
        """Units per items row when SKU i holds stock[i] units (its best allocation)."""
        size = np.diff(self.offsets)
        owner = np.repeat(np.arange(size.size), size)
        rank = np.arange(self.item.size) - self.offsets[:-1][owner]
        take = rank < np.asarray(stock)[owner]
        return np.bincount(self.item[take], minlength=n_items).astype(np.int64)


def _count_above(
    flat: np.ndarray, starts: np.ndarray, sizes: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Per row r, how many of flat[starts[r] : starts[r] + sizes[r]] (non-increasing) exceed
    t[r]: a binary search on all rows at once."""
    lo = np.zeros(sizes.size, dtype=np.int64)
    hi = sizes.astype(np.int64).copy()
    while True:
        open_ = lo < hi
        if not open_.any():
            return lo
        mid = (lo + hi) // 2
        at = np.where(open_, starts + np.minimum(mid, np.maximum(sizes - 1, 0)), 0)
        above = open_ & (flat[at] > t) if flat.size else open_ & False
        lo = np.where(above, mid + 1, lo)
        hi = np.where(open_ & ~above, mid, hi)


def rank_units(
    items_price: np.ndarray,
    items_rate: np.ndarray,
    survival: list[np.ndarray],
    groups: list[np.ndarray],
    streams: list[SkuStreams],
    on_hand: np.ndarray,
    floor: np.ndarray,
    min_units: np.ndarray,
    pad: np.ndarray,
    full: np.ndarray,
    single: np.ndarray,
) -> Ranked:
    """Rank the units of the SKUs where `single` (one batch); other SKUs get none. Works on a
    block of SKUs at a time to bound memory."""
    parts, counts = [], []
    for lo in range(0, len(groups), _BLOCK):
        hi = min(lo + _BLOCK, len(groups))
        part = _rank_block(
            items_price,
            items_rate,
            survival,
            groups[lo:hi],
            streams[lo:hi],
            *(x[lo:hi] for x in (on_hand, floor, min_units, pad, full, single)),
        )
        parts.append(part)
        counts.append(np.diff(part.offsets))
    count = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)

    def joined(name: str, dtype: type) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, dtype)

    return Ranked(offsets, joined("value", float), joined("item", np.int64), joined("sales", float))


_BLOCK = 4096


def _rank_block(
    items_price: np.ndarray,
    items_rate: np.ndarray,
    survival: list[np.ndarray],
    groups: list[np.ndarray],
    streams: list[SkuStreams],
    on_hand: np.ndarray,
    floor: np.ndarray,
    min_units: np.ndarray,
    pad: np.ndarray,
    full: np.ndarray,
    single: np.ndarray,
) -> Ranked:
    n_sku = len(groups)
    order = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(n_sku), [g.size for g in groups])
    sizes = np.array([survival[r].size for r in order], dtype=np.int64)
    flat = np.concatenate([survival[r] for r in order]) if order.size else np.zeros(0)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    v = np.array([st.salvage[1] for st in streams], dtype=float)
    sellable = np.concatenate([st.sellable[1] for st in streams]) if streams else np.zeros(0, bool)
    coef = (items_price[order] - v[owner]) * (1.0 - items_rate[order])
    coef = np.where(sellable & single[owner] & (coef > 0), coef, 0.0)
    live = coef > 0
    positive = np.where(live, _count_above(flat, starts, sizes, np.zeros(order.size)), 0)
    t = np.where(live, np.maximum(floor[owner], 0.0) / np.where(live, coef, 1.0), np.inf)
    above = np.where(live, _count_above(flat, starts, sizes, t), 0)
    total = np.bincount(owner, weights=positive, minlength=n_sku).astype(np.int64)
    n_above = np.bincount(owner, weights=above, minlength=n_sku).astype(np.int64)
    keep = np.maximum(min_units, np.maximum(n_above - on_hand, 0) + pad)
    want = np.where(full, total, np.minimum(total, on_hand + keep))
    length = np.minimum(positive, want[owner])
    n = int(length.sum())
    row = np.repeat(np.arange(order.size), length)
    first = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    unit = np.arange(n) - first[row]
    surv = flat[starts[row] + unit]
    value = coef[row] * surv
    by_value = np.argsort(-value, kind="stable")
    ranked = by_value[np.argsort(owner[row][by_value], kind="stable")]
    sku = owner[row][ranked]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(sku, minlength=n_sku))]).astype(np.int64)
    rank = np.arange(n) - offsets[:-1][sku]
    kept = rank < want[sku]
    ranked = ranked[kept]
    counts = np.bincount(sku[kept], minlength=n_sku)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Ranked(offsets, value[ranked], order[row[ranked]], surv[ranked])
