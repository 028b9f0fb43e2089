"""An experiment as a file: what to vary, on which data, how to backtest it, and the gate a
variant must pass to become the champion.

    name: censoring
    question: Does reading sold-out rows as lower bounds on demand help?
    base_config: configs/default.yaml   # the project's config, then `overrides` on top
    overrides: {model: {n_estimators: 200}}
    variants:
      grid: {model.censoring: [true, false]}   # or zip: {...} (lists of equal length)
      names: [censored, naive]                 # optional, one per variant
    datasets:
      - {kind: demo, seeds: [0, 1], size: small, scenario: demo}  # any scenario of the zoo
      - {kind: m5, path: null, n_series: 200}  # path null: $DEMANDMATCH_M5_DIR
      - {kind: dir, path: data/shop, truth: auto}
    backtest: {origins: 3, step_days: 7, horizon_days: 7, leads: [origin, 24h]}
    seeds: [0]                                 # model seeds: config `seed`
    gate: {metric: true_pinball, confidence: 0.95, profit_not_worse: true, baseline: censored}

A variant's keys are dotted paths into the config (`model.censoring`, `model.drop_features`),
so that a variant is its config alone and a promoted one reproduces in `demandmatch forecast`.
Every variant's config is validated when the file is read; an error names the file and the key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from demandmatch.config import deep_merge

from .engine import DEFAULT_SCENARIO, Config, resolve_scenario

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
LEAD = re.compile(r"^(origin|\d+(\.\d+)?h)$")


class SpecError(ValueError):
    """An experiment file that cannot be used: the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DemoWorlds(_Strict):
    """Simulated worlds, one per seed; their truth is known, so plans meet the oracle plan."""

    kind: Literal["demo"]
    seeds: list[int] = Field([0], min_length=1)
    size: Literal["tiny", "small", "demo"] = "small"
    # a scenario of the simulator's zoo (several joined by commas compose)
    scenario: str = DEFAULT_SCENARIO

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, name: str) -> str:
        return resolve_scenario(name).name  # a ValueError listing the scenarios


class M5Subset(_Strict):
    """The M5 store-department subset (daily sales): forecast metrics only, no plan."""

    kind: Literal["m5"]
    path: str | None = None  # None: the folder DEMANDMATCH_M5_DIR names
    n_series: int | None = Field(None, ge=1)  # a seeded sample of the items; None = all
    sample_seed: int = 0
    train_window_days: int = Field(364, ge=28)  # days of targets learnt from at each origin
    train_step_days: int = Field(28, ge=1)  # days between training origins


class DataDir(_Strict):
    """A data directory in the contract's tables; its truth.csv when it has one."""

    kind: Literal["dir"]
    path: str
    truth: str | None = "auto"  # auto: truth.csv beside the data directory, if there


Dataset = Annotated[DemoWorlds | M5Subset | DataDir, Field(discriminator="kind")]


class Backtest(_Strict):
    origins: int = Field(3, ge=1)
    step_days: int = Field(7, ge=1)
    horizon_days: int = Field(7, ge=1)
    # "origin" (forecast as of the origin: the plan's) and nowcasts "<hours>h" before each stream
    leads: list[str] = Field(["origin", "24h"], min_length=1)

    @field_validator("leads")
    @classmethod
    def _leads(cls, leads: list[str]) -> list[str]:
        bad = [x for x in leads if not LEAD.match(str(x))]
        if bad:
            raise ValueError(f"a lead is 'origin' or hours like '24h', not {bad}")
        if "origin" not in leads:
            raise ValueError("leads must include 'origin' (the forecast the plan is made from)")
        return list(dict.fromkeys(leads))


class Variants(_Strict):
    grid: dict[str, list[Any]] | None = None
    zip: dict[str, list[Any]] | None = None
    names: list[str] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Variants:
        ways = [w for w in (self.grid, self.zip) if w is not None]
        if len(ways) != 1:
            raise ValueError("give exactly one of 'grid' or 'zip'")
        lists = ways[0]
        if not lists or any(len(v) == 0 for v in lists.values()):
            raise ValueError("every variant key needs at least one value")
        if self.zip is not None and len({len(v) for v in self.zip.values()}) > 1:
            raise ValueError("zip lists must have the same length")
        return self


class Gate(_Strict):
    """A challenger becomes champion when its `metric` is better than the baseline's with
    `confidence` (the block-bootstrap interval of the difference excludes 0 on the good side)
    and, with `profit_not_worse`, its plan profit is not worse with that confidence."""

    metric: str = "pinball"
    confidence: float = Field(0.95, gt=0.5, lt=1)
    profit_not_worse: bool = True
    baseline: str | None = None  # a variant name; None: the first variant


class ExperimentSpec(_Strict):
    name: str
    question: str
    description: str = ""
    base_config: str | None = "configs/default.yaml"
    overrides: dict[str, Any] = {}
    variants: Variants
    datasets: list[Dataset] = Field(min_length=1)
    backtest: Backtest = Backtest()
    seeds: list[int] = Field([0], min_length=1)
    gate: Gate = Gate()

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME.match(name):
            raise ValueError("use letters, digits, '-', '_' and '.' (it names MLflow runs)")
        return name


