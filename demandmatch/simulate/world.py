"""The whole world from one seed, its contract tables and truth, and writing it to disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from demandmatch.data.schema import TABLES

from .entities import (
    make_catalog,
    make_merchants,
    make_streamers,
    merchant_limits,
    plan_lead_times,
    stock_on_hand,
)
from .history import play_history, stream_viewers
from .profiles import HORIZON_START, SIZES, WorldSize
from .scenarios import DEMO, Scenario
from .scenarios import scenario as resolve_scenario
from .streams import HYPE_FESTIVAL, make_lineups, make_streams, set_prices
from .truth import demand_mean, item_return_rates, item_sizes
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
    scenario: Scenario = DEMO


def simulate_world(
    seed: int = 0, size: str | WorldSize = "demo", scenario: str | Scenario = "demo"
) -> World:
    """Builds a whole world from one seed: same seed, size and scenario, same world.

    `scenario` names one of SCENARIOS (several joined by commas compose) or is a Scenario of
    its own knobs; the demo's world is the same whatever else exists. Every draw a scenario adds
    comes from its own seeded stream (`_knob_rng`), so the main stream stays the demo's up to
    the first value a knob changes."""
    ws = SIZES[size] if isinstance(size, str) else size
    sc = resolve_scenario(scenario)
    rng = np.random.default_rng(seed)
    first = HORIZON_START - pd.Timedelta(days=ws.history_days)
    merchants = make_merchants(rng, ws)
    catalog = make_catalog(rng, ws, merchants, sc.brand_sd)
    streamers = make_streamers(rng, ws, len(merchants), sc.debut_share)
    streams = make_streams(rng, ws, merchants, streamers, catalog, _hype_sd(seed, sc))
    items = make_lineups(rng, streams, catalog, sc.launch_push)
    set_prices(rng, items, streams, catalog)
    followers = streamers["followers"].to_numpy().astype(float)
    videos = make_videos(rng, streams, items, followers, _video_hype(seed, sc, streams))
    items["_in_video"] = False
    items.loc[videos.loc[videos["_item"] >= 0, "_item"].unique(), "_in_video"] = True
    items["_m"] = catalog["_m"].to_numpy()[items["_k"]]
    items["_mean"] = demand_mean(items, streams, streamers, catalog, sc.launch_boost)
    items["_size"] = item_sizes(catalog, items, _sku_sizes(seed, sc, len(catalog)))
    r, mu = items["_size"].to_numpy(), items["_mean"].to_numpy()
    items["demand"] = rng.negative_binomial(r, r / (r + mu)).astype(np.int64)
    items["_return_rate"] = item_return_rates(items, streams, streamers, catalog)
    play_history(rng, items, streams, _gut_centers(seed, sc, len(merchants)))
    streams["viewers"] = stream_viewers(rng, streams, followers)
    as_of_min = int(streams.loc[streams["_upcoming"], "_start"].min())
    traffic = video_snapshots(rng, videos, streams, catalog, items, as_of_min, first)
    catalog["lead_time_days"] = plan_lead_times(rng, catalog, items, streams, as_of_min)
    if sc.lead_days is not None:  # drawn after the demo's, which keeps the main stream aligned
        lo, hi = sc.lead_days
        catalog["lead_time_days"] = _knob_rng(seed, "lead").integers(lo, hi + 1, len(catalog))
    catalog["on_hand"] = stock_on_hand(rng, items, catalog)
    merchants = merchant_limits(rng, merchants, catalog, items, streams)
    return World(
        tables=_contract_tables(merchants, catalog, streamers, streams, items, traffic),
        truth=_truth(items, streams, streamers, catalog),
        as_of=first + pd.Timedelta(minutes=as_of_min),
        seed=seed,
        size=size,
        scenario=sc,
    )


_KNOBS = ("hype", "video", "nb_size", "gut", "lead")


def _knob_rng(seed: int, knob: str) -> np.random.Generator:
    """A scenario knob's own seeded stream, apart from the world's main one."""
    return np.random.default_rng([seed, 1 + _KNOBS.index(knob)])


def _hype_sd(seed: int, sc: Scenario) -> Callable[[int], np.ndarray] | None:
    """None for one normal hype (the demo's draw), else each stream's spread: a component of
    the mixture drawn by weight."""
    if len(sc.hype) == 1 and sc.hype[0][1] == DEMO.hype[0][1]:
        return None
    weights = np.array([w for w, _ in sc.hype])
    sds = np.array([sd for _, sd in sc.hype])

    def per_stream(n: int) -> np.ndarray:
        return sds[_knob_rng(seed, "hype").choice(len(sds), size=n, p=weights / weights.sum())]

    return per_stream


def _video_hype(seed: int, sc: Scenario, streams: pd.DataFrame) -> np.ndarray | None:
    """The hype the stream's videos follow: its own (None) or, with video_tie < 1, the hype's
    deviation from its festival centre times the tie plus an independent deviation of the same
    law times sqrt(1 - tie^2): correlation `video_tie` with the true hype, same spread."""
    if sc.video_tie == 1.0:
        return None
    n = len(streams)
    aux = _knob_rng(seed, "video")
    weights = np.array([w for w, _ in sc.hype])
    sds = np.array([sd for _, sd in sc.hype])
    other = aux.normal(0.0, sds[aux.choice(len(sds), size=n, p=weights / weights.sum())])
    center = HYPE_FESTIVAL * streams["_fest"].to_numpy()
    dev = streams["_loghype"].to_numpy() - center
    return center + sc.video_tie * dev + np.sqrt(1.0 - sc.video_tie**2) * other


def _sku_sizes(seed: int, sc: Scenario, n_skus: int) -> np.ndarray | None:
    """Each SKU's NB size, log-uniform in sc.nb_size; None: its category's."""
    if sc.nb_size is None:
        return None
    lo, hi = np.log(sc.nb_size)
    return np.exp(_knob_rng(seed, "nb_size").uniform(lo, hi, n_skus))


def _gut_centers(seed: int, sc: Scenario, n_merchants: int) -> np.ndarray | None:
    """Each merchant's gut stock centre, evenly spread in log over sc.gut_center in a seeded
    order; None when every merchant stocks alike at the demo's centre."""
    lo, hi = sc.gut_center
    if lo == hi == DEMO.gut_center[0]:
        return None
    spread = np.exp(np.linspace(np.log(lo), np.log(hi), n_merchants))
    return spread[_knob_rng(seed, "gut").permutation(n_merchants)]


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
        claimed_stock=pd.array([pd.NA] * len(items), dtype="Int64"),  # no scarcity claims
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
    inside it, OUT/truth.csv, OUT/world.json (seed, size, as_of, rows per table) and
    OUT/scenario.json (the scenario's name, what it changes and every knob; load_scenario).

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
    (out_dir / "scenario.json").write_text(world.scenario.to_json())
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
