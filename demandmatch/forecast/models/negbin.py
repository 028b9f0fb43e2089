"""lgbm_negbin: demand as a negative binomial whose mean is boosted on the censored likelihood from
a log-linear start with random effects, and whose size, scale and new-SKU spread are measured on
held-out rows by a model that never saw them.

A sold-out row counts as D >= units sold, not D = units sold. The size depends on the category,
how far ahead the forecast is made and cold start, so that the spread covers the mean model's own
error as well as the demand's noise. The quantiles and the optimiser's survival curve come from
the same distribution, mixed over a lognormal mean where a new SKU's level is unknown.

The parts: which rows are held out (forecast.holdout), the start (negbin.start), the trees
(negbin.boosting), how many rounds to grow (forecast.rounds), and the held-out calibration
(forecast.calibration).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from demandmatch.data.schema import QUANTILE_LEVELS
from demandmatch.data.texts import as_text
from demandmatch.forecast.calibration import (
    MIN_SPREAD_ROWS,
    SPREAD_FACTORS,
    HeldOutCalibration,
    LeadScales,
    new_sku_weight,
    typical_means,
)
from demandmatch.forecast.distributions import quantiles_negbin_mixed, survival_negbin_mixed
from demandmatch.forecast.holdout import HoldOut
from demandmatch.forecast.negbin.boosting import Boosting, trees_log_mean
from demandmatch.forecast.negbin.dispersion import Dispersion, size_design
from demandmatch.forecast.negbin.offset_terms import OffsetTerms
from demandmatch.forecast.negbin.start import (
    PRODUCT_EFFECTS,
    RandomEffectsStart,
    effect_keys,
    flag,
    rows_of,
    sku_key,
)
from demandmatch.forecast.rounds import RoundChoice, round_cuts

from .base import ID_COLUMNS, DemandEstimator, monotone
from .params import NegBinSettings
from .quantile import lgbm_params

_D = NegBinSettings()
NEW_SKU = "\x00new"  # the level of a held-out first stream: judged as a new SKU's


class LGBMNegBinDemand(DemandEstimator):
    """The held-out model learns at a fixed `working_size`, in `holdout_rounds` of the rounds at
    a learning rate raised to match; with `fitted_size` the final model learns at the measured
    size. One booster (or `bags` of them averaged in log mean) instead of one per quantile. The
    trees grow the share of `n_estimators` (from `round_shares`) whose cut held-out model the
    held-out likelihood prefers: none when the start already says all the data can tell.
    `trainer`: makes the Boosting that grows the trees from (LightGBM's parameters, bags); None:
    on this machine (demandmatch.engine's grows them on a Dask cluster)."""

    settings_model = NegBinSettings
    learns_censoring = True
    uses_seed = True

    def __init__(
        self,
        *,
        levels: Sequence[float] = QUANTILE_LEVELS,
        n_estimators: int = _D.n_estimators,
        learning_rate: float = _D.learning_rate,
        num_leaves: int = _D.num_leaves,
        min_child_samples: int = _D.min_child_samples,
        subsample: float = _D.subsample,
        colsample_bytree: float = _D.colsample_bytree,
        n_jobs: int = _D.n_jobs,
        max_delta_step: float = _D.max_delta_step,
        max_bin: int = _D.max_bin,
        censoring: bool = _D.censoring,
        holdout: float = _D.holdout,
        dispersion_ridge: float = _D.dispersion_ridge,
        working_size: float = _D.working_size,
        fitted_size: bool = _D.fitted_size,
        lead_scales: bool = _D.lead_scales,
        offset: Sequence[str] = _D.offset,
        random_effects: Sequence[str] = _D.random_effects,
        effect_sd: float = _D.effect_sd,
        bags: int = _D.bags,
        holdout_rounds: float = _D.holdout_rounds,
        launch_holdout: float = _D.launch_holdout,
        round_shares: Sequence[float] = _D.round_shares,
        random_state: int = 0,
        trainer: Callable[[dict, int], Boosting] | None = None,
    ) -> None:
        self.levels = levels
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.n_jobs = n_jobs
        self.max_delta_step = max_delta_step
        self.max_bin = max_bin
        self.censoring = censoring
        self.holdout = holdout
        self.dispersion_ridge = dispersion_ridge
        self.working_size = working_size
        self.fitted_size = fitted_size
        self.lead_scales = lead_scales
        self.offset = offset
        self.random_effects = random_effects
        self.effect_sd = effect_sd
        self.bags = bags
        self.holdout_rounds = holdout_rounds
        self.launch_holdout = launch_holdout
        self.round_shares = round_shares
        self.random_state = random_state
        self.trainer = trainer

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        censored: np.ndarray | None = None,
        time: np.ndarray | None = None,
    ) -> LGBMNegBinDemand:
        """`censored[i]`: y[i] is only a lower bound (sold out). `time[i]`: when row i happened;
        the latest rows hold out for the spread (without it, a seeded random share)."""
        s: NegBinSettings = self.settings()  # type: ignore[assignment]
        X, y = self._fit_input(X, y)
        if (np.floor(y) != y).any():
            raise ValueError("y must be whole numbers: the negative binomial learns counts")
        cens = np.zeros(len(y), bool) if censored is None else np.asarray(censored, bool)
        if not s.censoring:
            cens = np.zeros(len(y), bool)
        self.feature_names_ = [c for c in X.columns if c not in ID_COLUMNS]
        keys = effect_keys(X, s.random_effects, s.effect_sd)
        sku = keys.get(PRODUCT_EFFECTS[0])  # each row's SKU, as the random effects key it
        if sku is None and {"merchant_id", "sku_id", "cold_sku"} <= set(X.columns):
            sku = sku_key(X).to_numpy()  # only the launch hold-out needs it
        copies = 1.0  # rows per past outcome: one per training lead
        if "stream_id" in X and "sku_id" in X:
            copies = len(X) / max(len(X.drop_duplicates(["stream_id", "sku_id"])), 1)
        X = X[self.feature_names_]
        self.categories_ = sorted(pd.unique(as_text(X["category"]))) if "category" in X else []
        self.offset_terms_ = OffsetTerms(s.offset).fit(X)
        cold = flag(X, "cold_sku") if "cold_sku" in X else None
        late, held = HoldOut(s.holdout, s.launch_holdout, self.random_state).split(
            time, len(y), sku, cold
        )
        design = size_design(X, self.categories_)
        r0 = np.full(len(y), s.working_size)
        train = ~late & ~held
        judge = late | held  # held-out rows: the latest, and the held-out first streams
        boosting = (self.trainer or Boosting)(lgbm_params(s, self.random_state), s.bags)
        data = boosting.dataset(X, y)
        near = None
        fallbacks: list[str] = []  # robust defaults used where the data could not choose
        if judge.any() and train.sum() >= 2 * s.min_child_samples:
            start = RandomEffectsStart(self.offset_terms_, s.effect_sd, copies)
            base = start.fit_transform(
                X[train], rows_of(keys, train), y[train], cens[train], r0[train]
            )
            near = start  # where the final start's solver begins
            # a held-out first stream is judged as a new SKU's: its own level, which the
            # held-out model learned from the SKU's later streams, is not used
            keys_judge = rows_of(keys, judge)
            if PRODUCT_EFFECTS[0] in keys_judge and held.any():
                keys_judge[PRODUCT_EFFECTS[0]] = np.where(
                    held[judge], NEW_SKU, keys_judge[PRODUCT_EFFECTS[0]]
                )
            X_judge = X[judge]
            unseen = start.unseen_spread(keys_judge, X_judge)
            n_new = int((unseen > 0).sum())
            enough = n_new >= MIN_SPREAD_ROWS
            n_skus = n_new if sku is None else len(pd.unique(sku[judge][unseen > 0]))
            weight = new_sku_weight(n_skus)  # of a new SKU's scale, its own rows'
            calibration = HeldOutCalibration(
                design[judge],
                y[judge],
                cens[judge],
                unseen > 0,
                weight,
                s.dispersion_ridge,
                None if sku is None else sku[judge],
                start.host_spread(keys_judge, X_judge),
                X_judge["lead_hours"].to_numpy() if "lead_hours" in X and s.lead_scales else None,
            )
            # the rounds to grow: the cut whose held-out model the held-out likelihood prefers,
            # the held-out model grown only as far as it takes to tell
            choice = RoundChoice(
                round_cuts(s.round_shares, boosting.steps(s.holdout_rounds)[0]),
                start.log_mean(X_judge, keys_judge),
                X_judge,
                lambda f: calibration.fit(f, unseen).loglik,
            )
            held_data = data.subset(np.flatnonzero(train))
            boosting.grow(
                base,
                y[train],
                cens[train],
                r0[train],
                held_data,
                s.holdout_rounds,
                choice.grow,
                after=choice,
            )
            self.round_share_ = float(choice.share)
            chosen = calibration.calibrate(
                choice.log_mean, unseen, SPREAD_FACTORS if enough else (1.0,)
            )
            self.spread_factor_ = chosen.spread_factor
            if not enough:
                fallbacks.append(
                    f"{n_new} held-out rows of new SKUs (fewer than {MIN_SPREAD_ROWS}): a new "
                    "SKU's level spread is the prior's, and the scale of its mean is "
                    + (
                        f"{weight:.0%} their own, {1 - weight:.0%} the other SKUs'"
                        if n_new
                        else "the other SKUs'"
                    )
                )
            self.scale_, self.new_sku_scale_ = chosen.fit.scale, chosen.fit.new_sku_scale
            self.lead_scales_ = calibration.by_lead(
                choice.log_mean, chosen.spread_factor * unseen, chosen.fit
            )
            self.dispersion_ = self.lead_scales_.dispersion
            self.n_launch_rows_ = int(held.sum())
        else:
            self.scale_, self.new_sku_scale_, self.spread_factor_ = 1.0, 1.0, 1.0
            fallbacks.append(
                "no held-out rows to measure on (too little history): the mean is not rescaled, "
                "every round is grown, the prior's level spreads, and one NB size for all rows "
                "around each SKU's average of its other rows (a SKU seen once: the median SKU's)"
            )
            self.round_share_ = float(max(s.round_shares))  # no held-out rows to choose by
            self.n_launch_rows_ = 0
            typical = typical_means(y, np.zeros(len(y)) if sku is None else sku)
            common = Dispersion(s.dispersion_ridge).fit(design[:, :1], y, typical, cens)
            self.dispersion_ = common.with_columns(design.shape[1])
            self.lead_scales_ = LeadScales.none(self.dispersion_)
        # heavily censored rows say only D >= units sold; how far above it the mean lies
        # depends on the assumed spread, so the final trees learn at the measured size
        r_final = self.dispersion_.size(design) if s.fitted_size else r0
        self.start_ = RandomEffectsStart(self.offset_terms_, s.effect_sd, copies)
        base = self.start_.fit_transform(X, keys, y, cens, r_final, near)
        grow = round(self.round_share_ * boosting.steps(1.0)[0])
        self.mean_models_ = boosting.grow(base, y, cens, r_final, data, 1.0, grow)
        self.n_censored_ = int(cens.sum())
        self.fallbacks_ = fallbacks
        return self

    @property
    def offset_theta_(self) -> np.ndarray:
        """The final start's terms: its design's, then one per level of `effect_levels_`."""
        return self.start_.theta_

    @property
    def effect_levels_(self) -> dict[str, pd.Index]:
        return self.start_.levels_

    def held_out_choices(self) -> dict[str, float]:
        """What the fit chose on its held-out rows, by the names a run logs them under."""
        check_is_fitted(self)
        return {
            "model_round_share": self.round_share_,
            "model_mean_scale": self.scale_,
            "model_new_sku_scale": self.new_sku_scale_,
            "model_new_sku_spread_factor": self.spread_factor_,
            **self.lead_scales_.choices(),
        }

    def fallbacks(self) -> list[str]:
        """The robust defaults the fit fell back on where its held-out rows were too few to
        choose, in words."""
        check_is_fitted(self)
        return list(self.fallbacks_)

    def predict_distribution(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, size, level spread) of each row's demand: a negative binomial whose mean is
        lognormal with that log spread (0 where the SKU, its brand and the streamer were
        seen)."""
        check_is_fitted(self)
        X = self._frame(X)
        keys = effect_keys(X, self.random_effects, self.effect_sd)
        X = X[self.feature_names_]
        unseen = self.start_.unseen_spread(keys, X)
        sd = np.hypot(self.spread_factor_ * unseen, self.start_.host_spread(keys, X))
        f = self.start_.log_mean(X, keys, trees_log_mean(self.mean_models_, X))
        scale = np.full(len(X), self.scale_)
        if "lead_hours" in X:
            scale = scale * self.lead_scales_.at(X["lead_hours"].to_numpy())
        scale = np.where(unseen > 0, self.new_sku_scale_, scale)
        mean = np.exp(np.clip(f + 0.5 * sd**2, -30.0, 30.0)) * scale
        return mean, self.dispersion_.size(size_design(X, self.categories_)), sd

    def predict_mean(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_distribution(X)[0]

    def predict_quantiles(self, X: pd.DataFrame) -> np.ndarray:
        return self._quantiles(*self.predict_distribution(X))

    def predict_survival(self, X: pd.DataFrame) -> list[np.ndarray]:
        """P(D >= u), u = 1, 2, ... per row: what the optimiser plans on."""
        return survival_negbin_mixed(*self.predict_distribution(X))

    def predict_forecast(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """(mean, quantiles, survival) of each row, from one pass of the boosters over X."""
        mean, size, sd = self.predict_distribution(X)
        return mean, self._quantiles(mean, size, sd), survival_negbin_mixed(mean, size, sd)

    def _quantiles(self, mean: np.ndarray, size: np.ndarray, sd: np.ndarray) -> np.ndarray:
        return monotone(quantiles_negbin_mixed(mean, size, sd, np.asarray(self.levels)))
