"""Where the forecast's gap to the truth lies on demo (or zoo) worlds, row group by row group.

For each seed: forecast the upcoming horizon (as `make bench` does) and score every row exactly
against its true distribution, next to the video-horizon ceiling and the no-history reference
(see bench_demo.py). Then, over all seeds' rows, per group (cold start: new SKU, new streamer,
both or neither; whether the stream had a video by the as-of time; days ahead; size of the true
mean in quartiles; category; featured; how often the SKU sold out before): the group's share of
the forecast's pinball loss, its pinball against the oracle's next to the two references', and
the bias of its mean next to the no-history reference's (which knows everything but the hype
and, for cold rows, the new SKU's popularity and the new streamer's skill). Last, per seed:
pinball/oracle overall, on cold rows and on new-SKU rows, and the bias of the mean overall and
on new-SKU rows; and pinball/oracle of the forecast's own distribution (size, level spread) around
the no-history reference's mean, and around its own mean rescaled to the reference's sum: whether
the gap is the mean row by row, its overall scale, or the distribution's shape. Per stream, last:
how far the forecast's mean departs from the reference's over a whole stream, on streams with
and without a video by the as-of time, and how much of that departure follows the stream's
hidden hype.

    python benchmarks/breakdown_demo.py --seeds 0 1 2 3 4 5 [--scenario NAME] [--config FILE]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from bench_demo import demo_world

from demandmatch.config import load_config
from demandmatch.data.schema import QUANTILE_COLUMNS
from demandmatch.evaluation.metrics import expected_pinball_negbin
from demandmatch.evaluation.oracles import (
    LEVELS,
    blind,
    blind_mean,
    cold_prior,
    has_video,
    video_horizon,
)
from demandmatch.evaluation.zoo import truth_rows
from demandmatch.forecast.distributions import quantiles_negbin, quantiles_negbin_mixed
from demandmatch.forecast.rows import sold_out, split_rows
from demandmatch.forecast.stages import fit_demand, predict_demand, upcoming_features


def scored_world(seed: int, size: str, config, scenario: str = "demo") -> pd.DataFrame:
    """One row per forecast row: its expected pinball under the truth for the forecast, the
    oracle and the two references, the forecast's and the references' means, and its groups."""
    tables, truth = demo_world(seed, size, config, scenario)
    fitted = fit_demand(tables, config)
    fc = predict_demand(fitted, tables, config)
    past = fitted.past.assign(sold_out=sold_out(fitted.past))
    sell_out = past.groupby(["merchant_id", "sku_id"])["sold_out"].mean()
    sell_out = sell_out.reindex(pd.MultiIndex.from_frame(fc.lineup[["merchant_id", "sku_id"]]))
    t = truth_rows(fc, truth)
    mu, nb_size = t["mean"].to_numpy(), t["size"].to_numpy()

    def loss(q: np.ndarray) -> np.ndarray:
        return expected_pinball_negbin(q, LEVELS, mu, nb_size).mean(axis=1)

    cold_sku = fc.lineup["cold_sku"].to_numpy(dtype=bool)
    cold_host = fc.lineup["cold_streamer"].to_numpy(dtype=bool)
    prior = cold_prior(t, cold_sku, cold_host)  # the no-history reference's
    ref_mean = blind_mean(t, *prior)
    # the forecast's own distribution around the reference's mean, and around its own mean
    # rescaled to the reference's sum: is the gap the mean row by row, its scale, or the shape?
    mean, size, spread = model_distribution(fitted, tables, config, fc)
    rescaled = mean * ref_mean.sum() / mean.sum()
    video = has_video(tables, t["stream_id"], fc.as_of)
    days = (fc.lineup["start_time"] - fc.as_of).dt.total_seconds().to_numpy() / 86400
    return pd.DataFrame(
        {
            "seed": seed,
            "forecast": loss(fc.forecasts[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)),
            "oracle": loss(quantiles_negbin(mu, nb_size, LEVELS)),
            "video_horizon": loss(video_horizon(t, video)[1]),
            "no_history": loss(blind(t, *prior)[1]),
            "own_shape_ref_mean": loss(quantiles_negbin_mixed(ref_mean, size, spread, LEVELS)),
            "rescaled": loss(quantiles_negbin_mixed(rescaled, size, spread, LEVELS)),
            "mean": fc.forecasts["mean"].to_numpy(dtype=float),
            "true_mean": mu,
            "no_history_mean": ref_mean,
            "cold_start": np.select(
                [cold_sku & cold_host, cold_sku, cold_host],
                ["both new", "new SKU", "new streamer"],
                "neither",
            ),
            "new_sku": cold_sku,
            "stream_id": t["stream_id"].to_numpy(),
            "streamer_id": t["streamer_id"].to_numpy(),
            "video": video,
            "days_ahead": pd.cut(days, [0, 2, 5, 8, 11, np.inf], right=False).astype(str),
            "category": t["category"].to_numpy(),
            "featured": fc.lineup["featured"].to_numpy(dtype=bool),
            "sell_out": pd.cut(sell_out.to_numpy(), [0, 0.01, 0.25, 0.5, 1.01], right=False).astype(
                str
            ),
        }
    )


def model_distribution(fitted, tables, config, fc) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, size, level spread) of the fitted NB model for the forecast's rows, from the
    features predict_demand builds for them."""
    _, upcoming = split_rows(fitted.lineup, fc.as_of, fc.horizon_days)
    _, X = upcoming_features(fitted, tables, config, upcoming)
    return fitted.model.predict_distribution(X)


