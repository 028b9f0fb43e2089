"""EffectsGram: the random effects' E' diag(h) E, summed as scipy's sparse product does."""

import numpy as np
from scipy import sparse

from demandmatch.forecast.negbin.gram import EffectsGram


def _effects(rng, n, sizes, missing=False):
    blocks = []
    for size in sizes:
        code = rng.integers(0, size, n)
        hit = rng.random(n) > 0.1 if missing else np.ones(n, bool)
        rows = np.flatnonzero(hit)
        blocks.append(sparse.csr_matrix((np.ones(len(rows)), (rows, code[hit])), shape=(n, size)))
    return sparse.hstack(blocks).tocsr()


def _same(a, b):
    a, b = sparse.csr_matrix(a), sparse.csr_matrix(b)
    a.sort_indices(), b.sort_indices()
    return (
        np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


def test_the_sums_are_scipys_product_to_the_bit():
    rng = np.random.default_rng(0)
    effects = _effects(rng, 5000, [300, 40, 7, 900])
    gram = EffectsGram(effects)
    assert gram.pairs is not None
    for _ in range(3):
        h = rng.gamma(1.0, 1.0, 5000) * 10 ** rng.uniform(-3, 3, 5000)
        assert _same(gram(h), effects.T.tocsr() @ sparse.diags(h) @ effects)


def test_rows_without_a_level_use_scipys_product():
    rng = np.random.default_rng(1)
    effects = _effects(rng, 2000, [50, 9], missing=True)
    gram = EffectsGram(effects)
    assert gram.pairs is None
    h = rng.gamma(1.0, 1.0, 2000)
    assert _same(gram(h), effects.T.tocsr() @ sparse.diags(h) @ effects)
