"""The NB demand model end to end on worlds with known answers: censoring, calibration, the
start's effects, random effects, bags, new SKUs' spread, launches and the choice of rounds."""

import numpy as np
import pandas as pd
import pytest

from demandmatch.forecast.distributions import negbin_params, quantiles_negbin_mixed
from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.negbin.boosting import Boosting


def _censored_world(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    mu = np.exp(2.5 + 0.8 * x1 - 0.5 * x2)
    n_, p_ = negbin_params(mu, np.full(n, 4.0))
    demand = rng.negative_binomial(n_, p_).astype(float)
    stock = np.round(mu * rng.uniform(0.7, 1.5, n))  # about half the rows sell out
    X = pd.DataFrame({"x1": x1, "x2": x2})
    return X, mu, demand, np.minimum(demand, stock), demand >= stock


def test_censoring_correction_learns_demand_not_sales():
    X, mu, _, sold, censored = _censored_world(6000, 1)
    X_test, mu_test, *_ = _censored_world(3000, 2)
    kw = dict(n_estimators=150, learning_rate=0.05, num_leaves=7, n_jobs=1)
    fixed = LGBMNegBinDemand(censoring=True, **kw).fit(X, sold, censored=censored)
    naive = LGBMNegBinDemand(censoring=False, **kw).fit(X, sold, censored=censored)
    bias_fixed = fixed.predict_mean(X_test).sum() / mu_test.sum() - 1
    bias_naive = naive.predict_mean(X_test).sum() / mu_test.sum() - 1
    assert censored.mean() > 0.35
    assert abs(bias_fixed) < 0.05
    assert bias_naive < -0.12


def test_negbin_model_quantiles_are_monotone_and_calibrated():
    X, mu, demand, *_ = _censored_world(6000, 3)
    X_test, _, d_test, *_ = _censored_world(4000, 4)
    m = LGBMNegBinDemand(n_estimators=150, num_leaves=7, n_jobs=1).fit(X, demand)
    q = m.predict_quantiles(X_test)
    assert (np.diff(q, axis=1) >= 0).all() and (q >= 0).all()
    inside = (d_test >= q[:, 1]) & (d_test <= q[:, -2])
    assert 0.76 <= inside.mean() <= 0.86  # q10..q90 of a discrete law: at least 0.8 nominal
    surv = m.predict_survival(X_test.iloc[:5])
    means = m.predict_mean(X_test.iloc[:5])
    np.testing.assert_allclose([s.sum() for s in surv], means, rtol=1e-3)
    # the forecast's one pass gives what the three calls give
    mean_all, q_all, surv_all = m.predict_forecast(X_test.iloc[:5])
    np.testing.assert_array_equal(mean_all, means)
    np.testing.assert_array_equal(q_all, q[:5])
    for a, b in zip(surv_all, surv, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fitted_size_learns_the_mean_of_heavily_censored_wide_demand():
    # demand far wider (size 1) than the working size 3, 60% of rows stocked at 12 units against
    # a mean of ~26: how far above a sell-out the mean lies depends on the assumed spread
    rng = np.random.default_rng(0)
    n = 6000
    x = rng.uniform(size=n)
    mu = np.exp(np.log(20.0) + 0.5 * x)
    d = rng.negative_binomial(1.0, 1.0 / (1.0 + mu))
    stock = np.where(rng.random(n) < 0.6, 12, 10**6)
    y, c = np.minimum(d, stock), d >= stock
    X = pd.DataFrame({"x": x, "category": pd.Categorical(["a"] * n)})
    raw = {}
    for fitted in (False, True):
        m = LGBMNegBinDemand(
            n_estimators=60, learning_rate=0.1, fitted_size=fitted, offset=(), round_shares=(1,)
        )
        m.fit(X, y, censored=c, time=np.arange(n))
        raw[fitted] = (m.predict_mean(X) / m.scale_).mean() / mu.mean()
    assert raw[False] < 0.9  # learnt at the working size: well short of demand
    assert abs(raw[True] - 1.0) < 0.08


def test_log_offset_recovers_a_log_linear_effect_and_flags_blank_history():
    # log mu = 1 + 0.8 log(1 + x) where x is known, and 2.5 (a level apart) where x is blank:
    # the log-linear start finds the slope on the log1p scale and the blank rows' own level
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.gamma(2.0, 10.0, n)
    blank = rng.random(n) < 0.25
    log_mu = np.where(blank, 2.5, 1.0 + 0.8 * np.log1p(x))
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + np.exp(log_mu)))
    X = pd.DataFrame({"x": np.where(blank, np.nan, x), "z": rng.normal(size=n)})
    m = LGBMNegBinDemand(n_estimators=1, learning_rate=1e-6, holdout=0.0, offset=("log1p:x",))
    m.fit(X, y)
    assert m.offset_terms_.specs_ == ["log1p:x"]
    slope = m.offset_theta_[1] / m.offset_terms_.spread_[0]
    assert slope == pytest.approx(0.8, abs=0.05)
    design = m.offset_terms_.design(X)
    assert design.shape[1] == 3  # intercept, standardised log1p(x), blank flag
    fitted = design @ m.offset_theta_
    assert fitted[blank].mean() == pytest.approx(2.5, abs=0.05)
    assert fitted[~blank] == pytest.approx(1.0 + 0.8 * np.log1p(x[~blank]), abs=0.1)


