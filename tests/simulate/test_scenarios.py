"""The world zoo: every scenario keeps the data contract and the truth, and each one's knob
changes what it claims, measured in the generated data against the demo world."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandmatch.data import load_tables
from demandmatch.simulate import (
    CATEGORIES,
    DEMO,
    SCENARIOS,
    SIZES,
    TRUTH_COLUMNS,
    Scenario,
    World,
    load_scenario,
    load_truth,
    scaled,
    scenario,
    simulate_world,
    write_world,
)
from demandmatch.simulate.stats import hype_kurtosis, late_share, video_hype_corr, world_stats
from demandmatch.simulate.streams import weighted_pick
from demandmatch.simulate.truth import LAUNCH_STREAMS


@cache
def world(name: str, size: str = "demo", seed: int = 0) -> World:
    return simulate_world(seed, size, name)


def stats(name: str, size: str = "demo", seed: int = 0) -> dict[str, float]:
    w = world(name, size, seed)
    return world_stats(w.tables, w.truth, w.as_of)


def formula_residual(w: World) -> pd.DataFrame:
    """Per stream item, log(true mean) less every term of the documented demand formula that the
    tables and the truth's hidden columns tell (all but the brand effect, the launch boost and,
    on upcoming rows, being featured in a video): what is left is brand + launch on past rows
    and brand + launch (+ 0.25 if in a video) on upcoming ones."""
    t, items = w.truth, w.tables["stream_items"]
    streams = w.tables["streams"].set_index("stream_id")
    catalog = w.tables["catalog"].set_index(["merchant_id", "sku_id"])
    key = pd.MultiIndex.from_frame(t[["merchant_id", "sku_id"]])
    sku = catalog.reindex(key)
    cat = {c.name: c for c in CATEGORIES}
    kind = sku["category"].to_numpy()
    effect = np.array([cat[c].effect for c in kind])
    typical = np.array([cat[c].price for c in kind])
    elasticity = np.array([cat[c].elasticity for c in kind])
    s = streams.reindex(t["stream_id"])
    start = s["start_time"].dt.tz_convert("Asia/Shanghai")
    hour = start.dt.hour.to_numpy()
    followers = s["streamer_id"].map(w.tables["streamers"].set_index("streamer_id")["followers"])
    list_price = sku["list_price"].to_numpy()
    discount = np.clip(1.0 - items["live_price"].to_numpy() / list_price, 0.0, None)
    lineup = items.groupby("stream_id")["sku_id"].transform("size").to_numpy()
    v = w.tables["video_traffic"].dropna(subset=["sku_id"])
    in_video = pd.MultiIndex.from_frame(items[["stream_id", "sku_id"]]).isin(
        pd.MultiIndex.from_frame(v[["stream_id", "sku_id"]])
    )
    known = (
        1.9
        + effect
        + t["log_sku_pop"].to_numpy()
        - 0.6 * np.log(list_price / typical)
        + t["log_host"].to_numpy()
        + 0.55 * np.log(followers.to_numpy(dtype=float) / 1e5)
        + t["log_hype"].to_numpy()
        + elasticity * discount
        - 0.025 * (items["slot"].to_numpy() - 1)
        + 0.35 * items["featured"].to_numpy()
        + 0.25 * in_video
        + np.select([hour < 18, (hour >= 20) & (hour <= 21)], [-0.25, 0.1], 0.0)
        + 0.1 * (start.dt.weekday.to_numpy() >= 4)
        + 0.6 * t["hype_center"].to_numpy() / 0.3
        + 0.35 * np.log(s["duration_min"].to_numpy() / 120.0)
        - 0.25 * np.log(lineup / 13.0)
    )
    return pd.DataFrame(
        {
            "merchant_id": t["merchant_id"],
            "sku_id": t["sku_id"],
            "brand": sku["brand"].to_numpy(),
            "upcoming": t["upcoming"],
            "in_video": in_video,
            "residual": np.log(t["mean"].to_numpy()) - known,
        }
    )


def appearance(w: World) -> np.ndarray:
    """Each stream item's index among its SKU's streams in start order (0 for the first)."""
    start = w.tables["stream_items"]["stream_id"].map(
        w.tables["streams"].set_index("stream_id")["start_time"]
    )
    keys = w.truth[["merchant_id", "sku_id"]].assign(start=start.to_numpy())
    order = keys.sort_values("start", kind="stable")
    return order.groupby(["merchant_id", "sku_id"]).cumcount().reindex(keys.index).to_numpy()


def new_skus(w: World) -> np.ndarray:
    """Whether each stream item's SKU has no past stream."""
    t = w.truth
    sku = t["merchant_id"] + "/" + t["sku_id"]
    return ~sku.isin(set(sku[~t["upcoming"]])).to_numpy()


