"""The log-linear start the trees boost log mu from: offset terms (see offset_terms) and random
effects, fitted by the censored negative binomial likelihood.

A random effect is a group of rows sharing the values of some columns (a spec such as
"merchant_id+sku_id"): a SKU's own popularity, its brand's, a streamer's pull, each past stream's
own level (its hype). Levels are shrunk toward 0 by a normal prior, so that a level seen a few
times counts a little and an unseen one sits at the average. The stream's effect is fitted so
that the others are not confused with the hype of the streams they happened to be in, and left
out of the start of new rows: an upcoming stream's is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from demandmatch.data.texts import joined_text

from .gram import EffectsGram
from .likelihood import GradHess, loglik
from .offset_terms import OffsetTerms
from .threads import single_threaded_blas

EVENT_EFFECT = "stream_id"  # a level per past stream: unknown for an upcoming one
# a row whose SKU (or brand) level was never seen has its log mean uncertain by effect_sd per
# unseen level: its demand is the NB mixed over that lognormal mean
PRODUCT_EFFECTS = ("merchant_id+sku_id", "merchant_id+brand")
# a row of a streamer with no past stream has its streamer's levels unseen too: its log mean is
# uncertain by as much as the seen streamers' levels spread (see RandomEffectsStart.host_spread)
HOST_EFFECTS = ("streamer_id", "streamer_id+category")

Keys = dict[str, np.ndarray]  # random effect spec -> each row's level
# a fit on this many rows or more first fits a share of them, and starts from there
WARM_ROWS = 50_000
WARM_SHARE = 0.125


class RandomEffectsStart:
    """Fits and evaluates the start: `terms` (fitted OffsetTerms) for the design, random effects
    with prior spread `effect_sd` on the log scale. `copies`: rows per past outcome (one per
    training lead), which scales the prior so that repeating an outcome does not make it count
    more against the prior.

    Fitted by the same censored likelihood as the trees, so that a rare effect such as a festival
    starts where the data puts it on average instead of where the shrunken trees would leave it,
    a row beyond the history's range follows the main effects' trend, and a SKU's or streamer's
    level is read net of the hype of the streams it was seen in. `theta_`: the design's terms,
    then one term per level of `levels_` (spec -> its levels)."""

    def __init__(self, terms: OffsetTerms, effect_sd: float, copies: float = 1.0) -> None:
        self.terms = terms
        self.effect_sd = effect_sd
        self.copies = copies

    def fit_transform(
        self,
        X: pd.DataFrame,
        keys: Keys,
        y: np.ndarray,
        censored: np.ndarray,
        r: np.ndarray,
        near: RandomEffectsStart | None = None,
    ) -> np.ndarray:
        """Fit on X's rows (their levels `keys`, outcomes y, sold out `censored`, NB sizes r)
        and return their start but the stream's own level. `near`: a fit on similar rows, which
        the solver starts from (a level it lacks at 0)."""
        if near is None and len(X) >= WARM_ROWS:
            near = self._on_a_share(X, keys, y, censored, r)
        design = self.terms.design(X)
        # a column that does not vary over these rows (a level only other rows have, such as
        # a launch's first stream when every launch is held out) cannot be told from the
        # intercept: it is fitted as all zeros, so its level reads as the reference's
        flat = 1 + np.flatnonzero(np.ptp(design[:, 1:], axis=0) == 0) if len(X) else []
        design[:, flat] = 0.0
        levels = {spec: pd.Index(pd.unique(k)) for spec, k in keys.items()}
        effects = effect_matrix(levels, keys, len(X)) if levels else None
        penalty = self.copies / self.effect_sd**2 if levels else None
        start = None
        if near is not None:
            start = moved_to(near.theta_, near.levels_, design.shape[1], levels)
        # the last effect's levels are eliminated exactly in each Newton step (see newton_step)
        tail = len(list(levels.values())[-1]) if levels else 0
        theta = fit_log_linear(design, y, r, censored, effects, penalty, start=start, tail=tail)
        theta[flat] = 0.0  # the solver leaves a flat column where it starts
        self.theta_, self.levels_ = theta, levels
        return design @ theta[: design.shape[1]] + known_effects(effects, theta, levels)

    def _on_a_share(
        self, X: pd.DataFrame, keys: Keys, y: np.ndarray, censored: np.ndarray, r: np.ndarray
    ) -> RandomEffectsStart:
        """A fit on the rows of a seeded WARM_SHARE of the last effect's levels (each past
        stream's, so that a stream keeps all its rows), where the full fit starts: from the
        intercept alone Newton needs a dozen damped steps on every row before it converges, from
        here a few. The same optimum, reached sooner (itself started the same way on a share of
        its rows while they are many)."""
        last = list(keys.values())[-1] if keys else np.arange(len(X))
        codes, uniques = pd.factorize(last)
        pick = np.random.default_rng(0).random(len(uniques)) < WARM_SHARE
        rows = pick[codes]
        share = RandomEffectsStart(self.terms, self.effect_sd, self.copies)
        r = np.broadcast_to(np.asarray(r, dtype=float), len(y))
        share.fit_transform(X[rows], rows_of(keys, rows), y[rows], censored[rows], r[rows])
        return share

    def log_mean(self, X: pd.DataFrame, keys: Keys, trees: np.ndarray | None = None) -> np.ndarray:
        """log mu of X's rows: `trees` (their boosted part; none: 0) plus the start."""
        design = self.terms.design(X)
        f = (np.zeros(len(X)) if trees is None else trees) + design @ self.theta_[: design.shape[1]]
        if not self.levels_:
            return f
        effects = effect_matrix(self.levels_, keys, len(X))
        return f + known_effects(effects, self.theta_, self.levels_)

    def unseen_spread(self, keys: Keys, X: pd.DataFrame) -> np.ndarray:
        """Log spread of each row's mean from its unseen SKU and brand levels: effect_sd per
        unseen level on a SKU with no past stream (`cold_sku`, when present), else 0. A SKU
        unseen by a fit on part of the rows may still have a history in its features."""
        return self._unseen(keys, X, PRODUCT_EFFECTS, "cold_sku", lambda spec: self.effect_sd**2)

    def host_spread(self, keys: Keys, X: pd.DataFrame) -> np.ndarray:
        """Log spread of each row's mean from its unseen streamer levels (HOST_EFFECTS), on a
        streamer with no past stream (`cold_streamer`, when present), else 0: per unseen level,
        the root mean square of that effect's fitted levels. No held-out row shows a streamer's
        debut to measure it on, so the seen streamers' own spread stands in (shrunk toward 0,
        it is if anything too narrow); effect_sd is the prior's, a penalty, not a measurement."""

        def variance(spec: str) -> float:
            levels = self._levels(spec)
            return float(np.mean(levels**2)) if len(levels) else 0.0

        return self._unseen(keys, X, HOST_EFFECTS, "cold_streamer", variance)

    def _unseen(
        self, keys: Keys, X: pd.DataFrame, specs: Sequence[str], cold: str, variance
    ) -> np.ndarray:
        """sqrt of the summed `variance(spec)` over the effects of `specs` whose level a row
        has that the fit never saw, on rows with the `cold` flag (every row without it)."""
        var = np.zeros(len(X))
        for spec in specs:
            if spec in self.levels_:
                var += variance(spec) * (self.levels_[spec].get_indexer(keys[spec]) < 0)
        if cold in X:
            var *= flag(X, cold)
        return np.sqrt(var)

    def _levels(self, spec: str) -> np.ndarray:
        """The fitted levels of one random effect."""
        p = len(self.theta_) - sum(len(idx) for idx in self.levels_.values())
        return self.theta_[level_slices(self.levels_, p)[spec]]


