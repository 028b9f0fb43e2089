"""The Lagrangian path on merchants with many SKUs, against the LP relaxation solved by GLOP;
shadow prices against finite differences; properties of the plan; solver statuses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demandmatch.optimise import OptimiserSettings, lp_bound, merchant, mip, plan_orders
from tests.test_optimise import newsvendor, run
from tests.test_optimise_shelf import survival

FAST = OptimiserSettings(mip_max_skus=0)  # no MIP: the Lagrangian plan and its bound


def poisson_survival(mu: float) -> np.ndarray:
    top = int(mu + 8 * math.sqrt(mu) + 10)
    k = np.arange(top + 1)
    logp = k * math.log(mu) - mu - np.array([math.lgamma(x + 1) for x in k])
    pmf = np.exp(logp)
    return survival(pmf / pmf.sum())


def many_skus(
    seed: int,
    n: int = 60,
    budget_share: float = 0.3,
    capacity_share: float | None = 0.4,
    equal_cost: bool = False,
):
    """One merchant with n SKUs in 1-4 streams each (Poisson demand, means 2-30), packs,
    MOQs, returns, salvage and stock on hand; budget and space as shares of the mean demand."""
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
                    "start_time": pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(days=k),
                    "live_price": round(float(cost[i] * rng.uniform(1.2, 3.0)), 2),
                    "return_rate": round(float(rng.uniform(0, 0.4)), 3),
                }
            )
            surv.append(poisson_survival(mu))
    budget = budget_share * float(means @ cost) if budget_share is not None else np.nan
    capacity = (
        float(skus["on_hand"] @ skus["unit_volume_l"])
        + capacity_share * float(means @ skus["unit_volume_l"])
        if capacity_share is not None
        else np.nan
    )
    merchants = pd.DataFrame({"merchant_id": ["m"], "budget": [budget], "capacity_l": [capacity]})
    return pd.DataFrame(items), skus, merchants, surv


def assert_feasible(items, skus, merchants, result) -> None:
    q = result.plan["order_qty"].to_numpy()
    assert (q % skus["case_pack"].to_numpy() == 0).all()
    assert ((q == 0) | (q >= skus["moq"].to_numpy())).all()
    m = merchants.iloc[0]
    if not np.isnan(m["budget"]):
        assert float(skus["unit_cost"].to_numpy() @ q) <= m["budget"] + 1e-6
    if not np.isnan(m["capacity_l"]):
        stock = skus["on_hand"].to_numpy() + q
        assert float(skus["unit_volume_l"].to_numpy() @ stock) <= m["capacity_l"] + 1e-6


@pytest.mark.parametrize(
    ("seed", "budget_share", "capacity_share"),
    [(0, 0.3, None), (1, None, 0.3), (2, 0.3, 0.35), (3, 0.15, 0.2), (4, 0.5, 0.25)],
)
def test_lagrangian_plan_is_feasible_and_within_its_lp_bound(
    seed: int, budget_share: float | None, capacity_share: float | None
) -> None:
    inputs = many_skus(seed, budget_share=budget_share, capacity_share=capacity_share)
    result = plan_orders(*inputs, FAST)
    assert_feasible(*inputs[:3], result)
    lp = lp_bound(*inputs)
    st_ = result.stats
    assert st_.solver == "lagrangian"
    assert st_.objective <= lp.objective + 1e-6
    # the Lagrangian prices are the LP duals, so its bound is the LP's
    assert st_.best_bound == pytest.approx(lp.objective, rel=1e-7)
    assert (lp.objective - st_.objective) / st_.objective < 1e-3
    prices = result.shadow_prices.iloc[0]
    if prices["budget_binds"]:
        assert prices["budget_shadow_price"] == pytest.approx(
            lp.merchants["budget_dual"].iloc[0], rel=1e-6, abs=1e-9
        )


def test_mip_closes_the_gap_the_lagrangian_leaves() -> None:
    inputs = many_skus(7, n=25, budget_share=0.2, capacity_share=0.3)
    fast = plan_orders(*inputs, FAST)
    exact = plan_orders(*inputs, OptimiserSettings())
    assert exact.stats.solver == "SCIP"
    assert exact.stats.objective >= fast.stats.objective - 1e-6
    assert fast.stats.best_bound >= exact.stats.objective - 1e-6
    assert exact.stats.best_bound <= fast.stats.best_bound + 1e-6
    assert_feasible(*inputs[:3], exact)


def lp_value(inputs, budget: float | None = None, capacity: float | None = None) -> float:
    items, skus, merchants, surv = inputs
    m = merchants.copy()
    if budget is not None:
        m["budget"] = budget
    if capacity is not None:
        m["capacity_l"] = capacity
    return lp_bound(items, skus, m, surv).objective


@pytest.mark.parametrize("seed", range(4))
def test_shadow_prices_lie_between_finite_differences_of_the_lp(seed: int) -> None:
    inputs = many_skus(10 + seed, budget_share=0.25, capacity_share=0.3)
    prices = plan_orders(*inputs, FAST).shadow_prices.iloc[0]
    m = inputs[2].iloc[0]
    for limit, col in (("budget", "budget_shadow_price"), ("capacity_l", "capacity_shadow_price")):
        value, delta = m[limit], 1e-3 * m[limit]
        kw = "budget" if limit == "budget" else "capacity"
        at = lp_value(inputs)
        right = (lp_value(inputs, **{kw: value + delta}) - at) / delta
        left = (at - lp_value(inputs, **{kw: value - delta})) / delta
        assert right - 1e-6 <= prices[col] <= left + 1e-6, (limit, right, prices[col], left)


def test_shadow_price_is_the_value_of_the_next_unit_when_orders_are_whole_units() -> None:
    # every unit costs 10 yuan, packs of 1, no MOQ: the plan is a greedy on unit margins, so
    # 10 more yuan buy exactly one more unit, worth 10 x the shadow price
    inputs = many_skus(3, n=30, budget_share=0.2, capacity_share=None, equal_cost=True)
    items, skus, merchants, surv = inputs
    merchants["budget"] = 10.0 * round(merchants["budget"].iloc[0] / 10.0)
    base = plan_orders(items, skus, merchants, surv)
    more = plan_orders(items, skus, merchants.assign(budget=merchants["budget"] + 10.0), surv)
    gained = more.stats.objective - base.stats.objective
    assert base.shadow_prices["budget_shadow_price"].iloc[0] == pytest.approx(gained / 10.0)
    assert base.stats.status == "OPTIMAL"


# ---- properties -------------------------------------------------------------------------

SMALL = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@SMALL
@given(st.integers(0, 10**6), st.floats(0.05, 0.6), st.floats(1.0, 3.0))
def test_more_budget_never_lowers_profit_beyond_the_reported_gap(
    seed: int, share: float, more: float
) -> None:
    items, skus, merchants, surv = many_skus(seed, n=30, budget_share=share, capacity_share=0.4)
    low = plan_orders(items, skus, merchants, surv, FAST).stats
    high = plan_orders(items, skus, merchants.assign(budget=merchants["budget"] * more), surv, FAST)
    # opt(high) >= opt(low) >= objective(low), and high's bound is above opt(high)
    assert high.stats.best_bound >= low.objective - 1e-6
    assert high.stats.objective >= low.objective - (high.stats.best_bound - high.stats.objective)


@SMALL
@given(st.integers(0, 10**6), st.sampled_from([0.05, 0.2, 0.5]), st.sampled_from([0.1, 0.3, 1.0]))
def test_lagrangian_orders_respect_packs_moq_budget_and_space(
    seed: int, budget_share: float, capacity_share: float
) -> None:
    inputs = many_skus(seed, n=30, budget_share=budget_share, capacity_share=capacity_share)
    assert_feasible(*inputs[:3], plan_orders(*inputs, FAST))


@SMALL
@given(st.integers(0, 10**6))
def test_zero_budget_orders_nothing_on_the_lagrangian_path(seed: int) -> None:
    inputs = many_skus(seed, n=30, budget_share=0.0, capacity_share=None)
    assert (plan_orders(*inputs, FAST).plan["order_qty"] == 0).all()


# ---- statuses and limits ----------------------------------------------------------------


def test_stats_report_the_time_limit_and_the_gap() -> None:
    result = run(newsvendor(budget=20.0), time_limit_s=7.5, mip_gap=1e-4)
    assert result.stats.time_limit_s == 7.5
    assert result.stats.mip_gap == 1e-4
    assert result.stats.gap == pytest.approx(
        (result.stats.best_bound - result.stats.objective) / max(1.0, result.stats.objective)
    )


def test_mip_stopped_by_the_time_limit_keeps_the_better_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = many_skus(7, n=25, budget_share=0.2, capacity_share=0.3)
    fast = plan_orders(*inputs, FAST)
    original = mip.run_mip

    def stopped(*args, **kwargs):  # a feasible MIP plan without proof, as at a time limit
        res = original(*args, **kwargs)
        return mip.MipRun("FEASIBLE", res.n, math.inf, res.n_variables, res.n_constraints)

    monkeypatch.setattr(merchant, "run_mip", stopped)
    result = plan_orders(*inputs, OptimiserSettings())
    assert result.stats.status in ("TIME_LIMIT", "OPTIMAL")
    assert result.stats.objective >= fast.stats.objective - 1e-6
    assert result.stats.best_bound >= result.stats.objective
    assert_feasible(*inputs[:3], result)


def test_a_deadline_already_passed_keeps_the_lagrangian_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = many_skus(7, n=25, budget_share=0.2, capacity_share=0.3)
    fast = plan_orders(*inputs, FAST)
    result = plan_orders(*inputs, OptimiserSettings(time_limit_s=1e-9))
    assert result.stats.status in ("TIME_LIMIT", "OPTIMAL")
    assert result.stats.objective == pytest.approx(fast.stats.objective)
