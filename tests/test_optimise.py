"""The purchase optimiser and the outcome model, against brute force and hand-computed answers.

The brute force here is independent of demandmatch.outcomes: it works from probability mass
functions, enumerates every order vector and every allocation, and computes profit the way the
contract states it (price times units kept, salvage times units left, less the purchase cost).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.linear_solver import pywraplp

from demandmatch import optimise
from demandmatch.data.schema import ALLOCATION_COLUMNS, PLAN_COLUMNS
from demandmatch.optimise import (
    OptimiserError,
    OptimiserSettings,
    interpret_status,
    merchant,
    mip,
    plan_orders,
)
from demandmatch.outcomes import (
    OUTCOME_COLUMNS,
    allocate,
    best_allocation,
    expected_outcomes,
    stream_marginals,
)

# ---- instances --------------------------------------------------------------------------


@dataclass
class Instance:
    items: pd.DataFrame
    skus: pd.DataFrame
    merchants: pd.DataFrame
    pmfs: list[np.ndarray]  # per items row, P(D = d) for d = 0..len-1

    @property
    def survival(self) -> list[np.ndarray]:
        return [np.cumsum(p[::-1])[::-1][1:] for p in self.pmfs]


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


def random_pmf(rng: np.random.Generator) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:
        return poisson_pmf(float(rng.uniform(0.5, 6.0)), 12)
    if kind == 1:
        return negbin_pmf(float(rng.uniform(1.0, 5.0)), float(rng.uniform(0.7, 4.0)), 12)
    lo = int(rng.integers(0, 4))
    return uniform_pmf(lo, int(rng.integers(lo, 11)))


def random_instance(
    seed: int,
    n_skus: int | None = None,
    budget_share: float | None = None,
    capacity_share: float | None = None,
    allow_closed: bool = True,
) -> Instance:
    """1-3 SKUs of one merchant, 1-3 streams each, small supports, packs, MOQs and limits."""
    rng = np.random.default_rng(seed)
    n_skus = n_skus or int(rng.integers(1, 4))
    items, skus, pmfs = [], [], []
    for i in range(n_skus):
        cost = float(rng.uniform(3, 15))
        skus.append(
            {
                "merchant_id": "m1",
                "sku_id": f"k{i}",
                "unit_cost": round(cost, 2),
                "salvage_value": round(float(rng.uniform(0, 0.6 * cost)), 2),
                "on_hand": int(rng.integers(0, 5)),
                "case_pack": int(rng.integers(1, 4)),
                "moq": int(rng.choice([0, 0, 2, 4, 6])),
                "unit_volume_l": float(rng.choice([0.5, 1.0, 2.0, np.nan])),
                "orderable": bool(rng.random() > 0.1) if allow_closed else True,
            }
        )
        for k in range(int(rng.integers(1, 4))):
            items.append(
                {
                    "stream_id": f"s{k}",
                    "sku_id": f"k{i}",
                    "merchant_id": "m1",
                    "start_time": pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(days=k),
                    "live_price": round(float(rng.uniform(0.8, 3.0) * cost), 2),
                    "return_rate": round(float(rng.choice([0.0, rng.uniform(0, 0.5)])), 3),
                }
            )
            pmfs.append(random_pmf(rng))
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


# ---- brute force, straight from the pmf -------------------------------------------------


def stream_sales(pmf: np.ndarray, a: int) -> float:
    return float(sum(p * min(d, a) for d, p in enumerate(pmf)))


def direct_profit(inst: Instance, sku: int, q: int, alloc: list[int]) -> float:
    """Contract profit of one SKU for an order q and per-stream allocation (in items order)."""
    s = inst.skus.iloc[sku]
    rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
    stock = int(s["on_hand"]) + q
    assert sum(alloc) <= stock
    revenue, sold, back = 0.0, 0.0, 0.0
    for r, a in zip(rows, alloc, strict=True):
        it = inst.items.iloc[r]
        sales = stream_sales(inst.pmfs[r], a)
        returned = it["return_rate"] * sales
        revenue += it["live_price"] * (sales - returned)
        sold, back = sold + sales, back + returned
    leftover = stock - sold + back
    return revenue + s["salvage_value"] * leftover - s["unit_cost"] * q


def best_direct(inst: Instance, sku: int, q: int) -> float:
    """Best contract profit over every allocation of the SKU's stock (a full grid search)."""
    s = inst.skus.iloc[sku]
    rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
    stock = int(s["on_hand"]) + q
    sales_tables = [
        np.array([stream_sales(inst.pmfs[r], a) for a in range(min(stock, inst.pmfs[r].size) + 1)])
        for r in rows
    ]
    grids = np.meshgrid(*[np.arange(t.size) for t in sales_tables], indexing="ij")
    units = sum(grids)
    revenue, sold, back = (np.zeros(units.shape) for _ in range(3))
    for r, t, g in zip(rows, sales_tables, grids, strict=True):
        it = inst.items.iloc[r]
        sales = t[g]
        revenue += it["live_price"] * (sales - it["return_rate"] * sales)
        sold += sales
        back += it["return_rate"] * sales
    profit = revenue + s["salvage_value"] * (stock - sold + back) - s["unit_cost"] * q
    return float(profit[units <= stock].max())