def effect_keys(X: pd.DataFrame, specs: Sequence[str], effect_sd: float) -> Keys:
    """The level of every row, per random effect whose columns are present (none when effect_sd
    is 0)."""
    if effect_sd <= 0:
        return {}
    groups = [spec.split("+") for spec in specs]
    keys = {
        "+".join(cols): group_key(X, cols).to_numpy()
        for cols in groups
        if all(c in X for c in cols)
    }
    if EVENT_EFFECT in keys:  # the most levels: last, so that each Newton step eliminates them
        keys[EVENT_EFFECT] = keys.pop(EVENT_EFFECT)
    return keys


def rows_of(keys: Keys, mask: np.ndarray) -> Keys:
    return {spec: k[mask] for spec, k in keys.items()}


def group_key(X: pd.DataFrame, cols: Sequence[str]) -> pd.Index:
    """One string per row joining the values of `cols` (their astype(str) text)."""
    return pd.Index(joined_text(X, cols), name=cols[0] if len(cols) == 1 else None)


def sku_key(X: pd.DataFrame) -> pd.Index:
    return group_key(X, ["merchant_id", "sku_id"])


def flag(X: pd.DataFrame, name: str) -> np.ndarray:
    """A 0/1 column as booleans (all False when absent)."""
    if name not in X:
        return np.zeros(len(X), bool)
    return X[name].to_numpy(dtype=float) > 0


def effect_matrix(levels: dict[str, pd.Index], keys: Keys, n: int) -> sparse.csr_matrix:
    """Rows x all levels, 1 where a row belongs to a level (unseen levels: no column)."""
    blocks = []
    for spec, idx in levels.items():
        code = idx.get_indexer(keys[spec])
        hit = code >= 0
        blocks.append(
            sparse.csr_matrix(
                (np.ones(hit.sum()), (np.flatnonzero(hit), code[hit])), shape=(n, len(idx))
            )
        )
    return sparse.hstack(blocks).tocsr() if blocks else sparse.csr_matrix((n, 0))


