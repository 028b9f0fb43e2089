"""One merchant's ordering choices, vectorised: Lagrangian prices, dual bounds, repair, polish.

Each SKU that may order has a range of pack counts: {0} or [first, top] (a SKU with a service
level must order at least `lo` packs and has no 0). The merchant's budget and warehouse space
couple the SKUs. Pricing a yuan of budget at lam_b and a litre of space at lam_c decouples them:
every SKU orders its best response to a pack price lam_b * pack_cost + lam_c * pack_volume,
which depends only on the concave envelope of its gain curve (the MOQ jump is bridged by one
segment from 0). The smallest prices whose responses fit the limits are the LP relaxation's
duals; the responses are an integral plan that leaves at most a few segments' worth of slack,
which `polish` fills with the true curves. Any prices give an upper bound (weak duality).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from demandmatch.optimise.curves import TOL, SkuCurve

_BISECT = 80


@dataclass(frozen=True)
class Limits:
    budget: float  # inf when none
    space: float  # capacity left after on-hand stock; inf when none

    def fits(self, cost: float, volume: float) -> bool:
        return cost <= self.budget + eps(self.budget) and volume <= self.space + eps(self.space)


def eps(x: float) -> float:
    return 0.0 if math.isinf(x) else TOL * max(1.0, abs(x))


def afford(left: float, per_pack: float, limit: float) -> int:
    """Most packs that fit in `left` of a limit (tolerant to rounding); unbounded as 2**62."""
    if per_pack <= 0 or math.isinf(left):
        return 2**62
    return max(math.floor((left + eps(limit)) / per_pack), 0)


@dataclass(frozen=True, eq=False)
class Choice:
    """One SKU of a merchant that may order: n in {0} or [first, top] (only [lo, top] when
    `required`); gain(n) = f(n) - f(0)."""

    pos: int
    curve: SkuCurve
    lo: int
    top: int
    required: bool

    @property
    def first(self) -> int:
        return self.lo if self.required else self.curve.first

    def gain(self, n: np.ndarray | int) -> np.ndarray:
        return self.curve.profit(n) - self.curve.profit(0)

    def table(self) -> np.ndarray:
        """gain(n) for n = lo..top."""
        return self.curve.gains(self.lo, self.top)

    def envelope(self) -> tuple[np.ndarray, np.ndarray]:
        key = ("envelope", self.lo, self.top, self.required)
        memo = self.curve.memo
        if key not in memo:
            memo[key] = _envelope(self.table(), self.lo, self.required)
        return memo[key]


def make_choices(
    curves: dict[int, SkuCurve], limits: Limits, required: dict[int, int]
) -> list[Choice]:
    """SKUs whose first order pays and fits the limits on their own, and every SKU with a
    required fewest packs (its range starts there). A range ends at the SKU's own best order,
    not cut by the limits, so that the prices of the limits are those of the whole curve."""
    out = []
    for pos, cv in curves.items():
        need = required.get(pos, 0)
        if need > 0:
            lo = max(need, cv.first)
            out.append(Choice(pos, cv, lo, max(lo, cv.peak(lo)), True))
            continue
        room = min(
            afford(limits.budget, cv.pack_cost, limits.budget),
            afford(limits.space, cv.pack_volume, limits.space),
        )
        top = cv.own_best
        if top == 0 or room < cv.first:
            continue
        out.append(Choice(pos, cv, cv.lo, int(top), False))
    return out


class Menu:
    """The choices as flat arrays: gain tables, envelope segments and a sorted key for fast
    best responses to any per-SKU pack prices."""

    def __init__(self, choices: list[Choice]) -> None:
        self.choices = choices
        j = len(choices)
        self.w = np.array([c.curve.pack_cost for c in choices], dtype=float)
        self.u = np.array([c.curve.pack_volume for c in choices], dtype=float)
        self.lo = np.array([c.lo for c in choices], dtype=np.int64)
        self.top = np.array([c.top for c in choices], dtype=np.int64)
        self.first = np.array([c.first for c in choices], dtype=np.int64)
        self.required = np.array([c.required for c in choices], dtype=bool)
        self.base = np.where(self.required, self.lo, 0)
        tables, slopes, lengths = [], [], []
        for c in choices:
            tables.append(c.table())
            sl, ln = c.envelope()
            slopes.append(sl)
            lengths.append(ln)
        self.table_off = np.concatenate([[0], np.cumsum([t.size for t in tables])]).astype(np.int64)
        self.table = np.concatenate(tables) if tables else np.zeros(0)
        nseg = np.array([s.size for s in slopes], dtype=np.int64)
        self.seg_start = np.concatenate([[0], np.cumsum(nseg)]).astype(np.int64)
        self.slope = np.concatenate(slopes) if slopes else np.zeros(0)
        seg_len = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
        # cumulative packs per owner, [0, l1, l1 + l2, ...], owner j at seg_start[j] + j
        owner = np.repeat(np.arange(j), nseg)
        cum = np.zeros(self.slope.size + j, dtype=np.int64)
        if self.slope.size:
            csum = np.cumsum(seg_len)
            before = np.concatenate([[0], csum])[self.seg_start[:-1]]
            cum[np.arange(self.slope.size) + owner + 1] = csum - before[owner]
        self.cum_len = cum
        s = self.slope.size
        self.sorted_slope = np.sort(self.slope)
        rank = np.empty(s, dtype=np.int64)
        rank[np.argsort(-self.slope, kind="stable")] = np.arange(s)
        self.key = owner * (s + 1) + rank
        self.owner_key = np.arange(j, dtype=np.int64) * (s + 1)

    def __len__(self) -> int:
        return len(self.choices)

    # ---- evaluation -------------------------------------------------------------------

    def gain(self, n: np.ndarray) -> np.ndarray:
        """Per choice, gain(n_j); n_j must be 0 (optional SKUs) or in [lo_j, top_j]."""
        idx = self.table_off[:-1] + np.clip(n - self.lo, 0, None)
        g = self.table[np.minimum(idx, self.table_off[1:] - 1)] if self.table.size else n * 0.0
        return np.where((n == 0) & ~self.required, 0.0, g)

    def total_gain(self, n: np.ndarray) -> float:
        return float(self.gain(n).sum())

    def usage(self, n: np.ndarray) -> tuple[float, float]:
        return float(self.w @ n), float(self.u @ n)

    def required_usage(self) -> tuple[float, float]:
        return self.usage(self.base)

    def respond(self, lam_b: float, lam_c: float) -> np.ndarray:
        """Every SKU's best response to a pack price lam_b * pack_cost + lam_c * pack_volume:
        the envelope segments whose slope beats the price."""
        if not len(self):
            return np.zeros(0, dtype=np.int64)
        price = lam_b * self.w + lam_c * self.u
        s = self.slope.size
        beats = s - np.searchsorted(self.sorted_slope, price, side="right")
        count = np.searchsorted(self.key, self.owner_key + beats, side="left") - self.seg_start[:-1]
        return self.base + self.cum_len[self.seg_start[:-1] + np.arange(len(self)) + count]

    def dual_bound(self, limits: Limits, lam_b: float, lam_c: float) -> float:
        """Upper bound on the merchant's total gain for any prices lam_b, lam_c >= 0."""
        lam_b = lam_b if math.isfinite(limits.budget) else 0.0
        lam_c = lam_c if math.isfinite(limits.space) else 0.0
        n = self.respond(lam_b, lam_c)
        b0, c0 = self.required_usage()
        total = (lam_b * (limits.budget - b0) if lam_b else 0.0) + (
            lam_c * (limits.space - c0) if lam_c else 0.0
        )
        price = lam_b * self.w + lam_c * self.u
        return total + float((self.gain(n) - price * (n - self.base)).sum())

    # ---- prices -----------------------------------------------------------------------

    def prices(self, limits: Limits) -> tuple[float, float]:
        """Smallest prices (lam_b, lam_c) whose best responses fit the limits: the LP duals.

        One limit: bisection on its price. Both: for each space price the smallest budget price
        that fits the budget, and bisection on the space price until the space fits too (the
        space used at the inner optimum does not grow with the space price).
        """

        def fits(lam_b: float, lam_c: float) -> bool:
            return limits.fits(*self.usage(self.respond(lam_b, lam_c)))

        if not len(self) or fits(0.0, 0.0):
            return 0.0, 0.0
        has_b = math.isfinite(limits.budget) and bool((self.w > 0).any())
        has_c = math.isfinite(limits.space) and bool((self.u > 0).any())

        def budget_fits(lam_b: float, lam_c: float) -> bool:
            cost, _ = self.usage(self.respond(lam_b, lam_c))
            return cost <= limits.budget + eps(limits.budget)

        def inner(lam_c: float) -> float:
            if not has_b:
                return 0.0
            return _smallest(lambda lam: budget_fits(lam, lam_c), self._top_price(self.w))

        if not has_c:
            return inner(0.0), 0.0

        def space_fits(lam_c: float) -> bool:
            _, volume = self.usage(self.respond(inner(lam_c), lam_c))
            return volume <= limits.space + eps(limits.space)

        lam_c = _smallest(space_fits, self._top_price(self.u))
        return inner(lam_c), lam_c

    def _top_price(self, weight: np.ndarray) -> float:
        """A price per unit of `weight` at which no segment of a weighted SKU pays."""
        owner_w = np.repeat(weight, np.diff(self.seg_start))
        ok = owner_w > 0
        if not ok.any():
            return 1.0
        return float(np.max(self.slope[ok] / owner_w[ok])) * (1 + 1e-9) + 1e-12

    # ---- integral plans ---------------------------------------------------------------

    def polish(self, n: np.ndarray, limits: Limits) -> np.ndarray:
        """Raise orders into the slack with the true curves, best gain per share of the limits
        first; each step moves one SKU to the largest order the slack allows (its gain does not
        fall up to `top`)."""
        n = n.copy()
        share = _share(self.w, self.u, limits)
        for _ in range(len(self)):
            cost, volume = self.usage(n)
            room = np.minimum(
                _afford_all(limits.budget - cost, self.w, limits.budget),
                _afford_all(limits.space - volume, self.u, limits.space),
            )
            new = np.minimum(self.top, n + room)
            ok = (new > n) & (new >= self.first)
            if not ok.any():
                return n
            delta = np.where(ok, self.gain(np.where(ok, new, n)) - self.gain(n), 0.0)
            ok &= delta > TOL
            if not ok.any():
                return n
            used = (new - n) * share
            score = np.where(ok, np.where(used > 0, delta / np.maximum(used, 1e-300), np.inf), -1)
            j = int(np.argmax(score))
            n[j] = new[j]
        return n

    def repair(self, n: np.ndarray, limits: Limits) -> np.ndarray:
        """Cut packs (least gain lost per share freed first) until the plan fits the limits."""
        n = n.copy()
        share = _share(self.w, self.u, limits)
        while not limits.fits(*self.usage(n)):
            down = np.where(n - 1 >= self.first, n - 1, np.where(self.required, n, 0))
            ok = down < n
            if not ok.any():
                break
            loss = self.gain(n) - self.gain(np.where(ok, down, n))
            score = np.where(ok, loss / np.maximum((n - down) * share, TOL), np.inf)
            j = int(np.argmin(score))
            n[j] = down[j]
        return n


