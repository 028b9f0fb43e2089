"""Negative binomial likelihood with censored observations, for learning demand from sales.

A stream item that sold out only says demand D >= units sold; one that did not says D = units
sold. With D ~ NB(mean mu, size r) (variance mu + mu^2 / r):

    uncensored:  log P(D = y)  = lgamma(y + r) - lgamma(r) - lgamma(y + 1)
                                  + r log(r / (r + mu)) + y log(mu / (r + mu))
    censored:    log P(D >= s) = log sf(s - 1)

The mean model is boosted on f = log mu with the gradient and Hessian below; the size comes
from a small log-linear model fitted by maximum likelihood on held-out predictions, so that it
also absorbs the mean model's own error.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import special, stats

from demandmatch.forecast.distributions import lognormal_nodes

_MIN_HESS = 1e-6
# fewest values per thread: below about 1,000 a second thread costs more than it saves
_ROWS_PER_THREAD = 2000
_MAX_THREADS = 4
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (the process it belongs to, its threads)


def nb_logsf(k: np.ndarray, r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """scipy's nbinom.logsf(k, r, p), the values split between this thread and up to three more
    where they are many (and the machine has the cores). The survival function is most of the
    likelihood's time, and scipy lets go of the GIL inside it; each value is computed alone, so
    the result is the same to the bit."""
    k, r, p = np.broadcast_arrays(k, r, p)
    n = k.size
    parts = min(_cores(), n // _ROWS_PER_THREAD)
    if parts < 2:
        return stats.nbinom.logsf(k, r, p)
    shape = k.shape
    k, r, p = k.reshape(-1), r.reshape(-1), p.reshape(-1)
    cuts = np.linspace(0, n, parts + 1).astype(int)
    pool = _threads()
    others = [
        pool.submit(stats.nbinom.logsf, k[a:b], r[a:b], p[a:b])
        for a, b in zip(cuts[1:-1], cuts[2:], strict=True)
    ]
    first = stats.nbinom.logsf(k[: cuts[1]], r[: cuts[1]], p[: cuts[1]])
    return np.concatenate([first, *(f.result() for f in others)]).reshape(shape)


def _cores() -> int:
    return min(len(os.sched_getaffinity(0)), _MAX_THREADS)


def _threads() -> ThreadPoolExecutor:
    """The helper threads of this process: made again in a forked child, which inherits the
    parent's pool but none of its threads."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(_MAX_THREADS - 1, "nb-logsf"))
    return _pool[1]