def test_stream_effect_keeps_a_sku_level_apart_from_the_hype_of_its_streams():
    # SKUs a and b are equally popular, but a is only ever shown in loud (high-hype) streams
    # and b in quiet ones; filler SKUs appear in every stream and reveal each stream's hype
    rng = np.random.default_rng(11)
    n_streams, r = 400, 20.0
    hype = rng.normal(0.0, 0.5, n_streams)
    loud = hype > 0
    rows = []
    for s in range(n_streams):
        rows += [(s, 0 if loud[s] else 1)] + [(s, j) for j in (2, 3, 4, 5)]
    s, k = np.array(rows).T
    mu = np.exp(2.0 + hype[s])
    y = rng.negative_binomial(r, r / (r + mu)).astype(float)
    X = pd.DataFrame(
        {
            "stream_id": s.astype(str),
            "sku_id": k.astype(str),
            "merchant_id": pd.Categorical(["m"] * len(y)),
            "x": rng.normal(size=len(y)),
        }
    )
    kw = dict(n_estimators=1, learning_rate=1e-6, holdout=0.0, offset=(), effect_sd=1.0)
    with_stream = LGBMNegBinDemand(**kw).fit(X, y)
    sku_only = LGBMNegBinDemand(random_effects=("merchant_id+sku_id",), **kw).fit(X, y)

    def sku_gap(m: LGBMNegBinDemand) -> float:
        levels = m.effect_levels_["merchant_id+sku_id"]
        b = m.offset_theta_[1 : 1 + len(levels)]
        return float(b[levels.get_loc("m\x1f0")] - b[levels.get_loc("m\x1f1")])

    assert abs(sku_gap(with_stream)) < 0.1
    assert sku_gap(sku_only) > 0.6  # the loud streams' hype is taken for a's popularity
    # an upcoming stream's own effect is unknown: a and b then get the same forecast
    new = X.iloc[:2].assign(stream_id="new", sku_id=["0", "1"])
    mean = with_stream.predict_mean(new)
    assert mean[0] / mean[1] == pytest.approx(1.0, abs=0.1)
    off = LGBMNegBinDemand(**{**kw, "effect_sd": 0.0}).fit(X, y)
    assert off.effect_levels_ == {} and len(off.offset_theta_) == 1


def test_bagged_boosters_move_less_with_the_seed_than_one():
    rng = np.random.default_rng(4)
    n = 3000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    mu = np.exp(1.5 + 0.5 * X["a"] - 0.3 * X["b"] * X["c"])
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + mu)).astype(float)
    kw = dict(n_estimators=60, learning_rate=0.1, subsample=0.5, colsample_bytree=0.67, offset=())

    def seed_gap(bags: int) -> float:
        a, b = (
            LGBMNegBinDemand(random_state=s, bags=bags, **kw).fit(X, y, time=np.arange(n))
            for s in (0, 100)
        )
        assert len(a.mean_models_) == bags
        return float(np.std(np.log(a.predict_mean(X) / b.predict_mean(X))))

    assert seed_gap(4) < 0.7 * seed_gap(1)


