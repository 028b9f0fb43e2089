"""The choice of rounds: candidate cuts, and the cut a held-out score prefers while real
boosters grow, which stops growing once the score passes its peak."""

import numpy as np
import pandas as pd
import pytest

from demandmatch.forecast.negbin.boosting import Boosting
from demandmatch.forecast.rounds import RoundChoice, round_cuts


def test_cuts_map_rounds_to_the_smallest_share_that_cuts_there():
    assert round_cuts((0, 0.5, 1), 40) == {0: 0, 20: 0.5, 40: 1}
    assert round_cuts((1, 0.1, 0.06, 0.01, 0), 10) == {0: 0, 1: 0.06, 10: 1}


def _grown(after=None, rounds=20):
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = rng.negative_binomial(3.0, 3.0 / (3.0 + np.exp(1.0 + 0.8 * X["a"]))).astype(float)
    params = dict(
        n_estimators=rounds, learning_rate=0.1, num_leaves=7, min_child_samples=20,
        n_jobs=1, random_state=0, verbose=-1,
    )  # fmt: skip
    boosting = Boosting(params)
    base = np.full(n, np.log(y.mean()))
    data = boosting.dataset(X, y)
    r, cens = np.full(n, 3.0), np.zeros(n, bool)
    return X, base, boosting.grow(base, y, cens, r, data, 1.0, rounds, after=after)


def test_the_best_scored_cut_is_chosen_and_growth_stops_past_it():
    X, base, full = _grown()
    at_8 = base + full[0].predict(X, raw_score=True, num_iteration=8)

    def closeness_to_round_8(f: np.ndarray) -> float:
        return -float(np.abs(f - at_8).sum())

    cuts = {0: 0.0, 4: 0.2, 8: 0.4, 12: 0.6, 20: 1.0}
    choice = RoundChoice(cuts, base, X, closeness_to_round_8)
    assert choice.grow == 20
    _, _, models = _grown(after=choice)
    assert choice.share == 0.4
    np.testing.assert_allclose(choice.log_mean, at_8, atol=1e-9)
    assert models[0].num_trees() == 12  # the first cut that scored worse ended the growth


def test_one_candidate_grows_to_its_cut_without_scoring():
    def never(f: np.ndarray) -> float:
        raise AssertionError("one candidate needs no score")

    X, base, full = _grown()
    choice = RoundChoice({6: 0.3}, base, X, never)
    _, _, models = _grown(after=choice)
    assert models[0].num_trees() == 6 and choice.share == 0.3
    np.testing.assert_allclose(
        choice.log_mean, base + full[0].predict(X, raw_score=True, num_iteration=6), atol=1e-9
    )


def test_a_share_of_the_rounds_steps_the_same_way_in_fewer_longer_steps():
    boosting = Boosting({"n_estimators": 400, "learning_rate": 0.05})
    assert boosting.steps(1.0) == (400, 0.05)
    assert boosting.steps(0.25) == (100, pytest.approx(0.2))
    assert boosting.steps(0.001) == (1, pytest.approx(20.0))  # at least one round