def _p(mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r / (r + np.maximum(mu, 1e-12))


def logpmf(
    y: np.ndarray,
    r: np.ndarray,
    p: np.ndarray,
    log_y_factorial: np.ndarray | None = None,
    coeff: np.ndarray | None = None,
) -> np.ndarray:
    """scipy's nbinom.logpmf(y, r, p) of arrays of one shape, to the bit (its formula) but
    without its argument checks and reshaping where the arguments are valid (elsewhere scipy's
    own); `log_y_factorial`: lgamma(y + 1), `coeff`: log_coefficient(y, r), when known."""
    valid = (r > 0) & (p > 0) & (p <= 1) & (y >= 0) & (y == np.floor(y))
    if not valid.all():
        out = np.empty(np.shape(y))
        out[~valid] = stats.nbinom.logpmf(y[~valid], r[~valid], p[~valid])
        lgy = None if log_y_factorial is None else log_y_factorial[valid]
        known = None if coeff is None else coeff[valid]
        out[valid] = logpmf(y[valid], r[valid], p[valid], lgy, known)
        return out
    if coeff is None:
        coeff = log_coefficient(y, r, log_y_factorial)
    return coeff + r * np.log(p) + special.xlog1py(y, -p)


def log_coefficient(
    y: np.ndarray, r: np.ndarray, log_y_factorial: np.ndarray | None = None
) -> np.ndarray:
    """The part of logpmf that does not depend on p: lgamma(y + r) - lgamma(y + 1) - lgamma(r)
    (meaningless where logpmf's arguments are not valid)."""
    lgy = special.gammaln(y + 1) if log_y_factorial is None else log_y_factorial
    with np.errstate(invalid="ignore"):
        return special.gammaln(r + y) - lgy - special.gammaln(r)


def loglik(y: np.ndarray, mu: np.ndarray, r: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood: log P(D = y), or log P(D >= y) where censored."""
    return Loglik(y, mu, censored)(r)


def loglik_mixed(
    y: np.ndarray, mean: np.ndarray, r: np.ndarray, censored: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    """loglik where the NB mean is lognormal around `mean` with log spread sd (E = mean), by
    Gauss-Hermite nodes on the rows with sd > 0 (distributions.lognormal_nodes)."""
    return MixedLoglik(y, mean, censored, sd)(r)


class Loglik:
    """loglik(y, mu, r, censored) as a function of r, for one set of rows evaluated at many r
    (a size model's fit): what does not depend on r is worked out once."""

    def __init__(self, y: np.ndarray, mu: np.ndarray, censored: np.ndarray) -> None:
        y = np.asarray(y, dtype=float)
        mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
        cens = np.asarray(censored, dtype=bool)
        self.n, self.cens = len(y), cens
        self.u = ~cens
        self.y_u, self.mu_u = y[self.u], mu[self.u]
        self.lgy_u = special.gammaln(self.y_u + 1)
        self.k_c, self.mu_c = y[cens] - 1.0, mu[cens]

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.broadcast_to(np.asarray(r, dtype=float), (self.n,))
        out = np.empty(self.n)
        r_u = r[self.u]
        out[self.u] = logpmf(self.y_u, r_u, _p(self.mu_u, r_u), self.lgy_u)
        r_c = r[self.cens]
        out[self.cens] = nb_logsf(self.k_c, r_c, _p(self.mu_c, r_c))
        return out


class MixedLoglik:
    """loglik_mixed(y, mean, r, censored, sd) as a function of r (see Loglik): the mixed rows'
    Gauss-Hermite nodes are laid out once."""

    def __init__(
        self, y: np.ndarray, mean: np.ndarray, censored: np.ndarray, sd: np.ndarray
    ) -> None:
        y, mean = np.asarray(y, dtype=float), np.asarray(mean, dtype=float)
        cens = np.asarray(censored, dtype=bool)
        sd = np.asarray(sd, dtype=float)
        self.n = len(y)
        self.mixed = np.flatnonzero(sd > 0)
        self.plain = np.flatnonzero(~(sd > 0))
        p = self.plain
        self.plain_ll = Loglik(y[p], mean[p], cens[p])
        m = self.mixed
        mu, w = lognormal_nodes(mean[m, None], sd[m, None])  # (rows, nodes)
        self.shape, self.log_w = mu.shape, np.log(w)
        k = mu.shape[1]
        self.nodes_ll = Loglik(np.repeat(y[m], k), mu.ravel(), np.repeat(cens[m], k))

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.broadcast_to(np.asarray(r, dtype=float), (self.n,))
        out = np.empty(self.n)
        out[self.plain] = self.plain_ll(r[self.plain])
        if len(self.mixed):
            ll = self.nodes_ll(np.repeat(r[self.mixed], self.shape[1]))
            out[self.mixed] = special.logsumexp(ll.reshape(self.shape) + self.log_w, axis=1)
        return out


def _censored_grad_hess(
    s: np.ndarray, mu: np.ndarray, r: np.ndarray, coeff: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivative in f = log mu of -log P(D >= s). With k = s - 1,
    rho = P(D = k) / P(D > k) and a = mu (k + r) / (r + mu), dF(k)/dmu = -(k + r) P(D = k) /
    (r + mu) gives g = -a rho, and d log P(D = k) / df = r (k - mu) / (r + mu), d a / df =
    a r / (r + mu) give h = g (r (1 + k - mu) / (r + mu) + g): one tail probability per row.
    `coeff`: log_coefficient(s - 1, r), when known."""
    p = _p(mu, r)
    k = s - 1.0
    with np.errstate(invalid="ignore"):
        log_ratio = logpmf(k, r, p, coeff=coeff) - nb_logsf(k, r, p)
    # far in the tail both underflow; P(D = k) / P(D > k) tends to p / (1 - p) there
    tail = np.log(p) - np.log1p(-np.minimum(p, 1.0 - 1e-12))
    log_ratio = np.where(np.isfinite(log_ratio), log_ratio, tail)
    ratio = np.where(s > 0, np.exp(np.minimum(log_ratio, 50.0)), 0.0)  # P(D >= 0) = 1
    g = -mu * (k + r) / (r + mu) * ratio
    return g, g * (r * (1.0 + k - mu) / (r + mu) + g)


def grad_hess(
    f: np.ndarray, y: np.ndarray, r: np.ndarray, censored: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the negative log-likelihood with respect to f = log mu."""
    return GradHess(y, r, censored)(f)


class GradHess:
    """grad_hess(f, y, r, censored) as a function of f, for one set of rows at many f (the
    rounds of a boosting run): what does not depend on f is worked out once."""

    def __init__(self, y: np.ndarray, r: np.ndarray, censored: np.ndarray) -> None:
        self.y, self.r, self.censored = y, r, censored
        self.r_plus_y = r + y
        self.any_censored = bool(censored.any())
        if self.any_censored:
            self.s_c, self.r_c = y[censored], r[censored]
            self.coeff_c = log_coefficient(self.s_c - 1.0, self.r_c)

    def __call__(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, r = self.y, self.r
        mu = np.exp(np.clip(f, -30.0, 30.0))
        w = r / (mu + r)  # in place from here: this runs once per boosting round
        grad = mu - y
        grad *= w
        hess = self.r_plus_y * mu
        hess *= w
        hess /= mu + r
        if self.any_censored:
            c = self.censored
            grad[c], hess[c] = _censored_grad_hess(self.s_c, mu[c], self.r_c, self.coeff_c)
        return grad, np.maximum(hess, _MIN_HESS)


def _log_tail(s: np.ndarray, mu: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log E[D; D >= s], log P(D >= s)) for NB(mu, r): E[D; D >= s] = mu P(D' >= s - 1),
    where D' is NB(mu, r + 1) with the same p (because y P(D = y) = mu P(D' = y - 1))."""
    p = _p(mu, r)
    num = np.log(mu) + nb_logsf(s - 2.0, r + 1.0, p)
    return num, nb_logsf(s - 1.0, r, p)


def impute_mean(s: np.ndarray, mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    """E[D | D >= s] for NB(mu, r)."""
    num, den = _log_tail(s, mu, r)
    return np.where(s > 0, np.exp(num - den), mu)


def impute_mean_mixed(s: np.ndarray, mean: np.ndarray, r: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[D | D >= s] when the NB mean is lognormal around `mean` with log spread sd (E =
    mean), as loglik_mixed's demand: sum_k w_k E_k[D; D >= s] / sum_k w_k P_k(D >= s) over
    Gauss-Hermite nodes. A sold-out row is likelier at a node with a high level, so the tail
    sits above the plain NB's at the same mean."""
    s, mean, sd = (np.asarray(a, dtype=float) for a in (s, mean, sd))
    r = np.broadcast_to(np.asarray(r, dtype=float), s.shape)
    out = impute_mean(s, mean, r)
    mixed = np.flatnonzero((sd > 0) & (s > 0))
    if len(mixed) == 0:
        return out
    mu, w = lognormal_nodes(mean[mixed, None], sd[mixed, None])  # (rows, nodes)
    num, den = _log_tail(s[mixed, None], mu, r[mixed, None])
    log_w = np.log(w)
    out[mixed] = np.exp(
        special.logsumexp(num + log_w, axis=1) - special.logsumexp(den + log_w, axis=1)
    )
    return out
