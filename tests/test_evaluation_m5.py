"""RMSSE and its M5 level-12 weighting, against hand-computed answers."""

import numpy as np
import pytest

from demandmatch.evaluation import rmsse, weighted_rmsse


def test_rmsse_hand_computed_scale_skips_leading_zeros():
    # first non-zero at index 2: diffs counted are 2->0, 0->4, 4->2 : 4, 16, 4 -> scale 8
    history = np.array([[0.0, 0.0, 2.0, 0.0, 4.0, 2.0]])
    y = np.array([[1.0, 3.0]])
    yhat = np.array([[3.0, 3.0]])  # squared errors 4, 0 -> mean 2
    assert rmsse(history, y, yhat) == pytest.approx([np.sqrt(2.0 / 8.0)])


def test_rmsse_equals_naive_relative_error_per_series():
    history = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 7.0, 5.0]])
    # series 0: diffs 1,1,1 -> scale 1; series 1: 0,4,4 -> scale 8/3
    y = np.array([[5.0, 6.0], [5.0, 5.0]])
    yhat = np.array([[4.0, 4.0], [7.0, 3.0]])  # mse 2.5 and 4
    expect = [np.sqrt(2.5), np.sqrt(4.0 / (8.0 / 3.0))]
    assert rmsse(history, y, yhat) == pytest.approx(expect)


def test_rmsse_nan_without_a_scale_and_weights_renormalise():
    history = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 3.0], [0.0, 1.0, 3.0]])
    y = np.ones((3, 2))
    yhat = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 3.0]])  # series 2: mse 2, scale 1->3: 4
    r = rmsse(history, y, yhat)
    assert np.isnan(r[0]) and np.isnan(r[1])
    assert r[2] == pytest.approx(np.sqrt(2.0 / 4.0))
    assert weighted_rmsse(history, y, yhat, np.array([0.5, 0.3, 0.2])) == pytest.approx(r[2])


def test_weighted_rmsse_is_the_weighted_mean_and_perfect_forecast_scores_zero():
    history = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 7.0, 5.0]])
    y = np.array([[5.0, 6.0], [5.0, 5.0]])
    yhat = np.array([[4.0, 4.0], [7.0, 3.0]])
    r = rmsse(history, y, yhat)
    assert weighted_rmsse(history, y, yhat, np.array([3.0, 1.0])) == pytest.approx(
        0.75 * r[0] + 0.25 * r[1]
    )
    assert weighted_rmsse(history, y, y, np.array([1.0, 1.0])) == 0.0
    with pytest.raises(ValueError):
        weighted_rmsse(history[:1] * 0, y[:1], y[:1], np.array([1.0]))
