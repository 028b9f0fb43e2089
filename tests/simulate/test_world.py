"""The demo-world generator: determinism, the data contract, and the invariants a benchmark
relies on (outcomes consistent with the hidden truth, no peeking past the as-of time)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandmatch.data.schema import TABLES, Column
from demandmatch.simulate import (
    HYPE_SD,
    POP_SD,
    SIZES,
    TRUTH_COLUMNS,
    World,
    WorldSize,
    load_truth,
    simulate_world,
    write_world,
)

SEEDS = (0, 1, 2)
OUTCOMES = ["units_sold", "units_returned", "stock_allocated"]


@cache
def tiny(seed: int = 0) -> World:
    return simulate_world(seed, "tiny")


@cache
def small() -> World:
    return simulate_world(7, "small")


def items_with_truth(world: World) -> pd.DataFrame:
    """Stream items side by side with their truth rows and their stream's start."""
    items = world.tables["stream_items"]
    streams = world.tables["streams"].set_index("stream_id")
    out = items.join(world.truth.drop(columns=["stream_id", "sku_id"]))
    return out.assign(start_time=out["stream_id"].map(streams["start_time"]))


# ------------------------------------------------------------------------------ determinism


def test_same_seed_same_world() -> None:
    a, b = simulate_world(3, "tiny"), simulate_world(3, "tiny")
    assert a.as_of == b.as_of
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_same_seed_byte_identical_files(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        one = write_world(simulate_world(4, "tiny"), tmp_path / f"a-{fmt}", fmt)  # type: ignore[arg-type]
        two = write_world(simulate_world(4, "tiny"), tmp_path / f"b-{fmt}", fmt)  # type: ignore[arg-type]
        for path in sorted(one.parent.rglob("*")):
            if path.is_file():
                twin = two.parent / path.relative_to(one.parent)
                assert path.read_bytes() == twin.read_bytes(), path.name


def test_different_seed_different_world() -> None:
    a, b = tiny(0), tiny(1)
    assert not a.truth.equals(b.truth)
    assert not a.tables["catalog"].equals(b.tables["catalog"])
    assert not a.tables["streams"].equals(b.tables["streams"])


# --------------------------------------------------------------------------------- contract


def check_column(table: str, col: Column, values: pd.Series) -> None:
    where = f"{table}.{col.name}"
    known = values.dropna()
    if col.required:
        assert len(known) == len(values), f"{where} has blanks"
    if col.kind in ("number", "integer"):
        numbers = pd.to_numeric(known).astype(float)
        assert np.isfinite(numbers).all(), where
        if col.kind == "integer":
            assert (numbers == np.round(numbers)).all(), f"{where} not whole"
        if col.min is not None:
            ok = numbers > col.min if col.min_exclusive else numbers >= col.min
            assert ok.all(), f"{where} below its bound"
    elif col.kind == "boolean":
        assert values.dtype == bool, where
    elif col.kind == "timestamp":
        assert isinstance(values.dtype, pd.DatetimeTZDtype), f"{where} is not tz-aware"
    else:
        assert known.map(lambda v: isinstance(v, str) and v != "").all(), where


@pytest.mark.parametrize("seed", SEEDS)
def test_tables_follow_the_contract(seed: int) -> None:
    world = tiny(seed)
    assert set(world.tables) == set(TABLES)
    for name, spec in TABLES.items():
        frame = world.tables[name]
        assert list(frame.columns) == spec.column_names, name
        for col in spec.columns:
            check_column(name, col, frame[col.name])
        assert not frame.duplicated(list(spec.key)).any(), f"{name} key not unique"


@pytest.mark.parametrize("seed", SEEDS)
def test_references_hold(seed: int) -> None:
    t = tiny(seed).tables
    streams = t["streams"].set_index("stream_id")
    assert t["streams"]["merchant_id"].isin(t["merchants"]["merchant_id"]).all()
    assert t["streams"]["streamer_id"].isin(t["streamers"]["streamer_id"]).all()
    lineup = t["stream_items"].assign(
        merchant_id=t["stream_items"]["stream_id"].map(streams["merchant_id"])
    )
    catalog = pd.MultiIndex.from_frame(t["catalog"][["merchant_id", "sku_id"]])
    assert pd.MultiIndex.from_frame(lineup[["merchant_id", "sku_id"]]).isin(catalog).all()
    sizes = lineup.groupby("stream_id").size()
    assert sizes.index.equals(streams.index.sort_values())
    assert sizes.between(5, 30).all()
    slots = lineup.groupby("stream_id")["slot"].agg(["min", "max", "size"])
    assert (slots["min"] == 1).all() and (slots["max"] == slots["size"]).all()
    assert lineup.groupby("stream_id")["featured"].sum().between(1, 3).all()


def test_catalog_economics_are_plausible() -> None:
    c = simulate_world(0, "small").tables["catalog"]
    share = c["unit_cost"] / c["list_price"]
    assert share.between(0.34, 0.76).all()
    assert (c["salvage_value"] <= c["unit_cost"]).all()
    assert ((c["moq"] == 0) | (c["moq"] % c["case_pack"] == 0)).all()
    assert c["lead_time_days"].between(0, 20).all()
    perishable = c["category"].isin(["snacks", "fresh"])
    assert c.loc[perishable, "shelf_life_days"].notna().all()
    assert c.loc[~perishable, "shelf_life_days"].isna().all()


# ------------------------------------------------------------------------ outcomes and truth


@pytest.mark.parametrize("seed", SEEDS)
def test_upcoming_streams_are_blank_and_after_as_of(seed: int) -> None:
    world = tiny(seed)
    rows = items_with_truth(world)
    up = rows[rows["upcoming"]]
    past = rows[~rows["upcoming"]]
    assert len(up) > 0 and len(past) > 0
    assert (up["start_time"] >= world.as_of).all()
    assert up["start_time"].min() == world.as_of
    assert up[OUTCOMES].isna().all().all()
    assert (past["start_time"] < world.as_of).all()
    assert past[["units_sold", "units_returned"]].notna().all().all()
    streams = world.tables["streams"]
    assert streams.loc[streams["start_time"] >= world.as_of, "viewers"].isna().all()
    assert streams.loc[streams["start_time"] < world.as_of, "viewers"].notna().all()
    horizon = world.as_of + pd.Timedelta(days=SIZES["tiny"].horizon_days)
    assert (streams["start_time"] < horizon).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_past_outcomes_follow_the_truth(seed: int) -> None:
    rows = items_with_truth(tiny(seed))
    past = rows[~rows["upcoming"]]
    sold = past["units_sold"].astype(int)
    stocked = past["stock_allocated"].notna()
    stock = past["stock_allocated"]
    assert (sold[stocked] <= stock[stocked].astype(int)).all()
    expected = np.where(stocked, np.minimum(past["demand"], stock.fillna(0)), past["demand"])
    assert (sold.to_numpy() == expected).all()
    assert (past["units_returned"].astype(int) <= sold).all()
    assert 0.1 <= (~stocked).mean() <= 0.3


def test_truth_is_one_row_per_stream_item() -> None:
    world = tiny(0)
    truth, items = world.truth, world.tables["stream_items"]
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert len(truth) == len(items)
    assert (
        truth[["stream_id", "sku_id"]].to_numpy() == items[["stream_id", "sku_id"]].to_numpy()
    ).all()
    assert not truth.duplicated(["stream_id", "sku_id"]).any()
    assert (truth["mean"] > 0).all() and truth["size"].between(2, 10).all()
    assert truth["return_rate"].between(0, 0.9).all()
    assert (truth["demand"] >= 0).all()
    merchant = items["stream_id"].map(world.tables["streams"].set_index("stream_id")["merchant_id"])
    assert (truth["merchant_id"] == merchant).all()


def test_truth_hype_is_one_per_stream_and_normal_around_its_center() -> None:
    truth = small().truth
    per_stream = truth.groupby("stream_id")[["log_hype", "hype_center"]]
    assert (per_stream.nunique() == 1).all().all()
    streams = per_stream.first()
    dev = streams["log_hype"] - streams["hype_center"]
    n = len(streams)
    assert abs(dev.mean()) < 4 * HYPE_SD / np.sqrt(n)
    assert abs(dev.std() / HYPE_SD - 1) < 4 / np.sqrt(2 * n)
    assert (streams["hype_center"] >= 0).all() and (streams["hype_center"] == 0).mean() > 0.5


def test_truth_hidden_sku_and_streamer_parts() -> None:
    world = small()
    truth = world.truth
    assert (truth.groupby("sku_id")["log_sku_pop"].nunique() == 1).all()
    pop = truth.drop_duplicates("sku_id")["log_sku_pop"]
    assert abs(pop.mean()) < 4 * POP_SD / np.sqrt(len(pop))
    assert abs(pop.std() / POP_SD - 1) < 4 / np.sqrt(2 * len(pop))
    streams = world.tables["streams"].set_index("stream_id")
    cat = world.tables["catalog"].set_index(["merchant_id", "sku_id"])["category"]
    host = pd.DataFrame(
        {
            "streamer": truth["stream_id"].map(streams["streamer_id"]).to_numpy(),
            "category": cat.reindex(pd.MultiIndex.from_frame(truth[["merchant_id", "sku_id"]])),
            "log_host": truth["log_host"].to_numpy(),
        }
    )
    assert (host.groupby(["streamer", "category"])["log_host"].nunique() == 1).all()
    assert host.groupby("streamer")["log_host"].mean().std() > 0.2


def test_some_rows_sold_out() -> None:
    for world in (tiny(0), small()):
        items = world.tables["stream_items"].dropna(subset=["units_sold"])
        sold_out = items["units_sold"] >= items["stock_allocated"]  # False where unlimited
        assert 0.08 <= sold_out.mean() <= 0.3


def test_return_rates_by_category() -> None:
    world = small()
    rows = items_with_truth(world).merge(
        world.tables["catalog"][["merchant_id", "sku_id", "category"]], on=["merchant_id", "sku_id"]
    )
    rate = rows.groupby("category")["return_rate"].median()
    expected = {"apparel": (0.3, 0.5), "beauty": (0.06, 0.1), "snacks": (0.015, 0.04)}
    expected |= {"electronics": (0.08, 0.12), "fresh": (0.01, 0.03), "home": (0.07, 0.13)}
    for category, r in rate.items():
        lo, hi = expected[category]
        assert lo <= r <= hi, category


def test_demand_draws_match_the_true_mean() -> None:
    past = small().truth.loc[lambda t: ~t["upcoming"]]
    ratio = past["demand"].mean() / past["mean"].mean()
    se = np.sqrt((past["mean"] + past["mean"] ** 2 / past["size"]).sum()) / past["mean"].sum()
    assert abs(ratio - 1) < min(0.05, 4 * se)


def test_video_views_carry_signal_about_demand() -> None:
    world = small()
    v = world.tables["video_traffic"]
    views = v.groupby("video_id").agg(stream_id=("stream_id", "first"), views=("views", "max"))
    per_stream = views.groupby("stream_id")["views"].sum()
    mean = world.truth.groupby("stream_id")["mean"].sum()
    both = pd.concat([np.log1p(per_stream), np.log(mean)], axis=1, join="inner")
    assert both.corr(method="spearman").iloc[0, 1] > 0.3


# ----------------------------------------------------------------------------- cold start


@pytest.mark.parametrize("seed", SEEDS)
def test_cold_start_skus_and_streamers_in_the_horizon(seed: int) -> None:
    world = tiny(seed)
    rows = items_with_truth(world)
    past_skus = set(
        zip(
            rows.loc[~rows["upcoming"], "merchant_id"],
            rows.loc[~rows["upcoming"], "sku_id"],
            strict=True,
        )
    )
    up = rows[rows["upcoming"]]
    new_skus = set(zip(up["merchant_id"], up["sku_id"], strict=True)) - past_skus
    assert new_skus
    streams = world.tables["streams"]
    before = set(streams.loc[streams["start_time"] < world.as_of, "streamer_id"])
    after = set(streams.loc[streams["start_time"] >= world.as_of, "streamer_id"])
    assert after - before


def test_merchant_budgets_and_space() -> None:
    for world in (tiny(0), tiny(1), small()):
        m = world.tables["merchants"]
        assert m["budget"].notna().any() and m["budget"].isna().any()
        assert m["capacity_l"].notna().any() and m["capacity_l"].isna().any()
        assert (m["budget"].dropna() > 0).all()


def test_some_lead_times_outrun_the_first_stream() -> None:
    world = small()
    rows = items_with_truth(world)
    first = rows[rows["upcoming"]].groupby(["merchant_id", "sku_id"])["start_time"].min()
    lead = world.tables["catalog"].set_index(["merchant_id", "sku_id"])["lead_time_days"]
    arrival = world.as_of + pd.to_timedelta(lead.reindex(first.index), unit="D")
    late = (arrival > first).mean()
    assert 0 < late < 0.2


# ---------------------------------------------------------------------------------- videos


@pytest.mark.parametrize("seed", SEEDS)
def test_video_snapshots_never_see_the_future(seed: int) -> None:
    world = tiny(seed)
    v = world.tables["video_traffic"]
    assert len(v) > 0
    assert (v["observed_at"] <= world.as_of).all()
    assert (v["observed_at"] >= v["published_at"]).all()
    start = v["stream_id"].map(world.tables["streams"].set_index("stream_id")["start_time"])
    assert (v["observed_at"] <= start - pd.Timedelta(hours=1)).all()
    lead = start - v["published_at"]
    assert lead.between(pd.Timedelta(hours=12), pd.Timedelta(hours=120)).all()
    upcoming = start >= world.as_of
    assert upcoming.any() and (~upcoming).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_video_counts_are_cumulative(seed: int) -> None:
    v = tiny(seed).tables["video_traffic"].sort_values(["video_id", "observed_at"])
    for col in ("views", "likes", "comments", "shares"):
        step = v.groupby("video_id")[col].diff().dropna()
        assert (step >= 0).all(), col
    assert (v["likes"] <= v["views"]).all()
    assert (v.groupby("video_id")["published_at"].nunique() == 1).all()
    per_stream = v.groupby("stream_id")["video_id"].nunique()
    assert per_stream.between(1, 6).all()


def test_video_skus_are_in_the_lineup() -> None:
    world = tiny(0)
    v = world.tables["video_traffic"].dropna(subset=["sku_id"])
    assert len(v) > 0
    lineup = pd.MultiIndex.from_frame(world.tables["stream_items"][["stream_id", "sku_id"]])
    assert pd.MultiIndex.from_frame(v[["stream_id", "sku_id"]]).isin(lineup).all()


# --------------------------------------------------------------------------------- writing


def test_write_world_layout_and_round_trip(tmp_path: Path) -> None:
    world = tiny(0)
    out = tmp_path / "world"
    data = write_world(world, out)
    assert data == out / "data"
    assert sorted(p.name for p in data.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert sorted(p.name for p in out.iterdir()) == [
        "data",
        "scenario.json",
        "truth.csv",
        "world.json",
    ]
    meta = json.loads((out / "world.json").read_text())
    assert meta["seed"] == 0 and meta["size"] == "tiny"
    assert pd.Timestamp(meta["as_of"]) == world.as_of
    assert meta["rows"] == {k: len(v) for k, v in world.tables.items()}
    pd.testing.assert_frame_equal(load_truth(out), world.truth)
    streams = pd.read_csv(data / "streams.csv", dtype=str)
    assert streams["start_time"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$").all()
    back = pd.to_datetime(streams["start_time"], format="ISO8601", utc=True)
    assert back.equals(world.tables["streams"]["start_time"].dt.tz_convert("UTC"))
    items = pd.read_csv(data / "stream_items.csv", dtype=str, keep_default_na=False)
    assert set(items["featured"]) == {"true", "false"}
    assert not items["units_sold"].str.contains(r"\.").any()  # whole numbers, blank if unknown


def test_write_world_parquet_replaces_csv(tmp_path: Path) -> None:
    world = tiny(0)
    write_world(world, tmp_path)
    data = write_world(world, tmp_path, "parquet")
    assert sorted(p.name for p in data.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    for name, frame in world.tables.items():
        pd.testing.assert_frame_equal(pd.read_parquet(data / f"{name}.parquet"), frame)


def test_custom_size() -> None:
    size = WorldSize(
        n_merchants=1,
        skus_per_merchant=(8, 8),
        n_streamers=3,
        history_days=20,
        horizon_days=5,
        streams_per_day=2.0,
    )
    world = simulate_world(5, size)
    assert len(world.tables["merchants"]) == 1 and len(world.tables["catalog"]) == 8
    assert world.truth["upcoming"].any() and (~world.truth["upcoming"]).any()


def test_custom_size_with_several_debuts_lacking_an_upcoming_stream() -> None:
    """Sixty streamers (four debuting) and a two-day horizon with about two streams: most
    debuting streamers get no upcoming stream by chance, so each needs one added."""
    size = WorldSize(
        n_merchants=2,
        skus_per_merchant=(15, 20),
        n_streamers=60,
        history_days=30,
        horizon_days=2,
        streams_per_day=1.0,
    )
    world = simulate_world(0, size)
    streams = world.tables["streams"]
    upcoming = streams["start_time"] >= world.as_of
    past_hosts = set(streams.loc[~upcoming, "streamer_id"])
    new_hosts = set(streams.loc[upcoming, "streamer_id"]) - past_hosts
    assert len(new_hosts) >= 4  # round(0.07 x 60) debuts, each with an upcoming stream
    assert streams.loc[upcoming, "streamer_id"].isin(new_hosts).sum() >= 4