def order_options(inst: Instance, sku: int) -> list[int]:
    s = inst.skus.iloc[sku]
    if not s["orderable"]:
        return [0]
    rows = inst.items["sku_id"].to_numpy() == s["sku_id"]
    top = sum(inst.pmfs[r].size for r in np.flatnonzero(rows)) + int(s["case_pack"])
    qs = range(int(s["case_pack"]), top + 1, int(s["case_pack"]))
    return [0] + [q for q in qs if q >= s["moq"]]


def brute_force(inst: Instance) -> tuple[float, list[tuple[int, ...]], float]:
    """(best total profit, every optimal order vector, best profit among the others)."""
    skus, m = inst.skus, inst.merchants.iloc[0]
    vol = skus["unit_volume_l"].fillna(0).to_numpy()
    on_hand = skus["on_hand"].to_numpy()
    over = not np.isnan(m["capacity_l"]) and (vol * on_hand).sum() > m["capacity_l"]
    options = [[0] if over else order_options(inst, i) for i in range(len(skus))]
    value = [{q: best_direct(inst, i, q) for q in opts} for i, opts in enumerate(options)]
    scored = []
    for qs in itertools.product(*options):
        q = np.array(qs)
        if not np.isnan(m["budget"]) and (skus["unit_cost"].to_numpy() * q).sum() > m["budget"]:
            continue
        limited = not over and not np.isnan(m["capacity_l"])
        if limited and (vol * (on_hand + q)).sum() > m["capacity_l"]:
            continue
        scored.append((sum(value[i][x] for i, x in enumerate(qs)), qs))
    best = max(s for s, _ in scored)
    argmax = [qs for s, qs in scored if s >= best - 1e-9]
    rest = [s for s, _ in scored if s < best - 1e-9]
    return best, argmax, max(rest, default=-math.inf)


def plan_profit(inst: Instance, result: optimise.PlanResult) -> float:
    """The optimiser's plan scored by the direct formula."""
    total = 0.0
    for i, s in inst.skus.iterrows():
        rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
        alloc = [int(result.allocation["allocated_units"].iloc[r]) for r in rows]
        total += direct_profit(inst, i, int(result.plan["order_qty"].iloc[i]), alloc)
    return total


def run(inst: Instance, **kw: object) -> optimise.PlanResult:
    return plan_orders(
        inst.items, inst.skus, inst.merchants, inst.survival, OptimiserSettings(**kw)
    )


def assert_feasible(inst: Instance, result: optimise.PlanResult) -> None:
    plan, skus, m = result.plan, inst.skus, inst.merchants.iloc[0]
    q = plan["order_qty"].to_numpy()
    assert (q % skus["case_pack"].to_numpy() == 0).all()
    assert ((q == 0) | (q >= skus["moq"].to_numpy())).all()
    assert (q[~skus["orderable"].to_numpy()] == 0).all()
    if not np.isnan(m["budget"]):
        assert (skus["unit_cost"].to_numpy() * q).sum() <= m["budget"] + 1e-6
    vol = skus["unit_volume_l"].fillna(0).to_numpy()
    held = (vol * skus["on_hand"].to_numpy()).sum()
    if not np.isnan(m["capacity_l"]) and held <= m["capacity_l"]:
        assert (vol * (skus["on_hand"].to_numpy() + q)).sum() <= m["capacity_l"] + 1e-6
    stock = plan.set_index("sku_id")["stock_after"]
    per_sku = result.allocation.groupby("sku_id")["allocated_units"].sum()
    assert (per_sku <= stock.reindex(per_sku.index)).all()


