"""Expected return rates: each SKU's history shrunk toward its category's, times how much more
or less than expected the streamer's audience sends back, as of a cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _shrunk_sku_rates(keys: pd.DataFrame, h: pd.DataFrame, k: float, overall: float) -> np.ndarray:
    """(returned + k * category rate) / (sold + k) per row of `keys` (merchant, SKU, category);
    the category's rate is shrunk the same way toward the overall rate."""
    cat = h.groupby("category")[["units_sold", "units_returned"]].sum()
    cat_rate = (cat["units_returned"] + k * overall) / (cat["units_sold"] + k)
    prior = keys["category"].map(cat_rate).fillna(overall).to_numpy(dtype=float)
    sku = h.groupby(["merchant_id", "sku_id"])[["units_sold", "units_returned"]].sum()
    s = sku.reindex(pd.MultiIndex.from_frame(keys[["merchant_id", "sku_id"]]))
    sold = s["units_sold"].fillna(0.0).to_numpy()
    ret = s["units_returned"].fillna(0.0).to_numpy()
    if k > 0:
        return (ret + k * prior) / (sold + k)
    return np.where(sold > 0, ret / np.maximum(sold, 1), prior)


def return_rates(
    rows: pd.DataFrame, history: pd.DataFrame, prior_strength: float = 20.0
) -> np.ndarray:
    """Expected share of units sold that come back, per row of `rows`.

    `rows` has merchant_id, sku_id, category (and streamer_id for the streamer factor);
    `history` is past stream items (same columns plus units_sold, units_returned) known at the
    forecast's cutoff. A SKU's rate is (returned + k * category rate) / (sold + k), k =
    prior_strength units; the category's rate is shrunk the same way toward the overall rate.
    The streamer factor is (returned + k * r) / (expected + k * r) over the streamer's past
    items, expected = sold x the SKU's rate and r the overall rate: 1 for a new streamer.
    With no history at all the rate is 0.
    """
    h = history.dropna(subset=["units_sold"])
    h = h.assign(units_returned=h["units_returned"].fillna(0.0))
    sold_all = h["units_sold"].sum()
    overall = h["units_returned"].sum() / sold_all if sold_all > 0 else 0.0
    k = prior_strength
    rate = _shrunk_sku_rates(rows, h, k, overall)
    if "streamer_id" in rows and "streamer_id" in h and len(h):
        expected = h["units_sold"].to_numpy() * _shrunk_sku_rates(h, h, k, overall)
        per = (
            h.assign(_exp=expected)
            .groupby("streamer_id")[["units_returned", "_exp"]]
            .sum()
            .reindex(rows["streamer_id"])
        )
        ret, exp = per["units_returned"].fillna(0.0), per["_exp"].fillna(0.0)
        factor = (ret + k * overall) / (exp + k * overall) if overall > 0 else 1.0
        rate = rate * np.asarray(factor, dtype=float)
    return np.clip(rate, 0.0, 1.0)
