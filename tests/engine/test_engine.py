"""The Dask engine against the single machine, on a two-worker LocalCluster: the parts that must
give the same numbers give them exactly (features, forecasts from a fitted model, plans per
merchant), the trees grown by lightgbm.dask stay within a stated tolerance, and the whole run
(`run_forecast(engine="dask")`) forecasts and plans the same rows as the local run, its forecasts
within that tolerance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from demandmatch.engine import dask_client, plan_by_merchant
from demandmatch.engine.boosting import (
    DaskBoosting,
    censored_nb_objective,
    decode_label,
    encode_label,
)
from demandmatch.engine.features import PartitionedFeatures, stream_partitions
from demandmatch.engine.predict import OnCluster
from demandmatch.features import build_features, prepare_tables
from demandmatch.forecast.negbin.boosting import Boosting, trees_log_mean
from demandmatch.forecast.negbin.likelihood import grad_hess
from demandmatch.forecast.rows import default_as_of, split_rows, training_rows
from demandmatch.forecast.stages import fit_demand, forecast_demand, upcoming_features
from demandmatch.optimise import OptimiserSettings, plan_orders
from demandmatch.runs import optimiser_inputs, plan_stock, run_forecast

# the trees lightgbm.dask grows on two workers bin and bag each worker's rows apart, so they are
# not the single machine's: the forecasts of a tiny world stay within these of its local run
TOTAL_MEAN_TOLERANCE = 0.10  # relative difference of the summed mean demand
ROW_MEAN_TOLERANCE = 0.15  # median over rows of |log(mean on the cluster / mean here)|


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, threads_per_worker=1) as c:
        yield c


@given(
    y=st.lists(st.integers(0, 10_000), min_size=1, max_size=30),
    data=st.data(),
)
def test_labels_carry_units_and_sold_out(y, data):
    cens = data.draw(st.lists(st.booleans(), min_size=len(y), max_size=len(y)))
    units, sold_out = decode_label(encode_label(np.array(y, float), np.array(cens)))
    np.testing.assert_array_equal(units, y)
    np.testing.assert_array_equal(sold_out, cens)


def test_objective_on_encoded_labels_is_the_censored_likelihoods():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 30, 200).astype(float)
    cens = rng.random(200) < 0.3
    f, r = rng.normal(1.5, 1.0, 200), rng.uniform(0.5, 8.0, 200)
    got = censored_nb_objective(encode_label(y, cens), f, r)
    want = grad_hess(f, y, r, cens)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_a_stream_stays_in_one_partition():
    rows = pd.DataFrame({"stream_id": [f"s{i % 7}" for i in range(50)]})
    parts = stream_partitions(rows, 3)
    assert sorted(np.concatenate(parts)) == list(range(50))
    for p in parts:
        streams = set(rows["stream_id"].iloc[p])
        others = set(rows["stream_id"].drop(rows.index[p]))
        assert not streams & others


def test_features_per_partition_are_the_single_machines(client, tiny_world):
    tables, config = tiny_world.tables, tiny_world.config
    source = prepare_tables(tables)
    past, _ = split_rows(source.lineup, default_as_of(tables), 0)
    train = training_rows(past, config.train_lead_hours)
    args = (train, None, source, config.festivals, config.timezone)
    here = build_features(*args)  # as of the latest cutoff of all rows, not of a partition's
    there = PartitionedFeatures(client, partitions=5)(*args)
    pd.testing.assert_frame_equal(there, here)


def test_forecasts_and_plans_on_the_cluster_are_the_single_machines(client, tiny_world):
    tables, config = tiny_world.tables, tiny_world.config
    fc = forecast_demand(tables, config)
    assert fc.forecasts["merchant_id"].nunique() >= 2
    fitted = fit_demand(tables, config)
    _, X = upcoming_features(fitted, tables, config, fc.lineup.drop(columns=["cutoff"]))
    here = fitted.model.predict_forecast(X)
    there = OnCluster(fitted.model, client, partitions=3).predict_forecast(X)
    np.testing.assert_array_equal(there[0], here[0])
    np.testing.assert_array_equal(there[1], here[1])
    assert all(np.array_equal(a, b) for a, b in zip(there[2], here[2], strict=True))

    local = plan_stock(fc, tables, config)
    items, skus, merchants = optimiser_inputs(fc, tables, config.optimiser.service_levels)
    settings = OptimiserSettings.from_config(config.optimiser)
    spread = plan_by_merchant(client, items, skus, merchants, fc.survival, settings)
    alone = plan_orders(items, skus, merchants, fc.survival, settings)
    pd.testing.assert_frame_equal(spread.plan, alone.plan)
    pd.testing.assert_frame_equal(spread.allocation, alone.allocation)
    pd.testing.assert_frame_equal(spread.shadow_prices, alone.shadow_prices)
    assert spread.stats.objective == pytest.approx(alone.stats.objective, rel=1e-12)
    assert spread.stats.best_bound == pytest.approx(alone.stats.best_bound, rel=1e-12)
    pd.testing.assert_frame_equal(local.plan, alone.plan)


def test_trees_grown_on_the_cluster_learn_what_the_single_machines_learn(client):
    rng = np.random.default_rng(1)
    n = 4000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.random(n)})
    f_true = 1.0 + 0.8 * X["a"] - 0.5 * (X["b"] > 0)
    r = np.full(n, 4.0)
    y = rng.negative_binomial(r, r / (r + np.exp(f_true))).astype(float)
    cens = rng.random(n) < 0.2
    base = np.full(n, np.log(y.mean()))
    params = dict(
        n_estimators=40,
        learning_rate=0.1,
        num_leaves=7,
        min_child_samples=20,
        subsample=1.0,
        subsample_freq=1,
        colsample_bytree=1.0,
        n_jobs=1,
        random_state=0,
        verbose=-1,
    )
    here = Boosting(params)
    there = DaskBoosting(params, client=client, partitions=4)
    f_here = trees_log_mean(here.grow(base, y, cens, r, here.dataset(X, y), 1.0, 40), X)
    f_there = trees_log_mean(there.grow(base, y, cens, r, there.dataset(X, y), 1.0, 40), X)
    assert np.corrcoef(f_here, f_there)[0, 1] > 0.98
    assert np.median(np.abs(f_here - f_there)) < 0.05
    assert np.corrcoef(f_there + base, f_true)[0, 1] > 0.95


@pytest.mark.slow
def test_a_run_on_the_cluster_forecasts_and_plans_as_the_single_machine(tiny_world, tmp_path):
    config = tiny_world.config
    local = run_forecast(tiny_world.data, tmp_path / "local", config)
    spread = run_forecast(tiny_world.data, tmp_path / "dask", config, engine="dask")
    a, b = spread.forecast.forecasts, local.forecast.forecasts
    pd.testing.assert_frame_equal(a[["stream_id", "sku_id"]], b[["stream_id", "sku_id"]])
    assert abs(a["mean"].sum() / b["mean"].sum() - 1) < TOTAL_MEAN_TOLERANCE
    assert np.median(np.abs(np.log(a["mean"] / b["mean"]))) < ROW_MEAN_TOLERANCE
    pd.testing.assert_frame_equal(
        spread.result.plan[["merchant_id", "sku_id"]], local.result.plan[["merchant_id", "sku_id"]]
    )
    written = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert written["summary"]["n_skus"] == len(local.result.plan)
    with pytest.raises(ValueError, match="engine"):
        run_forecast(tiny_world.data, tmp_path / "x", config, engine="spark")