@dataclass(frozen=True)
class Variant:
    name: str
    settings: dict[str, Any]  # its own dotted keys and values
    config: Config  # base + overrides + its settings (seed still the base's)


@dataclass(frozen=True)
class DatasetCase:
    """One dataset to run on: a demo world of one seed, the M5 subset or a directory."""

    name: str
    spec: DemoWorlds | M5Subset | DataDir
    world_seed: int | None = None


@dataclass(frozen=True)
class Child:
    """One child run: a variant on a dataset with a model seed."""

    variant: Variant
    dataset: DatasetCase
    seed: int
    config: Config  # the variant's with `seed`

    @property
    def name(self) -> str:
        return f"{self.variant.name} | {self.dataset.name} | seed {self.seed}"


@dataclass(frozen=True)
class Experiment:
    spec: ExperimentSpec
    path: Path
    text: str  # the file as written, logged with the parent run
    variants: list[Variant]
    datasets: list[DatasetCase]

    @property
    def children(self) -> list[Child]:
        return [
            Child(v, d, s, v.config.model_copy(update={"seed": s}))
            for v in self.variants
            for d in self.datasets
            for s in self.spec.seeds
        ]

    @property
    def spec_hash(self) -> str:
        return digest(self.spec.model_dump(mode="json"))

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise SpecError(f"{self.path}: no variant {name!r}; variants: {self.variant_names}")

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]


def digest(value: object, n: int = 12) -> str:
    """A short SHA-256 of a JSON-able value (keys sorted): equal values, equal digests."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def load_experiment(path: Path | str, project_dir: Path | None = None) -> Experiment:
    """Read, validate and expand an experiment file (SpecError naming the key on bad input)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"experiment file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: an experiment is a mapping of keys (name, variants, ...)")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(_explain(path, err)) from err
    base = _base_config(spec, path, project_dir or Path.cwd())
    variants = _variants(spec, path, base)
    return Experiment(spec, path, text, variants, _datasets(spec))


def _explain(path: Path, err: ValidationError, prefix: str = "") -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"] if not str(x).startswith("function-"))
        # pydantic names the union member tried (e.g. 'demo'); the key path is what helps
        loc = re.sub(r"\.(demo|m5|dir)(?=\.|$)", "", loc)
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"{path}: {prefix}{loc}: {msg}")
    return "\n".join(lines)


def _base_config(spec: ExperimentSpec, path: Path, project_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if spec.base_config is not None:
        where = [project_dir / spec.base_config, path.parent / spec.base_config]
        found = next((p for p in where if p.is_file()), None)
        if found is None:
            raise SpecError(f"{path}: base_config: file not found: {spec.base_config}")
        data = yaml.safe_load(found.read_text(encoding="utf-8")) or {}
    return deep_merge(data, spec.overrides)


def _variants(spec: ExperimentSpec, path: Path, base: dict[str, Any]) -> list[Variant]:
    v = spec.variants
    lists = v.grid if v.grid is not None else v.zip
    assert lists is not None
    keys = list(lists)
    values = list(lists.values())
    combos = itertools.product(*values) if v.grid is not None else zip(*values, strict=True)
    settings = [dict(zip(keys, c, strict=True)) for c in combos]
    names = v.names or [_auto_name(s) for s in settings]
    if len(names) != len(settings):
        raise SpecError(f"{path}: variants.names: {len(names)} names for {len(settings)} variants")
    if len(set(names)) != len(names):
        raise SpecError(f"{path}: variants.names: two variants share a name: {names}")
    bad = [n for n in names if not NAME.match(n)]
    if bad:
        raise SpecError(f"{path}: variants.names: {bad}: use letters, digits, '-', '_' and '.'")
    out = []
    for name, s in zip(names, settings, strict=True):
        nested = base
        for key, value in s.items():
            nested = deep_merge(nested, _nest(key.split("."), value))
        try:
            config = Config.model_validate(nested)
        except ValidationError as err:
            raise SpecError(_explain(path, err, f"variant {name}: ")) from err
        out.append(Variant(name, s, config))
    return out


def _datasets(spec: ExperimentSpec) -> list[DatasetCase]:
    out: list[DatasetCase] = []
    for d in spec.datasets:
        if isinstance(d, DemoWorlds):
            tag = "" if d.scenario == DEFAULT_SCENARIO else f"-{d.scenario}"
            out += [DatasetCase(f"demo-{d.size}{tag}-w{s}", d, s) for s in d.seeds]
        elif isinstance(d, M5Subset):
            out.append(DatasetCase("m5" + (f"-{d.n_series}" if d.n_series else ""), d))
        else:
            out.append(DatasetCase(f"dir-{Path(d.path).name or 'data'}", d))
    names = [c.name for c in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(f"datasets: the same dataset twice: {dup}")
    return out


def _auto_name(settings: dict[str, Any]) -> str:
    parts = []
    for key, value in settings.items():
        if isinstance(value, list | tuple):
            text = "+".join(str(x) for x in value) or "none"
        elif isinstance(value, bool):
            text = str(value).lower()
        else:
            text = str(value)
        parts.append(f"{key.split('.')[-1]}={text}")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", "_".join(parts).replace("=", "-").replace("+", "."))


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    return {keys[0]: value} if len(keys) == 1 else {keys[0]: _nest(keys[1:], value)}