def moved_to(
    theta: np.ndarray, levels: dict[str, pd.Index], p: int, new_levels: dict[str, pd.Index]
) -> np.ndarray:
    """theta of a start (p design terms, then one term per level of `levels`) laid out for
    `new_levels`: each level's term where it had one, else 0 (the prior's mean)."""
    terms = {
        spec: pd.Series(theta[where], index=levels[spec])
        for spec, where in level_slices(levels, p).items()
    }
    out = [theta[:p]]
    for spec, idx in new_levels.items():
        old = terms.get(spec, pd.Series(dtype=float))
        out.append(old.reindex(idx).fillna(0.0).to_numpy())
    return np.concatenate(out)


def known_effects(
    effects: sparse.csr_matrix | None, theta: np.ndarray, levels: dict[str, pd.Index]
) -> np.ndarray | float:
    """The random effects' part of log mu (theta's tail) but the stream's own, which an
    upcoming stream does not have: 0 without random effects."""
    if effects is None:
        return 0.0
    b = theta[len(theta) - effects.shape[1] :].copy()
    event = level_slices(levels, 0).get(EVENT_EFFECT)
    if event is not None:
        b[event] = 0.0
    return effects @ b


def level_slices(levels: dict[str, pd.Index], p: int) -> dict[str, slice]:
    """Where each random effect's levels sit in a theta of `p` design terms followed by one term
    per level of `levels`, effect by effect."""
    out, at = {}, p
    for spec, idx in levels.items():
        out[spec] = slice(at, at + len(idx))
        at += len(idx)
    return out


def fit_log_linear(
    design: np.ndarray,
    y: np.ndarray,
    r: np.ndarray,
    censored: np.ndarray,
    effects: sparse.spmatrix | None = None,
    effect_penalty: np.ndarray | float | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    start: np.ndarray | None = None,
    tail: int = 0,
) -> np.ndarray:
    """theta of log mu = design @ theta[:p] (+ effects @ theta[p:]) by censored NB maximum
    likelihood at sizes r (the first column is the intercept; it starts at log mean y, or all
    of theta at `start`, a nearby solution).

    `effects` (rows x levels, 0/1) are random effects, group levels such as one SKU or one
    stream: their coefficients carry the ridge penalty 0.5 x effect_penalty x b^2 (a normal
    prior of variance 1 / effect_penalty on the scale of the summed log-likelihood), so that a
    level seen a few times is shrunk toward its group's mean, and an unseen one sits at it.

    Damped Newton: the Hessian X' diag(h) X + penalty is sparse (a row touches its design
    columns and one level per effect), each step solves it by conjugate gradients (newton_step;
    the last `tail` columns of `effects`, the levels of one effect, eliminated exactly), and a
    backtracking line search keeps every step downhill. Stops when the Newton decrement per row
    falls below `tol` (a handful of steps; a quasi-Newton method needs hundreds over thousands
    of levels)."""
    with single_threaded_blas():
        return _fit_log_linear(
            design, y, r, censored, effects, effect_penalty, tol, max_iter, start, tail
        )


