"""Per-SKU order-profit curves: expected profit as a function of the case packs ordered.

Built from demandmatch.optimise.outcomes' stock model, so the order's arrival, shelf life,
returns, salvage and the pooled stock of a SKU's streams are in them. The profit of n packs is
concave in n from the first order on (ordered units are placed one at a time, each where it
adds the most), which is what the Lagrangian and the MIP rely on. A service level (minimum fill
rate) turns into a fewest number of packs; fill rate is measured at the profit-best split of
the stock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from demandmatch.optimise.ranking import Keep, Ranked, rank_units
from demandmatch.optimise.stock import SkuStreams, StockCurve, stock_curve
from demandmatch.optimise.types import PlanInputs

TOL = 1e-9


@dataclass(frozen=True, eq=False)
class SkuCurve:
    """Expected profit and sales of one SKU as functions of the number of case packs ordered."""

    on_hand: int
    case_pack: int
    n_min: int  # ceil(moq / case_pack): fewest packs of a non-zero order
    unit_cost: float
    pack_cost: float
    pack_volume: float  # 0 when the unit volume is unknown
    stock: StockCurve
    cum: np.ndarray  # [0, cumsum(stock.inc)]
    sales_cum: np.ndarray  # [0, cumsum(stock.sales_inc)]
    streams: SkuStreams
    salvage_value: float  # what a leftover is worth when it keeps
    memo: dict = field(default_factory=dict, repr=False)

    @property
    def useful_units(self) -> int:
        """Ordered units that add more than their salvage value."""
        return len(self.cum) - 1

    @property
    def lo(self) -> int:
        """Start of the ordering range: n_min when the MOQ forces a jump, else 0."""
        return self.n_min if self.n_min > 1 else 0

    @property
    def first(self) -> int:
        """Fewest packs of a non-zero order."""
        return max(self.n_min, 1)

    def value(self, q: np.ndarray | int) -> np.ndarray:
        """Expected value of sales and leftovers with q units ordered (before their cost)."""
        q = np.asarray(q, dtype=np.int64)
        s = self.stock
        return s.head + s.salvage_ordered * q + self.cum[np.minimum(q, self.useful_units)]

    def profit(self, n: np.ndarray | int) -> np.ndarray:
        """f(n): expected profit with n packs ordered."""
        n = np.asarray(n, dtype=np.int64)
        q = self.case_pack * n
        return self.value(q) - self.pack_cost * n

    def sales(self, n: np.ndarray | int) -> np.ndarray:
        q = self.case_pack * np.asarray(n, dtype=np.int64)
        return self.stock.sales_head + self.sales_cum[np.minimum(q, self.useful_units)]

    @cached_property
    def own_best(self) -> int:
        """The profit-best order on its own, in packs (0 when no order pays)."""
        top, gain = self._peak(self.lo)
        return top if top >= self.first and gain > TOL else 0

    def peak(self, lo: int) -> int:
        """Smallest maximiser of f over n >= lo (f is concave there).

        Never more packs than it takes to place every useful unit: when salvage is at or above
        cost, buying beyond that would pay without bound, and the plan does not speculate on
        salvage.
        """
        return self._peak(lo)[0]

    def _peak(self, lo: int) -> tuple[int, float]:
        """(peak from lo, f(peak) - f(0))."""
        u = self.useful_units
        top = max(lo, -(-u // self.case_pack))
        q = self.case_pack * np.arange(lo, top + 1)
        f = self.cum[np.minimum(q, u)] + (self.stock.salvage_ordered - self.unit_cost) * q
        stop = np.flatnonzero(np.diff(f) <= TOL)
        k = int(stop[0]) if stop.size else len(f) - 1
        return lo + k, float(f[k])

    def gains(self, lo: int, top: int) -> np.ndarray:
        """f(n) - f(0) for n = lo..top (kept: the solves of a merchant share it)."""
        key = ("gains", lo, top)
        if key not in self.memo:
            q = self.case_pack * np.arange(lo, top + 1)
            u = self.useful_units
            self.memo[key] = (
                self.cum[np.minimum(q, u)] + (self.stock.salvage_ordered - self.unit_cost) * q
            )
        return self.memo[key]

    def packs_for_fill(self, target: float) -> int | None:
        """Fewest packs whose fill rate reaches `target` (0 when stock on hand does), or None
        when no order can (streams an order arrives too late for or its units expire before)."""
        need = target * self.stock.demand - self.stock.sales_head
        if need <= TOL * max(1.0, self.stock.demand):
            return 0
        sales = self.sales_cum[1:]
        at = int(np.searchsorted(sales, need - TOL * max(1.0, self.stock.demand), side="left"))
        if at >= sales.size:
            return None
        return -(-(at + 1) // self.case_pack)

    def best_unit_margin(self) -> float:
        """Expected profit of the single most promising ordered unit bought into empty stock."""
        v = self.streams.salvage[1]
        best = max((float(m[0]) for m in self.streams.marginals(1) if m.size), default=0.0)
        return max(best, 0.0) + v - self.unit_cost


def unexpired(st: SkuStreams, salvage: float) -> SkuStreams:
    """The same streams as if the SKU kept: stock on hand reaches every stream, an order every
    stream after its arrival, and leftovers are worth salvage."""
    every = np.ones(len(st.price), dtype=bool)
    arrived = every if st.arrived is None else st.arrived
    return SkuStreams(
        st.price, st.rate, st.survival, (salvage, salvage), (every, arrived), st.arrived
    )


def expires(st: SkuStreams, salvage: float) -> bool:
    """Shelf life cuts the SKU: a leftover loses its salvage value, or a unit expires before a
    stream it could otherwise be sold in."""
    arrived = True if st.arrived is None else st.arrived
    return st.salvage[1] < salvage or bool((~st.sellable[1] & arrived).any())


def column(frame: pd.DataFrame, name: str, default: object) -> np.ndarray:
    return frame[name].to_numpy() if name in frame.columns else np.full(len(frame), default)


def make_curve(row: dict, st: SkuStreams, stock: StockCurve | None = None) -> SkuCurve:
    """A SkuCurve from one skus row (case_pack, moq, unit_cost, on_hand, unit_volume_l) and
    its StockCurve (computed in full when not given)."""
    cp, on_hand = int(row["case_pack"]), int(row["on_hand"])
    cost = float(row["unit_cost"])
    vol = float(row.get("unit_volume_l", math.nan))
    stock = stock_curve(st, on_hand) if stock is None else stock
    return SkuCurve(
        on_hand=on_hand,
        case_pack=cp,
        n_min=int(-(-int(row["moq"]) // cp)),
        unit_cost=cost,
        pack_cost=cost * cp,
        pack_volume=0.0 if math.isnan(vol) else vol * cp,
        stock=stock,
        cum=np.concatenate([[0.0], np.cumsum(stock.inc)]),
        sales_cum=np.concatenate([[0.0], np.cumsum(stock.sales_inc)]),
        streams=st,
        salvage_value=float(row["salvage_value"]),
    )


def build_curves(
    inputs: PlanInputs, full: np.ndarray, demand: np.ndarray
) -> tuple[list[SkuCurve], Ranked]:
    """Per skus row, its order-profit curve (`full` where a service level needs all of it),
    and the ranked units of the pooled SKUs (for their allocation).

    Unless full, a curve stops one pack past the last unit that earns its cost (and past the
    MOQ's pack count): no plan orders beyond.
    """
    skus, streams, on_hand = inputs.skus, inputs.streams, inputs.on_hand
    cp = skus["case_pack"].to_numpy(dtype=np.int64)
    cost = skus["unit_cost"].to_numpy(dtype=float)
    n_min = -(-skus["moq"].to_numpy(dtype=np.int64) // cp)
    floor = cost - inputs.salvage[1]
    pooled = inputs.pooled
    ranked = rank_units(inputs, Keep(floor, (n_min + 1) * cp, cp, full), pooled)
    rows = skus[["case_pack", "moq", "unit_cost", "on_hand", "salvage_value"]].assign(
        unit_volume_l=column(skus, "unit_volume_l", np.nan).astype(float)
    )
    out = []
    for i, (row, st) in enumerate(zip(rows.to_dict("records"), streams, strict=True)):
        if pooled[i]:
            units = ranked.units(i)
            value, sales = ranked.value[units], ranked.sales[units]
            n0 = min(int(on_hand[i]), value.size)
            stock = StockCurve(
                head=st.salvage[0] * int(on_hand[i]) + float(value[:n0].sum()),
                inc=value[n0:],
                sales_head=float(sales[:n0].sum()),
                sales_inc=sales[n0:],
                salvage_ordered=st.salvage[1],
                demand=float(demand[i]),
            )
        elif full[i]:
            stock = stock_curve(st, int(on_hand[i]))
        else:
            stock = stock_curve(
                st, int(on_hand[i]), floor[i], int((n_min[i] + 1) * cp[i]), int(cp[i])
            )
        out.append(make_curve(row, st, stock))
    return out, ranked