# ---- brute force ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_matches_brute_force_on_random_instances(seed: int) -> None:
    inst = random_instance(seed)
    result = run(inst)
    best, argmax, runner_up = brute_force(inst)
    assert list(result.plan.columns) == list(PLAN_COLUMNS)
    assert list(result.allocation.columns) == list(ALLOCATION_COLUMNS)
    assert_feasible(inst, result)
    got = plan_profit(inst, result)
    assert got == pytest.approx(best, abs=1e-6)
    assert result.plan["expected_profit"].sum() == pytest.approx(got, abs=1e-9)
    assert result.stats.objective == pytest.approx(best, abs=1e-6)
    assert result.stats.best_bound >= best - 1e-6
    assert tuple(result.plan["order_qty"]) in argmax
    if len(argmax) == 1 and runner_up < best - 1e-6:
        assert tuple(result.plan["order_qty"]) == argmax[0]


@pytest.mark.parametrize("seed", range(6))
def test_tight_budget_and_capacity_together(seed: int) -> None:
    inst = random_instance(100 + seed, n_skus=3, budget_share=0.4, capacity_share=0.4)
    result = run(inst)
    best, argmax, _ = brute_force(inst)
    assert_feasible(inst, result)
    assert plan_profit(inst, result) == pytest.approx(best, abs=1e-6)
    assert tuple(result.plan["order_qty"]) in argmax


@pytest.mark.parametrize("seed", range(6))
def test_thinned_breakpoints_stay_feasible_and_close(seed: int) -> None:
    inst = random_instance(200 + seed, n_skus=3, budget_share=0.5, allow_closed=False)
    inst.skus["case_pack"] = 1
    inst.skus["moq"] = [0, 3, 5]
    result = run(inst, max_breakpoints=3)
    best, _, _ = brute_force(inst)
    assert_feasible(inst, result)
    got = plan_profit(inst, result)
    assert got <= best + 1e-6
    assert got >= best - 0.02 * abs(best) - 1e-6
    assert result.stats.best_bound >= best - 1e-6
    assert result.stats.objective <= result.stats.best_bound + 1e-9


def allocation_value(price, rate, pmfs, a) -> float:
    return sum(
        (price[j] - 2.0) * (1 - rate[j]) * stream_sales(pmfs[j], a[j]) for j in range(len(a))
    )


def test_allocation_is_exact_by_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        k = int(rng.integers(1, 4))
        pmfs = [random_pmf(rng) for _ in range(k)]
        price = rng.uniform(5, 30, k)
        rate = rng.uniform(0, 0.5, k)
        surv = [np.cumsum(p[::-1])[::-1][1:] for p in pmfs]
        margs = [stream_marginals(price[j], 2.0, rate[j], surv[j]) for j in range(k)]
        stock = int(rng.integers(0, 15))
        got = best_allocation(margs, stock)
        assert got.sum() <= stock
        brute = max(
            allocation_value(price, rate, pmfs, a)
            for a in itertools.product(*(range(stock + 1) for _ in range(k)))
            if sum(a) <= stock
        )
        assert allocation_value(price, rate, pmfs, got) == pytest.approx(brute, abs=1e-9)


def test_allocation_ties_go_to_the_earlier_stream() -> None:
    same = np.array([0.9, 0.5, 0.1])
    assert list(best_allocation([same, same], 3)) == [2, 1]
    assert list(best_allocation([same, same], 100)) == [3, 3]
    assert list(best_allocation([-same, same], 5)) == [0, 3]


# ---- hand-computed answers --------------------------------------------------------------


