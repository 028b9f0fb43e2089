"""Demand models with the scikit-learn contract: parameters in __init__, fit returns self,
learned attributes end in `_`. Each predicts a mean and quantiles at `levels` that never cross.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import sparse

from . import negbin
from .config import ROUND_SHARES
from .data.schema import QUANTILE_LEVELS
from .distributions import quantiles_negbin_mixed, survival_negbin_mixed
from .offset_terms import OffsetTerms

# identify a row or group rows (the random effects below); never used as tree inputs
ID_COLUMNS = ("stream_id", "sku_id", "streamer_id", "brand")
LEAD_BUCKETS = (12.0, 48.0, 120.0)  # hours before the stream: dispersion differs across them
# the log-linear start of the NB mean (specs of offset_terms): main effects that hold across
# streamers and SKUs, so that a row beyond the history's range (a bigger streamer, a deeper
# discount, a festival) follows their trend where trees alone would stay flat, and a price
# elasticity per category, a level per part of the day, weekday and category, whether a video
# features the SKU. A blank value (no history yet, no video yet) gets its own level. video_reach,
# the log projected reach of the stream's videos, carries the stream's hype; log_followers, next
# to it, what is usual for its size
OFFSET_COLUMNS = (
    "festival_runup",
    "log_followers",
    "featured",
    "log_price",
    "discount*category",
    "slot",
    "log:duration_min",
    "log:lineup_size",
    "video_reach",
    "flag:video_sku_n",
    "cat:daypart",
    "cat:weekday",
    "cat:category",
)
# random effects of the log-linear start, each a group of rows sharing these columns: a SKU's own
# popularity, its brand's, a streamer's pull and taste for a category, and each past stream's
# own level (its hype). Shrunk toward 0 by a normal prior, so that a level seen a few times
# counts a little and a new SKU or streamer gets its brand's or the average. The stream's effect
# is fitted so that the others are not confused with the hype of the streams they happened to
# be in, and left out of the trees' start: an upcoming stream's is unknown
RANDOM_EFFECTS = (
    "merchant_id+sku_id",
    "merchant_id+brand",
    "streamer_id",
    "streamer_id+category",
    "stream_id",
)
EVENT_EFFECT = "stream_id"
# a row whose SKU (or brand) level was never seen has its log mean uncertain by effect_sd per
# unseen level: its demand is the NB mixed over that lognormal mean, with a longer right tail
PRODUCT_EFFECTS = ("merchant_id+sku_id", "merchant_id+brand")
SPREAD_FACTORS = (0.0, 0.5, 1.0, 1.5, 2.0)  # of effect_sd, chosen on held-out rows
MIN_SPREAD_ROWS = 100  # held-out rows of new SKUs needed to choose it and their scale (else 1)
# the latest rows seldom hold a SKU's first stream, so the first streams of (a share of) the
# SKUs launched after the first LAUNCH_BURN of the history, when everything is new, are held
# out too and judged as new SKUs: they teach a new SKU's spread, scale and dispersion
LAUNCH_BURN = 0.1
SCALES = (0.5, 2.0)  # the held-out rescaling of the mean stays within these
SCALE_STEPS = 6  # secant steps that solve it where sold-out rows are imputed at it
# the held-out model stops growing once this many candidate cuts in a row score below the best:
# the cuts lie many rounds apart and the held-out likelihood rises to one peak and falls after it
# (demo seeds 0-2, M5), so the first worse cut ends it, as early stopping would
ROUND_PATIENCE = 1


class DemandModel(Protocol):
    levels: Sequence[float]

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> DemandModel: ...
    def predict_mean(self, X: pd.DataFrame) -> np.ndarray: ...
    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray: ...


def _monotone(q: np.ndarray) -> np.ndarray:
    """Non-negative quantiles that never decrease across levels (sorted per row)."""
    return np.sort(np.maximum(q, 0.0), axis=1)


# LightGBM settings that shape how a Dataset is binned (the rest only shape the trees)
DATASET_PARAMS = ("min_child_samples", "n_jobs", "random_state", "verbose")


class _LGBMSettings:
    """The LightGBM settings both boosted models share, and the estimator kwargs they make."""

    def __init__(
        self,
        levels: Sequence[float] = QUANTILE_LEVELS,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        n_jobs: int = 2,
        random_state: int = 0,
        max_delta_step: float = 0.0,
    ) -> None:
        self.levels = levels
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_delta_step = max_delta_step

    def _params(self) -> dict[str, object]:
        return dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            max_delta_step=self.max_delta_step,
            verbose=-1,
        )


class LGBMQuantileDemand(_LGBMSettings):
    """One LightGBM quantile regressor per level plus a Tweedie mean model."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LGBMQuantileDemand:
        y = np.asarray(y, dtype=float)
        if len(y) == 0:
            raise ValueError("no past stream items to learn from")
        self.feature_names_ = [c for c in X.columns if c not in ID_COLUMNS]
        X = X[self.feature_names_]
        self.mean_model_ = lgb.LGBMRegressor(objective="tweedie", **self._params()).fit(X, y)
        self.quantile_models_ = [
            lgb.LGBMRegressor(objective="quantile", alpha=float(a), **self._params()).fit(X, y)
            for a in self.levels
        ]
        return self

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return np.maximum(self.mean_model_.predict(X[self.feature_names_]), 0.0)

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        X = X[self.feature_names_]
        q = np.column_stack([m.predict(X) for m in self.quantile_models_])
        return _monotone(q)


