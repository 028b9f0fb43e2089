"""Typed configuration, loaded once where the program starts (configs/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from demandmatch.forecast.models.params import EmpiricalSettings, NegBinSettings


class Festival(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)


class ModelName(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(
        "lgbm_negbin", description="demand model: lgbm_negbin, lgbm_quantile or sku_empirical"
    )


class ModelConfig(NegBinSettings, EmpiricalSettings, ModelName):
    """The demand model: its name (demandmatch.forecast.models.MODELS) and the parameters of
    every model, each defined once in demandmatch.forecast.models.params; a model reads the ones
    it declares. Its seed is the config's `seed`."""

    return_prior_strength: float = Field(
        20.0, ge=0, description="pseudo-units pulling a SKU's return rate toward its category's"
    )


class ServiceLevels(BaseModel):
    """Minimum expected fill rate (expected sales / expected demand) per SKU: the SKU's own
    entry (by sku_id), else its category's, else the default; null = none."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    default: float | None = Field(
        None, ge=0, le=1, description="fill rate of every SKU (null: none)"
    )
    categories: dict[str, float] = Field({}, description="fill rate by category, e.g. {fresh: 0.9}")
    skus: dict[str, float] = Field({}, description="fill rate by sku_id, e.g. {M01-0001: 0.95}")

    @field_validator("categories", "skus")
    @classmethod
    def _shares(cls, levels: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in levels.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"fill rates must be in [0, 1]: {bad}")
        return levels


class OptimiserConfig(BaseModel):
    """The purchase optimiser (demandmatch.optimise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    solver: str = Field(
        "SCIP", description="MIP solver for merchants the Lagrangian plan leaves a gap on"
    )
    time_limit_s: float = Field(60.0, gt=0, description="seconds for the whole plan")
    mip_gap: float = Field(1e-6, ge=0, description="relative gap under which a plan is optimal")
    max_breakpoints: int = Field(64, ge=2, description="pack counts per SKU in the MIP")
    mip_max_skus: int = Field(
        400, ge=0, description="merchants with more orderable SKUs keep the Lagrangian plan"
    )
    service_levels: ServiceLevels = Field(
        ServiceLevels(), description="minimum expected fill rates"
    )


class TrackingConfig(BaseModel):
    """Where runs are logged (MLflow)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = Field(True, description="log every run")
    uri: str | None = Field(
        None, description="null: MLFLOW_TRACKING_URI if set, else sqlite:///mlflow.db here"
    )
    experiment: str = Field("demandmatch", description="MLflow experiment of the runs")


DEFAULT_FESTIVALS = (
    Festival(name="618", month=6, day=18),
    Festival(name="double11", month=11, day=11),
    Festival(name="double12", month=12, day=12),
)


class Config(BaseModel):
    """Every setting of a run; each key is optional and takes its default when left out."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    timezone: str = Field(
        "Asia/Shanghai", description="naive timestamps in the data are this local time"
    )
    train_lead_hours: tuple[float, ...] = Field(
        (6.0, 24.0, 72.0, 168.0),
        min_length=1,
        description="a past stream is learned from as forecasts made this many hours before it",
    )
    train_leads_per_item: int | None = Field(
        None,
        ge=1,
        description="learn each past stream item at this many of train_lead_hours, drawn at "
        "random per item (null: at all of them, or as many as train_rows_max allows)",
    )
    train_rows_max: int | None = Field(
        1_500_000,
        ge=1,
        description="most training rows when train_leads_per_item is null: a longer history "
        "is learned at fewer leads per item (at least one); null: no limit",
    )
    horizon_days: int = Field(
        14, ge=1, description="plan every stream that starts before as-of + this many days"
    )
    seed: int = Field(0, description="seed of the demand model")
    festivals: tuple[Festival, ...] = Field(
        DEFAULT_FESTIVALS, description="shopping festivals for the calendar features"
    )
    model: ModelConfig = Field(ModelConfig(), description="the demand model")
    optimiser: OptimiserConfig = Field(OptimiserConfig(), description="the purchase optimiser")
    tracking: TrackingConfig = Field(TrackingConfig(), description="run tracking")


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
