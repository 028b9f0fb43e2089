"""The demand models' settings: each estimator's parameters, their defaults and their bounds,
defined once here. The estimators take their defaults from these models and validate their
parameters with them in `fit`; the config's `model` section is built from them (config.py), so
that every parameter can be set from YAML. Only pydantic and the offset-term parser are imported,
so reading the settings does not load LightGBM."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from demandmatch.forecast.negbin.offset_terms import parse

# the log-linear start of the NB mean (specs of offset_terms): main effects that hold across
# streamers and SKUs, so that a row beyond the history's range (a bigger streamer, a deeper
# discount, a festival) follows their trend where trees alone would stay flat. A blank value (no
# history yet, no video yet) gets its own level. video_reach carries the stream's hype;
# log_followers, next to it, what is usual for a streamer of its size
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
# random effects of the start (see negbin.start): a SKU's own popularity, its brand's, a
# streamer's pull and taste for a category, each past stream's own level (its hype), and a
# level per stream of a launch (its first, second, ...; mature streams share one), shrunk so
# that a rarely seen index whose rows all sold nothing keeps a finite level
RANDOM_EFFECTS = (
    "merchant_id+sku_id",
    "merchant_id+brand",
    "streamer_id",
    "streamer_id+category",
    "stream_id",
    "launch_stream",
)
# shares of n_estimators the held-out likelihood chooses the rounds from: where the start already
# says what the data can tell, more rounds only learn noise
ROUND_SHARES = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)


class BoostingSettings(BaseModel):
    """LightGBM settings of the boosted models (lgbm_negbin, lgbm_quantile)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_estimators: int = Field(400, ge=1, description="boosting rounds (at most, for lgbm_negbin)")
    learning_rate: float = Field(0.05, gt=0, description="LightGBM's step per round")
    num_leaves: int = Field(31, ge=2, description="leaves per tree")
    min_child_samples: int = Field(20, ge=1, description="fewest rows in a leaf")
    subsample: float = Field(0.8, gt=0, le=1, description="share of rows each tree sees")
    colsample_bytree: float = Field(0.8, gt=0, le=1, description="share of columns per tree")
    n_jobs: int = Field(2, description="LightGBM threads")
    max_delta_step: float = Field(
        0.0, ge=0, description="cap on a leaf's step in log mean (0: none)"
    )
    max_bin: int = Field(255, ge=2, description="most histogram bins LightGBM cuts a feature into")


class NegBinSettings(BoostingSettings):
    """lgbm_negbin: a boosted negative binomial mean on a log-linear start with random effects,
    its size and scale measured on held-out rows."""

    censoring: bool = Field(True, description="sold-out rows count as demand >= units sold")
    holdout: float = Field(
        0.2, ge=0, lt=1, description="latest share of the history that fits the forecast's spread"
    )
    dispersion_ridge: float = Field(
        1.0, ge=0, description="pull of the size's group terms toward the common size"
    )
    working_size: float = Field(
        3.0, gt=0, description="NB size the held-out model learns at (before it is measured)"
    )
    fitted_size: bool = Field(
        True, description="the final model learns at the size measured on held-out rows"
    )
    lead_scales: bool = Field(
        True,
        description="the mean's held-out scale measured per training lead (interpolated "
        "between them, the nearest's beyond them); false: one scale for every lead",
    )
    offset: tuple[str, ...] = Field(
        OFFSET_COLUMNS, description="terms of the log-linear start (specs of offset_terms)"
    )
    random_effects: tuple[str, ...] = Field(
        RANDOM_EFFECTS, description="random effects of the start, columns joined by '+'"
    )
    effect_sd: float = Field(
        0.5, ge=0, description="prior spread (log) of the random effects; 0 leaves them out"
    )
    bags: int = Field(
        1, ge=1, description="boosters of the mean averaged (steadier across seeds, slower)"
    )
    holdout_rounds: float = Field(
        0.25, gt=0, le=1, description="held-out model's rounds as a share, at a step to match"
    )
    launch_holdout: float = Field(
        0.5, ge=0, le=1, description="share of launched SKUs whose first streams are held out"
    )
    round_shares: tuple[float, ...] = Field(
        ROUND_SHARES,
        min_length=1,
        description="shares of n_estimators the held-out likelihood chooses the rounds from",
    )

    @field_validator("offset")
    @classmethod
    def _offset(cls, specs: tuple[str, ...]) -> tuple[str, ...]:
        for spec in specs:
            parse(spec)
        return specs

    @field_validator("round_shares")
    @classmethod
    def _round_shares(cls, shares: tuple[float, ...]) -> tuple[float, ...]:
        if not all(0 <= s <= 1 for s in shares):
            raise ValueError(f"round shares must be in [0, 1]: {shares}")
        return shares


class QuantileSettings(BoostingSettings):
    """lgbm_quantile: one LightGBM quantile regressor per level and a Tweedie mean."""


class EmpiricalSettings(BaseModel):
    """sku_empirical: each SKU's past quantiles, else its category's, else everything's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_history: int = Field(1, ge=1, description="past rows a SKU needs for its own quantiles")