class LGBMNegBinDemand(_LGBMSettings):
    """Demand as a negative binomial: a LightGBM mean trained on the censored NB likelihood
    (a sold-out row counts as D >= units sold, not D = units sold) and a size that depends on
    the category, how far ahead the forecast is made and cold start, fitted on the latest
    `holdout` share of the history by a model that never saw it, so that the spread covers the
    mean model's own error as well as the demand's noise. The held-out model learns at a fixed
    `working_size`, in `holdout_rounds` of the rounds at a learning rate raised to match; with
    `fitted_size` the final model learns at the measured size. One booster instead of one per
    quantile (or `bags` of them averaged in log mean); the quantiles and the optimiser's
    survival curve come from the same distribution, mixed over a lognormal mean where a new
    SKU's level is unknown. The trees grow the share of `n_estimators` (from `round_shares`)
    whose truncated held-out model the held-out likelihood prefers: none when the log-linear
    start already says all the data can tell.
    """

    learns_censoring = True  # fit takes censored= (sold-out rows) and time= (the holdout)

    def __init__(
        self,
        levels: Sequence[float] = QUANTILE_LEVELS,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        n_jobs: int = 2,
        random_state: int = 0,
        max_delta_step: float = 0.0,
        censoring: bool = True,
        holdout: float = 0.2,
        dispersion_ridge: float = 1.0,
        working_size: float = 3.0,
        offset: Sequence[str] = OFFSET_COLUMNS,
        fitted_size: bool = True,
        random_effects: Sequence[str] = RANDOM_EFFECTS,
        effect_sd: float = 0.5,
        bags: int = 1,
        holdout_rounds: float = 0.25,
        launch_holdout: float = 1.0,
        round_shares: Sequence[float] = ROUND_SHARES,
    ) -> None:
        super().__init__(
            levels,
            n_estimators,
            learning_rate,
            num_leaves,
            min_child_samples,
            subsample,
            colsample_bytree,
            n_jobs,
            random_state,
            max_delta_step,
        )
        self.censoring = censoring
        self.holdout = holdout
        self.dispersion_ridge = dispersion_ridge
        self.working_size = working_size
        self.offset = tuple(offset)
        self.fitted_size = fitted_size
        self.random_effects = tuple(random_effects)
        self.effect_sd = effect_sd
        self.bags = bags
        self.holdout_rounds = holdout_rounds
        self.launch_holdout = launch_holdout
        self.round_shares = tuple(round_shares)
        if not self.round_shares or not all(0 <= c <= 1 for c in self.round_shares):
            raise ValueError(
                f"round_shares must be shares of n_estimators in [0, 1]: {round_shares}"
            )

    def _offset_design(self, X: pd.DataFrame) -> np.ndarray:
        """Intercept, standardised offset terms (blank at their mean) and a flag per term that
        had blanks when fitted (cold start: no history yet); see offset_terms."""
        return self.offset_terms_.design(X)

    def _effect_keys(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """The group level of every row, per random effect whose columns are present (none
        when effect_sd is 0)."""
        if self.effect_sd <= 0:
            return {}
        groups = [spec.split("+") for spec in self.random_effects]
        return {
            "+".join(cols): _group_key(X, cols).to_numpy()
            for cols in groups
            if all(c in X for c in cols)
        }

    def _effect_matrix(
        self, levels: dict[str, pd.Index], keys: dict[str, np.ndarray], n: int
    ) -> sparse.csr_matrix:
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

    def _dataset(self, X: pd.DataFrame, y: np.ndarray) -> lgb.Dataset:
        """X binned for LightGBM once: the held-out model trains on a subset of it and every
        bag on all of it, sharing the bins instead of building them again."""
        params = {k: v for k, v in self._params().items() if k in DATASET_PARAMS}
        return lgb.Dataset(X, label=y, params=params, free_raw_data=False).construct()

    def _start(
        self,
        X: pd.DataFrame,
        keys: dict[str, np.ndarray],
        y: np.ndarray,
        censored: np.ndarray,
        r: np.ndarray,
        copies: float,
        near: tuple[np.ndarray, dict[str, pd.Index]] | None = None,
    ) -> tuple[np.ndarray, dict[str, pd.Index], np.ndarray]:
        """The log-linear start the trees boost log mu from: offset terms and random effects,
        fitted by the same censored likelihood, so that a rare effect such as a festival starts
        where the data puts it on average instead of where the shrunken trees would leave it, a
        row beyond the history's range follows the main effects' trend, and a SKU's or
        streamer's level is read net of the hype of the streams it was seen in. `copies`: rows
        per past outcome (one per training lead), which scales the prior so that repeating an
        outcome does not make it count more against the prior. (theta, the random effects'
        levels, the start's log mu of X's rows). `near`: the (theta, levels) of a fit on
        similar rows, which the solver starts from (a level it lacks at 0)."""
        design = self._offset_design(X)
        levels = {spec: pd.Index(pd.unique(k)) for spec, k in keys.items()}
        effects = self._effect_matrix(levels, keys, len(X)) if levels else None
        penalty = copies / self.effect_sd**2 if levels else None
        start = None if near is None else _moved_to(*near, design.shape[1], levels)
        theta = negbin.fit_log_linear(design, y, r, censored, effects, penalty, start=start)
        base = design @ theta[: design.shape[1]] + _known_effects(effects, theta, levels)
        return theta, levels, base

    def _rounds(self, rounds: float) -> tuple[int, float]:
        """(boosting rounds, learning rate) of a model in `rounds` of n_estimators' rounds: the
        same way in fewer, longer steps."""
        if rounds == 1.0:
            return self.n_estimators, self.learning_rate
        n = max(int(round(self.n_estimators * rounds)), 1)
        return n, self.learning_rate * self.n_estimators / n

    def _trees(
        self,
        base: np.ndarray,
        y: np.ndarray,
        censored: np.ndarray,
        r: np.ndarray,
        data: lgb.Dataset,
        rounds: float,
        grow: int,
        after: Callable[[list[lgb.Booster], int], bool] | None = None,
    ) -> list[lgb.Booster]:
        """`bags` boosters of log mu from `base` on `data` (X binned by `_dataset`), stepping as a
        model in `rounds` of the rounds would, each grown `grow` rounds in step with the others;
        `after(boosters, k)` runs after round k and stops the growth when it says so."""

        if grow == 0:
            return []

        def objective(f: np.ndarray, _: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
            return negbin.grad_hess(f + base, y, r, censored)

        params = {**self._params(), "learning_rate": self._rounds(rounds)[1], "objective": "none"}
        params.pop("n_estimators")  # the rounds are grown here, one update at a time
        models = [
            lgb.Booster({**params, "random_state": self.random_state + b}, data)
            for b in range(max(self.bags, 1))
        ]
        for k in range(1, grow + 1):
            for m in models:
                m.update(fobj=objective)
            if after is not None and after(models, k):
                break
        return models

    def _log_mean(
        self,
        models: list[lgb.Booster],
        theta: np.ndarray,
        levels: dict[str, pd.Index],
        X: pd.DataFrame,
        keys: dict[str, np.ndarray],
    ) -> np.ndarray:
        """log mu of X's rows: the start plus the trees."""
        design = self._offset_design(X)
        trees = np.zeros(len(X))
        if models:
            trees = np.mean([m.predict(X, raw_score=True) for m in models], 0)
        f = trees + design @ theta[: design.shape[1]]
        if not levels:
            return f
        return f + _known_effects(self._effect_matrix(levels, keys, len(X)), theta, levels)

    def _level_spread(
        self, levels: dict[str, pd.Index], keys: dict[str, np.ndarray], X: pd.DataFrame
    ) -> np.ndarray:
        """Log spread of each row's mean from its unseen SKU and brand levels: effect_sd per
        unseen level on a SKU with no past stream (`cold_sku`, when present), else 0. A SKU
        unseen by a held-out model may still have a history in its features."""
        var = np.zeros(len(X))
        for spec in PRODUCT_EFFECTS:
            if spec in levels:
                var += self.effect_sd**2 * (levels[spec].get_indexer(keys[spec]) < 0)
        if "cold_sku" in X:
            var *= _flag(X, "cold_sku")
        return np.sqrt(var)

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        cols = [np.ones(len(X))]
        if "category" in X:
            cat = pd.Categorical(X["category"].astype(str), categories=self.categories_)
            cols += [(cat == c).astype(float) for c in self.categories_]
        if "lead_hours" in X:
            bucket = np.searchsorted(LEAD_BUCKETS, X["lead_hours"].to_numpy(dtype=float))
            cols += [(bucket == b).astype(float) for b in range(len(LEAD_BUCKETS) + 1)]
        for flag in ("cold_sku", "cold_streamer"):
            if flag in X:
                cols.append(X[flag].to_numpy(dtype=float))
        return np.column_stack(cols)

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        censored: np.ndarray | None = None,
        time: np.ndarray | None = None,
    ) -> LGBMNegBinDemand:
        """`censored[i]`: y[i] is only a lower bound (sold out). `time[i]`: when row i happened;
        the latest rows hold out for the dispersion (without it, a seeded random share)."""
        y = np.asarray(y, dtype=float)
        if len(y) == 0:
            raise ValueError("no past stream items to learn from")
        cens = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
        if not self.censoring:
            cens = np.zeros(len(y), bool)
        self.feature_names_ = [c for c in X.columns if c not in ID_COLUMNS]
        keys = self._effect_keys(X)
        sku = keys.get(PRODUCT_EFFECTS[0])  # each row's SKU, as the random effects key it
        if sku is None and {"merchant_id", "sku_id", "cold_sku"} <= set(X.columns):
            sku = _sku_key(X).to_numpy()  # only the launch hold-out needs it
        copies = 1.0  # rows per past outcome: one per training lead
        if "stream_id" in X and "sku_id" in X:
            copies = len(X) / max(len(X.drop_duplicates(["stream_id", "sku_id"])), 1)
        X = X[self.feature_names_]
        self.categories_ = sorted(X["category"].astype(str).unique()) if "category" in X else []
        self.offset_terms_ = OffsetTerms(self.offset).fit(X)
        held = np.zeros(len(y), bool)  # first streams of SKUs launched in the history
        if time is not None:
            t = pd.Series(np.asarray(time)).rank(method="first").to_numpy() / len(y)
            late = t > 1.0 - self.holdout
            if "cold_sku" in X:  # a launch is a SKU's first stream: cold_sku says which
                held = self._launched_skus(sku, t) & _flag(X, "cold_sku")
        else:
            late = np.random.default_rng(self.random_state).random(len(y)) < self.holdout
        design = self._design(X)
        r0 = np.full(len(y), self.working_size)
        train = ~late & ~held
        judge = late | held  # held-out rows: the latest, and the held-out first streams
        data = self._dataset(X, y)
        if judge.any() and train.sum() >= 2 * self.min_child_samples:
            theta, levels, base = self._start(
                X[train], _rows(keys, train), y[train], cens[train], r0[train], copies
            )
            near = (theta, levels)  # where the final start's solver begins
            # a held-out first stream is judged as a new SKU's: its own level, which the
            # held-out model learned from the SKU's later streams, is not used
            keys_judge = _rows(keys, judge)
            spec = PRODUCT_EFFECTS[0]
            if spec in keys_judge and held.any():
                keys_judge[spec] = np.where(held[judge], "\x00new", keys_judge[spec])
            X_judge = X[judge]
            unseen = self._level_spread(levels, keys_judge, X_judge)
            enough = (unseen > 0).sum() >= MIN_SPREAD_ROWS
            held_out = (unseen > 0, enough, design[judge], y[judge], cens[judge])
            # how many of the rounds to grow: the share whose cut held-out model the held-out
            # likelihood prefers (fewer when the trees only learn noise), the held-out model
            # grown only as far as it takes to tell
            n_early, _ = self._rounds(self.holdout_rounds)
            cuts: dict[int, float] = {}
            for share in sorted(self.round_shares):  # two shares cut at one round: the smaller
                cuts.setdefault(round(share * n_early), share)
            choice = _RoundChoice(
                cuts,
                self._log_mean([], theta, levels, X_judge, keys_judge),
                X_judge,
                lambda f: self._held_out_spread(f, unseen, *held_out)[0],
            )
            self._trees(
                base,
                y[train],
                cens[train],
                r0[train],
                data.subset(np.flatnonzero(train)),
                self.holdout_rounds,
                choice.grow,
                choice,
            )
            self.round_share_ = float(choice.share)
            f_judge = choice.log_mean
            # how much of the prior's spread a new SKU's level really has (the features tell
            # part of it) and how far off its mean is: what the held-out likelihood prefers,
            # or the prior's own spread and no rescaling when too few held-out rows are new
            # SKUs to tell
            factors = SPREAD_FACTORS if enough else (1.0,)
            start = None  # the chosen factor's one-step scales, where factors were compared
            best = 0
            if len(factors) > 1:
                fits = [self._held_out_spread(f_judge, c * unseen, *held_out) for c in factors]
                best = int(np.argmax([fit[0] for fit in fits]))
                start = fits[best][1:3]
            # the chosen spread's scale solved where sold-out rows agree with it
            _, self.scale_, self.new_sku_scale_, self.dispersion_ = self._held_out_spread(
                f_judge, factors[best] * unseen, *held_out, solve=True, start=start
            )
            self.spread_factor_ = factors[best]
            self.n_launch_rows_ = int(held.sum())
        else:
            near = None
            self.scale_, self.new_sku_scale_, self.spread_factor_ = 1.0, 1.0, 1.0
            self.round_share_ = float(max(self.round_shares))  # no held-out rows to choose by
            self.n_launch_rows_ = 0
            self.dispersion_ = negbin.Dispersion(self.dispersion_ridge).fit(
                design[:, :1], y, np.full(len(y), max(y.mean(), 1e-6)), cens
            )
            self.dispersion_.theta_ = np.append(
                self.dispersion_.theta_, np.zeros(design.shape[1] - 1)
            )
        # heavily censored rows (a big streamer's items sell out half the time) say only
        # D >= units sold; how far above it the mean lies depends on the assumed spread, so the
        # final trees learn at the size measured on held-out rows, not the working size
        r_final = self.dispersion_.size(design) if self.fitted_size else r0
        self.offset_theta_, self.effect_levels_, base = self._start(
            X, keys, y, cens, r_final, copies, near
        )
        grow = round(self.round_share_ * self._rounds(1.0)[0])
        self.mean_models_ = self._trees(base, y, cens, r_final, data, 1.0, grow)
        self.n_censored_ = int(cens.sum())
        return self

    def _launched_skus(self, sku: np.ndarray | None, t: np.ndarray) -> np.ndarray:
        """Rows of a seeded `launch_holdout` share of the SKUs whose first stream came after
        LAUNCH_BURN of the history (`t`: each row's time as a share of it) and before the
        latest `holdout`."""
        if sku is None or self.launch_holdout <= 0:
            return np.zeros(len(t), bool)
        first = pd.Series(t).groupby(sku).min()
        launched = first[(first > LAUNCH_BURN) & (first <= 1.0 - self.holdout)].index
        pick = np.random.default_rng(self.random_state).random(len(launched))
        return np.isin(sku, launched[pick < self.launch_holdout])

    def _held_out_spread(
        self,
        f: np.ndarray,
        sd: np.ndarray,
        new: np.ndarray,
        rescale_new: bool,
        design: np.ndarray,
        y: np.ndarray,
        cens: np.ndarray,
        solve: bool = False,
        start: tuple[float, float] | None = None,
    ) -> tuple[float, float, float, negbin.Dispersion]:
        """(log-likelihood, scale of the mean, scale of a new SKU's mean, dispersion) on
        held-out rows whose log mean f is uncertain by sd; `new`: rows of SKUs the model never
        saw, rescaled apart when `rescale_new`.

        Boosted trees shrink log mu toward the middle, and exp of a noisy log mean is low on
        average: the scale makes the held-out demand's sum match, a sold-out row counted at
        E[D | D >= y] under the rescaled mean and the size fitted at it, mixed over the row's
        level spread sd (a new SKU that sold out was likelier a popular one). One step from
        the model's own mean, or with `solve` the scales at which that holds (sold-out rows
        imputed at too low a mean make them too small), from `start`'s scales when given (else
        one step)."""
        mu0 = np.exp(f + 0.5 * sd**2)
        apart = new if rescale_new else np.zeros(len(y), bool)

        def rescaled(scale: float, new_scale: float) -> tuple[float, float]:
            y_mean = y.copy()
            if cens.any():  # the size is only needed to impute sold-out rows
                mu = mu0 * np.where(apart, new_scale, scale)
                size = negbin.Dispersion(self.dispersion_ridge).fit(design, y, mu, cens, sd)
                y_mean[cens] = negbin.impute_mean_mixed(
                    y[cens], mu[cens], size.size(design[cens]), sd[cens]
                )
            return _sum_ratio(y_mean, mu0, ~apart), _sum_ratio(y_mean, mu0, apart)

        scale, new_scale = rescaled(1.0, 1.0) if start is None else start
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
        if solve and cens[apart].any():
            # a new SKU's scale likewise, by fixed-point steps (its imputed demand rises with
            # it, less than in proportion)
            for _ in range(SCALE_STEPS):
                prev, new_scale = new_scale, rescaled(scale, new_scale)[1]
                new_scale = float(np.clip(new_scale, *SCALES))
                if abs(np.log(new_scale / prev)) < 1e-3:
                    break
        mu = mu0 * np.where(apart, new_scale, scale)
        disp = negbin.Dispersion(self.dispersion_ridge).fit(design, y, mu, cens, sd)
        ll = negbin.loglik_mixed(y, mu, disp.size(design), cens, sd).sum()
        return float(ll), scale, new_scale, disp

    def held_out_choices(self) -> dict[str, float]:
        """What the fit chose on its held-out rows, by the names a run logs them under."""
        return {
            "model_round_share": self.round_share_,
            "model_mean_scale": self.scale_,
            "model_new_sku_scale": self.new_sku_scale_,
            "model_new_sku_spread_factor": self.spread_factor_,
        }

    def predict_distribution(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, size, level spread) of each row's demand: a negative binomial whose mean is
        lognormal with that log spread (0 where the SKU and brand were seen)."""
        keys = self._effect_keys(X)
        X = X[self.feature_names_]
        unseen = self._level_spread(self.effect_levels_, keys, X)
        sd = self.spread_factor_ * unseen
        f = self._log_mean(self.mean_models_, self.offset_theta_, self.effect_levels_, X, keys)
        scale = np.where(unseen > 0, self.new_sku_scale_, self.scale_)
        mean = np.exp(np.clip(f + 0.5 * sd**2, -30.0, 30.0)) * scale
        return mean, self.dispersion_.size(self._design(X)), sd

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_distribution(X)[0]

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        return self._quantiles(*self.predict_distribution(X))

    def _quantiles(self, mean: np.ndarray, size: np.ndarray, sd: np.ndarray) -> np.ndarray:
        return _monotone(quantiles_negbin_mixed(mean, size, sd, np.asarray(self.levels)))

    def predict_survival(self, X: pd.DataFrame) -> list[np.ndarray]:
        """P(D >= u), u = 1, 2, ... per row: what the optimiser plans on."""
        return survival_negbin_mixed(*self.predict_distribution(X))

    def predict_forecast(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """(mean, quantiles, survival) of each row, from one pass of the boosters over X."""
        mean, size, sd = self.predict_distribution(X)
        return mean, self._quantiles(mean, size, sd), survival_negbin_mixed(mean, size, sd)


class EmpiricalQuantileDemand:
    """Naive baseline: each SKU's empirical quantiles and mean of its past units sold,
    falling back to its category's, then to everything's."""

    def __init__(self, levels: Sequence[float] = QUANTILE_LEVELS, min_history: int = 1) -> None:
        self.levels = levels
        self.min_history = min_history

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> EmpiricalQuantileDemand:
        df = pd.DataFrame(
            {"sku": _sku_key(X), "category": X["category"].astype(str), "y": np.asarray(y)}
        )
        lv = list(self.levels)

        def summarise(g: pd.DataFrame) -> pd.DataFrame:
            grp = g.groupby(g.columns[0])["y"]
            out = grp.quantile(lv).unstack()
            out.columns = range(len(lv))
            out["mean"] = grp.mean()
            out["n"] = grp.size()
            return out

        self.by_sku_ = summarise(df[["sku", "y"]])
        self.by_sku_ = self.by_sku_[self.by_sku_["n"] >= self.min_history]
        self.by_category_ = summarise(df[["category", "y"]])
        self.overall_ = np.append(np.quantile(df["y"], lv), df["y"].mean())
        return self

    def _table(self, X: pd.DataFrame) -> np.ndarray:
        cols = list(range(len(self.levels))) + ["mean"]
        out = self.by_sku_.reindex(_sku_key(X))[cols].to_numpy()
        cat = self.by_category_.reindex(X["category"].astype(str))[cols].to_numpy()
        out = np.where(np.isnan(out), cat, out)
        return np.where(np.isnan(out), self.overall_[None, :], out)

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return self._table(X)[:, -1]

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        return _monotone(self._table(X)[:, :-1])


class _RoundChoice:
    """How many of the held-out model's rounds to grow: the `after` hook of its `_trees`. Each
    candidate cut (rounds -> share of them) is scored by `score` of the held-out rows' log mu
    cut there, from their log-linear `start`, each tree predicted on the rows `X` once as it is
    grown; growth stops once ROUND_PATIENCE candidates in a row score below the best, the
    held-out likelihood past its peak. One candidate: no score, and the trees grow to its cut.
    `share` and `log_mean`: the best cut's."""

    def __init__(
        self,
        cuts: dict[int, float],
        start: np.ndarray,
        X: pd.DataFrame,
        score: Callable[[np.ndarray], float],
    ) -> None:
        self.cuts, self.X, self.score = cuts, X, score
        self.grow = max(cuts)  # rounds to grow, unless the likelihood stops them sooner
        self.share, self.log_mean = cuts[min(cuts)], start
        self._f, self._done, self._best, self._worse = start, 0, -np.inf, 0
        if len(cuts) > 1 and 0 in cuts:
            self._judge(0)

    def __call__(self, models: list[lgb.Booster], k: int) -> bool:
        if k not in self.cuts:
            return False
        self._f = self._f + np.mean(
            [
                m.predict(
                    self.X, raw_score=True, start_iteration=self._done, num_iteration=k - self._done
                )
                for m in models
            ],
            axis=0,
        )
        self._done = k
        if len(self.cuts) == 1:
            self.share, self.log_mean = self.cuts[k], self._f
            return True
        return self._judge(k)

    def _judge(self, k: int) -> bool:
        ll = self.score(self._f)
        if ll > self._best:
            self._best, self._worse = ll, 0
            self.share, self.log_mean = self.cuts[k], self._f
        else:
            self._worse += 1
        return self._worse >= ROUND_PATIENCE


def _moved_to(
    theta: np.ndarray, levels: dict[str, pd.Index], p: int, new_levels: dict[str, pd.Index]
) -> np.ndarray:
    """theta of a log-linear start (p design terms, then one term per level of `levels`) laid
    out for `new_levels`: each level's term where it had one, else 0 (the prior's mean)."""
    terms, at = {}, p
    for spec, idx in levels.items():
        terms[spec] = pd.Series(theta[at : at + len(idx)], index=idx)
        at += len(idx)
    out = [theta[:p]]
    for spec, idx in new_levels.items():
        old = terms.get(spec, pd.Series(dtype=float))
        out.append(old.reindex(idx).fillna(0.0).to_numpy())
    return np.concatenate(out)


def _known_effects(
    effects: sparse.csr_matrix | None, theta: np.ndarray, levels: dict[str, pd.Index]
) -> np.ndarray | float:
    """The random effects' part of log mu (theta's tail) but the stream's own, which an
    upcoming stream does not have: 0 without random effects."""
    if effects is None:
        return 0.0
    b = theta[len(theta) - effects.shape[1] :].copy()
    at = 0
    for spec, idx in levels.items():
        if spec == EVENT_EFFECT:
            b[at : at + len(idx)] = 0.0
        at += len(idx)
    return effects @ b


def _sum_ratio(y: np.ndarray, mu: np.ndarray, rows: np.ndarray) -> float:
    """sum(y) / sum(mu) on `rows`, within SCALES (1 on no rows)."""
    if not rows.any():
        return 1.0
    return float(np.clip(y[rows].sum() / max(mu[rows].sum(), 1e-9), *SCALES))


def _flag(X: pd.DataFrame, name: str) -> np.ndarray:
    """A 0/1 column as booleans (all False when absent)."""
    if name not in X:
        return np.zeros(len(X), bool)
    return X[name].to_numpy(dtype=float) > 0


def _rows(keys: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {spec: k[mask] for spec, k in keys.items()}


def _group_key(X: pd.DataFrame, cols: Sequence[str]) -> pd.Index:
    """One string per row joining the values of `cols`."""
    key = X[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + "\x1f" + X[c].astype(str)
    return pd.Index(key)


def _sku_key(X: pd.DataFrame) -> pd.Index:
    return _group_key(X, ["merchant_id", "sku_id"])


MODELS = {
    "lgbm_negbin": LGBMNegBinDemand,
    "lgbm_quantile": LGBMQuantileDemand,
    "sku_empirical": EmpiricalQuantileDemand,
}


def make_model(name: str, **params: object) -> DemandModel:
    if name not in MODELS:
        raise ValueError(f"unknown demand model '{name}'; choose from {sorted(MODELS)}")
    return MODELS[name](**params)  # type: ignore[arg-type]
