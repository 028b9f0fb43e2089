"""Typed configuration, loaded once where the program starts (configs/*.yaml)."""

from __future__ import annotations

import math
import zoneinfo
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from demandmatch.data.plausible import Limits
from demandmatch.errors import UsageError
from demandmatch.forecast.models.params import EmpiricalSettings, NegBinSettings


class ConfigError(UsageError):
    """A config file that cannot be used: not found, a folder, not YAML, an unknown key or a
    value of the wrong type or range. The message is one line naming the file and the key."""


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


# feature groups a demand model can be fitted without (model.drop_features): the feature
# columns whose names start with one of the group's prefixes
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {"video": ("video_", "views_per_follower")}


class ModelConfig(NegBinSettings, EmpiricalSettings, ModelName):
    """The demand model: its name (demandmatch.forecast.models.MODELS) and the parameters of
    every model, each defined once in demandmatch.forecast.models.params; a model reads the ones
    it declares. Its seed is the config's `seed`."""

    return_prior_strength: float = Field(
        20.0, ge=0, description="pseudo-units pulling a SKU's return rate toward its category's"
    )
    drop_features: tuple[str, ...] = Field(
        (),
        description="feature groups the model is fitted and asked without: video (every "
        "feature built from video_traffic)",
    )

    @field_validator("drop_features")
    @classmethod
    def _feature_groups(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in groups if g not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group {unknown}; choose from {list(FEATURE_GROUPS)}")
        return tuple(dict.fromkeys(groups))


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
    mip_gap: float = Field(1e-4, ge=0, description="relative gap under which a plan is optimal")
    max_breakpoints: int = Field(64, ge=2, description="pack counts per SKU in the MIP")
    mip_max_skus: int = Field(
        400, ge=0, description="merchants with more orderable SKUs keep the Lagrangian plan"
    )
    service_levels: ServiceLevels = Field(
        ServiceLevels(), description="minimum expected fill rates"
    )


class TrackingConfig(BaseModel):
    """Where runs are logged (MLflow). Tracking never fails a plan: a server that does not
    answer within the timeout is a warning in the run's record (run.json), not an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    enabled: bool = Field(True, description="log every run")
    uri: str | None = Field(
        None, description="null: MLFLOW_TRACKING_URI if set, else sqlite:///mlflow.db here"
    )
    experiment: str = Field("demandmatch", description="MLflow experiment of the runs")
    timeout_s: int = Field(
        5, ge=1, le=600, description="seconds an MLflow server has to answer each request"
    )
    max_retries: int = Field(
        1, ge=0, le=10, description="retries of a failed MLflow request (1 s, 2 s, ... apart)"
    )


_LIMITS = Limits()


class LimitsConfig(BaseModel):
    """What real data cannot exceed: a cell beyond a bound is an error naming the cell. And
    when a history is too censored to learn demand from: when more than `sold_out_share` of
    the past stream items sold out, a forecast is capped at `sold_out_cap` times the most its
    SKU (else its merchant) sold in one stream, with a warning."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    earliest: date = Field(
        _LIMITS.earliest.date(), description="no timestamp in the data before this date"
    )
    latest: date = Field(_LIMITS.latest.date(), description="no timestamp at or after this date")
    max_units: float = Field(
        _LIMITS.max_units, gt=0, description="units sold, returned or allocated per stream item"
    )
    max_money: float = Field(
        _LIMITS.max_money, gt=0, description="a unit's list price, cost, salvage or live price"
    )
    max_stock: float = Field(
        _LIMITS.max_stock, gt=0, description="units on hand, per case pack, per MOQ"
    )
    max_total: float = Field(_LIMITS.max_total, gt=0, description="a merchant's budget or space")
    max_days: float = Field(_LIMITS.max_days, gt=0, description="lead time and shelf life")
    max_minutes: float = Field(_LIMITS.max_minutes, gt=0, description="a stream's length")
    max_volume_l: float = Field(_LIMITS.max_volume_l, gt=0, description="litres per unit")
    max_count: float = Field(
        _LIMITS.max_count, gt=0, description="followers, viewers, video views, likes, ..."
    )
    sold_out_share: float = Field(
        0.5, ge=0, le=1, description="share of sold-out history above which forecasts are capped"
    )
    sold_out_cap: float = Field(
        3.0, gt=0, description="the cap, in times the most the SKU sold in a stream"
    )

    @model_validator(mode="after")
    def _ordered(self) -> LimitsConfig:
        if self.latest <= self.earliest:
            raise ValueError("latest must be after earliest")
        return self

    def data_limits(self) -> Limits:
        """The loader's bounds (demandmatch.data.plausible.Limits)."""
        fields = self.model_dump(exclude={"earliest", "latest", "sold_out_share", "sold_out_cap"})
        return Limits(
            earliest=pd.Timestamp(self.earliest, tz="UTC"),
            latest=pd.Timestamp(self.latest, tz="UTC"),
            **fields,
        )


