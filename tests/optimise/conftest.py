"""Instances and the brute-force oracle shared by the optimiser's tests.

The oracle knows nothing of demandmatch.optimise: from each stream's probability mass function
it tabulates the contract's profit of every split of a SKU's stock (a0 on-hand units sold first,
then a1 ordered units; ordered units only in streams that start at or after the order's arrival,
any unit only before it expires; an expired leftover is worth nothing), finds the best split of
every stock by a dynamic programme over the streams, and enumerates every order vector within
the merchant's budget and space.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandmatch.optimise import OptimiserSettings, PlanResult, plan_orders

T0 = pd.Timestamp("2024-05-01 00:00", tz="UTC")


def day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


# ---- demand -----------------------------------------------------------------------------


def survival(pmf: np.ndarray) -> np.ndarray:
    """P(D >= u), u = 1.., from P(D = d), d = 0.."""
    return np.cumsum(pmf[::-1])[::-1][1:]


def poisson_pmf(mu: float, top: int) -> np.ndarray:
    d = np.arange(top + 1)
    p = np.exp(-mu) * mu**d / np.array([math.factorial(int(k)) for k in d])
    return p / p.sum()


def negbin_pmf(mean: float, size: float, top: int) -> np.ndarray:
    prob = size / (size + mean)
    d = np.arange(top + 1)
    logp = (
        np.array([math.lgamma(k + size) - math.lgamma(size) - math.lgamma(k + 1) for k in d])
        + size * math.log(prob)
        + d * math.log(1 - prob)
    )
    p = np.exp(logp)
    return p / p.sum()


def uniform_pmf(lo: int, hi: int) -> np.ndarray:
    p = np.zeros(hi + 1)
    p[lo : hi + 1] = 1.0 / (hi - lo + 1)
    return p


def random_pmf(rng: np.random.Generator, top: int = 12) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:
        return poisson_pmf(float(rng.uniform(0.5, top / 2)), top)
    if kind == 1:
        return negbin_pmf(float(rng.uniform(1.0, top / 2.4)), float(rng.uniform(0.7, 4.0)), top)
    lo = int(rng.integers(0, 4))
    return uniform_pmf(lo, int(rng.integers(lo, top - 1)))


def stream_sales(pmf: np.ndarray, a: int) -> float:
    return float(sum(p * min(d, a) for d, p in enumerate(pmf)))


# ---- instances --------------------------------------------------------------------------


@dataclass
class Instance:
    items: pd.DataFrame
    skus: pd.DataFrame
    merchants: pd.DataFrame
    pmfs: list[np.ndarray]  # per items row, P(D = d) for d = 0..len-1

    @property
    def survival(self) -> list[np.ndarray]:
        return [survival(p) for p in self.pmfs]

    def inputs(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[np.ndarray]]:
        return self.items, self.skus, self.merchants, self.survival


def random_instance(
    seed: int,
    n_skus: int | None = None,
    budget_share: float | None = None,
    capacity_share: float | None = None,
    late_share: float = 0.3,
    perishable: bool = False,
) -> Instance:
    """1-3 SKUs of one merchant, 1-3 streams each a day apart, small supports, packs, MOQs and
    limits. A share `late_share` of the SKUs has an order that arrives between two of its
    streams or after the last; `perishable` adds expiry dates that cut streams and salvage."""
    rng = np.random.default_rng(seed)
    n_skus = n_skus or int(rng.integers(1, 4))
    items, skus, pmfs = [], [], []
    for i in range(n_skus):
        cost = float(rng.uniform(3, 15))
        k = int(rng.integers(1, 4))
        arrives = float(rng.uniform(0.5, k + 0.5)) if rng.random() < late_share else math.nan
        row = {
            "merchant_id": "m1",
            "sku_id": f"k{i}",
            "unit_cost": round(cost, 2),
            "salvage_value": round(float(rng.uniform(0, 0.6 * cost)), 2),
            "on_hand": int(rng.integers(0, 5)),
            "case_pack": int(rng.integers(1, 4)),
            "moq": int(rng.choice([0, 0, 2, 4, 6])),
            "unit_volume_l": float(rng.choice([0.5, 1.0, 2.0, np.nan])),
            "order_arrives_at": pd.NaT if math.isnan(arrives) else day(arrives),
        }
        if perishable:
            keeps = float(rng.choice([np.nan, rng.uniform(1, 4)]))
            start = 0.0 if math.isnan(arrives) else arrives
            row["order_expires_at"] = pd.NaT if math.isnan(keeps) else day(start + keeps)
            row["on_hand_expires_at"] = (
                pd.NaT if math.isnan(keeps) else day(float(rng.uniform(0.5, keeps + 0.5)))
            )
            row["salvage_at"] = day(float(rng.uniform(1, 5)))
        skus.append(row)
        for j in range(k):
            items.append(
                {
                    "stream_id": f"s{j}",
                    "sku_id": f"k{i}",
                    "merchant_id": "m1",
                    "start_time": day(j),
                    "live_price": round(float(rng.uniform(0.8, 3.0) * cost), 2),
                    "return_rate": round(float(rng.choice([0.0, rng.uniform(0, 0.5)])), 3),
                }
            )
            pmfs.append(random_pmf(rng, 8 if perishable else 12))
    skus_df = pd.DataFrame(skus)
    if budget_share is None:
        budget_share = float(rng.choice([np.nan, 0.3, 0.6, 1.0]))
    if capacity_share is None:
        capacity_share = float(rng.choice([np.nan, 0.5, 1.0, 1.5]))
    demand_units = sum(p.size for p in pmfs)
    budget = budget_share * float(skus_df["unit_cost"].mean()) * demand_units / 2
    held = float((skus_df["unit_volume_l"].fillna(0) * skus_df["on_hand"]).sum())
    capacity = held + capacity_share * demand_units / 2
    merchants = pd.DataFrame({"merchant_id": ["m1"], "budget": [budget], "capacity_l": [capacity]})
    return Instance(pd.DataFrame(items), skus_df, merchants, pmfs)


def newsvendor(
    cost: float = 8.0,
    case_pack: int = 1,
    moq: int = 0,
    on_hand: int = 0,
    budget: float = np.nan,
    arrives: float | None = None,
) -> Instance:
    """One stream on day 0, D uniform on 0..9, price 20, salvage 2, 10% returns; an order
    arrives on day `arrives` (None: at once)."""
    items = pd.DataFrame(
        {
            "stream_id": ["s1"],
            "sku_id": ["k"],
            "merchant_id": ["m1"],
            "start_time": [day(0)],
            "live_price": [20.0],
            "return_rate": [0.1],
        }
    )
    skus = pd.DataFrame(
        {
            "merchant_id": ["m1"],
            "sku_id": ["k"],
            "unit_cost": [cost],
            "salvage_value": [2.0],
            "on_hand": [on_hand],
            "case_pack": [case_pack],
            "moq": [moq],
            "unit_volume_l": [1.0],
            "order_arrives_at": [pd.NaT if arrives is None else day(arrives)],
        }
    )
    merchants = pd.DataFrame({"merchant_id": ["m1"], "budget": [budget], "capacity_l": [np.nan]})
    return Instance(items, skus, merchants, [uniform_pmf(0, 9)])


def poisson_survival(mu: float) -> np.ndarray:
    top = int(mu + 8 * math.sqrt(mu) + 10)
    k = np.arange(top + 1)
    logp = k * math.log(mu) - mu - np.array([math.lgamma(x + 1) for x in k])
    pmf = np.exp(logp)
    return survival(pmf / pmf.sum())


def many_skus(
    seed: int,
    n: int = 60,
    budget_share: float | None = 0.3,
    capacity_share: float | None = 0.4,
    equal_cost: bool = False,
    late_share: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[np.ndarray]]:
    """(items, skus, merchants, survival): one merchant with n SKUs in 1-4 streams a day apart
    (Poisson demand, means 2-30), packs, MOQs, returns, salvage and stock on hand; budget and
    space as shares of the mean demand; a share `late_share` of the orders arrives mid-way."""
    rng = np.random.default_rng(seed)
    cost = np.full(n, 10.0) if equal_cost else np.round(rng.uniform(3, 40, n), 2)
    skus = pd.DataFrame(
        {
            "merchant_id": "m",
            "sku_id": [f"k{i}" for i in range(n)],
            "unit_cost": cost,
            "salvage_value": np.round(cost * rng.uniform(0, 0.4, n), 2),
            "on_hand": np.where(rng.random(n) < 0.3, rng.integers(0, 10, n), 0),
            "case_pack": 1 if equal_cost else rng.choice([1, 1, 2, 6, 12], n),
            "moq": 0 if equal_cost else rng.choice([0, 0, 0, 12, 30], n),
            "unit_volume_l": np.round(rng.uniform(0.2, 3.0, n), 2),
        }
    )
    items, surv = [], []
    means = np.zeros(n)
    for i in range(n):
        for k in range(int(rng.integers(1, 5))):
            mu = float(rng.uniform(2, 30))
            means[i] += mu
            items.append(
                {
                    "stream_id": f"s{k}",
                    "sku_id": f"k{i}",
                    "merchant_id": "m",
                    "start_time": day(k),
                    "live_price": round(float(cost[i] * rng.uniform(1.2, 3.0)), 2),
                    "return_rate": round(float(rng.uniform(0, 0.4)), 3),
                }
            )
            surv.append(poisson_survival(mu))
    if late_share > 0:
        late = rng.random(n) < late_share
        skus["order_arrives_at"] = pd.Series(
            [day(float(rng.uniform(0.2, 3.5))) if x else pd.NaT for x in late], dtype=object
        ).astype("datetime64[ns, UTC]")
    budget = budget_share * float(means @ cost) if budget_share is not None else np.nan
    capacity = (
        float(skus["on_hand"] @ skus["unit_volume_l"])
        + capacity_share * float(means @ skus["unit_volume_l"])
        if capacity_share is not None
        else np.nan
    )
    merchants = pd.DataFrame({"merchant_id": ["m"], "budget": [budget], "capacity_l": [capacity]})
    return pd.DataFrame(items), skus, merchants, surv


def run(inst: Instance, **kw: object) -> PlanResult:
    return plan_orders(*inst.inputs(), OptimiserSettings(**kw))


# ---- the oracle -------------------------------------------------------------------------


@dataclass(frozen=True)
class Batches:
    """One SKU as the contract states it: its items rows, where each batch can be sold and
    what each batch's leftovers are worth."""

    rows: np.ndarray
    ok0: np.ndarray  # per stream, on-hand units can be sold there
    ok1: np.ndarray  # per stream, ordered units can be sold there
    v0: float
    v1: float


