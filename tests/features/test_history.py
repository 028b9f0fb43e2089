"""The running means of the history features against pandas' own per-group windows."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from demandmatch.features.history import running_mean

values = st.lists(
    st.one_of(st.none(), st.floats(0.0, 1e4, allow_nan=False)), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(values=values, groups=st.integers(1, 6), window=st.sampled_from([None, 1, 2, 5]))
def test_running_mean_is_the_per_group_rolling_or_expanding_mean(values, groups, window):
    v = pd.Series([np.nan if x is None else x for x in values], dtype=float)
    v.index = v.index * 3 + 7  # any index, kept
    g = np.arange(len(v)) % groups
    by = pd.Series(g, index=v.index)
    if window is None:
        want = v.groupby(by).transform(lambda s: s.expanding().mean())
    else:
        want = v.groupby(by).transform(lambda s: s.rolling(window, min_periods=1).mean())
    got = running_mean(v, g, window)
    assert got.index.equals(v.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-9)


def test_running_mean_known_answer():
    v = pd.Series([1.0, 10.0, np.nan, 3.0, 20.0, 5.0])
    g = np.array([0, 1, 0, 0, 1, 0])
    # group 0: 1, nan, 3, 5 -> 1, 1, 2, 3 (all); last two: 1, 1, 3, 4
    np.testing.assert_allclose(running_mean(v, g), [1, 10, 1, 2, 15, 3])
    np.testing.assert_allclose(running_mean(v, g, 2), [1, 10, 1, 3, 15, 4])
    assert np.isnan(running_mean(pd.Series([np.nan]), np.array([0]))[0])
