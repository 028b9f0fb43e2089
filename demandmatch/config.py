"""Typed configuration, loaded once where the program starts (configs/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator


class Festival(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)


# shares of n_estimators the held-out likelihood chooses the demand model's rounds from: where its
# log-linear start already says what the data can tell, more rounds only learn noise
ROUND_SHARES = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)


class ModelConfig(BaseModel):
    """Demand model: its name in demandmatch.demand.MODELS and the LightGBM settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = "lgbm_negbin"
    n_estimators: int = Field(400, ge=1)
    learning_rate: float = Field(0.05, gt=0)
    num_leaves: int = Field(31, ge=2)
    min_child_samples: int = Field(20, ge=1)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    return_prior_strength: float = Field(20.0, ge=0)
    n_jobs: int = 2
    censoring: bool = True  # lgbm_negbin: sold-out rows are lower bounds on demand
    holdout: float = Field(0.2, gt=0, lt=1)  # lgbm_negbin: latest share that fits the spread
    # lgbm_negbin: prior spread (log scale) of the SKU, brand, streamer and stream random effects
    # of the log-linear start; 0 leaves them out
    effect_sd: float = Field(0.5, ge=0)
    # lgbm_negbin: boosters of the mean, each on its own random rows and columns (seed, seed + 1,
    # ...), averaged in log mean: one alone moves with its seed
    bags: int = Field(1, ge=1)
    # lgbm_negbin: the held-out model's rounds as a share of n_estimators, at a learning rate
    # raised to match (it only measures the spread and the scale of the mean)
    holdout_rounds: float = Field(0.25, gt=0, le=1)
    # lgbm_negbin: share of the SKUs launched during the history whose first streams are held
    # out too, judged as new SKUs (they teach a new SKU's spread, scale and dispersion)
    launch_holdout: float = Field(1.0, ge=0, le=1)
    # lgbm_negbin: the trees' rounds, as shares of n_estimators, that the held-out likelihood
    # chooses from (one share: no choice)
    round_shares: tuple[float, ...] = Field(ROUND_SHARES, min_length=1)

    @field_validator("round_shares")
    @classmethod
    def _round_shares(cls, shares: tuple[float, ...]) -> tuple[float, ...]:
        if not all(0 <= s <= 1 for s in shares):
            raise ValueError(f"round shares must be in [0, 1]: {shares}")
        return shares


class ServiceLevels(BaseModel):
    """Minimum expected fill rate (expected sales / expected demand) per SKU: the SKU's own
    entry (by sku_id), else its category's, else the default; null = none."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    default: float | None = Field(None, ge=0, le=1)
    categories: dict[str, float] = {}
    skus: dict[str, float] = {}

    @field_validator("categories", "skus")
    @classmethod
    def _shares(cls, levels: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in levels.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"fill rates must be in [0, 1]: {bad}")
        return levels


class OptimiserConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    solver: str = "SCIP"
    time_limit_s: float = Field(60.0, gt=0)
    mip_gap: float = Field(1e-6, ge=0)
    max_breakpoints: int = Field(64, ge=2)
    mip_max_skus: int = Field(400, ge=0)  # larger merchants keep the Lagrangian plan
    service_levels: ServiceLevels = ServiceLevels()


class TrackingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = True
    uri: str | None = None  # None: MLFLOW_TRACKING_URI, else sqlite in the project directory
    experiment: str = "demandmatch"


DEFAULT_FESTIVALS = (
    Festival(name="618", month=6, day=18),
    Festival(name="double11", month=11, day=11),
    Festival(name="double12", month=12, day=12),
)


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    timezone: str = "Asia/Shanghai"
    # a past stream is learned from as forecasts made this many hours before it starts
    train_lead_hours: tuple[float, ...] = Field((6.0, 24.0, 72.0, 168.0), min_length=1)
    horizon_days: int = Field(14, ge=1)
    seed: int = 0
    festivals: tuple[Festival, ...] = DEFAULT_FESTIVALS
    model: ModelConfig = ModelConfig()
    optimiser: OptimiserConfig = OptimiserConfig()
    tracking: TrackingConfig = TrackingConfig()


def load_config(path: Path | str | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML config (missing keys take defaults) and apply nested overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"config file not found: {p}")
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{p}: the config must be a mapping of settings")
    if overrides:
        data = _merge(data, overrides)
    return Config.model_validate(data)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
