"""Calibration of the demand model on held-out rows, by a model that never saw them: how far off
the scale of its mean is, how uncertain a new SKU's level is, and the negative binomial size that
covers the model's own error as well as the demand's noise.

Boosted trees shrink log mu toward the middle, and exp of a noisy log mean is low on average:
the scale makes the held-out demand's sum match, a sold-out row counted at E[D | D >= y] under
the rescaled mean and the size fitted at it, mixed over the row's level spread (a new SKU that
sold out was likelier a popular one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, sparse, special

from .distributions import lognormal_nodes
from .negbin import likelihood
from .negbin.dispersion import Dispersion

SPREAD_FACTORS = (0.0, 0.5, 1.0, 1.5, 2.0)  # of the prior's spread, chosen on held-out rows
MIN_SPREAD_ROWS = 100  # held-out rows of new SKUs needed to choose it
# held-out new SKUs at which their own scale and the other rows' weigh alike (new_sku_weight): on
# the zoo's worlds, about forty held-out launches, the likeliest scale of a new SKU moved between
# 0.6 and 1.9 with which half of the launches the seed held out
NEW_SKU_CREDIBILITY = 40
SCALES = (0.5, 2.0)  # the held-out rescaling of the mean stays within these
SCALE_STEPS = 6  # secant steps that solve it where sold-out rows are imputed at it
MIN_LEAD_ROWS = 200  # held-out rows a training lead needs for a scale of its own
# the held-out choices' key of each training lead's scale factor: this, its hours, then "h"
LEAD_SCALE_KEY = "model_lead_scale_"


@dataclass(frozen=True)
class SpreadFit:
    """What the held-out rows say at one level spread: their log-likelihood, the scale of the
    mean, the scale of a new SKU's mean and the size model."""

    loglik: float
    scale: float
    new_sku_scale: float
    dispersion: Dispersion


@dataclass(frozen=True)
class LeadScales:
    """How far each training lead's rescaled mean is from its held-out demand: `factors[i]` at
    `hours[i]` (ascending), between them interpolated in log hours, beyond them the nearest's;
    `dispersion`: the size model refitted at the means they give."""

    hours: np.ndarray
    factors: np.ndarray
    dispersion: Dispersion

    @classmethod
    def none(cls, dispersion: Dispersion) -> LeadScales:
        """No factor at any lead (1 everywhere), beside the size model `dispersion`."""
        return cls(np.zeros(0), np.zeros(0), dispersion)

    def choices(self) -> dict[str, float]:
        """The factors as the model's held-out choices, one LEAD_SCALE_KEY per lead."""
        return {
            f"{LEAD_SCALE_KEY}{h:g}h": float(f)
            for h, f in zip(self.hours, self.factors, strict=True)
        }

    def at(self, lead_hours: np.ndarray) -> np.ndarray:
        """Each row's factor at its lead (hours before its stream starts)."""
        if len(self.hours) == 0:
            return np.ones(len(lead_hours))
        x = np.log(np.maximum(np.asarray(lead_hours, dtype=float), 1e-3))
        return np.exp(np.interp(x, np.log(self.hours), np.log(self.factors)))


@dataclass(frozen=True)
class Calibration:
    """The chosen share of the prior's spread for a new SKU's level, and its SpreadFit."""

    spread_factor: float
    fit: SpreadFit