# --------------------------------------------------------------------- every scenario, valid


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_keeps_the_contract_and_the_truth(name: str, tmp_path: Path) -> None:
    w = simulate_world(1, "tiny", name)
    data = write_world(w, tmp_path)
    tables = load_tables(data)  # raises on any broken rule of the contract
    assert len(tables.stream_items) == len(w.tables["stream_items"])
    truth = load_truth(tmp_path)
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert truth[list(TRUTH_COLUMNS)].notna().all().all()
    items = w.tables["stream_items"]
    keys = ["stream_id", "sku_id"]
    assert (truth[keys].to_numpy() == items[keys].to_numpy()).all()
    up = truth[truth["upcoming"]]
    assert len(up) > 0 and (up["mean"] > 0).all() and (up["size"] > 0).all()
    assert items.loc[truth["upcoming"].to_numpy(), "units_sold"].isna().all()
    # the hidden parts the oracles need: one hype per stream, one popularity per SKU
    assert (truth.groupby("stream_id")["log_hype"].nunique() == 1).all()
    assert (truth.groupby(["merchant_id", "sku_id"])["log_sku_pop"].nunique() == 1).all()
    assert load_scenario(tmp_path) == w.scenario == SCENARIOS[name]
    assert json.loads((tmp_path / "scenario.json").read_text())["name"] == name


def test_the_default_is_the_demo() -> None:
    a, b = simulate_world(2, "tiny"), simulate_world(2, "tiny", "demo")
    assert a.scenario == DEMO
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_scenarios_compose_and_conflicts_are_errors() -> None:
    both = scenario("heavy_hype,weak_video")
    assert both.hype == SCENARIOS["heavy_hype"].hype
    assert both.video_tie == SCENARIOS["weak_video"].video_tie
    assert both.brand_sd == DEMO.brand_sd and both.name == "heavy_hype,weak_video"
    assert replace(scenario("demo,lead_0_3"), name="lead_0_3") == SCENARIOS["lead_0_3"]
    with pytest.raises(ValueError, match="launch_boost"):
        scenario("launch_boost,no_launch_boost")
    with pytest.raises(ValueError, match="unknown scenario nope"):
        scenario("demo,nope")
    with pytest.raises(ValueError, match="weights must sum to 1"):
        Scenario(hype=((0.5, 0.3),))
    w = simulate_world(0, "tiny", "no_brand_signal,nb_size_high")
    assert w.truth["size"].between(5, 20).all()
    assert w.scenario.brand_sd == 0.0


def test_weighted_pick_draws_as_numpy_choice() -> None:
    rng = np.random.default_rng(11)
    for n in (1, 2, 7, 60, 500):
        for _ in range(20):
            w = rng.random(n) * (rng.random(n) < 0.7)
            if w.sum() == 0:
                w[0] = 1.0
            a, b = np.random.default_rng(n), np.random.default_rng(n)
            expected = [a.choice(n, p=w / w.sum()) for _ in range(50)]
            assert weighted_pick(w, b.random(50)).tolist() == expected


# ------------------------------------------------------------------------------- launches


def test_launch_boost_lifts_a_launched_skus_first_streams_only() -> None:
    """Same seed: the launch knob is drawn nothing, so the lineups are the demo's and every
    true mean is the demo's times exp(0.9 (1 - j/4)) on the j-th stream (j < 4) of a SKU
    launched during the calendar, 1 elsewhere."""
    demo, boost = world("demo", "small"), world("launch_boost", "small")
    for name in ("streams", "catalog", "streamers"):
        drop = ["viewers", "lead_time_days", "on_hand"]
        pd.testing.assert_frame_equal(
            demo.tables[name].drop(columns=drop, errors="ignore"),
            boost.tables[name].drop(columns=drop, errors="ignore"),
        )
    log_ratio = np.log(boost.truth["mean"] / demo.truth["mean"]).to_numpy()
    j = appearance(demo)
    lifted = np.abs(log_ratio) > 1e-12
    fade = np.clip(1.0 - j / LAUNCH_STREAMS, 0.0, None)
    np.testing.assert_allclose(log_ratio[lifted], 0.9 * fade[lifted], atol=1e-9)
    assert (j[lifted] < LAUNCH_STREAMS).all()
    # a launched SKU is lifted on each of its first streams, or it was not launched at all
    sku = demo.truth["merchant_id"] + "/" + demo.truth["sku_id"]
    first = j < LAUNCH_STREAMS
    per_sku = pd.Series(lifted[first]).groupby(sku[first].to_numpy()).agg(["all", "any"])
    assert (per_sku["all"] == per_sku["any"]).all()
    # every SKU new in the horizon is a launch; SKUs launched during the history are lifted too
    new = new_skus(demo)
    assert lifted[new & (j == 0)].all()
    assert lifted[~demo.truth["upcoming"].to_numpy()].sum() > 50


