"""How well the short-video features read a stream's hidden hype, on demo worlds.

For every past stream (one row per stream), the features as of 72, 24 and 6 hours before it
starts, against the hype the world hid in it (log_hype minus its festival centre): the share of
streams with a video by then, and the correlation of the hype with the views so far per video
against the streamer's usual (video_views_vs_usual) and with the projected final reach against
the streamer's usual (video_reach_vs_usual).

    python benchmarks/video_hype.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from bench_demo import demo_world

from demandmatch.config import load_config
from demandmatch.features import build_features, prepare_tables
from demandmatch.forecast.rows import training_rows

LEADS = (72.0, 24.0, 6.0)
READINGS = ("video_views_vs_usual", "video_reach_vs_usual")


def readings(seed: int, size: str, config) -> pd.DataFrame:
    tables, truth = demo_world(seed, size, config)
    source = prepare_tables(tables)
    lineup = source.lineup
    past = lineup[lineup["units_sold"].notna()].drop_duplicates("stream_id")
    rows = training_rows(past, LEADS).reset_index(drop=True)
    X = build_features(rows, None, source, config.festivals, config.timezone)
    hype = truth.drop_duplicates("stream_id").set_index("stream_id")
    hidden = (hype["log_hype"] - hype["hype_center"]).reindex(X["stream_id"]).to_numpy()
    out = []
    for lead in LEADS:
        at = (rows["start_time"] - rows["cutoff"]).dt.total_seconds().to_numpy() == lead * 3600
        row = {
            "seed": seed,
            "lead h": lead,
            "with a video": float(X.loc[at, "video_n"].gt(0).mean()),
        }
        for col in READINGS:
            v = X.loc[at, col].to_numpy(dtype=float)
            ok = np.isfinite(v)
            row[f"corr {col}"] = float(np.corrcoef(v[ok], hidden[at][ok])[0, 1])
        out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--size", default="demo")
    args = ap.parse_args(argv)
    config = load_config(None, {"tracking": {"enabled": False}})
    df = pd.concat([readings(s, args.size, config) for s in args.seeds], ignore_index=True)
    pd.set_option("display.width", 160)
    print(df.round(3).to_string(index=False))
    print("\nmean over seeds:")
    print(df.drop(columns="seed").groupby("lead h", sort=False).mean().round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