class ComplianceConfig(BaseModel):
    """Risk signals on the plan (demandmatch.compliance), written to compliance.csv."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    unverified: Literal["flag", "withhold"] = Field(
        "flag",
        description="streams of a streamer whose qualification_verified is false: flag them, "
        "or withhold stock from them (their demand is not planned for)",
    )
    claim_false_ratio: float = Field(
        2.0,
        gt=1,
        description="scarcity_claim_false: allocated stock above this many times claimed_stock",
    )
    claim_short_share: float = Field(
        0.9,
        gt=0,
        le=1,
        description="scarcity_claim_short: allocated stock below this share of claimed_stock",
    )
    claim_min_units: int = Field(
        5, ge=0, description="a scarcity flag needs the allocation this many units off the claim"
    )
    return_risk_ratio: float = Field(
        1.5,
        gt=1,
        description="return_risk: a SKU's forecast return rate above this many times its "
        "category's",
    )
    return_risk_min_gap: float = Field(
        0.05, ge=0, le=1, description="return_risk also needs the rate this much above it"
    )


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
        "random per stream (null: at all of them, or as many as train_rows_max allows)",
    )
    train_rows_max: int | None = Field(
        1_500_000,
        ge=1,
        description="most training rows: a longer history is learned at fewer leads per item "
        "than train_leads_per_item asks (at least one); null: no limit",
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
    compliance: ComplianceConfig = Field(
        ComplianceConfig(), description="compliance signals on the plan"
    )
    limits: LimitsConfig = Field(LimitsConfig(), description="plausible data, censored history")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {zone!r} (an IANA name such as Asia/Shanghai)"
            ) from None
        return zone

    @field_validator("train_lead_hours")
    @classmethod
    def _positive_leads(cls, leads: tuple[float, ...]) -> tuple[float, ...]:
        bad = [h for h in leads if not (math.isfinite(h) and 0 < h <= 24 * 365)]
        if bad:
            raise ValueError(f"every lead must be > 0 and at most a year of hours, found {bad}")
        return leads


def load_config(path: Path | str | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML config (missing keys take defaults) and apply nested overrides.

    Anything wrong (no such file, a folder, not YAML, an unknown key, a wrong type or range)
    raises ConfigError with one line naming the file and the key."""
    data: dict[str, Any] = {}
    source = "the config"
    if path is not None:
        p = Path(path)
        source = f"config {p.name}"
        data = _read_yaml(p)
    if overrides:
        data = deep_merge(data, overrides)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise _config_error(err, source) from None


def _read_yaml(p: Path) -> dict[str, Any]:
    if not p.exists():
        raise ConfigError("--config", f"file not found: {p}")
    if p.is_dir():
        raise ConfigError("--config", f"{p} is a folder; give a YAML file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as err:
        raise ConfigError("--config", f"{p} is not UTF-8 text") from err
    except OSError as err:
        raise ConfigError("--config", f"cannot read {p}: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise ConfigError(f"config {p.name}{where}", f"invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {p.name}", "the config must be a mapping of settings")
    return data


def _config_error(err: ValidationError, source: str) -> ConfigError:
    """The first problem pydantic found, as `config FILE, key 'a.b': what (found X)`."""
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    key = ".".join(loc) or "(top level)"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    if first["type"] == "extra_forbidden":
        known = ", ".join(_section_keys(loc[:-1]))
        return ConfigError(f"{source}, key '{key}'", f"unknown key; known here: {known}{more}")
    message = str(first["msg"]).removeprefix("Value error, ")
    found = first.get("input")
    shown = (
        "" if isinstance(found, dict) or first["type"] == "value_error" else f", found {found!r}"
    )
    return ConfigError(f"{source}, key '{key}'", f"{message}{shown}{more}")


def _section_keys(loc: list[str]) -> list[str]:
    """The keys of the config section at `loc` (list positions skipped)."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif field is None and not part.isdigit():
            break
    return list(model.model_fields)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra`'s keys over it, nested dicts merged key by key (neither is changed)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
