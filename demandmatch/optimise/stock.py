"""The stock of one SKU over its streams: unit marginals, the best allocation, and the two
batches (on hand, ordered) with their arrival and expiry, placed exactly one unit at a time.

See demandmatch.optimise.outcomes for the model. When the batches are pooled (their leftovers
are worth the same and an on-hand unit can go wherever an ordered one can) the u-th unit given
to stream k is worth (p_k - v)(1 - r_k) P(D_k >= u) above salvage, non-increasing in u, and the
best stock of S = n0 + q units takes the S largest, at most n0 of them in the streams that start
before the order arrives (a laminar matroid, so the greedy is exact and its choices are nested
in q). Otherwise `Placement` adds units along best augmenting paths of a small concave flow
problem (a new ordered unit goes to a stream, or takes the place of an on-hand unit that moves
to another stream), which keeps every step optimal and makes the value of the stock concave in
the units ordered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

_GAIN_TOL = 1e-12


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
    arrays = [np.asarray(m, dtype=float) for m in marginals]
    counts = _above(arrays, 0.0)
    if stock <= 0 or not arrays:
        return np.zeros(len(arrays), dtype=np.int64)
    if stock >= counts.sum():
        return counts
    return _take_top(arrays, counts, stock)


def _above(arrays: list[np.ndarray], t: float) -> np.ndarray:
    """Per non-increasing array, how many of its entries exceed t (a prefix)."""
    return np.array([int(np.searchsorted(-a, -t, side="left")) for a in arrays], dtype=np.int64)


def _take_top(arrays: list[np.ndarray], counts: np.ndarray, k: int) -> np.ndarray:
    """Per array, how many of the k largest of the first counts[j] entries it holds (ties to
    the earlier array); needs 0 < k < counts.sum()."""
    values = np.concatenate([a[:n] for a, n in zip(arrays, counts, strict=True)])
    t = float(np.partition(values, values.size - k)[values.size - k])  # the k-th largest
    above = _above(arrays, t)
    ties = _above(arrays, np.nextafter(t, -np.inf)) - above
    rest = k - int(above.sum())
    extra = np.minimum(ties, np.maximum(rest - np.concatenate([[0], np.cumsum(ties)[:-1]]), 0))
    return above + extra


def _top_sorted(arrays: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k largest positive entries (all when fewer) from largest, with their array and
    (0-based) position; ties by array then position."""
    counts = _above(arrays, 0.0)
    if k <= 0:
        counts = np.zeros_like(counts)
    elif k < counts.sum():
        counts = _take_top(arrays, counts, k)
    values = np.concatenate([a[: int(n)] for a, n in zip(arrays, counts, strict=True)] or [[]])
    stream = np.repeat(np.arange(len(arrays)), counts)
    unit = np.concatenate([np.arange(n) for n in counts] or [np.zeros(0, dtype=np.int64)])
    order = np.lexsort((unit, stream, -values))
    return values[order], stream[order], unit[order].astype(np.int64)


@dataclass(frozen=True, eq=False)
class SkuStreams:
    """One SKU's upcoming streams in start order, as the stock model sees them.

    `sellable[1]` holds both limits of an ordered unit: the order has arrived by the stream's
    start and the unit has not expired; `arrived` is the first alone (None: every stream), which
    tells a stream lost to the lead time from one lost to the shelf life.
    """

    price: np.ndarray  # live price per stream
    rate: np.ndarray  # return rate per stream
    survival: list[np.ndarray]  # P(D >= u) per stream
    salvage: tuple[float, float]  # leftover value of an on-hand unit, of an ordered unit
    sellable: tuple[np.ndarray, np.ndarray]  # per stream: on-hand / ordered units sell there
    arrived: np.ndarray | None = None  # per stream: an order placed now has arrived by its start

    @cached_property
    def pooled(self) -> bool:
        """Both batches are worth the same at the end and an on-hand unit can be sold wherever an
        ordered one can: which batch a unit comes from changes nothing but the streams that only
        stock on hand reaches (those before the order arrives)."""
        return self.salvage[0] == self.salvage[1] and not bool(
            (self.sellable[1] & ~self.sellable[0]).any()
        )

    @cached_property
    def early(self) -> np.ndarray:
        """Per stream: only stock on hand can be sold there."""
        return self.sellable[0] & ~self.sellable[1]

    @cached_property
    def reached(self) -> bool:
        """An order placed now arrives before at least one of the streams."""
        return self.arrived is None or bool(self.arrived.any())

    def demand(self) -> float:
        return float(sum(s.sum() for s in self.survival))

    def marginals(self, batch: int) -> list[np.ndarray]:
        """Per stream, the value above salvage of its u-th unit from `batch` (0 where that
        batch cannot be sold)."""
        return self._marginals(self.salvage[batch], self.sellable[batch])

    def early_marginals(self) -> list[np.ndarray]:
        """Per stream that only stock on hand reaches, the value above salvage of its u-th unit
        (empty elsewhere)."""
        return self._marginals(self.salvage[0], self.early)

    def _marginals(self, v: float, where: np.ndarray) -> list[np.ndarray]:
        return [
            stream_marginals(p, v, r, s) if ok else np.zeros(0)
            for p, r, s, ok in zip(self.price, self.rate, self.survival, where, strict=True)
        ]


