import numpy as np
import pandas as pd
import pytest

from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.negbin.offset_terms import OffsetTerms, _one_hot, parse


def test_specs_parse_into_transform_column_and_group():
    assert parse("discount") == ("", "discount", None)
    assert parse("log1p:sku_units") == ("log1p", "sku_units", None)
    assert parse("cat:daypart") == ("cat", "daypart", None)
    assert parse("discount*category") == ("", "discount", "category")
    with pytest.raises(ValueError, match="sqrt:x.*unknown transform 'sqrt'"):
        parse("sqrt:x")
    with pytest.raises(ValueError, match="cat:a\\*b"):
        parse("cat:a*b")
    with pytest.raises(ValueError, match="unknown transform"):
        LGBMNegBinDemand(offset=("exp:x",)).fit(pd.DataFrame({"x": [1.0, 2.0]}), np.ones(2))


def test_terms_expand_levels_against_the_most_frequent_and_skip_absent_columns():
    X = pd.DataFrame(
        {
            "part": [0, 1, 1, 2, 1],
            "d": [0.1, 0.2, np.nan, 0.4, 0.5],
            "cat": ["a", "b", "b", "a", "c"],
            "n": [0.0, 2.0, 0.0, 1.0, np.nan],
            "size": [1.0, np.e, np.e**2, 1.0, 1.0],
        }
    )
    t = OffsetTerms(["cat:part", "d*cat", "flag:n", "log:size", "absent", "log1p:absent"]).fit(X)
    assert t.specs_ == ["cat:part", "d*cat", "flag:n", "log:size"]
    # part 1 is the most frequent: the reference, no column of its own
    assert t.names_ == ["part=0", "part=2", "d*cat=a", "d*cat=b", "d*cat=c", "flag:n", "log:size"]
    v = t.values(X)
    assert v[:, 0].tolist() == [1, 0, 0, 0, 0] and v[:, 1].tolist() == [0, 0, 0, 1, 0]
    # a slope per category: the discount in its own category's column, 0 in the others, a
    # blank discount blank in its own category's column only
    np.testing.assert_array_equal(
        v[[0, 1, 3, 4], 2:5], [[0.1, 0, 0], [0, 0.2, 0], [0.4, 0, 0], [0, 0, 0.5]]
    )
    assert np.isnan(v[2, 3]) and v[2, 2] == 0.0 and v[2, 4] == 0.0
    np.testing.assert_array_equal(v[:4, 5], [0, 1, 0, 1])
    assert np.isnan(v[4, 5])
    np.testing.assert_allclose(v[:, 6], [0, 1, 2, 0, 0])
    # unseen levels read as the reference (or no slope)
    new = pd.DataFrame({"part": [7], "d": [0.3], "cat": ["z"], "n": [3.0], "size": [1.0]})
    np.testing.assert_array_equal(t.values(new)[0, :6], [0, 0, 0, 0, 0, 1])
    # design: intercept, standardised columns, a flag for each column that had blanks
    d = t.design(X)
    assert d.shape == (5, 1 + 7 + 2)
    assert d[:, -2].tolist() == [0, 0, 1, 0, 0] and d[:, -1].tolist() == [0, 0, 0, 0, 1]


def test_per_category_slopes_and_daypart_levels_are_recovered_by_the_start():
    # log mu = 1 + slope(category) x discount + 0.4 [evening] - 0.3 [morning], a log-linear
    # world the start alone fits: elasticities 3 and -1 for the two categories
    rng = np.random.default_rng(5)
    n = 20000
    cat = rng.choice(["fresh", "home"], n)
    part = rng.choice([0, 1, 2], n, p=[0.2, 0.5, 0.3])
    disc = rng.uniform(0.0, 0.5, n)
    log_mu = 1.0 + np.where(cat == "fresh", 3.0, -1.0) * disc + 0.4 * (part == 2)
    log_mu = log_mu - 0.3 * (part == 0)
    y = rng.negative_binomial(4.0, 4.0 / (4.0 + np.exp(log_mu)))
    X = pd.DataFrame({"discount": disc, "category": pd.Categorical(cat), "daypart": part})
    m = LGBMNegBinDemand(
        n_estimators=1,
        learning_rate=1e-6,
        holdout=0.0,
        effect_sd=0.0,
        offset=("discount*category", "cat:daypart"),
    ).fit(X, y)
    t = m.offset_terms_
    coef = dict(zip(t.names_, m.offset_theta_[1:] / t.spread_, strict=True))
    assert coef["discount*category=fresh"] == pytest.approx(3.0, abs=0.15)
    assert coef["discount*category=home"] == pytest.approx(-1.0, abs=0.15)
    assert coef["daypart=2"] == pytest.approx(0.4, abs=0.05)
    assert coef["daypart=0"] == pytest.approx(-0.3, abs=0.05)


@pytest.mark.parametrize(
    ("values", "levels"),
    [
        (["b", "a", np.nan, "c", "a"], ["a", "c", "nan"]),  # a blank is the level "nan"
        ([3, 1, 2], ["1", "2"]),  # matched as text
        (["a", "b"], []),
        (["a", "b", "a"], ["a", "a", "b"]),  # a repeated level: both copies
    ],
)
def test_one_hot_marks_each_rows_level(values, levels):
    got = _one_hot(pd.Series(values), levels)
    expected = np.array([[float(str(v) == lv) for lv in levels] for v in values]).reshape(
        len(values), len(levels)
    )
    np.testing.assert_array_equal(got, expected)
