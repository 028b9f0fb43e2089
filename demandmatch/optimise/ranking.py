"""Every pooled SKU's units ranked by marginal value at once (vectorised over all SKUs).

For a SKU whose stock is pooled (nothing on hand, or on-hand and ordered units worth the same
and the on-hand ones able to go wherever the ordered ones can), the u-th unit given to stream k
is worth (p_k - v)(1 - r_k) P(D_k >= u) above salvage and the best stock of S units takes the S
largest of these, at most n0 (the stock on hand) in the streams that start before the order
arrives (demandmatch.optimise.stock.pooled_units). Here all SKUs' units are ranked in one sort,
ties by stream order then unit as in stock.best_allocation, keeping per SKU only the units a
plan can use (`Keep`). Survival arrays are read in place; counts come from a vectorised binary
search, so memory stays at the kept units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demandmatch.optimise.types import PlanInputs


@dataclass(frozen=True)
class Keep:
    """Which units of each SKU (per skus row) the ranking keeps: the stock on hand, the ordered
    units whose value beats `floor` (cost - salvage: the rest never pays), then `pad` more and
    at least `min_units`; every positive unit where `full`."""

    floor: np.ndarray
    min_units: np.ndarray
    pad: np.ndarray
    full: np.ndarray

    def rows(self, lo: int, hi: int) -> Keep:
        return Keep(*(x[lo:hi] for x in (self.floor, self.min_units, self.pad, self.full)))


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


def rank_units(inputs: PlanInputs, keep: Keep, pooled: np.ndarray) -> Ranked:
    """Rank the units of the SKUs where `pooled`; other SKUs get none. Works on a block of SKUs
    at a time to bound memory."""
    parts, counts = [], []
    n = len(inputs.groups)
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        part = _rank_block(inputs, lo, hi, keep.rows(lo, hi), pooled[lo:hi])
        parts.append(part)
        counts.append(np.diff(part.offsets))
    count = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)

    def joined(name: str, dtype: type) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, dtype)

    return Ranked(offsets, joined("value", float), joined("item", np.int64), joined("sales", float))


_BLOCK = 4096


def _rank_block(inputs: PlanInputs, lo: int, hi: int, keep: Keep, pooled: np.ndarray) -> Ranked:
    """Ranked units of skus rows lo..hi-1 (their positions in the result start at 0)."""
    groups, streams = inputs.groups[lo:hi], inputs.streams[lo:hi]
    on_hand = inputs.on_hand[lo:hi]
    n_sku = len(groups)
    order = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(n_sku), [g.size for g in groups])
    survival = inputs.survival
    sizes = np.array([survival[r].size for r in order], dtype=np.int64)
    flat = np.concatenate([survival[r] for r in order]) if order.size else np.zeros(0)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    v = np.array([st.salvage[1] for st in streams], dtype=float)
    # the streams only stock on hand reaches count when there is stock on hand
    early = inputs.early_rows[order] & (on_hand[owner] > 0)
    sellable = inputs.sellable[1][order] | early
    coef = (inputs.price[order] - v[owner]) * (1.0 - inputs.rate[order])
    coef = np.where(sellable & pooled[owner] & (coef > 0), coef, 0.0)
    live = coef > 0
    positive = np.where(live, _count_above(flat, starts, sizes, np.zeros(order.size)), 0)
    t = np.where(live, np.maximum(keep.floor[owner], 0.0) / np.where(live, coef, 1.0), np.inf)
    above = np.where(live, _count_above(flat, starts, sizes, t), 0)
    total = _capped(owner, positive, early, on_hand)
    n_above = _capped(owner, above, early, on_hand)
    more = np.maximum(keep.min_units, np.maximum(n_above - on_hand, 0) + keep.pad)
    want = np.where(keep.full, total, np.minimum(total, on_hand + more))
    length = np.minimum(positive, want[owner])
    length = np.where(early, np.minimum(length, on_hand[owner]), length)
    n = int(length.sum())
    row = np.repeat(np.arange(order.size), length)
    first = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    unit = np.arange(n) - first[row]
    surv = flat[starts[row] + unit]
    value = coef[row] * surv
    by_value = np.argsort(-value, kind="stable")
    ranked = by_value[np.argsort(owner[row][by_value], kind="stable")]
    sku = owner[row][ranked]
    if early.any():  # at most n0 units in the streams before the order arrives
        ranked, sku = _cap_early(ranked, sku, early[row[ranked]], on_hand, n_sku)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(sku, minlength=n_sku))]).astype(np.int64)
    rank = np.arange(sku.size) - offsets[:-1][sku]
    kept = rank < want[sku]
    ranked = ranked[kept]
    counts = np.bincount(sku[kept], minlength=n_sku)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Ranked(offsets, value[ranked], order[row[ranked]], surv[ranked])


def _capped(owner: np.ndarray, count: np.ndarray, early: np.ndarray, on_hand: np.ndarray):
    """Per SKU, the units counted per row, at most on_hand of them in its early rows."""
    n = on_hand.size
    late = np.bincount(owner, weights=np.where(early, 0, count), minlength=n).astype(np.int64)
    first = np.bincount(owner, weights=np.where(early, count, 0), minlength=n).astype(np.int64)
    return late + np.minimum(first, on_hand)


def _cap_early(
    ranked: np.ndarray, sku: np.ndarray, early: np.ndarray, on_hand: np.ndarray, n_sku: int
) -> tuple[np.ndarray, np.ndarray]:
    """Drop each SKU's early units past its on_hand-th (ranked is grouped by SKU, best first)."""
    offsets = np.concatenate([[0], np.cumsum(np.bincount(sku, minlength=n_sku))]).astype(np.int64)
    seen = np.cumsum(early)
    before = np.concatenate([[0], seen])[offsets[:-1]][sku]
    ok = ~early | (seen - before <= on_hand[sku])
    return ranked[ok], sku[ok]