def _fit_log_linear(
    design: np.ndarray,
    y: np.ndarray,
    r: np.ndarray,
    censored: np.ndarray,
    effects: sparse.spmatrix | None,
    effect_penalty: np.ndarray | float | None,
    tol: float,
    max_iter: int,
    start: np.ndarray | None,
    tail: int,
) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    r = np.broadcast_to(np.asarray(r, dtype=float), y.shape)
    censored = np.asarray(censored, dtype=bool)
    n = max(len(y), 1)
    p = design.shape[1]
    theta = np.zeros(p)
    theta[0] = np.log(max(y.mean(), 1e-6))
    if p == 1 and effects is None:
        return theta
    dense = np.asarray(design, dtype=float)
    pen = np.zeros(p)
    if effects is not None:
        effects = sparse.csr_matrix(effects, dtype=float)
        effects_t = effects.T.tocsr()
        gram = EffectsGram(effects)
        levels = np.broadcast_to(np.asarray(effect_penalty, dtype=float), (effects.shape[1],))
        pen = np.append(pen, levels)
        theta = np.append(theta, np.zeros(effects.shape[1]))
    if start is not None:
        theta = np.array(start, dtype=float)
    ridge = pen + 1e-8 * n  # keeps a design column that is all zeros solvable

    def log_mu(theta: np.ndarray) -> np.ndarray:
        f = dense @ theta[:p]
        return f if effects is None else f + effects @ theta[p:]

    def gradient(g: np.ndarray) -> np.ndarray:
        out = dense.T @ g
        return out if effects is None else np.concatenate([out, effects_t @ g])

    def hessian(h: np.ndarray) -> sparse.csr_matrix:
        """X' diag(h) X + ridge, block by block: the design's columns are dense (a dense
        product), the effects' one level per row sparse (a sparse product)."""
        weighted = dense * h[:, None]
        top = dense.T @ weighted
        if effects is None:
            return sparse.csr_matrix(top + np.diag(ridge))
        cross = sparse.csr_matrix(effects_t @ weighted)  # levels x design columns
        inner = gram(h)
        hess = sparse.bmat([[sparse.csr_matrix(top), cross.T], [cross, inner]], format="csr")
        return (hess + sparse.diags(ridge)).tocsr()

    def value(theta: np.ndarray) -> tuple[float, np.ndarray]:
        f = np.clip(log_mu(theta), -30.0, 30.0)
        v = -loglik(y, np.exp(f), r, censored).sum() + 0.5 * np.sum(pen * theta**2)
        return float(v), f

    initial = theta
    current, f = value(theta)
    first = None  # the starting gradient's norm
    at = GradHess(y, r, censored)  # what does not move with theta, worked out once
    for _ in range(max_iter):
        g, h = at(f)
        grad = gradient(g) + pen * theta
        # inexact Newton: solved loosely far from the optimum, where the quadratic model is
        # rough anyway, and ever more tightly as the gradient shrinks (a forcing term in
        # proportion to it keeps the convergence fast)
        norm = float(np.linalg.norm(grad))
        first = norm if first is None else first
        rtol = float(np.clip(norm / max(first, 1e-300), 1e-10, 0.1))
        step = newton_step(hessian(h), grad, rtol, p, tail if effects is not None else 0)
        decrement = -float(grad @ step)
        if not np.isfinite(decrement) or decrement <= 0:
            break
        t = 1.0
        while True:
            trial = theta + t * step
            v, f_trial = value(trial)
            if v <= current - 1e-4 * t * decrement or t < 1e-10:
                break
            t *= 0.5
        if not np.isfinite(v) or v > current:
            break
        theta, current, f = trial, v, f_trial
        if decrement / n < tol:
            break
    return theta if np.isfinite(theta).all() else initial


def newton_step(
    hess: sparse.csr_matrix, grad: np.ndarray, rtol: float, p: int = 0, tail: int = 0
) -> np.ndarray:
    """The step solving hess @ step = -grad to a residual of rtol x |grad|, by conjugate
    gradients with a diagonal preconditioner.

    With `tail`, the last `tail` columns are the levels of one random effect: a row touches at
    most one of them, so their block of the Hessian is diagonal, and they are eliminated
    exactly (a Schur complement): conjugate gradients solve for the other terms only, on the
    complement, preconditioned by its diagonal and its first `p` columns' (the design's) dense
    block solved exactly, then the tail levels follow each in one division. Each past stream's
    level, the effect with the most levels, couples everything else (a stream's SKUs, its
    streamer, the design's trends); eliminated, the complement needs a third of the
    iterations."""
    if tail == 0:
        step, _ = sparse_linalg.cg(
            hess, -grad, rtol=rtol, maxiter=1000, M=sparse.diags(1.0 / hess.diagonal())
        )
        return step
    m = hess.shape[0] - tail
    rest, cross = hess[:m, :m], hess[:m, m:]
    cross_t = cross.T.tocsr()
    d = hess.diagonal()[m:]
    b = -grad
    rhs = b[:m] - cross @ (b[m:] / d)
    diagonal = rest.diagonal() - cross.multiply(cross) @ (1.0 / d)
    top = rest[:p, :p].toarray() - (cross[:p] @ sparse.diags(1.0 / d) @ cross_t[:, :p]).toarray()
    top_inv = np.linalg.pinv(top, hermitian=True) if p else np.zeros((0, 0))

    def complement(v: np.ndarray) -> np.ndarray:
        return rest @ v - cross @ ((cross_t @ v) / d)

    def precondition(v: np.ndarray) -> np.ndarray:
        return np.concatenate([top_inv @ v[:p], v[p:] / diagonal[p:]])

    size = float(np.linalg.norm(rhs))
    tight = min(rtol * float(np.linalg.norm(b)) / max(size, 1e-300), 0.5)
    solved, _ = sparse_linalg.cg(
        sparse_linalg.LinearOperator((m, m), matvec=complement),
        rhs,
        rtol=tight,
        maxiter=1000,
        M=sparse_linalg.LinearOperator((m, m), matvec=precondition),
    )
    return np.concatenate([solved, (b[m:] - cross_t @ solved) / d])
