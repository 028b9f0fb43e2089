"""Plans scored under known demand: per SKU and summed, with the hand-computed newsvendor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.evaluation.plans import plan_quantities, score_plan, sku_outcomes
from tests.optimise.conftest import newsvendor, random_instance, run


def test_a_newsvendor_plan_scores_as_by_hand() -> None:
    inst = newsvendor()  # D uniform on 0..9, price 20, cost 8, salvage 2, 10% returns
    order, alloc = np.array([5]), np.array([5])
    out = sku_outcomes(inst.items, inst.skus, inst.survival, pd.Series(order), pd.Series(alloc))
    sales = (0 + 1 + 2 + 3 + 4 + 5 * 5) / 10  # E[min(D, 5)]
    leftover = 5 - sales + 0.1 * sales
    assert out["leftover_cost"].iloc[0] == pytest.approx(leftover * (8 - 2))
    assert out["expected_profit"].iloc[0] == pytest.approx(2 * 5 - 8 * 5 + 18 * 0.9 * sales)
    total = score_plan(inst.items, inst.skus, inst.survival, pd.Series(order), pd.Series(alloc))
    expected = {"profit": 26.7, "leftover_cost": leftover * 6, "fill_rate": sales / 4.5}
    assert total == pytest.approx(expected)  # E[D] = 4.5


def test_a_plan_is_read_back_aligned_with_the_tables_whatever_their_order() -> None:
    inst = random_instance(4, n_skus=3)
    result = run(inst)
    items, skus = inst.items.iloc[::-1], inst.skus.iloc[::-1]
    order, alloc = plan_quantities(result, items, skus)
    by_sku = result.plan.set_index("sku_id")["order_qty"]
    assert order.tolist() == by_sku.loc[skus["sku_id"]].tolist()
    key = result.allocation.set_index(["stream_id", "sku_id"])["allocated_units"]
    assert alloc.tolist() == [
        key[(s, k)] for s, k in zip(items["stream_id"], items["sku_id"], strict=True)
    ]
    surv = [inst.survival[i] for i in items.index]
    out = sku_outcomes(
        items.reset_index(drop=True), skus.reset_index(drop=True), surv, order, alloc
    )
    planned = result.plan.set_index("sku_id")["expected_profit"]
    np.testing.assert_allclose(out["expected_profit"], planned.loc[skus["sku_id"]].to_numpy())
