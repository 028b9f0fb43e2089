"""Expected return rates against the demo worlds' true ones, beside simpler estimates.

For each seed: build a demo world, estimate the return rate of every stream item in the
upcoming horizon from the history before the as-of time (`demandmatch.returns.return_rates`,
as `make forecast` does), and compare it with the world's true rate (truth.csv). Errors are
weighted by each item's true mean demand, since a rate matters in proportion to the units it
applies to. The same run scores the overall rate, the category's rate, each SKU's own rate
unshrunk, the shipped estimate without the streamer's factor, and the shipped estimate at other
prior strengths (`model.return_prior_strength`, pseudo-units).

    python benchmarks/bench_returns.py --seeds 0 1 2 3 4 5
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from bench_demo import demo_world

from demandmatch.config import load_config
from demandmatch.features.lineup import lineup_frame
from demandmatch.forecast.returns import return_rates
from demandmatch.forecast.rows import default_as_of, split_rows


def category_rates(rows: pd.DataFrame, past: pd.DataFrame) -> np.ndarray:
    """Units returned over units sold in the row's category, before the as-of time."""
    h = past.dropna(subset=["units_sold"])
    cat = h.groupby("category")[["units_sold", "units_returned"]].sum()
    rate = cat["units_returned"] / cat["units_sold"]
    overall = h["units_returned"].sum() / h["units_sold"].sum()
    return rows["category"].map(rate).fillna(overall).to_numpy(dtype=float)


def estimates(upcoming: pd.DataFrame, past: pd.DataFrame, strength: float) -> dict:
    """Each estimate of the upcoming rows' return rates, by name."""
    h = past.assign(units_returned=past["units_returned"].fillna(0.0))
    no_streamer = upcoming.drop(columns="streamer_id")
    out = {
        "overall rate": np.full(len(upcoming), h["units_returned"].sum() / h["units_sold"].sum()),
        "category rate": category_rates(upcoming, h),
        "SKU's own rate (k=0, no streamer)": return_rates(no_streamer, past, 0.0),
        f"shrunk, no streamer factor (k={strength:g})": return_rates(no_streamer, past, strength),
    }
    for k in sorted({5.0, strength, 80.0}):
        name = f"shipped (k={k:g})" if k == strength else f"with streamer factor, k={k:g}"
        out[name] = return_rates(upcoming, past, k)
    return out


def score(rate: np.ndarray, truth: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    err = rate - truth
    return {
        "wMAE": float((weight * np.abs(err)).sum() / weight.sum()),
        "bias": float((weight * err).sum() / (weight * truth).sum()),
    }


def run_seed(seed: int, config) -> pd.DataFrame:
    tables, truth = demo_world(seed, "demo", config)
    as_of = default_as_of(tables)
    past, upcoming = split_rows(lineup_frame(tables), as_of, config.horizon_days)
    upcoming = upcoming.reset_index(drop=True)
    t = upcoming[["stream_id", "sku_id"]].merge(
        truth[["stream_id", "sku_id", "mean", "return_rate"]], how="left", validate="one_to_one"
    )
    true_rate, weight = t["return_rate"].to_numpy(), t["mean"].to_numpy()
    seen = upcoming.set_index(["merchant_id", "sku_id"]).index.isin(
        past.set_index(["merchant_id", "sku_id"]).index
    )
    rows = []
    for name, rate in estimates(upcoming, past, config.model.return_prior_strength).items():
        every = score(rate, true_rate, weight)
        new = score(rate[~seen], true_rate[~seen], weight[~seen]) if (~seen).any() else {}
        rows.append(
            {
                "seed": seed,
                "estimate": name,
                **every,
                "new-SKU wMAE": new.get("wMAE", np.nan),
                "new-SKU share": float(weight[~seen].sum() / weight.sum()),
                "true rate": float((weight * true_rate).sum() / weight.sum()),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--config", default=None)
    args = ap.parse_args(argv)
    config = load_config(args.config, {"tracking": {"enabled": False}})
    df = pd.concat([run_seed(s, config) for s in args.seeds], ignore_index=True)
    order = list(dict.fromkeys(df["estimate"]))
    wmae = df.pivot(index="estimate", columns="seed", values="wMAE").loc[order]
    wmae["mean"] = wmae.mean(axis=1)
    pd.set_option("display.width", 200)
    print("return rate error, weighted by true mean demand (wMAE, rate points), by seed")
    print(wmae.round(4).to_string())
    means = df.groupby("estimate", sort=False)[["wMAE", "bias", "new-SKU wMAE"]].mean()
    means["wMAE / category rate's"] = means["wMAE"] / means.loc["category rate", "wMAE"]
    print("\nmeans over seeds (bias: relative, of the weighted mean rate)")
    print(means.round(4).to_string())
    print(f"\nshare of the demand on SKUs with no past stream: {df['new-SKU share'].mean():.3f}")
    print(f"true return rate, weighted by demand: {df['true rate'].mean():.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