def _at(s: pd.Series, col: str) -> pd.Timestamp:
    return s[col] if col in s.index else pd.NaT


def batches(inst: Instance, sku: int) -> Batches:
    s = inst.skus.iloc[sku]
    rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
    starts = inst.items["start_time"].iloc[rows]
    e0, e1 = _at(s, "on_hand_expires_at"), _at(s, "order_expires_at")
    arrives, at = _at(s, "order_arrives_at"), _at(s, "salvage_at")
    if pd.notna(e0) and pd.notna(e1):
        e0 = min(e0, e1)
    elif pd.notna(e1):
        e0 = e1
    ok0 = np.ones(rows.size, bool) if pd.isna(e0) else (starts < e0).to_numpy()
    ok1 = np.ones(rows.size, bool) if pd.isna(e1) else (starts < e1).to_numpy()
    if pd.notna(arrives):
        ok1 &= (starts >= arrives).to_numpy()
    v = float(s["salvage_value"])
    v0 = v if pd.isna(e0) or pd.isna(at) or e0 > at else 0.0
    v1 = v if pd.isna(e1) or pd.isna(at) or e1 > at else 0.0
    return Batches(rows, ok0, ok1, v0, v1)


def split_value(pmf, price, rate, v0, v1, a0, a1) -> float:
    """One stream's expected kept revenue less the salvage its sales use up, for a0 on-hand
    units offered first and a1 ordered units after them, summed over every demand d."""
    d = np.arange(pmf.size)
    s, s0 = np.minimum(d, a0 + a1), np.minimum(d, a0)
    kept, kept0 = (1 - rate) * s, (1 - rate) * s0
    return float(pmf @ (price * kept - v0 * kept0 - v1 * (kept - kept0)))