def test_no_launch_boost_sells_new_skus_like_any_other() -> None:
    """The same world with a boost switched on differs from no_launch_boost only on launch rows:
    so no_launch_boost has no launch term; and new SKUs are no longer pushed into lineups."""
    plain = world("no_launch_boost", "small")
    boosted = simulate_world(0, "small", replace(SCENARIOS["no_launch_boost"], launch_boost=0.9))
    log_ratio = np.log(boosted.truth["mean"] / plain.truth["mean"]).to_numpy()
    j = appearance(plain)
    fade = np.clip(1.0 - j / LAUNCH_STREAMS, 0.0, None)
    lifted = np.abs(log_ratio) > 1e-12
    np.testing.assert_allclose(log_ratio[lifted], 0.9 * fade[lifted], atol=1e-9)
    new = new_skus(plain)
    assert lifted[new & (j == 0)].all()
    # new SKUs' rows follow the demand formula with nothing added beyond their brand's effect,
    # which the same merchant's brand shows on its past rows
    r = formula_residual(plain)
    brand = r[~r["upcoming"]].groupby(["merchant_id", "brand"])["residual"].median()
    launched_past = lifted & ~plain.truth["upcoming"].to_numpy()
    past_r = r[~r["upcoming"] & ~launched_past]
    spread = past_r.groupby(["merchant_id", "brand"])["residual"].agg(lambda x: x.max() - x.min())
    assert spread.max() < 1e-9  # past rows: exactly the brand's effect
    rows = r[new]
    own = brand.reindex(pd.MultiIndex.from_frame(rows[["merchant_id", "brand"]])).to_numpy()
    extra = rows["residual"].to_numpy() - own
    known = ~np.isnan(own)
    assert known.mean() > 0.8
    unseen_video = np.isclose(extra[known], 0.25, atol=1e-9)  # in a video not yet observed
    assert (np.isclose(extra[known], 0.0, atol=1e-9) | unseen_video).all()
    assert stats("no_launch_boost")["new_sku_share"] < 0.6 * stats("demo")["new_sku_share"]


# --------------------------------------------------------------------------------- brands


def test_no_brand_signal_leaves_nothing_for_brands() -> None:
    """On past rows of a world without launches, log mean less every known term is exactly the
    brand's effect: one value per merchant and brand, spread about BRAND_SD in the demo and 0
    without brand signal."""
    for name, lo, hi in (("demo", 0.15, 0.6), ("no_brand_signal", 0.0, 1e-9)):
        r = formula_residual(world(name, "small"))
        past = r[~r["upcoming"]]
        per_brand = past.groupby(["merchant_id", "brand"])["residual"]
        assert (per_brand.max() - per_brand.min()).max() < 1e-9, name
        effects = per_brand.first()
        assert len(effects) >= 6
        assert lo <= effects.std() <= hi and lo <= effects.abs().max() <= 2 * hi, name


# ------------------------------------------------------------------------------------ hype


def test_heavy_hype_has_heavier_tails_at_the_same_spread() -> None:
    demo, heavy = world("demo"), world("heavy_hype")
    sd = SCENARIOS["heavy_hype"].hype_sd
    for w, expected_sd in ((demo, 0.45), (heavy, sd)):
        per_stream = w.truth.groupby("stream_id")[["log_hype", "hype_center"]].first()
        dev = per_stream["log_hype"] - per_stream["hype_center"]
        assert abs(dev.std() / expected_sd - 1) < 0.06
    assert 2.7 < hype_kurtosis(demo.truth) < 3.3
    assert hype_kurtosis(heavy.truth) > 5.0
    # the deviations fit the stated mixture far better than a normal of the same spread
    dev = heavy.truth.groupby("stream_id")[["log_hype", "hype_center"]].first()
    x = (dev["log_hype"] - dev["hype_center"]).to_numpy()

    def normal_pdf(x: np.ndarray, s: float) -> np.ndarray:
        return np.exp(-0.5 * (x / s) ** 2) / (s * np.sqrt(2 * np.pi))

    mixture = sum(w * normal_pdf(x, s) for w, s in SCENARIOS["heavy_hype"].hype)
    assert np.log(mixture / normal_pdf(x, sd)).sum() > 50


# ---------------------------------------------------------------------------- lead times


