"""Per-row scores (so that any two runs can be paired on the same rows later) and a run's
summary metrics, split into warm and cold-start rows and by lead.

Realised scores (pinball, coverage, WAPE, bias) count only rows that did not sell out: a
sold-out row only bounds demand from below. Where the true distribution is known (demo
worlds) every row is also scored exactly against it (`true_*`, and the oracle's own pinball).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import (
    QUANTILE_COLUMNS,
    QUANTILE_LEVELS,
    coverage_negbin,
    expected_pinball_negbin,
    pinball,
    quantiles_negbin,
    score,
)

LEVELS = np.asarray(QUANTILE_LEVELS)
SEGMENTS = ("all", "warm", "cold")


def add_row_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """The scored rows with one score per row: `obs` (outcome observed, not sold out),
    `pinball_row` (mean over the levels), `covered_10_90`, `err` (mean - units sold); with the
    truth `true_pinball_row`, `oracle_pinball_row`, `true_cover_10_90`, `true_err`."""
    out = rows.copy()
    q = out[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    y = out["units_sold"].to_numpy(dtype=float)
    obs = ~out["sold_out"].to_numpy(dtype=bool) & ~np.isnan(y)
    out["obs"] = obs
    y0 = np.where(obs, y, 0.0)
    out["pinball_row"] = np.where(obs, pinball(y0, q, LEVELS).mean(axis=1), np.nan)
    out["covered_10_90"] = np.where(obs, (y0 >= q[:, 1]) & (y0 <= q[:, -2]), np.nan)
    out["err"] = np.where(obs, out["mean"].to_numpy(dtype=float) - y0, np.nan)
    if "true_mean" in out:
        mu, size = out["true_mean"].to_numpy(dtype=float), out["true_size"].to_numpy(dtype=float)
        known = ~np.isnan(mu) & ~np.isnan(size)
        loss = np.full(len(out), np.nan)
        oracle = np.full(len(out), np.nan)
        cover = np.full(len(out), np.nan)
        if known.any():
            loss[known] = expected_pinball_negbin(q[known], LEVELS, mu[known], size[known]).mean(1)
            oq = quantiles_negbin(mu[known], size[known], LEVELS)
            oracle[known] = expected_pinball_negbin(oq, LEVELS, mu[known], size[known]).mean(1)
            cover[known] = coverage_negbin(q[known, 1], q[known, -2], mu[known], size[known])
        out["true_pinball_row"] = loss
        out["oracle_pinball_row"] = oracle
        out["true_cover_10_90"] = cover
        out["true_err"] = out["mean"].to_numpy(dtype=float) - mu
    return out


def forecast_metrics(rows: pd.DataFrame) -> dict[str, float]:
    """`backtest.score` over all rows, per segment (warm, cold) and per segment and lead:
    `<metric>`, `<metric>.<segment>`, `<metric>.<segment>.<lead>`."""
    out: dict[str, float] = {}
    cold = rows["cold_start"].to_numpy(dtype=bool)
    for seg, mask in (("all", np.ones(len(rows), bool)), ("warm", ~cold), ("cold", cold)):
        part = rows[mask]
        if part.empty:
            continue
        keys = [(f"{seg}", part)] + [(f"{seg}.{lead}", g) for lead, g in part.groupby("lead")]
        for key, g in keys:
            for name, value in _score(g).items():
                out[name if key == "all" else f"{name}.{key}"] = value
    return out


def _score(rows: pd.DataFrame) -> dict[str, float]:
    res = score(rows)
    if "scaled_sq_err" in rows:
        v = rows["scaled_sq_err"].to_numpy(dtype=float)
        res["msse"] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
    return res


def decision_metrics(plans: pd.DataFrame, basis: str) -> dict[str, float]:
    """Profit of the plans and of the reference plans, summed over origins and SKUs: against
    the oracle plan (`profit_vs_oracle`) where the truth is known; replayed on the realised
    sales otherwise (`replay_*`, against the plan made in hindsight), with the share of SKU
    rows whose replayed profit is only a lower bound (a stream sold out where the plan offered
    more than it sold)."""
    if plans.empty or basis == "none":
        return {}
    profit, ref = float(plans["profit"].sum()), float(plans["reference_profit"].sum())
    waste, ref_waste = (
        float(plans["leftover_cost"].sum()),
        float(plans["reference_leftover_cost"].sum()),
    )
    if basis == "truth":
        return {
            "profit": profit,
            "oracle_profit": ref,
            "profit_vs_oracle": profit / ref if ref > 0 else np.nan,
            "leftover_cost": waste,
            "leftover_cost_vs_oracle": waste / ref_waste if ref_waste > 0 else np.nan,
        }
    return {
        "replay_profit": profit,
        "hindsight_profit": ref,
        "replay_profit_vs_hindsight": profit / ref if ref > 0 else np.nan,
        "replay_leftover_cost": waste,
        "replay_lower_bound_share": float(plans["lower_bound"].astype(bool).mean()),
    }
