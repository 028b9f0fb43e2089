"""Compliance signals on worlds built to hold each case, with known answers: unverified
streamers (flagged, or withheld from the plan), scarcity claims on either side of their
thresholds, and return risk against the rest of the category."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demandmatch.compliance import (
    CLAIM_FALSE,
    CLAIM_SHORT,
    RETURN_RISK,
    UNVERIFIED,
    annotate,
    check_compliance,
    compliance_summary,
    unverified_rows,
    withhold,
)
from demandmatch.config import ComplianceConfig
from demandmatch.data.schema import COMPLIANCE_COLUMNS, COMPLIANCE_FLAGS
from tests.report.world import CLAIMS, Planned, plan_world

STREAMERS = pd.DataFrame(
    {"streamer_id": ["ok", "no", "blank"], "qualification_verified": [True, False, None]}
)


@pytest.fixture(scope="module")
def planned() -> Planned:
    return plan_world("flag")


@pytest.fixture(scope="module")
def planned_withheld() -> Planned:
    return plan_world("withhold")


def _world(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(lineup, forecasts, plan, allocation) from rows of (stream, sku, merchant, streamer,
    category, price, claimed, allocated, mean, return_rate); expected sales = allocated."""
    cols = ["stream_id", "sku_id", "merchant_id", "streamer_id", "category", "live_price"]
    cols += ["claimed_stock", "allocated_units", "mean", "return_rate"]
    df = pd.DataFrame(rows, columns=cols)
    lineup = df[cols[:7]]
    forecasts = df[["stream_id", "sku_id", "merchant_id", "mean", "return_rate"]]
    allocation = df[["stream_id", "sku_id", "allocated_units"]]
    plan = (
        df.groupby(["merchant_id", "sku_id"], as_index=False)["allocated_units"]
        .sum()
        .rename(columns={"allocated_units": "expected_sales"})
    )
    return lineup, forecasts, plan, allocation


def _check(rows: list[tuple], **settings: object) -> pd.DataFrame:
    lineup, fc, plan, alloc = _world(rows)
    return check_compliance(lineup, fc, plan, alloc, STREAMERS, ComplianceConfig(**settings))


def test_unverified_means_false_blank_or_unknown():
    lineup = pd.DataFrame({"streamer_id": ["ok", "no", "blank", "stranger", "ok"]})
    assert unverified_rows(lineup, STREAMERS).tolist() == [False, True, True, True, False]


def test_withhold_leaves_no_demand_on_the_rows():
    s = [np.array([0.9, 0.5]), np.array([0.8]), np.array([0.7, 0.2])]
    out = withhold(s, np.array([False, True, False]))
    assert out[0] is s[0] and out[2] is s[2] and out[1].size == 0


def test_unverified_streams_are_flagged_with_the_stock_sent_there():
    rows = [
        ("S1", "A", "M", "no", "c", 10.0, np.nan, 7, 5.0, 0.1),
        ("S1", "B", "M", "no", "c", 4.0, np.nan, 0, 1.0, 0.1),
        ("S2", "A", "M", "ok", "c", 12.0, np.nan, 3, 5.0, 0.1),
    ]
    got = _check(rows)
    assert list(got.columns) == list(COMPLIANCE_COLUMNS)
    assert got[["stream_id", "sku_id", "flag"]].values.tolist() == [
        ["S1", "A", UNVERIFIED],
        ["S1", "B", UNVERIFIED],
    ]
    assert got["money_at_risk"].tolist() == [70.0, 0.0]  # 7 units at 10 yuan; nothing sent
    assert "7 units allocated" in got["detail"].iloc[0]
    withheld = _check(rows, unverified="withhold")
    assert withheld["money_at_risk"].tolist() == [0.0, 0.0]
    assert "withheld" in withheld["detail"].iloc[0] and "5.0 units" in withheld["detail"].iloc[0]


@pytest.mark.parametrize(
    ("claimed", "allocated", "flag", "money"),
    [
        (10, 25, CLAIM_FALSE, 150.0),  # 2.5x the claim, 15 units over
        (10, 20, None, 0.0),  # exactly 2x: not above the ratio
        (0, 5, CLAIM_FALSE, 50.0),  # "sold out" with 5 units in stock
        (0, 4, None, 0.0),  # 4 units over: fewer than claim_min_units
        (30, 20, CLAIM_SHORT, 100.0),  # below 90% of the claim, 10 units short
        (30, 28, None, 0.0),  # 93% of the claim
        (8, 3, CLAIM_SHORT, 50.0),  # 5 short
        (8, 4, None, 0.0),  # 4 short: fewer than claim_min_units
        (np.nan, 100, None, 0.0),  # no claim
    ],
)
def test_scarcity_claims_against_the_allocation(claimed, allocated, flag, money):
    got = _check([("S1", "A", "M", "ok", "c", 10.0, claimed, allocated, 10.0, 0.1)])
    if flag is None:
        assert got.empty
    else:
        assert got["flag"].tolist() == [flag]
        assert got["money_at_risk"].tolist() == [money]
        assert f"{int(claimed)}" in got["detail"].iloc[0]


def test_scarcity_thresholds_come_from_the_settings():
    rows = [("S1", "A", "M", "ok", "c", 10.0, 10, 20, 10.0, 0.1)]
    assert _check(rows).empty
    assert _check(rows, claim_false_ratio=1.5)["flag"].tolist() == [CLAIM_FALSE]
    short = [("S1", "A", "M", "ok", "c", 10.0, 10, 8, 10.0, 0.1)]
    assert _check(short).empty  # 2 short, under the 5-unit minimum
    assert _check(short, claim_min_units=2)["flag"].tolist() == [CLAIM_SHORT]