def test_held_out_model_in_fewer_longer_steps_still_measures_the_spread(monkeypatch):
    rng = np.random.default_rng(5)
    n = 6000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    mu = np.exp(1.5 + 0.6 * X["a"] - 0.4 * X["b"])
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + mu)).astype(float)
    grown = []
    grow = Boosting.grow

    def spy(self, *args, **kw):
        models = grow(self, *args, **kw)
        grown.append([(m.num_trees(), m.params["learning_rate"]) for m in models])
        return models

    monkeypatch.setattr(Boosting, "grow", spy)
    kw = dict(n_estimators=80, learning_rate=0.05, num_leaves=7, n_jobs=1, offset=())
    m = LGBMNegBinDemand(holdout_rounds=0.25, **kw).fit(X, y, time=np.arange(n))
    held_out, final = grown
    assert held_out == [(20, pytest.approx(0.2))]  # a quarter of the rounds, 4x the step
    assert final == [(80, pytest.approx(0.05))]
    size = m.predict_distribution(X)[1]
    assert size.mean() == pytest.approx(3.0, rel=0.25)


def test_the_rows_are_binned_once_for_the_held_out_model_and_every_bag(monkeypatch):
    rng = np.random.default_rng(6)
    n = 3000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    mu = np.exp(1.0 + 0.5 * X["a"])
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + mu)).astype(float)
    built, trained = [], []
    dataset, grow = Boosting.dataset, Boosting.grow

    def count(self, X, y):
        built.append(len(X))
        return dataset(self, X, y)

    def spy(self, *args, **kw):
        out = grow(self, *args, **kw)
        trained.append([m.num_trees() for m in out])
        return out

    monkeypatch.setattr(Boosting, "dataset", count)
    monkeypatch.setattr(Boosting, "grow", spy)
    kw = dict(n_estimators=40, num_leaves=7, n_jobs=1, offset=(), bags=2, round_shares=(1,))
    m = LGBMNegBinDemand(**kw).fit(X, y, time=np.arange(n))
    assert built == [n]  # the held-out model's rows are a subset of the same bins
    assert trained == [[10, 10], [40, 40]]  # held-out and final model, two bags each
    assert np.isfinite(m.predict_mean(X)).all()
    assert m.scale_ == pytest.approx(1.0, abs=0.15)


def test_max_bin_caps_where_the_trees_can_split_a_feature():
    rng = np.random.default_rng(8)
    n = 3000
    X = pd.DataFrame({"a": rng.uniform(-2, 2, size=n)})
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + np.exp(1.0 + np.sin(2 * X["a"])))).astype(float)

    def thresholds(max_bin: int) -> set[float]:
        kw = dict(n_estimators=40, num_leaves=15, n_jobs=1, offset=(), round_shares=(1,))
        m = LGBMNegBinDemand(max_bin=max_bin, **kw).fit(X, y, time=np.arange(n))
        found: set[float] = set()

        def walk(node: dict) -> None:
            if "threshold" in node:
                found.add(node["threshold"])
                walk(node["left_child"]), walk(node["right_child"])

        for booster in m.mean_models_:
            for tree in booster.dump_model()["tree_info"]:
                walk(tree["tree_structure"])
        return found

    assert len(thresholds(4)) <= 3  # four bins: three places to cut
    assert len(thresholds(255)) > 10