def _envelope(g: np.ndarray, lo: int, required: bool) -> tuple[np.ndarray, np.ndarray]:
    """(slopes per pack, lengths in packs) of the concave envelope of gain over the range.

    `g` holds gain(n) for n = lo..top. Required SKUs and SKUs without an MOQ jump follow the
    curve's own (non-increasing) steps from lo; an MOQ jump is bridged from 0 to the pack count
    n* that maximises gain(n) / n.
    """
    steps = np.minimum.accumulate(np.diff(g)) if g.size > 1 else np.zeros(0)
    if required or lo == 0:
        return steps, np.ones(steps.size, dtype=np.int64)
    n = np.arange(lo, lo + g.size)
    ratio = g / n
    star = int(np.argmax(ratio))
    slopes = np.concatenate([[ratio[star]], steps[star:]])
    lengths = np.concatenate([[lo + star], np.ones(steps.size - star, dtype=np.int64)])
    return slopes, lengths.astype(np.int64)


def _smallest(fits, hi: float) -> float:
    """Smallest price in [0, hi] at which `fits` holds (fits is monotone; fits(hi) holds)."""
    if fits(0.0):
        return 0.0
    lo = 0.0
    while not fits(hi):
        if hi > 1e30:
            return hi
        lo, hi = hi, hi * 2.0
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        if hi - lo <= 1e-12 * hi or mid <= lo or mid >= hi:
            break
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def _share(w: np.ndarray, u: np.ndarray, limits: Limits) -> np.ndarray:
    """Share of the merchant's limits one pack of each SKU uses."""
    b = 1.0 / limits.budget if 0 < limits.budget < math.inf else 0.0
    c = 1.0 / limits.space if 0 < limits.space < math.inf else 0.0
    return b * w + c * u


def _afford_all(left: float, per_pack: np.ndarray, limit: float) -> np.ndarray:
    if math.isinf(left):
        return np.full(per_pack.shape, 2**62, dtype=np.int64)
    room = np.floor((left + eps(limit)) / np.where(per_pack > 0, per_pack, 1.0))
    return np.where(per_pack > 0, np.maximum(room, 0), 2**62).astype(np.int64)
