"""The negative binomial's size as a log-linear function of a few row groups (category, how far
ahead the forecast is made, cold start), fitted by censored maximum likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from demandmatch.data.texts import as_text

from .likelihood import MixedLoglik
from .threads import single_threaded_blas

LEAD_BUCKETS = (12.0, 48.0, 120.0)  # hours before the stream: dispersion differs across them


def size_design(X: pd.DataFrame, categories: list[str]) -> np.ndarray:
    """The size model's design: intercept, a column per category (of `categories`, the fit's),
    per lead bucket, and the cold_sku and cold_streamer flags, each where X has the column."""
    cols = [np.ones(len(X))]
    if "category" in X:
        cat = pd.Categorical(as_text(X["category"]), categories=categories)
        cols += [(cat == c).astype(float) for c in categories]
    if "lead_hours" in X:
        bucket = np.searchsorted(LEAD_BUCKETS, X["lead_hours"].to_numpy(dtype=float))
        cols += [(bucket == b).astype(float) for b in range(len(LEAD_BUCKETS) + 1)]
    for flag in ("cold_sku", "cold_streamer"):
        if flag in X:
            cols.append(X[flag].to_numpy(dtype=float))
    return np.column_stack(cols)


def trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x) for x > 0, several times faster than scipy's (a Hurwitz zeta): the recurrence
    psi'(x) = psi'(x + 1) + 1 / x^2 six times, then the asymptotic series at x + 6 >= 6, whose
    first left-out term is under 1e-9 of psi' there."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for k in range(6):
        out += 1.0 / (x + k) ** 2
    inv = 1.0 / (x + 6.0)
    inv2 = inv * inv
    tail = -1.0 / 30.0 + inv2 * (1.0 / 42.0 - inv2 / 30.0)
    return out + inv + inv2 * (0.5 + inv * (1.0 / 6.0 + inv2 * tail))


class Dispersion:
    """log r = design @ theta: NB size as a log-linear function of a few row groups, fitted by
    censored maximum likelihood with a weak ridge pull toward a common level."""

    def __init__(self, ridge: float = 1.0, bounds: tuple[float, float] = (0.05, 500.0)) -> None:
        self.ridge = ridge
        self.bounds = bounds

    def fit(
        self,
        design: np.ndarray,
        y: np.ndarray,
        mu: np.ndarray,
        censored: np.ndarray,
        sd: np.ndarray | None = None,
        tol: float = 1e-12,
        max_iter: int = 50,
        start: np.ndarray | None = None,
    ) -> Dispersion:
        """`sd`: log spread of each row's mean around mu (loglik_mixed); None: none. `start`:
        theta to begin from (a fit of the same rows at nearby means); None: a size of 2.

        Damped Newton on theta: each row's log-likelihood is a function of its own log r, so
        the Hessian is design' diag(-second derivative) design, a few columns square. Both
        derivatives are closed form where a row is observed, and central differences (which
        give both from the same two evaluations) where it is censored or mixed. Eigenvalues
        the wrong way (the likelihood is not concave in log r everywhere) are flipped, and a
        backtracking line search keeps every step downhill. Stops when the Newton decrement per
        row falls below `tol`. `loglik_`: each row's log-likelihood at the fitted size;
        `n_iter_`: the Newton steps taken."""
        with single_threaded_blas():
            return self._fit(design, y, mu, censored, sd, tol, max_iter, start)

    def _fit(
        self,
        design: np.ndarray,
        y: np.ndarray,
        mu: np.ndarray,
        censored: np.ndarray,
        sd: np.ndarray | None,
        tol: float,
        max_iter: int,
        start: np.ndarray | None,
    ) -> Dispersion:
        y = np.asarray(y, dtype=float)
        mu = np.maximum(np.asarray(mu, dtype=float), 1e-9)
        cens = np.asarray(censored, dtype=bool)
        sd = np.zeros(len(y)) if sd is None else np.asarray(sd, dtype=float)
        design = np.asarray(design, dtype=float)
        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        n = max(len(y), 1)
        numeric = np.flatnonzero(cens | (sd > 0))
        u = np.flatnonzero(~(cens | (sd > 0)))
        y_u, mu_u = y[u], mu[u]
        rows_ll = MixedLoglik(y, mu, cens, sd)  # every row's log-likelihood at a size
        numeric_ll = MixedLoglik(y[numeric], mu[numeric], cens[numeric], sd[numeric])
        pen = np.full(design.shape[1], float(self.ridge))
        pen[0] = 0.0  # the ridge pulls the group terms toward the common level, not the level

        def value(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            log_r = design @ theta
            r = np.exp(np.clip(log_r, lo, hi))
            ll = rows_ll(r)
            return float(-ll.sum() + 0.5 * np.sum(pen * theta**2)) / n, ll, log_r

        def derivatives(ll: np.ndarray, log_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """First and second derivative of each row's log-likelihood in its log r."""
            r = np.exp(np.clip(log_r, lo, hi))
            d1, d2 = np.empty_like(y), np.empty_like(y)
            r_u = r[u]
            g = (
                special.digamma(y_u + r_u)
                - special.digamma(r_u)
                + np.log(r_u)
                + 1.0
                - np.log(r_u + mu_u)
                - (r_u + y_u) / (r_u + mu_u)
            )
            dg = (
                trigamma(y_u + r_u)
                - trigamma(r_u)
                + 1.0 / r_u
                - 1.0 / (r_u + mu_u)
                - (mu_u - y_u) / (r_u + mu_u) ** 2
            )
            d1[u], d2[u] = r_u * g, r_u * g + r_u**2 * dg
            if len(numeric):
                e, r_m = 1e-4, r[numeric]
                up = numeric_ll(r_m * np.exp(e))
                dn = numeric_ll(r_m * np.exp(-e))
                d1[numeric] = (up - dn) / (2 * e)
                d2[numeric] = (up - 2.0 * ll[numeric] + dn) / e**2
            flat = (log_r <= lo) | (log_r >= hi)  # clipped at a bound: log r does not move
            d1[flat], d2[flat] = 0.0, 0.0
            return d1, d2

        theta = np.zeros(design.shape[1])
        theta[0] = np.log(2.0)
        if start is not None:
            log_r = design @ np.asarray(start, dtype=float)
            # a start with some row at a bound would keep it there: a clipped size has no slope
            if ((log_r > lo) & (log_r < hi)).all():
                theta = np.array(start, dtype=float)
        current, ll, log_r = value(theta)
        self.converged_, self.n_iter_ = False, 0
        for self.n_iter_ in range(1, max_iter + 1):
            d1, d2 = derivatives(ll, log_r)
            grad = (-(design.T @ d1) + pen * theta) / n
            hess = (design.T @ (design * -d2[:, None]) + np.diag(pen + 1e-8 * n)) / n
            w, v = np.linalg.eigh(hess)
            w = np.maximum(np.abs(w), 1e-10 * max(np.abs(w).max(), 1e-12))
            step = -(v @ ((v.T @ grad) / w))
            decrement = -float(grad @ step)
            if not np.isfinite(decrement) or decrement <= 0:
                break
            if decrement < tol:
                self.converged_ = True
                break
            t = 1.0
            while True:
                trial = value(theta + t * step)
                if trial[0] <= current - 1e-4 * t * decrement or t < 1e-10:
                    break
                t *= 0.5
            if not np.isfinite(trial[0]) or trial[0] > current:
                break
            theta = theta + t * step
            current, ll, log_r = trial
        self.theta_, self.loglik_ = theta, ll
        return self

    def with_columns(self, n: int) -> Dispersion:
        """A copy of this fit for a design of `n` columns whose extra columns have no effect (a
        size fitted on the intercept alone, used with the full design)."""
        out = Dispersion(self.ridge, self.bounds)
        out.theta_ = np.append(self.theta_, np.zeros(n - len(self.theta_)))
        out.converged_ = self.converged_
        return out

    def size(self, design: np.ndarray) -> np.ndarray:
        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        return np.exp(np.clip(np.asarray(design, dtype=float) @ self.theta_, lo, hi))
