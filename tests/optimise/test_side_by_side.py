import pandas as pd
import pytest

from demandmatch.optimise import OptimiserSettings, plan_orders
from demandmatch.optimise import side_by_side as sbs

from .conftest import many_skus


def _three_merchants():
    """(items, skus, merchants, survival): three merchants of many_skus, each with limits that
    bind, so that each is solved by more than enumeration."""
    parts = [many_skus(seed, n=12) for seed in (1, 2, 3)]
    items, skus, merchants, survival = [], [], [], []
    for name, (i, s, m, surv) in zip("abc", parts, strict=True):
        items.append(i.assign(merchant_id=name, sku_id=name + i["sku_id"]))
        skus.append(s.assign(merchant_id=name, sku_id=name + s["sku_id"]))
        merchants.append(m.assign(merchant_id=name))
        survival += surv
    return (
        pd.concat(items, ignore_index=True),
        pd.concat(skus, ignore_index=True),
        pd.concat(merchants, ignore_index=True),
        survival,
    )


@pytest.mark.parametrize("processes", [2, 3])
def test_merchants_solved_side_by_side_plan_as_one_after_the_other(monkeypatch, processes):
    inputs = _three_merchants()
    settings = OptimiserSettings(time_limit_s=60)
    monkeypatch.setattr(sbs, "cores", lambda: 1)
    alone = plan_orders(*inputs, settings)
    monkeypatch.setattr(sbs, "cores", lambda: processes)
    together = plan_orders(*inputs, settings)
    pd.testing.assert_frame_equal(together.plan, alone.plan)
    pd.testing.assert_frame_equal(together.allocation, alone.allocation)
    pd.testing.assert_frame_equal(together.shadow_prices, alone.shadow_prices)
    assert together.stats.status == alone.stats.status
    assert together.stats.n_variables == alone.stats.n_variables


def test_workers_are_used_only_where_they_can_be(monkeypatch):
    calls = []
    monkeypatch.setattr(sbs, "plan_merchant", lambda *a: calls.append(a) or len(calls))
    # one job, or no fork: solved here, in order
    assert sbs.solve_merchants([({}, None, {})], OptimiserSettings(), 0.0, processes=4) == [1]
    monkeypatch.setattr(sbs, "can_fork", lambda: False)
    jobs = [({1: None}, None, {}), ({}, None, {}), ({1: None, 2: None}, None, {})]
    assert sbs.solve_merchants(jobs, OptimiserSettings(), 0.0, processes=4) == [2, 3, 4]
    assert [len(a[0]) for a in calls[1:]] == [1, 0, 2]
