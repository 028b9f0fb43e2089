"""A plan's run summary: the figures a planner reads first, and why the expected lost sales are
lost, SKU by SKU's first flag."""

from __future__ import annotations

import pandas as pd

from demandmatch.compliance import compliance_summary
from demandmatch.config import ComplianceConfig
from demandmatch.data.tables import Tables
from demandmatch.forecast.stages import DemandForecast
from demandmatch.optimise import PlanResult
from demandmatch.optimise.flags import PROFIT_BEST, explain_flag, split_flags


def summarise(
    forecast: DemandForecast,
    result: PlanResult,
    tables: Tables,
    compliance: pd.DataFrame | None = None,
    settings: ComplianceConfig | None = None,
) -> dict[str, object]:
    """The run's figures; with `compliance` (check_compliance's findings, under `settings`)
    also its counts per flag and money at risk (demandmatch.compliance.compliance_summary)."""
    plan = result.plan
    cost = plan.merge(tables.catalog[["merchant_id", "sku_id", "unit_cost"]], how="left")
    demand = float(plan["expected_demand"].sum())
    return {
        "as_of": forecast.as_of.isoformat(),
        "horizon_days": forecast.horizon_days,
        "n_streams": int(forecast.lineup["stream_id"].nunique()),
        "n_skus": int(len(plan)),
        "n_merchants": int(plan["merchant_id"].nunique()),
        "n_cold_start": int(forecast.forecasts["cold_start"].sum()),
        "n_train_rows": forecast.n_train,
        "units_to_order": int(plan["order_qty"].sum()),
        "spend": float((cost["order_qty"] * cost["unit_cost"]).sum()),
        "expected_demand": demand,
        "expected_sales": float(plan["expected_sales"].sum()),
        "expected_profit": float(plan["expected_profit"].sum()),
        "expected_leftover": float(plan["expected_leftover"].sum()),
        "expected_lost_sales": float(plan["expected_lost_sales"].sum()),
        "fill_rate": float(plan["expected_sales"].sum() / demand) if demand > 0 else 1.0,
        "lost_sales_by_reason": lost_sales_by_reason(plan),
        "solver": result.stats.solver,
        "solver_status": result.stats.status,
        "solver_gap": float(result.stats.gap),
        "solve_time_s": float(result.stats.solve_time_s),
        **forecast.model_choices,
        **(
            {}
            if compliance is None
            else compliance_summary(compliance, settings or ComplianceConfig())
        ),
        # the robust defaults the model fell back on where its held-out rows were too few
        "model_fallbacks": list(forecast.fallbacks),
    }


def lost_sales_by_reason(plan: pd.DataFrame) -> list[dict[str, object]]:
    """The plan's expected lost sales split by why each SKU's stock stops where it does: its
    first flag (lead time, shelf life, margin, MOQ, budget, space, ...), else `profit_best`, a
    SKU stocked as far as it pays, whose further demand would cost more to stock than it is
    expected to earn. Largest first; shares of the total lost sales (0 when none is lost)."""
    first = [(split_flags(f) or [PROFIT_BEST])[0] for f in plan["flags"]]
    by = (
        plan.assign(reason=first)
        .groupby("reason", sort=False)
        .agg(skus=("sku_id", "size"), expected_lost_sales=("expected_lost_sales", "sum"))
        .sort_values("expected_lost_sales", ascending=False, kind="stable")
    )
    total = float(by["expected_lost_sales"].sum())
    return [
        {
            "reason": str(reason),
            "why": explain_flag(str(reason)),
            "skus": int(r.skus),
            "expected_lost_sales": float(r.expected_lost_sales),
            "lost_sales_share": float(r.expected_lost_sales / total) if total > 0 else 0.0,
        }
        for reason, r in by.iterrows()
    ]
