"""Expected return rates: each SKU's history shrunk toward its category's, as of a cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd


def return_rates(
    rows: pd.DataFrame, history: pd.DataFrame, prior_strength: float = 20.0
) -> np.ndarray:
    """Expected share of units sold that come back, per row of `rows`.

    `rows` has merchant_id, sku_id, category; `history` is past stream items (same columns plus
    units_sold, units_returned) known at the forecast's cutoff. A SKU's rate is
    (returned + k * category rate) / (sold + k), k = prior_strength units; the category's rate is
    shrunk the same way toward the overall rate; with no history at all the rate is 0.
    """
    h = history.dropna(subset=["units_sold"])
    h = h.assign(units_returned=h["units_returned"].fillna(0.0))
    sold_all = h["units_sold"].sum()
    overall = h["units_returned"].sum() / sold_all if sold_all > 0 else 0.0
    k = prior_strength
    cat = h.groupby("category")[["units_sold", "units_returned"]].sum()
    cat_rate = (cat["units_returned"] + k * overall) / (cat["units_sold"] + k)
    sku = h.groupby(["merchant_id", "sku_id"])[["units_sold", "units_returned"]].sum()
    prior = rows["category"].map(cat_rate).fillna(overall).to_numpy(dtype=float)
    idx = pd.MultiIndex.from_frame(rows[["merchant_id", "sku_id"]])
    s = sku.reindex(idx)
    sold = s["units_sold"].fillna(0.0).to_numpy()
    ret = s["units_returned"].fillna(0.0).to_numpy()
    rate = (
        (ret + k * prior) / (sold + k)
        if k > 0
        else np.where(sold > 0, ret / np.maximum(sold, 1), prior)
    )
    return np.clip(rate, 0.0, 1.0)
