import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from demandmatch.forecast.negbin.boosting import BinnedAside


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, n).astype(float),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        }
    )
    return X, rng.poisson(np.exp(0.3 * X["a"].to_numpy())).astype(float)


def test_bins_built_aside_are_a_plain_datasets_and_grow_the_same_trees():
    X, y = _frame()
    params = {"min_child_samples": 5, "verbose": -1, "n_jobs": 1}
    aside = BinnedAside(X, label=y, params=params, free_raw_data=False)
    plain = lgb.Dataset(X, label=y, params=params, free_raw_data=False).construct()
    aside.construct()
    assert aside.num_data() == plain.num_data() == len(X)
    bins = [aside.feature_num_bin(i) for i in range(aside.num_feature())]
    assert bins == [plain.feature_num_bin(i) for i in range(plain.num_feature())]
    rows = list(range(0, len(X), 2))
    grown = []
    for data in (aside.subset(rows), plain.subset(rows)):
        booster = lgb.Booster({**params, "objective": "poisson", "random_state": 0}, data)
        for _ in range(5):
            booster.update()
        grown.append(booster.predict(X, raw_score=True))
    np.testing.assert_array_equal(grown[0], grown[1])


def test_an_error_in_binning_is_raised_where_the_dataset_is_used():
    X, y = _frame()
    aside = BinnedAside(X, label=y[:-1], params={"verbose": -1}, free_raw_data=False)
    with pytest.raises(lgb.basic.LightGBMError):
        aside.construct()