def group_table(rows: pd.DataFrame, by: str | pd.Series) -> pd.DataFrame:
    g = rows.groupby(by, observed=True)
    oracle = g["oracle"].sum()
    return pd.DataFrame(
        {
            "rows": g.size(),
            "share of loss": g["forecast"].sum() / rows["forecast"].sum(),
            "pinball/oracle": g["forecast"].sum() / oracle,
            "video-horizon/oracle": g["video_horizon"].sum() / oracle,
            "no-history/oracle": g["no_history"].sum() / oracle,
            "bias": g["mean"].sum() / g["true_mean"].sum() - 1.0,
            "no-history bias": g["no_history_mean"].sum() / g["true_mean"].sum() - 1.0,
        }
    ).round(3)


def seed_table(rows: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for seed, r in rows.groupby("seed"):
        cold = r["cold_start"] != "neither"
        new = r["new_sku"]
        out[seed] = {
            "pinball/oracle": r["forecast"].sum() / r["oracle"].sum(),
            "  its shape, reference's mean": r["own_shape_ref_mean"].sum() / r["oracle"].sum(),
            "  its mean rescaled to ref's sum": r["rescaled"].sum() / r["oracle"].sum(),
            "no-history ref pinball/oracle": r["no_history"].sum() / r["oracle"].sum(),
            "cold pinball/oracle": r.loc[cold, "forecast"].sum() / r.loc[cold, "oracle"].sum(),
            "new-SKU pinball/oracle": r.loc[new, "forecast"].sum() / r.loc[new, "oracle"].sum(),
            "bias": r["mean"].sum() / r["true_mean"].sum() - 1.0,
            "new-SKU bias": r.loc[new, "mean"].sum() / r.loc[new, "true_mean"].sum() - 1.0,
        }
    table = pd.DataFrame(out)
    table["mean"] = table.mean(axis=1)
    return table.round(3)


def stream_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per stream, on rows whose SKU and streamer both have a history: the forecast's log mean
    against the no-history reference's (which knows every level but the hype), centred per seed
    and averaged over the stream's rows, beside the stream's hidden hype (the log true mean
    against the reference's). Split by whether the stream had a video by the as-of time: the
    spread of the forecast's stream-wide departure from the reference, that spread within each
    streamer (net of the streamer's mean departure), the hype's own spread, and how the two
    correlate. A departure that does not follow the hype is error; one that does is what the
    videos told."""
    warm = rows[rows["cold_start"] == "neither"]
    log_ref = np.log(warm["no_history_mean"].to_numpy())
    error = np.log(warm["mean"].to_numpy()) - log_ref
    error = error - pd.Series(error, index=warm.index).groupby(warm["seed"]).transform("mean")
    frame = warm[["seed", "stream_id", "streamer_id", "video"]].assign(
        error=error, hype=np.log(warm["true_mean"].to_numpy()) - log_ref
    )
    streams = frame.groupby(["seed", "stream_id"]).agg(
        streamer=("streamer_id", "first"),
        video=("video", "first"),
        error=("error", "mean"),
        hype=("hype", "mean"),
    )
    host_mean = streams.groupby(["seed", "streamer"])["error"].transform("mean")
    streams["within_streamer"] = streams["error"] - host_mean
    out = {}
    for video, g in streams.groupby("video"):
        out["video by as-of" if video else "no video by as-of"] = {
            "streams": len(g),
            "sd of departure": g["error"].std(),
            "  within streamer": g["within_streamer"].std(),
            "sd of hidden hype": g["hype"].std(),
            "corr(departure, hype)": g["error"].corr(g["hype"]),
        }
    return pd.DataFrame(out).round(3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--size", default="demo")
    ap.add_argument("--scenario", default="demo", help="a zoo scenario (demandmatch simulate)")
    ap.add_argument("--config", default="configs/default.yaml")
    args = ap.parse_args(argv)
    config = load_config(args.config)
    parts = []
    for seed in args.seeds:
        parts.append(scored_world(seed, args.size, config, args.scenario))
        print(f"seed {seed}: scored", file=sys.stderr, flush=True)
    rows = pd.concat(parts, ignore_index=True)
    size = pd.qcut(rows["true_mean"].rank(method="first"), 4, labels=["Q1", "Q2", "Q3", "Q4"])
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for name, by in [
            ("cold start", "cold_start"),
            ("video by the as-of time", "video"),
            ("days ahead", "days_ahead"),
            ("true mean, quartile", size.rename("true mean")),
            ("category", "category"),
            ("featured", "featured"),
            ("share of the SKU's past streams sold out (nan: new SKU)", "sell_out"),
        ]:
            print(f"\n{name}\n{group_table(rows, by)}")
        print(f"\nper seed\n{seed_table(rows)}")
        print(f"\nper stream: the forecast's departure from the reference\n{stream_table(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