def stream_table(pmf, price, rate, v0, v1, ok0, ok1, n0, q) -> np.ndarray:
    """T[a0, a1] = split_value of one stream (-inf where a batch cannot be sold)."""
    table = np.full((n0 + 1, q + 1), -np.inf)
    for a0 in range(n0 + 1 if ok0 else 1):
        for a1 in range(q + 1 if ok1 else 1):
            table[a0, a1] = split_value(pmf, price, rate, v0, v1, a0, a1)
    return table


def best_split_table(pmfs, price, rate, v0, v1, ok0, ok1, n0, q) -> np.ndarray:
    """B[u0, u1]: the best expected value above salvage of placing exactly u0 on-hand and u1
    ordered units over the streams, every split tried (a dynamic programme over streams)."""
    best = np.full((n0 + 1, q + 1), -np.inf)
    best[0, 0] = 0.0
    for k, pmf in enumerate(pmfs):
        t = stream_table(pmf, price[k], rate[k], v0, v1, ok0[k], ok1[k], n0, q)
        nxt = np.full_like(best, -np.inf)
        for u0, u1 in itertools.product(range(n0 + 1), range(q + 1)):
            if best[u0, u1] == -np.inf:
                continue
            cand = best[u0, u1] + t[: n0 + 1 - u0, : q + 1 - u1]
            view = nxt[u0:, u1:]
            np.maximum(view, cand, out=view)
        best = nxt
    return best


