"""Price features of a row: the live price, its log, the discount on the list price, the price
against its category's median list price, and the margin."""

from __future__ import annotations

import numpy as np
import pandas as pd


def price_features(rows: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    cat_price = catalog.groupby("category")["list_price"].median()
    return pd.DataFrame(
        {
            "live_price": rows["live_price"],
            "log_price": np.log(rows["live_price"]),
            "discount": 1.0 - rows["live_price"] / rows["list_price"],
            "price_vs_category": rows["live_price"] / rows["category"].map(cat_price),
            "margin": (rows["live_price"] - rows["unit_cost"]) / rows["live_price"],
        },
        index=rows.index,
    )
