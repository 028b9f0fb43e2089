"""E' diag(h) E for a fixed 0/1 matrix E of random-effect levels and many weights h (one per
Newton step of the start): the pattern is worked out once, each step only sums h into it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse


class EffectsGram:
    """`effects` (rows x levels, csr): where every row has one level of each effect, the levels
    of an effect in a range of columns of their own, and every entry 1, the product is a sum of
    h over the rows of each pair of levels, one bincount per pair of effects (as a coo matrix,
    in no particular order). The rows are summed last to first, as scipy's sparse product of
    E' diag(h) E does, so that each entry is the same to the bit. Other matrices: that product
    itself."""

    def __init__(self, effects: sparse.csr_matrix) -> None:
        self.effects = effects
        # per pair of effects: each row's code of its pair of levels, how many pairs there are,
        # and whether the pair is two effects (its block is mirrored across the diagonal)
        self.pairs: list[tuple[np.ndarray, int, bool]] | None = None
        n, m = effects.shape
        counts = np.diff(effects.indptr)
        k = int(counts[0]) if n else 0
        if n == 0 or k == 0 or (counts != k).any() or (effects.data != 1.0).any():
            return
        if not effects.has_sorted_indices:
            effects = effects.sorted_indices()
        cols = effects.indices.reshape(n, k)[::-1].astype(np.int64)  # rows last to first
        if k > 1 and (cols[:, :-1].max(axis=0) >= cols[:, 1:].min(axis=0)).any():
            return  # an effect's levels do not sit apart: no pair of effects to sum by
        rows, columns, pairs = [], [], []
        for s in range(k):
            for t in range(s, k):
                code, uniq = pd.factorize(cols[:, s] * m + cols[:, t])
                pairs.append((code, len(uniq), s != t))
                a, b = uniq // m, uniq % m
                rows.append(a if s == t else np.concatenate([a, b]))
                columns.append(b if s == t else np.concatenate([b, a]))
        self.row, self.col = np.concatenate(rows), np.concatenate(columns)
        self.shape = (m, m)
        self.pairs = pairs

    def __call__(self, h: np.ndarray) -> sparse.spmatrix:
        if self.pairs is None:
            return self.effects.T.tocsr() @ sparse.diags(h) @ self.effects
        h = np.asarray(h, dtype=float)[::-1]
        sums = []
        for code, size, mirrored in self.pairs:
            pair = np.bincount(code, weights=h, minlength=size)
            sums += [pair, pair] if mirrored else [pair]
        return sparse.coo_matrix((np.concatenate(sums), (self.row, self.col)), shape=self.shape)