def best_split_value(pmfs, price, rate, v0, v1, ok0, ok1, n0, q) -> float:
    """Best expected value (sales plus leftovers) of n0 on-hand and q ordered units."""
    best = best_split_table(pmfs, price, rate, v0, v1, ok0, ok1, n0, q)
    return float(best.max()) + v0 * n0 + v1 * q


def order_values(inst: Instance, sku: int, top: int | None = None) -> dict[int, float]:
    """Expected profit of the SKU's best split for every order the rules allow (0, or whole
    packs of at least the MOQ, up to `top` units: by default the streams' whole support)."""
    s, b = inst.skus.iloc[sku], batches(inst, sku)
    cp, n0 = int(s["case_pack"]), int(s["on_hand"])
    top = sum(inst.pmfs[r].size for r in b.rows) + cp if top is None else top
    qs = [0] + [q for q in range(cp, top + 1, cp) if q >= s["moq"]]
    price = inst.items["live_price"].to_numpy()[b.rows]
    rate = inst.items["return_rate"].to_numpy()[b.rows]
    pmfs = [inst.pmfs[r] for r in b.rows]
    table = best_split_table(pmfs, price, rate, b.v0, b.v1, b.ok0, b.ok1, n0, max(qs))
    best_by_q = np.maximum.accumulate(table.max(axis=0))
    cost = float(s["unit_cost"])
    return {q: float(best_by_q[q]) + b.v0 * n0 + (b.v1 - cost) * q for q in qs}