def pooled_units(
    st: SkuStreams, on_hand: int, k: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The units a pooled stock (or one with nothing on hand) can place, from the most valuable:
    positive marginals of the streams ordered units reach, and of the streams only stock on hand
    reaches at most the `on_hand` largest. The first `k` (all when None) as (value, stream,
    unit), ties by stream then unit; the first S of them are the best stock of S units."""
    late = st.marginals(1)
    early = st.early_marginals() if on_hand > 0 and st.early.any() else []
    n_late = int(_above(late, 0.0).sum())
    n_early = min(int(_above(early, 0.0).sum()), on_hand) if early else 0
    k = n_late + n_early if k is None else min(k, n_late + n_early)
    if not early:
        return _top_sorted(late, k)
    parts = [_top_sorted(late, k), _top_sorted(early, min(k, on_hand))]
    values, stream, unit = (np.concatenate([p[i] for p in parts]) for i in range(3))
    order = np.lexsort((unit, stream, -values))[:k]
    return values[order], stream[order], unit[order]


def count_pooled(st: SkuStreams, on_hand: int, t: float) -> int:
    """How many of pooled_units(st, on_hand) exceed t."""
    n = int(_above(st.marginals(1), t).sum())
    if on_hand > 0 and st.early.any():
        n += min(int(_above(st.early_marginals(), t).sum()), on_hand)
    return n


class Placement:
    """The best split of a SKU's stock over its streams, built one unit at a time.

    Each call places one more unit (on hand first, then ordered) where it adds the most expected
    value, possibly moving an on-hand unit to make room; a unit that adds nothing stays in stock
    at its salvage value. Every step keeps the split optimal for the units placed so far
    (successive best augmenting paths in a concave flow problem), so the gains of successive
    ordered units are non-increasing. `caps` bounds the units a stream may get.
    """

    def __init__(self, st: SkuStreams, caps: np.ndarray | None = None) -> None:
        self.st = st
        k = len(st.price)
        self.c = [
            (1.0 - float(r)) * np.asarray(s) for r, s in zip(st.rate, st.survival, strict=True)
        ]
        sizes = [len(c) for c in self.c]
        self.limit = (
            sizes if caps is None else [min(n, int(m)) for n, m in zip(sizes, caps, strict=True)]
        )
        v0, v1 = st.salvage
        self.dv = v1 - v0
        self.p1 = [float(p) - v1 for p in st.price]
        self.can0 = [
            bool(ok) and float(p) > v0 for ok, p in zip(st.sellable[0], st.price, strict=True)
        ]
        self.can1 = [
            bool(ok) and float(p) > v1 for ok, p in zip(st.sellable[1], st.price, strict=True)
        ]
        self.a0 = [0] * k
        self.a1 = [0] * k

    def _c(self, k: int, u: int) -> float:
        """(1 - r_k) P(D_k >= u), 0 outside 1..len."""
        return float(self.c[k][u - 1]) if 1 <= u <= len(self.c[k]) else 0.0

    def _surv(self, k: int, u: int) -> float:
        s = self.st.survival[k]
        return float(s[u - 1]) if 1 <= u <= len(s) else 0.0

    def _add0(self, k: int) -> float:
        """Value of one more on-hand unit in stream k (on top of its on-hand units)."""
        a0, a = self.a0[k], self.a0[k] + self.a1[k]
        if not self.can0[k] or a >= self.limit[k]:
            return -math.inf
        return self.dv * self._c(k, a0 + 1) + self.p1[k] * self._c(k, a + 1)

    def place_on_hand(self) -> tuple[float, float] | None:
        """Place one on-hand unit; (value gained, sales gained), or None when it adds nothing."""
        gains = [self._add0(k) for k in range(len(self.a0))]
        k = int(np.argmax(gains)) if gains else -1
        if k < 0 or gains[k] <= _GAIN_TOL:
            return None
        sold = self._surv(k, self.a0[k] + self.a1[k] + 1)
        self.a0[k] += 1
        return gains[k], sold

    def place_ordered(self) -> tuple[float, float] | None:
        """Place one ordered unit; (value gained above its salvage, sales gained) or None."""
        n = len(self.a0)
        best, move = _GAIN_TOL, None
        for k in range(n):  # straight into a stream
            a = self.a0[k] + self.a1[k]
            if self.can1[k] and a < self.limit[k]:
                g = self.p1[k] * self._c(k, a + 1)
                if g > best:
                    best, move = g, (k, k)
        add = [self._add0(k) for k in range(n)]
        for k in range(n):  # into stream k in place of an on-hand unit, which moves to j
            if not (self.can1[k] and self.a0[k] > 0):
                continue
            freed = -self.dv * self._c(k, self.a0[k])
            for j in range(n):
                if j != k and add[j] > -math.inf and freed + add[j] > best + _GAIN_TOL:
                    best, move = freed + add[j], (k, j)
        if move is None:
            return None
        k, j = move
        if k == j:
            sold = self._surv(k, self.a0[k] + self.a1[k] + 1)
            self.a1[k] += 1
        else:
            sold = self._surv(j, self.a0[j] + self.a1[j] + 1)
            self.a0[k] -= 1
            self.a1[k] += 1
            self.a0[j] += 1
        return best, sold

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.a0, dtype=np.int64), np.array(self.a1, dtype=np.int64)


@dataclass(frozen=True)
class StockCurve:
    """Expected value and sales of a SKU's stock as a function of the units ordered, q.

    value(q) = head + v_1 q + sum of the first q entries of `inc`; `inc` holds the positive,
    non-increasing gains of successive ordered units above their salvage value (units beyond
    len(inc) add only their salvage value). sales(q) = sales_head + the first q of `sales_inc`.
    """

    head: float
    inc: np.ndarray
    sales_head: float
    sales_inc: np.ndarray
    salvage_ordered: float
    demand: float


def stock_curve(
    st: SkuStreams, on_hand: int, floor: float = -math.inf, min_units: int = 0, pad: int = 0
) -> StockCurve:
    """The SKU's StockCurve for n0 = on_hand.

    All ordered units that add more than salvage by default; with a `floor`, only the units
    whose gain exceeds it, then `pad` more, and at least `min_units` (the optimiser passes
    cost - salvage as the floor: the units past it can never pay).
    """
    v0, v1 = st.salvage
    if on_hand == 0 or st.pooled:
        n_above = count_pooled(st, on_hand, floor) if math.isfinite(floor) else None
        total = count_pooled(st, on_hand, 0.0)
        keep = total if n_above is None else max(min_units, max(n_above - on_hand, 0) + pad)
        values, stream, unit = pooled_units(st, on_hand, on_hand + keep)
        sizes = [s.size for s in st.survival]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        flat = np.concatenate(st.survival) if len(st.survival) else np.zeros(0)
        sales = flat[starts[stream] + unit] if values.size else np.zeros(0)
        n0 = min(on_hand, values.size)
        return StockCurve(
            head=v0 * on_hand + float(values[:n0].sum()),
            inc=values[n0:],
            sales_head=float(sales[:n0].sum()),
            sales_inc=sales[n0:],
            salvage_ordered=v1,
            demand=st.demand(),
        )
    pl = Placement(st)
    head, sales_head = v0 * on_hand, 0.0
    for _ in range(on_hand):
        step = pl.place_on_hand()
        if step is None:
            break
        head, sales_head = head + step[0], sales_head + step[1]
    inc, sales_inc, below = [], [], 0
    while not inc or len(inc) < min_units or below < pad or inc[-1] > floor:
        step = pl.place_ordered()
        if step is None:
            break
        inc.append(step[0])
        sales_inc.append(step[1])
        below += step[0] <= floor
    return StockCurve(
        head, np.array(inc), sales_head, np.array(sales_inc), salvage_ordered=v1, demand=st.demand()
    )


def place_stock(
    st: SkuStreams, on_hand: int, ordered: int, caps: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Best (on-hand, ordered) units per stream for the given stock, within `caps` if given."""
    k = len(st.price)
    if caps is None and (on_hand == 0 or st.pooled):
        if on_hand and st.early.any():
            stream = pooled_units(st, on_hand, on_hand + ordered)[1]
            a = np.bincount(stream, minlength=k).astype(np.int64)
        else:
            a = best_allocation(st.marginals(1), on_hand + ordered)
        a0 = on_hand_first(a, st.early, on_hand)
        return a0, a - a0
    pl = Placement(st, caps)
    for _ in range(on_hand):
        if pl.place_on_hand() is None:
            break
    for _ in range(ordered):
        if pl.place_ordered() is None:
            break
    return pl.split()


def on_hand_first(a: np.ndarray, early: np.ndarray, on_hand: int) -> np.ndarray:
    """The on-hand share of a pooled allocation `a`: every unit of the streams only stock on
    hand reaches, then the rest of the stock on hand in stream order (sold first)."""
    a0 = np.where(early, a, 0).astype(np.int64)
    left = on_hand - int(a0.sum())
    for j in np.flatnonzero(~early):
        if left <= 0:
            break
        a0[j] = min(int(a[j]), left)
        left -= a0[j]
    return a0


def split_outcome(
    st: SkuStreams, on_hand: int, ordered: int, a0: np.ndarray, a1: np.ndarray
) -> tuple[float, float, float, float]:
    """(expected demand, sales, units returned, value of sales and leftovers) of a split."""
    v0, v1 = st.salvage
    sold = np.array([s[: a0[j] + a1[j]].sum() for j, s in enumerate(st.survival)])
    sold0 = np.array([s[: a0[j]].sum() for j, s in enumerate(st.survival)])
    kept = (1.0 - st.rate) * sold
    kept0 = (1.0 - st.rate) * sold0
    value = (
        float((st.price * kept).sum())
        + v0 * (on_hand - float(kept0.sum()))
        + v1 * (ordered - float((kept - kept0).sum()))
    )
    return st.demand(), float(sold.sum()), float((st.rate * sold).sum()), value
