"""How much of the demand model's gap to the oracle is missing information, and how much is
learning: the same model with some of the demo world's hidden quantities handed to it as
features.

For each seed and each set of revealed truth columns (`log_sku_pop`: a SKU's own popularity,
`log_host`: the streamer's skill plus taste for the category, `log_hype`: the stream's hidden
hype), every training and forecast row gets the true value as an extra feature column
`true_<name>`; the forecast is scored exactly against the true distribution as in
bench_demo.py. With everything revealed, what is left of pinball/oracle is what the model
fails to learn from data of this size. With --in-start the revealed columns are terms of the
model's log-linear start too (else only the trees see them).

    python benchmarks/ablate_information.py --seeds 0 1 2 \
        --reveal "" log_sku_pop,log_host log_sku_pop,log_host,log_hype [--in-start] \
        [--model '{"random_effects": ["merchant_id+brand", "stream_id"]}']
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd
from bench_demo import demo_world, forecast_ratios, score_forecast

from demandmatch.config import load_config
from demandmatch.forecast import stages as forecast_module
from demandmatch.forecast.models.params import OFFSET_COLUMNS
from demandmatch.forecast.stages import forecast_demand, make_demand_model


def revealing(build, truth: pd.DataFrame, names: list[str]):
    """`build_features` with the true `names` of each row added as `true_<name>` columns."""
    table = truth.set_index(["stream_id", "sku_id"])

    def build_with_truth(rows, *args, **kwargs):
        X = build(rows, *args, **kwargs)
        key = pd.MultiIndex.from_frame(X[["stream_id", "sku_id"]])
        for name in names:
            X[f"true_{name}"] = table[name].reindex(key).to_numpy()
        return X

    return build_with_truth


def run(tables, truth: pd.DataFrame, names: list[str], model_params: dict, config, in_start=False):
    """Scores of the forecast made with the true `names` revealed (with `in_start`, as terms of
    the log-linear start too)."""
    if in_start:
        start = model_params.get("offset", OFFSET_COLUMNS)
        model_params = {**model_params, "offset": [*start, *(f"true_{n}" for n in names)]}
    original = forecast_module.build_features
    forecast_module.build_features = revealing(original, truth, names)
    try:
        fc = forecast_demand(tables, config, model=make_demand_model(config, **model_params))
    finally:
        forecast_module.build_features = original
    return forecast_ratios(score_forecast(fc, truth))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--size", default="demo")
    ap.add_argument(
        "--reveal",
        nargs="+",
        default=["", "log_sku_pop,log_host", "log_sku_pop,log_host,log_hype"],
        help="comma-separated truth columns per variant ('' reveals nothing)",
    )
    ap.add_argument("--model", default="{}", help="JSON of demand model parameters to override")
    ap.add_argument(
        "--in-start", action="store_true", help="revealed columns enter the log-linear start too"
    )
    args = ap.parse_args(argv)
    config = load_config(None, {"tracking": {"enabled": False}})
    params = json.loads(args.model)
    out = []
    for seed in args.seeds:
        tables, truth = demo_world(seed, args.size, config)
        for variant in args.reveal:
            names = [n for n in variant.split(",") if n]
            row = run(tables, truth, names, params, config, args.in_start)
            out.append({"revealed": variant or "(nothing)", "seed": seed, **row})
            print(f"{variant or '(nothing)'} seed {seed}: {row}", file=sys.stderr)
    df = pd.DataFrame(out)
    table = df.groupby("revealed", sort=False).mean(numeric_only=True).drop(columns="seed")
    pd.set_option("display.width", 200)
    print(df.round(3).to_string(index=False))
    print("\nmean over seeds:")
    print(table.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
