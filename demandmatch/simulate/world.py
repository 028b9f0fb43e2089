"""The whole world from one seed, its contract tables and truth, and writing it to disk."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from demandmatch.data.schema import TABLES

from .demand import demand_mean, item_return_rates, play_history, stream_viewers
from .entities import (
    make_catalog,
    make_merchants,
    make_streamers,
    merchant_limits,
    plan_lead_times,
    stock_on_hand,
)
from .profiles import CATEGORIES, HORIZON_START, SIZES, WorldSize
from .streams import HYPE_FESTIVAL, make_lineups, make_streams, set_prices
from .video import make_videos, video_snapshots

TRUTH_COLUMNS = (
    "stream_id",
    "sku_id",
    "merchant_id",
    "upcoming",
    "mean",
    "size",
    "return_rate",
    "demand",
    "log_hype",
    "hype_center",
    "log_sku_pop",
    "log_host",
)


@dataclass(frozen=True)
class World:
    """The contract's tables (ready to write), the hidden truth and the as-of time."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    as_of: pd.Timestamp
    seed: int
    size: str | WorldSize = "demo"


def simulate_world(seed: int = 0, size: str | WorldSize = "demo") -> World:
    """Builds a whole world from one seed: same seed and size, same world."""
    ws = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng(seed)
    first = HORIZON_START - pd.Timedelta(days=ws.history_days)
    merchants = make_merchants(rng, ws)
    catalog = make_catalog(rng, ws, merchants)
    streamers = make_streamers(rng, ws, len(merchants))
    streams = make_streams(rng, ws, merchants, streamers, catalog)
    items = make_lineups(rng, streams, catalog)
    set_prices(rng, items, streams, catalog)
    followers = streamers["followers"].to_numpy().astype(float)
    videos = make_videos(rng, streams, items, followers)
    items["_in_video"] = False
    items.loc[videos.loc[videos["_item"] >= 0, "_item"].unique(), "_in_video"] = True
    items["_m"] = catalog["_m"].to_numpy()[items["_k"]]
    items["_mean"] = demand_mean(items, streams, streamers, catalog)
    items["_size"] = np.array([c.size for c in CATEGORIES])[catalog["_cat"].to_numpy()[items["_k"]]]
    r, mu = items["_size"].to_numpy(), items["_mean"].to_numpy()
    items["demand"] = rng.negative_binomial(r, r / (r + mu)).astype(np.int64)
    items["_return_rate"] = item_return_rates(items, streams, streamers, catalog)
    play_history(rng, items, streams)
    streams["viewers"] = stream_viewers(rng, streams, followers)
    as_of_min = int(streams.loc[streams["_upcoming"], "_start"].min())
    traffic = video_snapshots(rng, videos, streams, catalog, items, as_of_min, first)
    catalog["lead_time_days"] = plan_lead_times(rng, catalog, items, streams, as_of_min)
    catalog["on_hand"] = stock_on_hand(rng, items, catalog)
    merchants = merchant_limits(rng, merchants, catalog, items, streams)
    return World(
        tables=_contract_tables(merchants, catalog, streamers, streams, items, traffic),
        truth=_truth(items, streams, streamers, catalog),
        as_of=first + pd.Timedelta(minutes=as_of_min),
        seed=seed,
        size=size,
    )


