"""Columns as text, the strings `astype(str)` gives, each distinct value converted once: a column
of numbers or categories repeats a few values over many rows, and pandas converts every row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

KEY_SEPARATOR = "\x1f"


def text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, texts): values.astype(str) is texts[codes], texts distinct."""
    if _by_value(values):
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        texts = pd.Series(uniques).astype(str).to_numpy()
        if len(set(texts)) == len(texts):
            return codes, texts
    return pd.factorize(values.astype(str).to_numpy())


def as_text(values: pd.Series) -> np.ndarray:
    """values.astype(str).to_numpy()."""
    if not _by_value(values):
        return values.astype(str).to_numpy()
    codes, texts = text_codes(values)
    return texts[codes]


def joined_text(X: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Each row's texts of `cols` joined by KEY_SEPARATOR: what adding up the columns'
    astype(str) with the separator between them gives, joined once per distinct combination."""
    if len(cols) == 1:
        return as_text(X[cols[0]])
    codes, texts = text_codes(X[cols[0]])
    for c in cols[1:]:
        more, more_texts = text_codes(X[c])
        pair, first = pd.factorize(codes * len(more_texts) + more)
        joined = [
            a + KEY_SEPARATOR + b
            for a, b in zip(
                texts[first // len(more_texts)], more_texts[first % len(more_texts)], strict=True
            )
        ]
        codes, texts = pair, np.array(joined, dtype=object)
    return texts[codes]


def _by_value(values: pd.Series) -> bool:
    """Whether equal values (as factorize finds them) have one text: numbers and flags, and
    categories of text or whole numbers; not 0.0 beside -0.0 (factorize takes them for one),
    nor objects (1 and 1.0 are one value, two texts) or times (their text depends on the
    column's other times)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return dtype.categories.dtype == object or dtype.categories.dtype.kind in "iu"
    if dtype.kind in "iub":
        return True
    if dtype.kind == "f":
        v = values.to_numpy()
        return not bool(np.any((v == 0) & np.signbit(v)))
    return False
