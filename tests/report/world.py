"""A small hand-built planning world for the report, output and compliance tests.

Two merchants. M1 sells four apparel SKUs over 24 streams, one every 12 hours from T0 (20:00
in Shanghai), by a verified streamer (H1, even streams) and an unverified one (H3, odd
streams), every fourth stream at 90% of list price. SKU-R is expected back far more often than
the rest of apparel, SKU-B's title is markup and SKU-F's a spreadsheet formula. M2 sells one
food SKU in three streams by H2, on a budget that binds. Two stream items announce stock
(`claimed_stock`). Demand is Poisson with known means; the plan is the real optimiser's,
through the same bridge a run uses (demandmatch.runs.plan_stock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demandmatch.compliance import check_compliance
from demandmatch.config import Config, load_config
from demandmatch.data.schema import FORECAST_COLUMNS, QUANTILE_LEVELS, empty_frame
from demandmatch.data.tables import Tables
from demandmatch.forecast.stages import DemandForecast
from demandmatch.optimise import PlanResult
from demandmatch.report import summarise
from demandmatch.runs import plan_stock

T0 = pd.Timestamp("2025-06-01 12:00", tz="UTC")
TZ = "Asia/Shanghai"
EVIL = "<script>alert('x')</script> & Co"
FORMULA = '=HYPERLINK("http://evil.example","click")'
MEANS = {"SKU-A": 30.0, "SKU-B": 10.0, "SKU-R": 12.0, "SKU-F": 6.0, "SKU-C": 5.0}
RATES = {"SKU-A": 0.10, "SKU-B": 0.10, "SKU-R": 0.45, "SKU-F": 0.10, "SKU-C": 0.05}
CLAIMS = {("S02", "SKU-A"): 0, ("S04", "SKU-A"): 500}  # far below / far above any allocation


def poisson_survival(mu: float) -> np.ndarray:
    """P(D >= u), u = 1.., for a Poisson mean, cut where it is below 1e-12."""
    top = int(mu + 12 * math.sqrt(mu) + 12)
    d = np.arange(top + 1)
    pmf = np.exp(d * math.log(mu) - mu - np.array([math.lgamma(k + 1) for k in d]))
    return np.clip(1.0 - np.cumsum(pmf), 0.0, 1.0)[:-1]


def poisson_quantiles(mu: float) -> list[float]:
    """The smallest u with P(D <= u) >= q, per quantile level q."""
    cdf = 1.0 - poisson_survival(mu)  # P(D <= u), u = 0..
    return [float(np.searchsorted(cdf, q - 1e-12, side="left")) for q in QUANTILE_LEVELS]


def lineup() -> pd.DataFrame:
    rows = []
    for i in range(24):
        sid, start = f"S{i + 1:02d}", T0 + pd.Timedelta(hours=12 * i)
        host = "H1" if i % 2 else "H3"
        skus = ["SKU-A"] + (["SKU-B"] if i % 2 else []) + (["SKU-R"] if i % 3 == 0 else [])
        skus += ["SKU-F"] if i == 5 else []
        for slot, sku in enumerate(skus, start=1):
            rows.append((sid, sku, "M1", host, start, slot))
    for j in range(3):
        start = T0 + pd.Timedelta(hours=6 + 24 * j)
        rows.append((f"S{25 + j}", "SKU-C", "M2", "H2", start, 1))
    df = pd.DataFrame(
        rows, columns=["stream_id", "sku_id", "merchant_id", "streamer_id", "start_time", "slot"]
    )
    df = df.merge(catalog(), on=["merchant_id", "sku_id"], how="left")
    deal = df["stream_id"].str[1:].astype(int) % 4 == 1  # S01, S05, ... sell at 90%
    df["live_price"] = df["list_price"] * np.where(deal, 0.9, 1.0)
    df["featured"] = df["slot"] == 1
    claims = [CLAIMS.get((s, k), np.nan) for s, k in zip(df.stream_id, df.sku_id, strict=True)]
    df["claimed_stock"] = claims
    return df


def catalog() -> pd.DataFrame:
    rows = [
        ("M1", "SKU-A", "Silk scarf", "apparel", 99.0, 30.0),
        ("M1", "SKU-B", EVIL, "apparel", 59.0, 20.0),
        ("M1", "SKU-R", "Sequin dress", "apparel", 120.0, 40.0),
        ("M1", "SKU-F", FORMULA, "apparel", 80.0, 30.0),
        ("M2", "SKU-C", "Rice cracker 500g", "food", 19.9, 8.0),
    ]
    df = pd.DataFrame(
        rows, columns=["merchant_id", "sku_id", "title", "category", "list_price", "unit_cost"]
    )
    return df.assign(
        brand="",
        salvage_value=df["unit_cost"] * 0.3,
        on_hand=[5, 0, 0, 0, 3],
        case_pack=[1, 1, 1, 1, 6],
        moq=0,
        lead_time_days=0,
        shelf_life_days=np.nan,
        unit_volume_l=np.nan,
    )


def tables() -> Tables:
    merchants = pd.DataFrame(
        {"merchant_id": ["M1", "M2"], "name": ["Shop <one>", "Snack Co"], "budget": [np.nan, 50.0]}
    ).assign(capacity_l=np.nan)
    streamers = pd.DataFrame(
        {
            "streamer_id": ["H1", "H2", "H3"],
            "followers": [1000, 2000, 3000],
            "qualification_verified": [True, True, False],
        }
    )
    up = lineup()
    streams = up.drop_duplicates("stream_id")[
        ["stream_id", "merchant_id", "streamer_id", "start_time"]
    ]
    return Tables(
        merchants=merchants,
        catalog=catalog(),
        streamers=streamers,
        streams=streams.assign(duration_min=120, viewers=np.nan),
        stream_items=up[["stream_id", "sku_id", "live_price", "slot", "featured"]],
        video_traffic=empty_frame("video_traffic"),
    )


def demand_forecast() -> DemandForecast:
    up = lineup()
    rows = [
        (r.stream_id, r.sku_id, r.merchant_id, MEANS[r.sku_id], *poisson_quantiles(MEANS[r.sku_id]))
        + (RATES[r.sku_id], r.sku_id == "SKU-F")
        for r in up.itertuples(index=False)
    ]
    forecasts = pd.DataFrame(rows, columns=list(FORECAST_COLUMNS))
    survival = [poisson_survival(MEANS[k]) for k in up["sku_id"]]
    return DemandForecast(
        as_of=T0 - pd.Timedelta(hours=12),
        horizon_days=14,
        lineup=up,
        forecasts=forecasts,
        survival=survival,
        n_train=1234,
        model_choices={"model_mean_scale": 1.05},
    )


@dataclass(frozen=True)
class Planned:
    forecast: DemandForecast
    tables: Tables
    config: Config
    result: PlanResult
    compliance: pd.DataFrame
    summary: dict[str, object]


def plan_world(unverified: str = "flag") -> Planned:
    config = load_config(
        None, {"tracking": {"enabled": False}, "compliance": {"unverified": unverified}}
    )
    fc, t = demand_forecast(), tables()
    result = plan_stock(fc, t, config)
    checks = check_compliance(
        fc.lineup, fc.forecasts, result.plan, result.allocation, t.streamers, config.compliance
    )
    summary = summarise(fc, result, t, checks, config.compliance)
    return Planned(fc, t, config, result, checks, summary)