def newsvendor(
    cost: float = 8.0,
    case_pack: int = 1,
    moq: int = 0,
    on_hand: int = 0,
    budget: float = np.nan,
    orderable: bool = True,
) -> Instance:
    """One stream, D uniform on 0..9, price 20, salvage 2, 10% returns."""
    items = pd.DataFrame(
        {
            "stream_id": ["s1"],
            "sku_id": ["k"],
            "merchant_id": ["m1"],
            "start_time": [pd.Timestamp("2024-05-01", tz="UTC")],
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
            "orderable": [orderable],
        }
    )
    merchants = pd.DataFrame({"merchant_id": ["m1"], "budget": [budget], "capacity_l": [np.nan]})
    return Instance(items, skus, merchants, [uniform_pmf(0, 9)])


def test_newsvendor_critical_fractile() -> None:
    # u-th unit is worth 18 * 0.9 * P(D >= u) = 16.2 (10 - u) / 10 against c - v = 6:
    # unit 6 earns 6.48 > 6, unit 7 earns 4.86 < 6, so stock 6.
    result = run(newsvendor())
    row = result.plan.iloc[0]
    assert row["order_qty"] == 6
    assert row["expected_sales"] == pytest.approx(3.9)
    assert row["expected_demand"] == pytest.approx(4.5)
    assert row["expected_leftover"] == pytest.approx(6 - 3.9 + 0.39)
    assert row["expected_lost_sales"] == pytest.approx(0.6)
    assert row["fill_rate"] == pytest.approx(3.9 / 4.5)
    assert row["expected_profit"] == pytest.approx(16.2 * 3.9 + 2 * 6 - 8 * 6)
    assert row["flags"] == ""
    assert result.allocation["allocated_units"].tolist() == [6]
    assert result.stats.status == "OPTIMAL"
    assert result.stats.solver == "enumeration"


def test_newsvendor_with_stock_on_hand_orders_the_difference() -> None:
    assert run(newsvendor(on_hand=4)).plan["order_qty"].iloc[0] == 2


def test_case_pack_rounds_to_the_better_pack_count() -> None:
    # 4 units: 16.2 * 3.0 + 8 - 32 = 24.6; 8 units: 16.2 * 4.4 + 16 - 64 = 23.28
    row = run(newsvendor(case_pack=4)).plan.iloc[0]
    assert row["order_qty"] == 4
    assert row["expected_profit"] == pytest.approx(24.6)


def test_moq_that_exceeds_demand_is_flagged() -> None:
    # 20 units: 16.2 * 4.5 + 40 - 160 < 0
    row = run(newsvendor(moq=20)).plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "moq_exceeds_demand"


def test_thin_margin_is_flagged() -> None:
    # the best unit earns 16.2 * 0.9 + 2 = 16.58 < 19.5
    row = run(newsvendor(cost=19.5)).plan.iloc[0]
    assert row["order_qty"] == 0
    assert row["flags"] == "no_margin"


def test_budget_cuts_the_newsvendor_and_prices_the_budget() -> None:
    # 2 units (16 yuan) fit; the 3rd unit would earn 16.2 * 0.7 - 6 = 5.34 for 8 yuan
    result = run(newsvendor(budget=20.0))
    row = result.plan.iloc[0]
    assert row["order_qty"] == 2
    assert row["flags"] == "budget_binds"
    prices = result.shadow_prices.iloc[0]
    assert bool(prices["budget_binds"]) and not bool(prices["capacity_binds"])
    assert prices["budget_shadow_price"] == pytest.approx(5.34 / 8)
    assert prices["capacity_shadow_price"] == 0.0


def test_not_orderable_orders_nothing_and_is_flagged() -> None:
    result = run(newsvendor(on_hand=3, orderable=False))
    row = result.plan.iloc[0]
    assert row["order_qty"] == 0 and row["stock_after"] == 3
    assert row["flags"] == "lead_time"


def test_capacity_exceeded_by_stock_on_hand() -> None:
    inst = newsvendor(on_hand=5)
    inst.merchants["capacity_l"] = 4.0
    result = run(inst)
    assert result.plan["order_qty"].iloc[0] == 0
    assert result.plan["flags"].iloc[0] == "capacity_exceeded"
    assert bool(result.shadow_prices["capacity_binds"].iloc[0])


