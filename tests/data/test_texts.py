import numpy as np
import pandas as pd
import pytest

from demandmatch.data.texts import as_text, joined_text

COLUMNS = {
    "int": pd.Series([3, -1, 3, 0, 2, -1]),
    "int32": pd.Series(np.array([0, 6, 6, 1, 0, 2], dtype=np.int32)),
    "flag": pd.Series([True, False, False, True, True, False]),
    "blank": pd.Series([np.nan, 1.0, np.nan, 2.0, 1.0, 8.0]),
    "zeros": pd.Series([0.0, -0.0, 1.0, -0.0, 0.0, 1e-300]),
    "wide": pd.Series([np.inf, -np.inf, 1e300, 4.3e-06, np.nan, 0.1]),
    "cat": pd.Series(pd.Categorical(["a", None, "b", "a", "b", None])),
    "cat_int": pd.Series(pd.Categorical([1, 2, 3, 1, 2, 3])),
    "text": pd.Series(["a", "bb", "a", "c", "bb", "a"], dtype=object),
    "mixed": pd.Series([1, 1.0, True, "1", None, np.nan], dtype=object),
    "nullable": pd.Series([1, None, 3, 1, None, 3], dtype="Int64"),
    "time": pd.Series(
        pd.to_datetime(["2024-01-01"] * 5 + ["2024-01-02 03:00"], utc=True, format="ISO8601")
    ),
}


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    return got.dtype == want.dtype and [(type(v), v) for v in got] == [(type(v), v) for v in want]


@pytest.mark.parametrize("name", list(COLUMNS))
def test_as_text_is_what_astype_str_gives(name):
    values = COLUMNS[name]
    assert _same(as_text(values), values.astype(str).to_numpy())
    assert _same(as_text(values.iloc[:0]), values.iloc[:0].astype(str).to_numpy())


@pytest.mark.parametrize("cols", [["int", "cat"], ["text", "zeros", "blank"], ["cat_int", "mixed"]])
def test_joined_text_is_the_columns_text_added_up(cols):
    X = pd.DataFrame(COLUMNS)
    want = X[cols[0]].astype(str)
    for c in cols[1:]:
        want = want + "\x1f" + X[c].astype(str)
    assert _same(joined_text(X, cols), want.to_numpy())