class HeldOutCalibration:
    """The held-out rows: `design` of the size model, outcomes y, sold out `censored`; `new`:
    rows of SKUs the model never saw, whose scale is `new_weight` their own and the rest the
    other rows' (in log; 0: one scale for all rows); `ridge` of the size model; `sku`: each
    row's SKU, so that a scale is a ratio of the SKUs' averages, each SKU counted once (None:
    of the rows' sums); `host`: each row's log spread from a new streamer's unseen levels,
    added to every spread the rows are fitted at (None: none)."""

    def __init__(
        self,
        design: np.ndarray,
        y: np.ndarray,
        censored: np.ndarray,
        new: np.ndarray,
        new_weight: float,
        ridge: float = 1.0,
        sku: np.ndarray | None = None,
        host: np.ndarray | None = None,
        lead: np.ndarray | None = None,
    ) -> None:
        self.design, self.y, self.censored = design, y, censored
        self.new, self.new_weight, self.ridge = new, new_weight, ridge
        self.sku = None if sku is None else pd.factorize(np.asarray(sku))[0]
        self.host = host
        self.lead = lead
        self._sizes: dict[bytes, Dispersion] = {}
        self._last_theta: np.ndarray | None = None

    def fit(
        self,
        f: np.ndarray,
        sd: np.ndarray,
        solve: bool = False,
        start: tuple[float, float] | None = None,
    ) -> SpreadFit:
        """The rows' fit where their log mean is f, uncertain by sd (a new SKU's level; the
        streamer's `host` spread is added): the seen SKUs' scale one step from the model's own
        mean, or with `solve` where the rescaled sum agrees with itself (sold-out rows imputed
        at too low a mean make it too small), from `start`'s scales when given (else one step);
        a new SKU's scale where its rows are likeliest (`_likeliest`), pooled with the other
        rows' by `new_weight`."""
        design, y, cens = self.design, self.y, self.censored
        sd, mu0, apart = self._means(f, sd)
        w = self.new_weight

        def pooled(new_scale: float, scale: float) -> float:
            """A new SKU's scale: w its own rows', the rest the other rows'."""
            return float(np.exp(w * np.log(new_scale) + (1.0 - w) * np.log(scale)))

        def rescaled(scale: float, new_scale: float) -> tuple[float, float]:
            y_mean = y
            if cens.any():  # the size is only needed to impute sold-out rows
                mu = mu0 * np.where(apart, new_scale, scale)
                y_mean = self._imputed(mu, sd, self._size(mu, sd))
            return _ratio(y_mean, mu0, ~apart, self.sku), _ratio(y_mean, mu0, apart, self.sku)

        weighed = None  # the size model a new SKU's rows were weighed at
        if start is None:
            scale, new_scale = rescaled(1.0, 1.0)
            if apart.any():
                own, weighed = self._likeliest(mu0, sd, apart, scale, new_scale)
                new_scale = pooled(own, scale)
        else:
            scale, new_scale = start
        if solve and cens[~apart].any():
            # secant steps on log scale toward where the rescaled sum agrees with itself
            x0, g0 = 0.0, np.log(scale)
            x1 = np.log(scale)
            for _ in range(SCALE_STEPS):
                g1 = np.log(rescaled(np.exp(x1), new_scale)[0]) - x1
                if abs(g1) < 1e-3 or g1 == g0:
                    break
                step = g1 * (x1 - x0) / (g1 - g0)
                x0, g0 = x1, g1
                x1 = float(np.clip(x1 - step, *np.log(SCALES)))
            scale = float(np.exp(x1))
        if solve and apart.any():
            own, weighed = self._likeliest(mu0, sd, apart, scale, new_scale)
            new_scale = pooled(own, scale)
        if not apart.any():
            new_scale = scale  # no new SKU's row to tell: the others' scale
        mu = mu0 * np.where(apart, new_scale, scale)
        if weighed is not None and not solve:
            # one step, to compare level spreads: the size the new rows were weighed at
            disp = weighed
            ll = likelihood.loglik_mixed(y, mu, disp.size(design), cens, sd).sum()
        else:
            disp = self._size(mu, sd)
            if mu.min() >= 1e-9:  # the fit's own rows' log-likelihood (it floors mu there)
                ll = disp.loglik_.sum()
            else:
                ll = likelihood.loglik_mixed(y, mu, disp.size(design), cens, sd).sum()
        return SpreadFit(float(ll), scale, new_scale, disp)

    def by_lead(self, f: np.ndarray, sd: np.ndarray, fit: SpreadFit) -> LeadScales:
        """The factor of each training lead (`lead`) on `fit`'s rescaled mean at which its own
        held-out rows' demand agrees with it, sold-out rows imputed at the rescaled mean: a
        model learnt from every lead at once can sit above its demand where the videos tell
        much and below it where they do not yet, and one scale for all leads is right only on
        their average. Measured on the rows of seen SKUs, and for them: a new SKU's scale is
        its own rows', over every lead. A lead with fewer than MIN_LEAD_ROWS such rows keeps no
        factor of its own; no `lead`, or fewer than two leads with a factor: none at all. The
        size model is refitted at the means the factors give."""
        sd, mu0, apart = self._means(f, sd)
        mu = mu0 * np.where(apart, fit.new_sku_scale, fit.scale)
        none = LeadScales.none(fit.dispersion)
        if self.lead is None:
            return none
        y_mean = self._imputed(mu, sd, fit.dispersion)
        hours, factors = [], []
        for hour in np.unique(self.lead):
            rows = (self.lead == hour) & ~apart
            if rows.sum() >= MIN_LEAD_ROWS:
                hours.append(float(hour))
                factors.append(_ratio(y_mean, mu, rows, self.sku))
        if len(hours) < 2:
            return none
        scales = LeadScales(np.array(hours), np.array(factors), fit.dispersion)
        size = self._size(mu * np.where(apart, 1.0, scales.at(self.lead)), sd)
        return LeadScales(scales.hours, scales.factors, size)

    def _likeliest(
        self, mu0: np.ndarray, sd: np.ndarray, new: np.ndarray, scale: float, guess: float
    ) -> tuple[float, Dispersion]:
        """A new SKU's scale: where its held-out rows `new` are likeliest, the rows of a SKU
        sharing one level drawn from its spread (each row's sd), the size model fitted with the
        other rows at `scale` and the new ones at `guess`. A sum of the new SKUs' demand over
        their means follows the few that sold many times what a new SKU usually does; the
        likelihood sets such a SKU's level high instead, within the spread a level has, so that
        one blockbuster among forty held-out launches does not raise every new SKU's mean. Also the
        size model it used."""
        weighed = self._size(mu0 * np.where(new, guess, scale), sd)
        size = weighed.size(self.design[new])
        y, cens = self.y[new], self.censored[new]
        nodes, w = lognormal_nodes(mu0[new, None], sd[new, None])  # rows x nodes, one Z
        k = nodes.shape[1]
        y_k, cens_k, size_k = np.repeat(y, k), np.repeat(cens, k), np.repeat(size, k)
        group = np.arange(len(y)) if self.sku is None else pd.factorize(self.sku[new])[0]
        # sums each SKU's rows at every node
        by_sku = sparse.csr_matrix((np.ones(len(y)), (group, np.arange(len(y)))))

        def loss(log_scale: float) -> float:
            mu = nodes.ravel() * np.exp(log_scale)
            ll = likelihood.loglik(y_k, mu, size_k, cens_k).reshape(nodes.shape)
            return -float(special.logsumexp(by_sku @ ll + np.log(w), axis=1).sum())

        best = optimize.minimize_scalar(
            loss, bounds=tuple(np.log(SCALES)), method="bounded", options={"xatol": 1e-6}
        )
        return float(np.exp(best.x)), weighed

    def _means(self, f: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(each row's level spread with the streamer's `host` spread added, its mean before
        any scale, the rows whose scale is a new SKU's) where the log mean is f."""
        if self.host is not None:
            sd = np.hypot(sd, self.host)
        apart = self.new if self.new_weight > 0 else np.zeros(len(self.y), bool)
        return sd, np.exp(f + 0.5 * sd**2), apart

    def _imputed(self, mu: np.ndarray, sd: np.ndarray, size: Dispersion) -> np.ndarray:
        """The rows' demand: y, a sold-out row's at E[D | D >= y] under mean mu, its size from
        `size` and its level spread sd."""
        y, cens = self.y.copy(), self.censored
        if cens.any():
            y[cens] = likelihood.impute_mean_mixed(
                y[cens], mu[cens], size.size(self.design[cens]), sd[cens]
            )
        return y

    def _size(self, mu: np.ndarray, sd: np.ndarray) -> Dispersion:
        """The size model fitted at the rows' means mu and level spreads sd, once per (mu, sd):
        the choices ask again at means they have met before (a factor of 1, a scale where a
        search starts). Each fit starts from the last one's sizes: the choices move the means
        a little at a time, so Newton has less far to go."""
        key = hashlib.blake2b(np.ascontiguousarray(mu, dtype=float))
        key.update(np.ascontiguousarray(sd, dtype=float))
        found = self._sizes.get(key.digest())
        if found is None:
            found = Dispersion(self.ridge).fit(
                self.design, self.y, mu, self.censored, sd, start=self._last_theta
            )
            self._sizes[key.digest()] = found
            self._last_theta = found.theta_
        return found

    def calibrate(self, f: np.ndarray, unseen: np.ndarray, factors: Sequence[float]) -> Calibration:
        """How much of the prior's spread `unseen` a new SKU's level really has (the features
        tell part of it): the factor the held-out likelihood prefers, with its scales solved;
        one factor: no choice."""
        start = None  # the chosen factor's one-step scales, where factors were compared
        best = 0
        if len(factors) > 1:
            fits = [self.fit(f, c * unseen) for c in factors]
            best = int(np.argmax([fit.loglik for fit in fits]))
            start = (fits[best].scale, fits[best].new_sku_scale)
        chosen = self.fit(f, factors[best] * unseen, solve=True, start=start)
        return Calibration(factors[best], chosen)


def _ratio(y: np.ndarray, mu: np.ndarray, rows: np.ndarray, sku: np.ndarray | None) -> float:
    """sum(y) / sum(mu) on `rows`, within SCALES (1 on no rows); with `sku` (each row's SKU
    code), of the SKUs' averages, each SKU counted once."""
    if not rows.any():
        return 1.0
    if sku is None:
        return float(np.clip(y[rows].sum() / max(mu[rows].sum(), 1e-9), *SCALES))
    n = np.bincount(sku[rows])
    seen = n > 0
    y_s = np.bincount(sku[rows], weights=y[rows])[seen] / n[seen]
    mu_s = np.bincount(sku[rows], weights=mu[rows])[seen] / n[seen]
    return float(np.clip(y_s.sum() / max(mu_s.sum(), 1e-9), *SCALES))


def new_sku_weight(n_skus: int) -> float:
    """The share (in log) of a new SKU's scale that the held-out new SKUs' own rows set, from how
    many SKUs they are: n / (n + NEW_SKU_CREDIBILITY), the rest the other rows' scale. The
    held-out launches are a sample of a few dozen SKUs, and their scale moves with which of them
    are held out far more than with how many rows each has."""
    return n_skus / (n_skus + NEW_SKU_CREDIBILITY)


def typical_means(y: np.ndarray, sku: np.ndarray) -> np.ndarray:
    """What each row's demand would be expected at without a model: the average of its SKU's
    other rows, and for a SKU seen once the median SKU's average (each SKU counted once), so
    that one NB size fitted around them measures the spread within a SKU, not between SKUs."""
    code, _ = pd.factorize(np.asarray(sku))
    n = np.bincount(code).astype(float)
    total = np.bincount(code, weights=y)
    typical = float(np.median(total / n))
    others = n[code] - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        loo = (total[code] - y) / others
    return np.maximum(np.where(others > 0, loo, typical), 1e-6)