def test_merchants_solve_independently_and_absent_means_no_limit() -> None:
    a, b = newsvendor(budget=20.0), newsvendor()
    b.items["merchant_id"] = "m2"
    b.skus["merchant_id"] = "m2"
    items = pd.concat([a.items, b.items], ignore_index=True)
    skus = pd.concat([a.skus, b.skus], ignore_index=True)
    result = plan_orders(items, skus, a.merchants, a.survival + b.survival)
    assert result.plan["order_qty"].tolist() == [2, 6]
    assert result.shadow_prices["merchant_id"].tolist() == ["m1", "m2"]


def test_two_streams_share_stock_by_marginal_value() -> None:
    inst = newsvendor(on_hand=6, orderable=False)
    second = inst.items.assign(stream_id="s2", live_price=11.0, return_rate=0.0)
    inst.items = pd.concat([inst.items, second], ignore_index=True)
    inst.pmfs = inst.pmfs * 2
    # stream 1 unit u: 16.2 P(D>=u) = 14.58, 12.96, 11.34, 9.72, 8.1, 6.48, ...
    # stream 2 unit u:  9.0 P(D>=u) =  8.1,  7.2,  6.3, ...
    result = run(inst)
    assert result.allocation["allocated_units"].tolist() == [5, 1]


# ---- properties -------------------------------------------------------------------------

SMALL = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@SMALL
@given(st.integers(0, 10**6), st.floats(0.05, 1.0), st.floats(1.0, 3.0))
def test_more_budget_never_lowers_profit(seed: int, share: float, more: float) -> None:
    inst = random_instance(seed, budget_share=share, capacity_share=np.nan)
    low = run(inst).stats.objective
    inst.merchants["budget"] *= more
    assert run(inst).stats.objective >= low - 1e-6


@SMALL
@given(st.integers(0, 10**6))
def test_zero_budget_orders_nothing(seed: int) -> None:
    inst = random_instance(seed, budget_share=0.0)
    assert (run(inst).plan["order_qty"] == 0).all()


@SMALL
@given(st.integers(0, 10**6), st.sampled_from([np.nan, 0.3, 1.0]), st.sampled_from([0.2, 0.7]))
def test_orders_respect_packs_moq_limits_and_lead_time(
    seed: int, budget_share: float, capacity_share: float
) -> None:
    inst = random_instance(seed, budget_share=budget_share, capacity_share=capacity_share)
    result = run(inst)
    assert_feasible(inst, result)
    closed = ~inst.skus["orderable"].to_numpy()
    assert (result.plan["order_qty"].to_numpy()[closed] == 0).all()
    assert all("lead_time" in f.split(";") for f in result.plan["flags"].to_numpy()[closed])


# ---- the outcome model ------------------------------------------------------------------


def test_expected_outcomes_match_monte_carlo() -> None:
    inst = random_instance(11, n_skus=3, allow_closed=False)
    q = pd.Series([3, 0, 5][: len(inst.skus)], index=inst.skus.index) * inst.skus["case_pack"]
    out = expected_outcomes(inst.items, inst.skus, inst.survival, q)
    assert list(out.columns) == list(OUTCOME_COLUMNS)
    alloc = allocate(inst.items, inst.skus, inst.survival, q).to_numpy()
    rng = np.random.default_rng(0)
    n = 200_000
    for i, s in inst.skus.iterrows():
        rows = np.flatnonzero(inst.items["sku_id"].to_numpy() == s["sku_id"])
        stock = s["on_hand"] + q[i]
        sold = np.zeros(n)
        back = np.zeros(n)
        demand = np.zeros(n)
        kept_value = np.zeros(n)
        for r in rows:
            pmf, it = inst.pmfs[r], inst.items.iloc[r]
            d = rng.choice(pmf.size, size=n, p=pmf)
            sales = np.minimum(d, alloc[r])
            returned = rng.binomial(sales, it["return_rate"])
            demand, sold, back = demand + d, sold + sales, back + returned
            kept_value += it["live_price"] * (sales - returned)
        leftover = stock - sold + back
        profit = kept_value + s["salvage_value"] * leftover - s["unit_cost"] * q[i]
        for col, sample in [
            ("expected_demand", demand),
            ("expected_sales", sold),
            ("expected_leftover", leftover),
            ("expected_lost_sales", demand - sold),
            ("expected_profit", profit),
        ]:
            tol = 5 * sample.std() / math.sqrt(n) + 1e-12
            assert abs(out[col].iloc[i] - sample.mean()) <= tol, col


