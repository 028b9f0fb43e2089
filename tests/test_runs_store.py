"""A forecast that takes merchants' catalogs from the catalog store (`forecast --store`): each
merchant with a version there plans on it, the others on the data folder's file, and the run
records which version it used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from demandmatch.config import load_config
from demandmatch.data import ContractError
from demandmatch.errors import UsageError
from demandmatch.runs import run_forecast
from demandmatch.store import Store

FAST = {"tracking": {"enabled": False}, "horizon_days": 3, "model": {"name": "sku_empirical"}}


@pytest.fixture
def world(tiny_world, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_world.data, tmp_path / "world" / "data"))


def _store_with(url: str, merchant: str, catalog: pd.DataFrame) -> None:
    """`merchant`'s rows of `catalog` imported into the store at `url` as its version 1."""
    store = Store(url)
    try:
        store.add_merchant(merchant, merchant)
        rows = catalog[catalog["merchant_id"] == merchant].drop(columns="merchant_id")
        preview = store.preview(merchant, rows.to_csv(index=False).encode(), "catalog.csv")
        assert store.apply(merchant, preview["id"])["version"] == 1
    finally:
        store.close()


def test_a_merchant_in_the_store_plans_on_its_stored_catalog(world, tmp_path) -> None:
    catalog = pd.read_csv(world / "catalog.csv", dtype={"sku_id": str, "merchant_id": str})
    merchant = sorted(catalog["merchant_id"].unique())[0]
    stored = catalog.copy()
    mine = stored["merchant_id"] == merchant
    # every SKU of the merchant nearly at its salvage value in the store
    stored.loc[mine, "unit_cost"] = (stored.loc[mine, "salvage_value"].fillna(0) + 0.01).round(2)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _store_with(url, merchant, stored)

    run = run_forecast(world, tmp_path / "out", load_config(None, FAST), store=url)

    versions = run.summary["catalog_versions"]
    assert versions[merchant] == "v1"
    assert {v for m, v in versions.items() if m != merchant} == {"file"}
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["summary"]["catalog_versions"] == versions
    written = pd.read_csv(tmp_path / "out" / "plan.csv", dtype={"sku_id": str, "merchant_id": str})
    assert len(written) == len(run.result.plan)
    costs = written.merge(
        stored[["merchant_id", "sku_id", "unit_cost"]].rename(columns={"unit_cost": "stored"}),
        on=["merchant_id", "sku_id"],
    ).merge(
        catalog[["merchant_id", "sku_id", "unit_cost"]].rename(columns={"unit_cost": "file"}),
        on=["merchant_id", "sku_id"],
    )
    ours = costs["merchant_id"] == merchant
    assert ours.any() and (~ours).any()
    assert (costs.loc[ours, "unit_cost"] - costs.loc[ours, "stored"]).abs().max() < 1e-9
    assert (costs.loc[ours, "stored"] != costs.loc[ours, "file"]).any()
    assert (costs.loc[~ours, "unit_cost"] - costs.loc[~ours, "file"]).abs().max() < 1e-9


def test_without_a_catalog_file_every_merchant_needs_a_stored_version(world, tmp_path) -> None:
    catalog = pd.read_csv(world / "catalog.csv", dtype={"sku_id": str, "merchant_id": str})
    merchant = sorted(catalog["merchant_id"].unique())[0]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _store_with(url, merchant, catalog)
    (world / "catalog.csv").unlink()
    with pytest.raises(ContractError, match="catalog store"):
        run_forecast(world, tmp_path / "out", load_config(None, FAST), store=url)
    assert not (tmp_path / "out" / "run.json").exists()


def test_a_store_that_cannot_be_read_is_the_flags_error(world, tmp_path) -> None:
    with pytest.raises(UsageError, match="^--store: "):
        run_forecast(world, tmp_path / "out", load_config(None, FAST), store="nosuchdb://nowhere/x")
