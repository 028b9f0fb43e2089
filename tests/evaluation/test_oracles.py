"""The demo benchmark's information floors: the true negative binomial mixed over the prior of
what a forecaster cannot know (the stream's hype; a new SKU's popularity; a new streamer's
skill)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from demandmatch.evaluation.oracles import (
    LEVELS,
    blind,
    cold_blind,
    hype_blind,
    hype_blind_bias,
    video_horizon,
)
from demandmatch.forecast.distributions import quantiles_negbin
from demandmatch.simulate import HYPE_SD


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mean": [3.0, 12.0, 40.0, 0.5],
            "size": [2.0, 5.0, 8.0, 3.0],
            "log_hype": [0.2, -0.3, 0.0, 0.5],
            "hype_center": [0.0, 0.0, 0.3, 0.0],
            "log_sku_pop": [0.9, -0.4, 0.1, 0.0],
            "log_host": [0.3, 0.3, -0.2, 0.1],
            "streamer_id": ["H1", "H1", "H2", "H3"],
            "category": ["a", "a", "b", "a"],
        }
    )


def test_no_spread_gives_the_true_distribution() -> None:
    t = _rows()
    hidden = t["log_hype"].to_numpy()
    surv, q = blind(t, hidden, hidden, np.zeros(len(t)))
    assert np.array_equal(q, quantiles_negbin(t["mean"], t["size"], LEVELS))
    for i, s in enumerate(surv):
        u = np.arange(1, len(s) + 1)
        expect = stats.nbinom.sf(u - 1, t["size"][i], t["size"][i] / (t["size"][i] + t["mean"][i]))
        assert np.allclose(s, expect)


def test_mixture_mean_and_spread() -> None:
    t = _rows()
    sd = np.full(len(t), 0.5)
    center = np.zeros(len(t))
    surv, q = blind(t, center, center, sd, nodes=21)
    # E[D] = sum_u P(D >= u) = mean x E[exp(sd Z)] = mean x exp(sd^2 / 2)
    means = np.array([s.sum() for s in surv])
    assert np.allclose(means, t["mean"] * np.exp(0.125), rtol=1e-3)
    true_q = quantiles_negbin(t["mean"], t["size"], LEVELS)
    assert ((q[:, -1] - q[:, 0]) >= (true_q[:, -1] - true_q[:, 0])).all()


def test_cold_blind_adds_only_the_unknown_parts() -> None:
    t = _rows()
    warm = np.zeros(len(t), bool)
    s_warm, q_warm = cold_blind(t, warm, warm)
    # nothing new to the forecaster: the hype alone is integrated out
    hype = blind(t, t["log_hype"].to_numpy(), t["hype_center"].to_numpy(), np.full(len(t), 0.45))
    assert np.array_equal(q_warm, hype[1])
    cold_sku = np.array([True, False, False, False])
    _, q_cold = cold_blind(t, cold_sku, warm)
    assert np.array_equal(q_cold[1:], q_warm[1:])
    # the first SKU's popularity (+0.9) is hidden: its median falls back toward the prior's
    assert q_cold[0, 3] < q_warm[0, 3]
    # a SKU at its brand's popularity: the same centre, a wider spread
    t.loc[0, "log_sku_pop"] = 0.0
    _, q_avg = cold_blind(t, cold_sku, warm, nodes=21)
    _, q_avg_warm = cold_blind(t, warm, warm, nodes=21)
    assert q_avg[0, -1] - q_avg[0, 0] > q_avg_warm[0, -1] - q_avg_warm[0, 0]


def test_video_horizon_knows_the_hype_only_where_a_video_was_out() -> None:
    t = _rows()
    true_q = quantiles_negbin(t["mean"], t["size"], LEVELS)
    everywhere = np.ones(len(t), bool)
    assert np.array_equal(video_horizon(t, everywhere)[1], true_q)
    assert np.array_equal(video_horizon(t, ~everywhere)[1], hype_blind(t)[1])
    some = np.array([True, False, True, False])
    q = video_horizon(t, some)[1]
    assert np.array_equal(q[some], true_q[some])
    assert np.array_equal(q[~some], hype_blind(t)[1][~some])


def test_hype_blind_bias_counts_only_the_rows_scored_as_of_the_origin() -> None:
    t = _rows().assign(stream_id=["s1", "s1", "s2", "s3"], sku_id=["a", "b", "a", "a"])
    # the backtest scored the first three items as of the origin; s3 only as a nowcast
    scored = pd.DataFrame(
        {
            "lead": ["origin", "origin", "origin", "6h", "6h"],
            "stream_id": ["s1", "s1", "s2", "s2", "s3"],
            "sku_id": ["a", "b", "a", "a", "a"],
        }
    )
    got = hype_blind_bias(t, scored)
    w = t.iloc[:3]
    blind_mean = w["mean"] * np.exp(w["hype_center"] - w["log_hype"] + 0.5 * HYPE_SD**2)
    assert got == pytest.approx(blind_mean.sum() / w["mean"].sum() - 1.0)
    # hype exactly at its prior's centre: the blind mean sits exp(sd^2 / 2) above
    calm = t.assign(log_hype=t["hype_center"])
    assert hype_blind_bias(calm, scored) == pytest.approx(np.exp(0.5 * HYPE_SD**2) - 1)