def _contract_tables(
    merchants: pd.DataFrame,
    catalog: pd.DataFrame,
    streamers: pd.DataFrame,
    streams: pd.DataFrame,
    items: pd.DataFrame,
    traffic: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The contract's tables, in the contract's column order, without hidden columns."""
    items = items.assign(
        stream_id=streams["stream_id"].to_numpy()[items["_s"]],
        sku_id=catalog["sku_id"].to_numpy()[items["_k"]],
    )
    catalog = catalog.assign(shelf_life_days=catalog["shelf_life_days"].astype("Int64"))
    frames = {
        "merchants": merchants,
        "catalog": catalog,
        "streamers": streamers,
        "streams": streams,
        "stream_items": items,
        "video_traffic": traffic,
    }
    return {name: frames[name][TABLES[name].column_names].reset_index(drop=True) for name in frames}


def _truth(
    items: pd.DataFrame, streams: pd.DataFrame, streamers: pd.DataFrame, catalog: pd.DataFrame
) -> pd.DataFrame:
    k = items["_k"].to_numpy()
    h = streams["_h"].to_numpy()[items["_s"]]
    affinity = np.stack(streamers["_affinity"].to_list())
    return pd.DataFrame(
        {
            "stream_id": streams["stream_id"].to_numpy()[items["_s"]],
            "sku_id": catalog["sku_id"].to_numpy()[k],
            "merchant_id": catalog["merchant_id"].to_numpy()[k],
            "upcoming": streams["_upcoming"].to_numpy()[items["_s"]],
            "mean": items["_mean"].to_numpy(),
            "size": items["_size"].to_numpy(dtype=float),
            "return_rate": items["_return_rate"].to_numpy(),
            "demand": items["demand"].to_numpy(dtype=np.int64),
            # the stream's hidden log hype (inside `mean`) and its expected value, normal with
            # spread HYPE_SD: what a forecaster that cannot see the hype could know at best
            "log_hype": streams["_loghype"].to_numpy()[items["_s"]],
            "hype_center": HYPE_FESTIVAL * streams["_fest"].to_numpy()[items["_s"]],
            # what no history can tell of a SKU or streamer new to streams: the SKU's own
            # popularity around its brand's (normal, spread POP_SD) and the streamer's skill
            # plus taste for the SKU's category
            "log_sku_pop": catalog["_pop_own"].to_numpy()[k],
            "log_host": streamers["_skill"].to_numpy()[h]
            + affinity[h, catalog["_cat"].to_numpy()[k]],
        }
    )


def write_world(world: World, out_dir: Path, fmt: Literal["csv", "parquet"] = "csv") -> Path:
    """Writes OUT/data/<table>.<fmt> (the directory the engine reads) and, beside it and never
    inside it, OUT/truth.csv and OUT/world.json (seed, size, as_of, rows per table).

    Contract table files of either format already in OUT/data are replaced, so the directory
    holds exactly one file per table. Returns OUT/data.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', not {fmt!r}")
    out_dir = Path(out_dir)
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in world.tables.items():
        for old in (data / f"{name}.csv", data / f"{name}.parquet"):
            old.unlink(missing_ok=True)
        if fmt == "csv":
            _csv_ready(frame).to_csv(data / f"{name}.csv", index=False, lineterminator="\n")
        else:
            frame.to_parquet(data / f"{name}.parquet", index=False)
    _csv_ready(world.truth).to_csv(out_dir / "truth.csv", index=False, lineterminator="\n")
    size = world.size if isinstance(world.size, str) else asdict(world.size)
    meta = {
        "seed": world.seed,
        "size": size,
        "as_of": _iso(pd.Series([world.as_of])).iloc[0],
        "format": fmt,
        "rows": {name: len(frame) for name, frame in world.tables.items()},
        "truth_rows": len(world.truth),
    }
    (out_dir / "world.json").write_text(json.dumps(meta, indent=2) + "\n")
    return data


def load_truth(world_dir: Path) -> pd.DataFrame:
    """Reads OUT/truth.csv (written by write_world) with its proper dtypes."""
    dtypes = {
        "stream_id": str,
        "sku_id": str,
        "merchant_id": str,
        "upcoming": str,
        "mean": float,
        "size": float,
        "return_rate": float,
        "demand": np.int64,
        "log_hype": float,
        "hype_center": float,
        "log_sku_pop": float,
        "log_host": float,
    }
    truth = pd.read_csv(Path(world_dir) / "truth.csv", dtype=dtypes, keep_default_na=False)
    truth["upcoming"] = truth["upcoming"].str.lower().eq("true")
    for col in ("log_hype", "hype_center", "log_sku_pop", "log_host"):  # absent from older worlds
        if col not in truth:
            truth[col] = np.nan
    return truth[list(TRUTH_COLUMNS)]


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 with their +08:00 offset, booleans as true/false."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = _iso(out[col])
        elif out[col].dtype == bool:
            out[col] = np.where(out[col], "true", "false")
    return out


def _iso(ts: pd.Series) -> pd.Series:
    text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text.str[:-2] + ":" + text.str[-2:]
