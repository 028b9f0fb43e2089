"""Plans scored under a demo world's true demand, and the naive rule a planner might use without
the engine, as a baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from demandmatch.data.tables import Tables
from demandmatch.forecast.stages import DemandForecast
from demandmatch.optimise import PlanResult, expected_outcomes


def naive_plan(
    fc: DemandForecast, tables: Tables, skus: pd.DataFrame, merchants: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """Stock = 1.2 x mean past units sold per stream for each upcoming stream of the SKU
    (category mean for a SKU with no history), ordered in whole packs, at least the MOQ,
    scaled down to the budget; each stream gets its share."""
    items = tables.stream_items.merge(tables.streams[["stream_id", "start_time"]], on="stream_id")
    past = items[items["units_sold"].notna() & (items["start_time"] < fc.as_of)]
    past = past.merge(
        tables.catalog[["merchant_id", "sku_id", "category"]].drop_duplicates("sku_id"),
        on="sku_id",
        how="left",
    )
    per_sku = past.groupby("sku_id")["units_sold"].mean()
    per_cat = past.groupby("category")["units_sold"].mean()
    up = fc.lineup
    want = up["sku_id"].map(per_sku).fillna(up["category"].map(per_cat)).fillna(0.0) * 1.2
    want = np.ceil(want).astype(int)
    total = want.groupby([up["merchant_id"], up["sku_id"]]).sum()
    s = skus.set_index(["merchant_id", "sku_id"])
    need = np.maximum(total.reindex(s.index).fillna(0).to_numpy() - s["on_hand"].to_numpy(), 0)
    packs = np.ceil(need / s["case_pack"].to_numpy())
    order = packs * s["case_pack"].to_numpy()
    order = np.where((order > 0) & (order < s["moq"].to_numpy()), s["moq"].to_numpy(), order)
    # the naive merchant orders only when the order arrives before the SKU's first stream
    first = up.groupby(["merchant_id", "sku_id"])["start_time"].min().reindex(s.index)
    order = np.where((s["order_arrives_at"] <= first).to_numpy(), order, 0)
    # scale down to each merchant's budget
    spend = order * s["unit_cost"].to_numpy()
    budget = s.index.get_level_values(0).map(merchants.set_index("merchant_id")["budget"])
    m_spend = pd.Series(spend, index=s.index).groupby(level=0).transform("sum").to_numpy()
    scale = np.where(
        np.isfinite(budget) & (m_spend > budget), budget / np.maximum(m_spend, 1e-9), 1
    )
    order = np.floor(order * scale / s["case_pack"].to_numpy()) * s["case_pack"].to_numpy()
    order = np.where(order < s["moq"].to_numpy(), 0, order)
    order_qty = pd.Series(order.astype(int), index=s.index)
    stock = order_qty + s["on_hand"]
    share = want / want.groupby([up["merchant_id"], up["sku_id"]]).transform("sum").replace(0, 1)
    key = pd.MultiIndex.from_frame(up[["merchant_id", "sku_id"]])
    alloc = np.floor(share.to_numpy() * stock.reindex(key).to_numpy()).astype(int)
    return order_qty.reset_index(drop=True), pd.Series(alloc)


def plan_quantities(
    result: PlanResult, items: pd.DataFrame, skus: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """(units ordered per row of `skus`, units allocated per row of `items`) of a plan, each
    aligned with its table (0 where the plan has none), as score_plan takes them."""
    order = result.plan.set_index(["merchant_id", "sku_id"])["order_qty"]
    order = order.reindex(pd.MultiIndex.from_frame(skus[["merchant_id", "sku_id"]]))
    alloc = result.allocation.set_index(["stream_id", "sku_id"])["allocated_units"]
    alloc = alloc.reindex(pd.MultiIndex.from_frame(items[["stream_id", "sku_id"]]))
    return (
        order.fillna(0).astype(int).reset_index(drop=True),
        alloc.fillna(0).astype(int).reset_index(drop=True),
    )


def sku_outcomes(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    truth_surv: list[np.ndarray],
    order_qty: pd.Series,
    allocation: pd.Series,
) -> pd.DataFrame:
    """Per row of `skus`: the plan's expected outcome under the true survival curves
    (expected_outcomes) and `leftover_cost`, the expected leftover valued at its unit cost above
    salvage."""
    out = expected_outcomes(items, skus, truth_surv, order_qty, allocation)
    cost = skus[["merchant_id", "sku_id", "unit_cost", "salvage_value"]]
    s = out[["merchant_id", "sku_id"]].merge(cost, on=["merchant_id", "sku_id"], how="left")
    margin = (s["unit_cost"] - s["salvage_value"]).clip(lower=0).to_numpy()
    return out.assign(leftover_cost=out["expected_leftover"].to_numpy() * margin)


def point_survival(median: np.ndarray) -> list[np.ndarray]:
    """Survival curves of a point forecast (demand = each row's median for sure): the point
    plan, which orders the sum of the medians, less stock on hand, within the same rules."""
    return [np.ones(int(round(v))) for v in np.asarray(median, dtype=float)]


def binding_budgets(
    merchants: pd.DataFrame, plan: pd.DataFrame, skus: pd.DataFrame, share: float
) -> pd.DataFrame:
    """`merchants` with each budget set to `share` of what `plan` (one row per SKU, order_qty)
    spends for it: below that plan's spend, so the budget binds wherever it ordered."""
    cost = plan[["merchant_id", "sku_id", "order_qty"]].merge(
        skus[["merchant_id", "sku_id", "unit_cost"]], on=["merchant_id", "sku_id"]
    )
    spend = (cost["order_qty"] * cost["unit_cost"]).groupby(cost["merchant_id"]).sum()
    budget = merchants["merchant_id"].map(spend).fillna(0.0) * share
    return merchants.assign(budget=budget.round(2).to_numpy())


def broken_rules(plan: pd.DataFrame, skus: pd.DataFrame, merchants: pd.DataFrame) -> dict:
    """How many SKUs' orders break the case pack (not a whole number of packs) or the MOQ
    (ordered, but fewer than it), and how many merchants' orders break the budget (cost more)
    or the space (stock after ordering above capacity_l, when an order was placed)."""
    p = plan[["merchant_id", "sku_id", "order_qty"]].merge(
        skus[["merchant_id", "sku_id", "case_pack", "moq", "unit_cost", "on_hand"]].assign(
            volume=skus["unit_volume_l"].fillna(0.0)
        ),
        on=["merchant_id", "sku_id"],
    )
    q = p["order_qty"].to_numpy()
    out = {
        "broken_pack": int((q % p["case_pack"].to_numpy() != 0).sum()),
        "broken_moq": int(((q > 0) & (q < p["moq"].to_numpy())).sum()),
    }
    m = merchants.set_index("merchant_id")
    by = p.groupby("merchant_id")
    spend = by.apply(lambda g: float((g["order_qty"] * g["unit_cost"]).sum()), include_groups=False)
    space = by.apply(
        lambda g: float(((g["on_hand"] + g["order_qty"]) * g["volume"]).sum()), include_groups=False
    )
    ordered = by["order_qty"].sum() > 0
    budget = m["budget"].reindex(spend.index).astype(float)
    capacity = m["capacity_l"].reindex(space.index).astype(float)
    out["broken_budget"] = int((spend > budget + 1e-6 * np.maximum(budget, 1.0)).sum())
    over = ordered & (space > capacity + 1e-6 * np.maximum(capacity, 1.0))
    out["broken_capacity"] = int(over.sum())
    return out


def score_plan(
    items: pd.DataFrame,
    skus: pd.DataFrame,
    truth_surv: list[np.ndarray],
    order_qty: pd.Series,
    allocation: pd.Series,
) -> dict[str, float]:
    """Expected profit, the cost of the expected leftover (unit cost above salvage) and the fill
    rate (expected sales / expected demand over every stream item) of a plan (`order_qty` per
    SKU row of `skus`, `allocation` per item row of `items`) under the true survival curves,
    summed over the SKUs (sku_outcomes)."""
    out = sku_outcomes(items, skus, truth_surv, order_qty, allocation)
    demand = float(out["expected_demand"].sum())
    return {
        "profit": float(out["expected_profit"].sum()),
        "leftover_cost": float(out["leftover_cost"].sum()),
        "fill_rate": float(out["expected_sales"].sum() / demand) if demand > 0 else 1.0,
    }
