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

import numpy as np
from scipy import special, stats

from demandmatch.forecast.distributions import lognormal_nodes

_MIN_HESS = 1e-6


def _p(mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r / (r + np.maximum(mu, 1e-12))


def loglik(y: np.ndarray, mu: np.ndarray, r: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Per-row log-likelihood: log P(D = y), or log P(D >= y) where censored."""
    y = np.asarray(y, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
    r = np.broadcast_to(np.asarray(r, dtype=float), y.shape)
    cens = np.asarray(censored, dtype=bool)
    out = np.empty_like(y)
    u = ~cens
    out[u] = stats.nbinom.logpmf(y[u], r[u], _p(mu[u], r[u]))
    out[cens] = stats.nbinom.logsf(y[cens] - 1.0, r[cens], _p(mu[cens], r[cens]))
    return out


def loglik_mixed(
    y: np.ndarray, mean: np.ndarray, r: np.ndarray, censored: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    """loglik where the NB mean is lognormal around `mean` with log spread sd (E = mean), by
    Gauss-Hermite nodes on the rows with sd > 0 (distributions.lognormal_nodes)."""
    out = loglik(y, mean, r, censored)
    mixed = np.flatnonzero(np.asarray(sd) > 0)
    if len(mixed) == 0:
        return out
    y, mean, cens = (np.asarray(a)[mixed] for a in (y, mean, censored))
    r = np.broadcast_to(np.asarray(r, dtype=float), out.shape)[mixed]
    s = np.asarray(sd, dtype=float)[mixed]
    mu, w = lognormal_nodes(mean[:, None], s[:, None])  # (rows, nodes)
    k = mu.shape[1]
    ll = loglik(np.repeat(y, k), mu.ravel(), np.repeat(r, k), np.repeat(cens, k))
    out[mixed] = special.logsumexp(ll.reshape(mu.shape) + np.log(w), axis=1)
    return out


def _censored_grad_hess(
    s: np.ndarray, mu: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivative in f = log mu of -log P(D >= s). With k = s - 1,
    rho = P(D = k) / P(D > k) and a = mu (k + r) / (r + mu), dF(k)/dmu = -(k + r) P(D = k) /
    (r + mu) gives g = -a rho, and d log P(D = k) / df = r (k - mu) / (r + mu), d a / df =
    a r / (r + mu) give h = g (r (1 + k - mu) / (r + mu) + g): one tail probability per row."""
    p = _p(mu, r)
    k = s - 1.0
    with np.errstate(invalid="ignore"):
        log_ratio = stats.nbinom.logpmf(k, r, p) - stats.nbinom.logsf(k, r, p)
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
    mu = np.exp(np.clip(f, -30.0, 30.0))
    w = r / (mu + r)  # in place from here: this runs once per boosting round
    grad = mu - y
    grad *= w
    hess = r + y
    hess *= mu
    hess *= w
    hess /= mu + r
    if censored.any():
        c = censored
        grad[c], hess[c] = _censored_grad_hess(y[c], mu[c], r[c])
    return grad, np.maximum(hess, _MIN_HESS)


def _log_tail(s: np.ndarray, mu: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log E[D; D >= s], log P(D >= s)) for NB(mu, r): E[D; D >= s] = mu P(D' >= s - 1),
    where D' is NB(mu, r + 1) with the same p (because y P(D = y) = mu P(D' = y - 1))."""
    p = _p(mu, r)
    num = np.log(mu) + stats.nbinom.logsf(s - 2.0, r + 1.0, p)
    return num, stats.nbinom.logsf(s - 1.0, r, p)


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