def brute_force(inst: Instance) -> tuple[float, list[tuple[int, ...]], float]:
    """(best total profit, every optimal order vector, best profit among the others) over
    every order vector within the merchant's budget and space (nothing is ordered when the
    stock on hand already overflows the space)."""
    skus, m = inst.skus, inst.merchants.iloc[0]
    vol = skus["unit_volume_l"].fillna(0).to_numpy() if "unit_volume_l" in skus else None
    vol = np.zeros(len(skus)) if vol is None else vol
    on_hand = skus["on_hand"].to_numpy()
    capacity = m.get("capacity_l", np.nan)
    budget = m.get("budget", np.nan)
    over = not np.isnan(capacity) and (vol * on_hand).sum() > capacity
    values = [order_values(inst, i, 0 if over else None) for i in range(len(skus))]
    cost = skus["unit_cost"].to_numpy()
    scored = []
    for qs in itertools.product(*(sorted(v) for v in values)):
        q = np.array(qs)
        if not np.isnan(budget) and (cost * q).sum() > budget:
            continue
        if not over and not np.isnan(capacity) and (vol * (on_hand + q)).sum() > capacity:
            continue
        scored.append((sum(v[x] for v, x in zip(values, qs, strict=True)), qs))
    best = max(s for s, _ in scored)
    argmax = [qs for s, qs in scored if s >= best - 1e-9]
    rest = [s for s, _ in scored if s < best - 1e-9]
    return best, argmax, max(rest, default=-math.inf)


def direct_profit(inst: Instance, sku: int, q: int, a0: list[int], a1: list[int]) -> float:
    """Contract profit of one SKU for an order q and a per-stream split (items order) of its
    on-hand (a0, sold first) and ordered (a1) units."""
    s, b = inst.skus.iloc[sku], batches(inst, sku)
    n0 = int(s["on_hand"])
    assert sum(a0) <= n0 and sum(a1) <= q
    value = b.v0 * n0 + b.v1 * q - float(s["unit_cost"]) * q
    for k, r in enumerate(b.rows):
        assert b.ok0[k] or a0[k] == 0, "on-hand units where they cannot be sold"
        assert b.ok1[k] or a1[k] == 0, "ordered units where they cannot be sold"
        it = inst.items.iloc[r]
        p, rate = it["live_price"], it["return_rate"]
        value += split_value(inst.pmfs[r], p, rate, b.v0, b.v1, a0[k], a1[k])
    return value


def plan_profit(inst: Instance, result: PlanResult) -> float:
    """The optimiser's plan (orders and its split of every stream's units) scored by the
    contract's formula."""
    total = 0.0
    alloc = result.allocation
    for i in range(len(inst.skus)):
        rows = batches(inst, i).rows
        a0 = alloc["from_on_hand"].to_numpy()[rows].tolist()
        a1 = alloc["from_order"].to_numpy()[rows].tolist()
        total += direct_profit(inst, i, int(result.plan["order_qty"].iloc[i]), a0, a1)
    return total


def assert_feasible(inst: Instance, result: PlanResult) -> None:
    """Packs, MOQ, budget, space, stock, and no unit where its batch cannot be sold."""
    plan, skus, m = result.plan, inst.skus, inst.merchants.iloc[0]
    q = plan["order_qty"].to_numpy()
    assert (q % skus["case_pack"].to_numpy() == 0).all()
    assert ((q == 0) | (q >= skus["moq"].to_numpy())).all()
    if not np.isnan(m["budget"]):
        assert (skus["unit_cost"].to_numpy() * q).sum() <= m["budget"] + 1e-6
    vol = skus["unit_volume_l"].fillna(0).to_numpy()
    held = (vol * skus["on_hand"].to_numpy()).sum()
    if not np.isnan(m["capacity_l"]) and held <= m["capacity_l"]:
        assert (vol * (skus["on_hand"].to_numpy() + q)).sum() <= m["capacity_l"] + 1e-6
    alloc = result.allocation
    assert (alloc["allocated_units"] == alloc["from_on_hand"] + alloc["from_order"]).all()
    for i in range(len(skus)):
        b = batches(inst, i)
        a0 = alloc["from_on_hand"].to_numpy()[b.rows]
        a1 = alloc["from_order"].to_numpy()[b.rows]
        assert a0.sum() <= skus["on_hand"].iloc[i] and a1.sum() <= q[i]
        assert not (a0 > 0)[~b.ok0].any() and not (a1 > 0)[~b.ok1].any()