def test_a_new_sku_or_brand_spreads_the_forecast_over_its_unknown_level():
    rng = np.random.default_rng(12)
    n = 3000
    sku = rng.integers(0, 30, n)
    X = pd.DataFrame(
        {
            "sku_id": [f"s{k}" for k in sku],
            "brand": [f"b{k % 5}" for k in sku],
            "merchant_id": pd.Categorical(["m"] * n),
            "x": rng.normal(size=n),
        }
    )
    mu = np.exp(1.0 + 0.3 * X["x"].to_numpy() + rng.normal(0, 0.4, 30)[sku])
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + mu)).astype(float)
    sd = 0.5
    m = LGBMNegBinDemand(n_estimators=30, num_leaves=7, n_jobs=1, offset=(), effect_sd=sd)
    m.fit(X, y, time=np.arange(n))
    new = pd.DataFrame(
        {"sku_id": ["s0", "new", "new2"], "brand": ["b0", "b0", "newb"], "x": 0.0}
    ).assign(merchant_id=pd.Categorical(["m"] * 3))[X.columns]
    mean, size, spread = m.predict_distribution(new)
    np.testing.assert_allclose(spread, [0.0, sd, sd * np.sqrt(2.0)])  # seen; new SKU; new brand
    # what the optimiser plans on and the quantiles come from that same mixture
    surv = m.predict_survival(new)
    np.testing.assert_allclose([s.sum() for s in surv], mean, rtol=1e-4)
    q = m.predict_quantiles(new)
    np.testing.assert_array_equal(q, quantiles_negbin_mixed(mean, size, spread, m.levels))


