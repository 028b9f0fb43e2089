"""The zoo's scoring: the hype-blind reference over a mixture of hype laws, the rules a plan
must keep, budgets that bind, the point plan, and the table's worst scenario."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from demandmatch.data.schema import FORECAST_COLUMNS, QUANTILE_COLUMNS
from demandmatch.evaluation.metrics import expected_pinball_negbin
from demandmatch.evaluation.oracles import LEVELS, hype_blind, hype_blind_mean, quantiles_of
from demandmatch.evaluation.plans import binding_budgets, broken_rules, point_survival
from demandmatch.evaluation.zoo import HEADLINE, forecast_figures, zoo_table
from demandmatch.forecast.distributions import quantiles_negbin, survival_negbin
from demandmatch.forecast.stages import DemandForecast

from .test_oracles import _rows


def test_quantiles_of_a_survival_curve_are_the_distributions():
    mean, size = np.array([0.4, 3.0, 25.0]), np.array([1.0, 4.0, 2.5])
    surv = survival_negbin(mean, size, tail=1e-12)
    assert np.array_equal(quantiles_of(surv, LEVELS), quantiles_negbin(mean, size, LEVELS))


def test_a_mixture_of_one_law_is_that_law_and_its_mean_is_the_mixtures():
    t = _rows()
    one = hype_blind(t, ((1.0, 0.45),))
    same = hype_blind(t, ((0.3, 0.45), (0.7, 0.45)))
    assert np.array_equal(one[1], same[1])
    for a, b in zip(one[0], same[0], strict=True):
        assert np.allclose(a, b)
    heavy = ((0.8, 0.3), (0.2, 0.8))
    surv, q = hype_blind(t, heavy, nodes=21)
    means = np.array([s.sum() for s in surv])
    assert np.allclose(means, hype_blind_mean(t, heavy), rtol=1e-3)
    # blind to a hype of +0.5 on the last row: its mean sits at the prior's, below the truth
    assert hype_blind_mean(t, heavy)[3] < t["mean"][3]
    assert (np.diff(q, axis=1) >= 0).all()


def test_mixture_survival_is_the_weighted_sum_of_its_parts():
    t = _rows().iloc[:1].reset_index(drop=True)
    mix = hype_blind(t, ((0.25, 0.0), (0.75, 0.0)))[0][0]
    # no spread in either part: the NB at the prior's centre (hype 0.2 above it taken out),
    # whatever the weights
    mean = 3.0 * np.exp(-0.2)
    expect = stats.nbinom.sf(np.arange(len(mix)), 2.0, 2.0 / (2.0 + mean))
    assert np.allclose(mix, expect)


def _plan_inputs():
    skus = pd.DataFrame(
        {
            "merchant_id": ["m1", "m1", "m2"],
            "sku_id": ["a", "b", "c"],
            "case_pack": [6, 1, 4],
            "moq": [0, 5, 0],
            "unit_cost": [10.0, 20.0, 5.0],
            "on_hand": [0, 0, 10],
            "unit_volume_l": [1.0, np.nan, 2.0],
        }
    )
    merchants = pd.DataFrame(
        {"merchant_id": ["m1", "m2"], "budget": [200.0, np.nan], "capacity_l": [np.nan, 30.0]}
    )
    return skus, merchants


def test_broken_rules_counts_each_rule():
    skus, merchants = _plan_inputs()
    ok = skus[["merchant_id", "sku_id"]].assign(order_qty=[12, 5, 4])  # 120 + 100 > 200
    assert broken_rules(ok, skus, merchants) == {
        "broken_pack": 0,
        "broken_moq": 0,
        "broken_budget": 1,
        "broken_capacity": 0,  # (10 + 4) x 2 = 28 litres of 30
    }
    bad = skus[["merchant_id", "sku_id"]].assign(order_qty=[7, 3, 8])
    assert broken_rules(bad, skus, merchants) == {
        "broken_pack": 1,
        "broken_moq": 1,
        "broken_budget": 0,  # 70 + 60
        "broken_capacity": 1,  # 36 litres
    }
    none = skus[["merchant_id", "sku_id"]].assign(order_qty=[0, 0, 0])
    full = merchants.assign(capacity_l=[np.nan, 5.0])  # over with stock on hand alone
    assert sum(broken_rules(none, skus, full).values()) == 0


def test_binding_budgets_are_a_share_of_the_plans_spend():
    skus, merchants = _plan_inputs()
    plan = skus[["merchant_id", "sku_id"]].assign(order_qty=[6, 5, 0])
    got = binding_budgets(merchants, plan, skus, 0.5)
    assert got["budget"].tolist() == [0.5 * (60 + 100), 0.0]
    assert got["capacity_l"].equals(merchants["capacity_l"])


def test_point_plan_is_sure_of_the_median():
    surv = point_survival(np.array([0.0, 2.4, 3.6]))
    assert [s.tolist() for s in surv] == [[], [1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]


def test_zoo_table_takes_the_worst_scenario_per_figure():
    base = {k: 1.0 for k in ("free", "budget") for _ in [0]}
    rows = []
    for scenario, seed, profit, bias in (
        ("a", 0, 90.0, 0.02),
        ("a", 1, 70.0, 0.04),
        ("b", 0, 95.0, -0.10),
    ):
        r = {"scenario": scenario, "seed": seed, **base}
        for v in ("free", "budget"):
            for name in ("engine", "oracle", "blind", "horizon", "point", "naive"):
                r[f"{v}_{name}_profit"] = profit if name == "engine" else 100.0
                r[f"{v}_{name}_leftover_cost"] = {"oracle": 4.0, "naive": 20.0}.get(name, 10.0)
                r[f"{v}_{name}_fill_rate"] = 0.5
            r[f"{v}_engine_broken_pack"] = 0.0
        r |= {
            "pinball_vs_blind": 1.0,
            "pinball_vs_oracle": 1.2,
            "coverage_gap": 0.0,
            "bias": bias,
            "new_pinball_vs_oracle": np.nan,
            "new_bias": np.nan,
        }
        rows.append(r)
    table = zoo_table(pd.DataFrame(rows))
    assert table.loc["a", "free profit/oracle"] == pytest.approx(0.8)
    assert table.loc["worst", "free profit/oracle"] == pytest.approx(0.8)
    assert table.loc["worst of", "free profit/oracle"] == "a"
    assert table.loc["worst", "bias"] == pytest.approx(-0.10)  # the largest in size
    assert table.loc["worst of", "bias"] == "b"
    assert table.loc["a", "seeds"] == 2
    assert table.loc["worst", "budget waste/naive"] == pytest.approx(0.5)
    assert table.loc["worst", "budget oracle waste/naive"] == pytest.approx(0.2)
    # every figure but those no world has (these worlds have no new SKU, no hype-blind bias,
    # no rows told apart by their videos)
    absent = {"new-SKU pinball/oracle", "new-SKU bias", "hype-blind bias"}
    absent |= {"new-SKU no-history pinball/oracle", "new-SKU no-history bias"}
    absent |= {"video-horizon pinball/hype-blind"}
    absent |= {name for name in HEADLINE if "," in name}  # no rows in groups either
    assert set(table.columns) == {"seeds"} | set(HEADLINE) - absent


def test_a_forecast_only_zoo_table_leaves_the_plans_figures_out():
    # worlds scored without plans: the forecast's figures are there, the plans' blank
    rows = pd.DataFrame(
        [
            {
                "scenario": "a",
                "seed": 0,
                "pinball_vs_blind": 1.1,
                "pinball_vs_oracle": 1.5,
                "coverage_gap": 0.01,
                "bias": -0.04,
                "new_pinball_vs_oracle": 2.0,
                "new_bias": 0.1,
            },
            {
                "scenario": "a",
                "seed": 1,
                "pinball_vs_blind": 1.3,
                "pinball_vs_oracle": 1.7,
                "coverage_gap": -0.03,
                "bias": 0.02,
                "new_pinball_vs_oracle": 2.2,
                "new_bias": -0.3,
            },
        ]
    )
    table = zoo_table(rows)
    assert table.loc["worst", "pinball/hype-blind"] == pytest.approx(1.2)
    assert table.loc["worst", "new-SKU bias"] == pytest.approx(-0.1)
    # no plan was made: no profit, and not 0 broken rules either
    assert "free profit/oracle" not in table and "broken rules" not in table


def test_the_loss_is_told_apart_for_rows_with_a_video_seen_rows_and_new_ones():
    # the forecast is the hype-blind forecaster's on every row but the new SKU's (row 3), where
    # it is twice as high: the video and seen rows score 1 against it, the new row more, and
    # the three shares of the loss add up to 1
    t = _rows().assign(stream_id=["S1", "S2", "S3", "S4"], sku_id=["K1", "K2", "K3", "K4"])
    hype = ((1.0, 0.45),)
    fc = _blind_forecast(t, hype)
    fc.forecasts[list(QUANTILE_COLUMNS)] = fc.forecasts[list(QUANTILE_COLUMNS)].mul(
        [1.0, 1.0, 1.0, 2.0], axis=0
    )
    video = np.array([True, False, False, False])
    out = forecast_figures(fc, t, hype, video=video)
    assert out["video_pinball_vs_blind"] == pytest.approx(1.0)
    assert out["seen_pinball_vs_blind"] == pytest.approx(1.0)
    assert out["cold_pinball_vs_blind"] > 1.0
    shares = [out[f"{g}_loss_share"] for g in ("video", "seen", "cold")]
    assert sum(shares) == pytest.approx(1.0) and min(shares) > 0
    # without the videos' rows, no groups
    assert "video_pinball_vs_blind" not in forecast_figures(fc, t, hype)


def _blind_forecast(t: pd.DataFrame, hype) -> DemandForecast:
    """The hype-blind forecaster's quantiles as a forecast of the rows of `t`, the last a new
    SKU."""
    q = hype_blind(t, hype)[1].astype(float)
    cold = [False] * (len(t) - 1) + [True]
    forecasts = pd.DataFrame(q, columns=list(QUANTILE_COLUMNS)).assign(
        stream_id=t["stream_id"],
        sku_id=t["sku_id"],
        merchant_id="M1",
        mean=hype_blind_mean(t, hype),
        return_rate=0.0,
        cold_start=cold,
    )[list(FORECAST_COLUMNS)]
    lineup = t[["stream_id", "sku_id"]].assign(cold_sku=cold, cold_streamer=False)
    return DemandForecast(pd.Timestamp("2024-11-01", tz="UTC"), 14, lineup, forecasts, [], 0)


def test_reading_the_videos_exactly_bounds_what_the_videos_can_give():
    # the forecast is the hype-blind forecaster's: with no video it scores 1 either way; with
    # every row's video read exactly, the truth's own loss against the hype-blind's; with one,
    # that row's truth loss in place of its hype-blind one
    t = _rows().assign(stream_id=["S1", "S2", "S3", "S4"], sku_id=["K1", "K2", "K3", "K4"])
    hype = ((1.0, 0.45),)
    fc = _blind_forecast(t, hype)
    mu, size = t["mean"].to_numpy(), t["size"].to_numpy()
    blind = expected_pinball_negbin(hype_blind(t, hype)[1], LEVELS, mu, size).mean(axis=1)
    truth = quantiles_negbin(mu, size, LEVELS)
    oracle = expected_pinball_negbin(truth, LEVELS, mu, size).mean(axis=1)

    none = forecast_figures(fc, t, hype, video=np.zeros(4, dtype=bool))
    assert none["horizon_vs_blind"] == pytest.approx(1.0)
    assert none["ceiling_vs_blind"] == pytest.approx(none["pinball_vs_blind"])

    every = forecast_figures(fc, t, hype, video=np.ones(4, dtype=bool))
    assert every["horizon_vs_blind"] == pytest.approx(oracle.sum() / blind.sum())
    assert every["ceiling_vs_blind"] == pytest.approx(oracle.sum() / blind.sum())
    assert every["horizon_vs_blind"] == pytest.approx(1.0 / every["blind_vs_oracle"])

    one = forecast_figures(fc, t, hype, video=np.array([False, True, False, False]))
    expect = (blind.sum() - blind[1] + oracle[1]) / blind.sum()
    assert one["ceiling_vs_blind"] == pytest.approx(expect) and expect < 1.0


def test_new_skus_are_scored_beside_the_no_history_reference():
    # the new SKU (row 4: mean 6, its stream's hype 0.5 above the centre, its own popularity
    # 0.9 above its brand's) as the no-history reference sees it: hype and popularity unknown,
    # so its mean is the truth's times exp(-0.5 - 0.9 + (0.45^2 + 0.7^2) / 2)
    t = _rows().assign(stream_id=["S1", "S2", "S3", "S4"], sku_id=["K1", "K2", "K3", "K4"])
    t.loc[3, ["mean", "log_sku_pop"]] = [6.0, 0.9]
    hype = ((1.0, 0.45),)
    out = forecast_figures(_blind_forecast(t, hype), t, hype)
    expect = np.exp(-0.5 - 0.9 + (0.45**2 + 0.7**2) / 2) - 1
    assert out["new_nohistory_bias"] == pytest.approx(expect)
    assert out["new_nohistory_pinball_vs_oracle"] > 1.0
    # the forecast knows the SKU's popularity, the reference does not: the forecast is closer
    assert out["new_pinball_vs_oracle"] < out["new_nohistory_pinball_vs_oracle"]