def test_lead_times_0_3_are_not_fitted_to_the_lineup() -> None:
    w = world("lead_0_3")
    lead = w.tables["catalog"]["lead_time_days"]
    assert lead.between(0, 3).all()
    assert lead.value_counts(normalize=True).between(0.17, 0.33).all()
    # independent of the schedule: the share of SKUs whose order lands after their first
    # upcoming stream is what a uniform 0-3 day lead gives for their first streams' starts
    streams = w.tables["streams"].set_index("stream_id")
    up = w.truth[w.truth["upcoming"]]
    first = up.assign(start=up["stream_id"].map(streams["start_time"]))
    gap = (first.groupby(["merchant_id", "sku_id"])["start"].min() - w.as_of).dt.total_seconds()
    p_late = np.mean([(np.arange(4) * 86400 > g).mean() for g in gap])
    se = np.sqrt(p_late * (1 - p_late) / len(gap))
    observed = late_share(w.tables, w.truth, w.as_of)
    assert abs(observed - p_late) < 4 * se
    assert observed > 0.25
    assert late_share(world("demo").tables, world("demo").truth, world("demo").as_of) < 0.1


# --------------------------------------------------------------------------------- stock


def test_sellout_10_50_spreads_merchants_from_a_tenth_to_a_half_sold_out() -> None:
    for seed in (0, 1):
        demo, spread = stats("demo", "small", seed), stats("sellout_10_50", "small", seed)
        assert 0.1 <= demo["sold_out_merchant_min"] <= demo["sold_out_merchant_max"] <= 0.25
        assert 0.05 <= spread["sold_out_merchant_min"] <= 0.15
        assert 0.42 <= spread["sold_out_merchant_max"] <= 0.58


# -------------------------------------------------------------------------------- videos


def test_weak_video_ties_reach_loosely_to_hype() -> None:
    for seed in (0, 1):
        demo, weak = world("demo", "small", seed), world("weak_video", "small", seed)
        tight = video_hype_corr(demo.tables, demo.truth, demo.as_of)
        loose = video_hype_corr(weak.tables, weak.truth, weak.as_of)
        assert tight > 0.5
        assert 0.05 < loose < 0.45 * tight


# ----------------------------------------------------------------------------- streamers


def test_many_new_streamers_debut_in_the_horizon() -> None:
    for name, debuts in (("demo", 4), ("many_new_streamers", 21)):  # round(share x 60)
        streams = world(name).tables["streams"]
        upcoming = streams["start_time"] >= world(name).as_of
        new = set(streams.loc[upcoming, "streamer_id"]) - set(streams.loc[~upcoming, "streamer_id"])
        assert debuts <= len(new) <= debuts + 3, name
    assert stats("many_new_streamers")["new_streamer_share"] > 0.5
    assert stats("demo")["new_streamer_share"] < 0.35


# ---------------------------------------------------------------------------- dispersion


@pytest.mark.parametrize(("name", "lo", "hi"), [("nb_size_low", 0.5, 2.0), ("nb_size_high", 5, 20)])
def test_nb_size_in_its_range_and_the_draws_follow_it(name: str, lo: float, hi: float) -> None:
    t = world(name).truth
    per_sku = t.groupby(["merchant_id", "sku_id"])["size"]
    assert (per_sku.nunique() == 1).all()
    size = per_sku.first()
    assert size.between(lo, hi).all()
    assert size.min() < lo * 1.1 and size.max() > hi / 1.1
    assert abs(np.log(size).median() - np.log(lo * hi) / 2) < 0.15 * np.log(hi / lo)
    # E[(D - mu)^2 - mu] = mu^2 / size: the demand draws have the recorded dispersion
    mu, d, r = t["mean"], t["demand"], t["size"]
    ratio = (((d - mu) ** 2 - mu) * r / mu**2).mean()
    assert abs(ratio - 1) < 0.1


# ---------------------------------------------------------------------------------- growth


def test_growth_sizes_scale_the_platform() -> None:
    demo = SIZES["demo"]
    for k in (1, 2, 4, 8, 16):
        size = SIZES[f"x{k}"]
        assert (size.n_merchants, size.n_streamers) == (demo.n_merchants * k, demo.n_streamers * k)
        assert size.streams_per_day == demo.streams_per_day * k
        assert size.history_days == demo.history_days
    tiny, triple = world("demo", "tiny"), simulate_world(0, scaled(SIZES["tiny"], 3))
    assert len(triple.tables["merchants"]) == 3 * len(tiny.tables["merchants"])
    ratio = len(triple.tables["stream_items"]) / len(tiny.tables["stream_items"])
    assert 2.4 < ratio < 3.6
    with pytest.raises(ValueError):
        scaled(SIZES["tiny"], 0)