def _arriving_skus(
    seed: int, pop_sd: float, span: float, gap: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, time, arrival) of 1500 SKUs arriving over the first `span` of the history, six
    streams each `gap` apart; a SKU's first stream is its cold row. Its level is its brand's
    plus a popularity of spread pop_sd; NB demand of size 5."""
    rng = np.random.default_rng(seed)
    n_sku, per = 1500, 6
    arrive = np.sort(rng.random(n_sku)) * span
    brand_level = rng.normal(0.0, 0.3, 10)
    level = brand_level[np.arange(n_sku) % 10] + rng.normal(0.0, pop_sd, n_sku)
    sku = np.repeat(np.arange(n_sku), per)
    when = arrive[sku] + gap * np.tile(np.arange(per), n_sku)
    X = pd.DataFrame(
        {
            "sku_id": [f"s{k}" for k in sku],
            "brand": [f"b{k % 10}" for k in sku],
            "merchant_id": pd.Categorical(["m"] * len(sku)),
            "cold_sku": np.tile(np.arange(per) == 0, n_sku).astype(float),
            "x": rng.normal(size=len(sku)),
        }
    )
    mu = np.exp(1.0 + level[sku] + 0.3 * X["x"].to_numpy())
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + mu)).astype(float)
    return X, y, when, arrive


@pytest.mark.parametrize("pop_sd, lo, hi", [(0.0, 0.0, 0.5), (1.0, 1.5, 2.0)])
def test_held_out_new_skus_choose_how_uncertain_a_new_level_is(pop_sd, lo, hi):
    # SKUs arrive all through the history; new SKUs sit at their brand's level (pop_sd 0) or
    # spread twice the prior's around it
    X, y, when, _ = _arriving_skus(13, pop_sd, span=1.0, gap=0.01)
    m = LGBMNegBinDemand(n_estimators=40, num_leaves=7, n_jobs=1, offset=(), effect_sd=0.5)
    m.fit(X, y, time=when)
    assert lo <= m.spread_factor_ <= hi


@pytest.mark.parametrize("pop_sd, lo, hi", [(0.0, 0.0, 0.5), (1.0, 1.5, 2.0)])
def test_first_streams_of_launched_skus_teach_a_new_level_when_late_rows_have_none(pop_sd, lo, hi):
    # every SKU arrives in the first half of the history, so the latest rows hold no SKU's
    # first stream; the launched SKUs' first streams are held out and judged as new
    X, y, when, arrive = _arriving_skus(14, pop_sd, span=0.5, gap=0.1)
    late = when > np.quantile(when, 0.8)
    assert not (late & (X["cold_sku"].to_numpy() > 0)).any()
    params = dict(n_estimators=40, num_leaves=7, n_jobs=1, offset=(), effect_sd=0.5)
    m = LGBMNegBinDemand(**params, launch_holdout=1.0).fit(X, y, time=when)
    # the SKUs arriving after the first tenth of the history, one first stream each
    assert m.n_launch_rows_ == (arrive > np.quantile(when, 0.1)).sum()
    assert lo <= m.spread_factor_ <= hi
    assert m.new_sku_scale_ == pytest.approx(1.0, abs=0.2)
    assert m.fallbacks() == []
    half = LGBMNegBinDemand(**params, launch_holdout=0.5).fit(X, y, time=when)
    assert 0.4 * m.n_launch_rows_ <= half.n_launch_rows_ <= 0.6 * m.n_launch_rows_
    # without them the late rows cannot tell, and the prior's spread is kept: the fit says so
    blind = LGBMNegBinDemand(**params, launch_holdout=0.0).fit(X, y, time=when)
    assert blind.n_launch_rows_ == 0
    # and a new SKU's mean is scaled as the other SKUs' are
    assert (blind.spread_factor_, blind.new_sku_scale_) == (1.0, blind.scale_)
    (said,) = blind.fallbacks()
    assert said.startswith("0 held-out rows of new SKUs (fewer than 100)")
    assert said.endswith("the scale of its mean is the other SKUs'")


@pytest.mark.slow
def test_sold_out_first_streams_set_a_new_skus_mean_as_the_uncensored_ones_do():
    # launches stocked at the 60th percentile of first-stream demand sell out 46% of the time,
    # the popular ones most: a new SKU's scale comes from the held-out launches' censored
    # likelihood, mixed over the new level's spread, so it agrees with what the same launches
    # say when nothing sold out
    X, y, when, _ = _arriving_skus(13, 0.7, span=0.5, gap=0.05)
    cold = X["cold_sku"].to_numpy() > 0
    stock = np.where(cold, np.quantile(y[cold], 0.6), np.inf)
    assert 0.4 < (y >= stock)[cold].mean() < 0.5
    kw = dict(n_estimators=40, num_leaves=7, n_jobs=1, offset=(), effect_sd=0.5)

    def new_mean_factor(censored: bool) -> float:
        m = LGBMNegBinDemand(**kw)
        if censored:
            m.fit(X, np.minimum(y, stock), censored=y >= stock, time=when)
        else:
            m.fit(X, y, time=when)
        return m.new_sku_scale_ * np.exp(0.5 * (m.spread_factor_ * 0.5) ** 2)

    full, censored = new_mean_factor(False), new_mean_factor(True)
    assert abs(np.log(censored / full)) < 0.1


def test_the_held_out_likelihood_chooses_few_rounds_where_the_start_says_it_all(monkeypatch):
    # log mu = 1 + 0.6 x, x in the log-linear start, plus five noise columns: trees only learn
    # noise, so few rounds are grown (none predicts the start alone), and the held-out model
    # stops growing soon after its likelihood peaks; where the signal is a wave in a column the
    # start does not have, most of the rounds are
    held_out, grow = [], Boosting.grow

    def spy(self, *args, after=None, **kw):
        models = grow(self, *args, after=after, **kw)
        if after is not None:  # the held-out model: the one with a round choice after each round
            held_out.append(models[0].num_trees() if models else 0)
        return models

    monkeypatch.setattr(Boosting, "grow", spy)
    rng = np.random.default_rng(3)
    n = 6000
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=["x", *"abcde"])
    kw = dict(n_estimators=100, num_leaves=15, n_jobs=1, holdout_rounds=0.5, effect_sd=0.0)
    linear = 1.0 + 0.6 * X["x"].to_numpy()
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + np.exp(linear)))
    m = LGBMNegBinDemand(offset=("x",), **kw).fit(X, y, time=np.arange(n))
    assert m.round_share_ <= 0.2
    grown = round(m.round_share_ * 100)
    assert [b.num_trees() for b in m.mean_models_] == ([grown] if grown else [])
    assert held_out == [2]  # cut 0 best, cut 0.05 (2 of 50 rounds) worse: growth stops there
    none = LGBMNegBinDemand(offset=("x",), round_shares=(0,), **kw).fit(X, y, time=np.arange(n))
    assert none.mean_models_ == []
    start = none.offset_terms_.design(X) @ none.offset_theta_
    np.testing.assert_allclose(none.predict_mean(X), np.exp(start) * none.scale_)
    wave = 1.0 + 1.2 * np.sin(2.0 * X["a"].to_numpy())
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + np.exp(wave)))
    m = LGBMNegBinDemand(offset=("x",), **kw).fit(X, y, time=np.arange(n))
    assert m.round_share_ >= 0.5
    assert held_out[-1] >= 0.5 * 50  # the peak is passed late or never
    assert np.corrcoef(np.log(m.predict_mean(X)), wave)[0, 1] > 0.9


def test_without_held_out_rows_one_size_measures_the_spread_within_a_sku():
    # 60 SKUs whose levels differ by a lognormal of sd 1, 10 rows each at NB size 5. Nothing is
    # held out, so the size is fitted around each SKU's average of its other rows: near 5,
    # where around the average of every row the SKUs' differences would read as noise (~1)
    rng = np.random.default_rng(21)
    sku = np.repeat(np.arange(60), 10)
    level = rng.normal(1.5, 1.0, 60)[sku]
    y = rng.negative_binomial(5.0, 5.0 / (5.0 + np.exp(level))).astype(float)
    X = pd.DataFrame(
        {
            "merchant_id": pd.Categorical(["m"] * len(y)),
            "sku_id": [f"s{k}" for k in sku],
            "x": rng.normal(size=len(y)),
        }
    )
    m = LGBMNegBinDemand(n_estimators=20, num_leaves=7, n_jobs=1, offset=(), holdout=0.0)
    m.fit(X, y, time=np.arange(len(y), dtype=float))
    (said,) = m.fallbacks()
    assert said.startswith("no held-out rows to measure on")
    size = m.dispersion_.size(np.ones((1, m.dispersion_.theta_.shape[0])))[0]
    assert 3.0 <= size <= 7.0


def test_each_training_lead_gets_its_own_scale_where_the_model_cannot_tell_the_leads_apart():
    # demand is exp(0.2) higher 6 h ahead and exp(-0.2) lower 168 h ahead than the start (which
    # has no lead term, and no trees are grown) can say: one scale fits their average, the
    # factor per lead puts each right; between the leads interpolated, beyond them the nearest's
    rng = np.random.default_rng(5)
    n = 6000
    lead = np.tile([6.0, 168.0], n // 2)
    X = pd.DataFrame({"x": rng.normal(size=n), "lead_hours": lead})
    log_mu = 1.0 + 0.6 * X["x"].to_numpy() + np.where(lead == 6.0, 0.2, -0.2)
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + np.exp(log_mu)))
    kw = dict(n_estimators=50, n_jobs=1, effect_sd=0.0, offset=("x",), round_shares=(0,))
    m = LGBMNegBinDemand(**kw).fit(X, y, time=np.arange(n) // 2)
    choices = m.held_out_choices()
    assert choices["model_lead_scale_6h"] / choices["model_lead_scale_168h"] == pytest.approx(
        np.exp(0.4), rel=0.08
    )
    at = X.iloc[:1].assign(x=0.0)
    mid = float(np.sqrt(6.0 * 168.0))  # halfway in log hours
    mean = {h: m.predict_mean(at.assign(lead_hours=h))[0] for h in (1.0, 6.0, mid, 168.0, 336.0)}
    assert mean[6.0] / mean[168.0] == pytest.approx(np.exp(0.4), rel=0.08)
    assert mean[1.0] == mean[6.0] and mean[336.0] == mean[168.0]
    assert mean[mid] == pytest.approx(np.sqrt(mean[6.0] * mean[168.0]), rel=1e-9)
    # one scale for every lead: the leads are not told apart
    one = LGBMNegBinDemand(lead_scales=False, **kw).fit(X, y, time=np.arange(n) // 2)
    assert not any(k.startswith("model_lead_scale") for k in one.held_out_choices())
    assert one.predict_mean(at.assign(lead_hours=6.0)) == one.predict_mean(
        at.assign(lead_hours=168.0)
    )