def test_expected_outcomes_accepts_keyed_series_and_rejects_overallocation() -> None:
    inst = newsvendor(on_hand=2)
    q = pd.Series(
        [4], index=pd.MultiIndex.from_tuples([("m1", "k")], names=["merchant_id", "sku_id"])
    )
    out = expected_outcomes(inst.items, inst.skus, inst.survival, q)
    assert out["stock_after"].iloc[0] == 6
    keyed = pd.Series(
        [3], index=pd.MultiIndex.from_tuples([("s1", "k")], names=["stream_id", "sku_id"])
    )
    out = expected_outcomes(inst.items, inst.skus, inst.survival, q, keyed)
    assert out["expected_sales"].iloc[0] == pytest.approx(0.9 + 0.8 + 0.7)
    with pytest.raises(ValueError, match="exceeds its stock"):
        expected_outcomes(inst.items, inst.skus, inst.survival, q, pd.Series([7]))


def test_zero_demand_has_full_fill_rate() -> None:
    inst = newsvendor()
    inst.pmfs = [np.array([1.0])]
    row = run(inst).plan.iloc[0]
    assert row["order_qty"] == 0 and row["fill_rate"] == 1.0
    assert row["flags"] == "no_margin"


# ---- inputs and solver statuses ---------------------------------------------------------


def test_bad_survival_is_rejected() -> None:
    inst = newsvendor()
    with pytest.raises(ValueError, match="increases"):
        plan_orders(inst.items, inst.skus, inst.merchants, [np.array([0.2, 0.5])])
    with pytest.raises(ValueError, match="survival has 0 arrays"):
        plan_orders(inst.items, inst.skus, inst.merchants, [])


def test_items_without_a_sku_row_are_rejected() -> None:
    inst = newsvendor()
    inst.items["sku_id"] = "other"
    with pytest.raises(ValueError, match="has no skus row"):
        run(inst)


@pytest.mark.parametrize(
    "status",
    [
        pywraplp.Solver.INFEASIBLE,
        pywraplp.Solver.UNBOUNDED,
        pywraplp.Solver.ABNORMAL,
        pywraplp.Solver.NOT_SOLVED,
        pywraplp.Solver.MODEL_INVALID,
    ],
)
def test_failed_solves_raise(status: int) -> None:
    with pytest.raises(OptimiserError):
        interpret_status(status, timed_out=False, solver_name="SCIP")


def test_solver_statuses_that_are_kept() -> None:
    assert interpret_status(pywraplp.Solver.OPTIMAL, False) == "OPTIMAL"
    assert interpret_status(pywraplp.Solver.FEASIBLE, True) == "FEASIBLE"
    assert interpret_status(pywraplp.Solver.NOT_SOLVED, True) == "TIME_LIMIT"


def test_time_limit_without_solution_falls_back_to_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_solution(*args: object, **kwargs: object) -> mip.MipRun:
        return mip.MipRun("TIME_LIMIT", None, math.inf, 0, 0)

    inst = random_instance(0, 3, budget_share=0.2, capacity_share=np.nan, allow_closed=False)
    assert run(inst).stats.solver == "SCIP"
    monkeypatch.setattr(merchant, "run_mip", no_solution)
    result = run(inst)
    assert result.stats.status in ("TIME_LIMIT", "OPTIMAL")
    assert_feasible(inst, result)
    assert result.stats.best_bound >= brute_force(inst)[0] - 1e-6


def test_unknown_solver_is_a_clear_error() -> None:
    with pytest.raises(OptimiserError, match="not available"):
        run(newsvendor(budget=20.0), solver="NO_SUCH_SOLVER")
