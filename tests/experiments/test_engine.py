"""The adapter's own parts: demo worlds of any scenario of the zoo, simulated once; the engine's
backtest keeping each origin's plan, scored against the oracle plan (or replayed on the sales)."""

from __future__ import annotations

import pytest

from demandmatch.experiments.engine import (
    backtest_contract,
    demo_world,
    nowcast_hours,
    read_truth,
    rolling_origins,
)
from demandmatch.simulate import load_scenario


def test_demo_worlds_are_simulated_once_per_scenario(tmp_path) -> None:
    demo = demo_world(0, "tiny", "demo", tmp_path)
    stamp = (demo / "world.json").stat().st_mtime_ns
    assert demo_world(0, "tiny", "demo", tmp_path) == demo
    assert (demo / "world.json").stat().st_mtime_ns == stamp  # reused, not simulated again
    hype = demo_world(0, "tiny", "heavy_hype", tmp_path)
    assert hype != demo and load_scenario(hype).name == "heavy_hype"
    a, b = read_truth(demo), read_truth(hype)
    assert (a["log_hype"] != b["log_hype"]).any()  # the scenario's own hype
    truth = (demo / "truth.csv").read_bytes()
    (demo / "world.json").unlink()  # as if stopped while writing: simulated again, the same
    assert demo_world(0, "tiny", "demo", tmp_path) == demo
    assert (demo / "truth.csv").read_bytes() == truth
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-demo-s0", "tiny-heavy_hype-s0"]
    with pytest.raises(ValueError, match="unknown scenario calm"):
        demo_world(0, "tiny", "calm", tmp_path)


def test_nowcast_leads_are_hours() -> None:
    assert nowcast_hours(["origin", "72h", "2.5h"]) == (72.0, 2.5)


@pytest.mark.slow
@pytest.mark.parametrize("known", [True, False], ids=["truth", "realised"])
def test_each_origins_plan_is_scored_against_the_reference_plan(tiny_world, known) -> None:
    tables, config = tiny_world.tables, tiny_world.config
    truth = tiny_world.truth if known else None
    origins = rolling_origins(tables, 1, 7, 7)
    out = backtest_contract(tables, truth, config, origins, 7, ["origin", "24h"])
    assert set(out.rows["lead"]) == {"origin", "24h"}
    # each row keeps its SKU's category and its stream's streamer
    cat = tables.catalog.set_index("sku_id")["category"]
    host = tables.streams.set_index("stream_id")["streamer_id"]
    assert (out.rows["category"] == out.rows["sku_id"].map(cat)).all()
    assert (out.rows["streamer_id"] == out.rows["stream_id"].map(host)).all()
    assert out.model is not None and out.model.n_features_in_ > 0
    assert {"features", "demand model", "plan"} <= set(out.timings)
    # one plan row per SKU of the origin's lineup
    planned = out.rows.loc[out.rows["lead"] == "origin", "sku_id"]
    assert sorted(out.plans["sku_id"]) == sorted(planned.unique())
    assert (out.plans["origin"] == out.rows["origin"].iloc[0]).all()
    # the reference plan is planned on the distribution both are scored under: none is better
    by = out.plans.groupby("merchant_id")[["profit", "reference_profit"]].sum()
    assert (by["profit"] <= by["reference_profit"] + 1e-6 * by["reference_profit"].abs()).all()
    if known:
        assert out.decision_basis == "truth" and not out.plans["lower_bound"].any()
    else:
        assert out.decision_basis == "realised"
        # a lower bound only where one of the SKU's streams sold out
        origin_rows = out.rows[out.rows["lead"] == "origin"]
        sold_out = origin_rows.groupby("sku_id")["sold_out"].any()
        flagged = out.plans.loc[out.plans["lower_bound"].astype(bool), "sku_id"]
        assert sold_out.reindex(flagged).all()