def test_return_risk_against_the_rest_of_the_category():
    # category c: X returns 30% of 10 expected units, Y and Z 10% of 30 and 10; d has one SKU
    rows = [
        ("S1", "X", "M", "ok", "c", 50.0, np.nan, 10, 10.0, 0.30),
        ("S1", "Y", "M", "ok", "c", 20.0, np.nan, 30, 30.0, 0.10),
        ("S2", "Z", "M", "ok", "c", 20.0, np.nan, 10, 10.0, 0.10),
        ("S2", "W", "M", "ok", "d", 20.0, np.nan, 10, 10.0, 0.90),
    ]
    got = _check(rows)
    assert got["flag"].tolist() == [RETURN_RISK] and got["sku_id"].tolist() == ["X"]
    assert got["stream_id"].tolist() == [""] and got["streamer_id"].tolist() == [""]
    # 10 expected sales x (0.30 - 0.10) x 50 yuan of refunds beyond the category's rate
    assert got["money_at_risk"].iloc[0] == pytest.approx(100.0)
    assert "30%" in got["detail"].iloc[0] and "10%" in got["detail"].iloc[0]
    assert _check(rows, return_risk_ratio=3.5).empty  # 0.30 is 3x the rest, not 3.5x
    assert _check(rows, return_risk_min_gap=0.25).empty  # 0.20 above, not 0.25


def test_flags_reach_plan_and_allocation_rows():
    rows = [
        ("S1", "X", "M", "no", "c", 50.0, np.nan, 10, 10.0, 0.30),
        ("S2", "X", "M", "ok", "c", 50.0, 0, 9, 10.0, 0.30),
        ("S2", "Y", "M", "ok", "c", 20.0, np.nan, 30, 30.0, 0.10),
        ("S3", "Z", "M", "ok", "c", 20.0, np.nan, 10, 10.0, 0.10),
    ]
    lineup, fc, plan, alloc = _world(rows)
    found = check_compliance(lineup, fc, plan, alloc, STREAMERS, ComplianceConfig())
    assert sorted(found["flag"]) == sorted([UNVERIFIED, CLAIM_FALSE, RETURN_RISK])
    on_plan = annotate(plan, found, per_stream=False)
    assert on_plan.tolist() == [
        ";".join([UNVERIFIED, CLAIM_FALSE, RETURN_RISK]),  # X, flags in their fixed order
        "",
        "",
    ]
    items = alloc.assign(merchant_id="M")
    on_items = annotate(items, found, per_stream=True)
    assert on_items.tolist() == [
        f"{UNVERIFIED};{RETURN_RISK}",
        f"{CLAIM_FALSE};{RETURN_RISK}",
        "",
        "",
    ]
    summary = compliance_summary(found, ComplianceConfig())
    assert summary == {
        "compliance_unverified": "flag",
        "n_unverified_streams": 1,
        "n_scarcity_claim_false": 1,
        "n_scarcity_claim_short": 0,
        "n_return_risk_skus": 1,
        "compliance_money_at_risk": pytest.approx(500.0 + 450.0 + found["money_at_risk"].iloc[2]),
    }


def test_a_planned_world_holds_every_flag(planned):
    found = planned.compliance
    assert set(found["flag"]) == set(COMPLIANCE_FLAGS)
    odd = {f"S{i:02d}" for i in range(1, 25, 2)}  # streams of the unverified H3
    assert set(found.loc[found["flag"] == UNVERIFIED, "stream_id"]) == odd
    claims = found[found["flag"].isin([CLAIM_FALSE, CLAIM_SHORT])]
    assert set(zip(claims["stream_id"], claims["sku_id"], claims["flag"], strict=True)) == {
        ("S02", "SKU-A", CLAIM_FALSE),  # claims 0 left
        ("S04", "SKU-A", CLAIM_SHORT),  # claims 500
    }
    assert set(CLAIMS) == {("S02", "SKU-A"), ("S04", "SKU-A")}
    assert found.loc[found["flag"] == RETURN_RISK, "sku_id"].tolist() == ["SKU-R"]
    assert planned.summary["n_unverified_streams"] == 12
    assert planned.summary["n_return_risk_skus"] == 1


def test_withhold_keeps_stock_away_from_unverified_streams(planned, planned_withheld):
    lineup = planned.forecast.lineup
    unverified = unverified_rows(lineup, planned.tables.streamers)
    flagged = planned.result.allocation["allocated_units"].to_numpy()
    held = planned_withheld.result.allocation["allocated_units"].to_numpy()
    assert flagged[unverified].sum() > 0  # flagging alone sends them stock
    assert held[unverified].sum() == 0  # withholding sends them none
    assert held[~unverified].sum() > 0 and (held[~unverified] == flagged[~unverified]).all()
    plan = planned_withheld.result.plan.set_index("sku_id")
    assert set(plan.index) == set(lineup["sku_id"])  # every SKU still has its plan row
    # SKU-A's demand is only its 12 verified streams' (12 x 30), its order shrinks with it
    assert plan.loc["SKU-A", "expected_demand"] == pytest.approx(360.0, rel=1e-6)
    full = planned.result.plan.set_index("sku_id")
    assert plan.loc["SKU-A", "order_qty"] < full.loc["SKU-A", "order_qty"]
    assert planned_withheld.summary["compliance_unverified"] == "withhold"
    assert plan_world("flag").result.plan.equals(planned.result.plan)  # deterministic
