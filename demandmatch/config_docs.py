"""docs/configuration.md and configs/default.yaml, written from the config model (config.py), so
that the defaults and their meaning are defined once (`demandmatch config-docs`)."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from .config import Config
from .forecast.models.registry import MODELS

DOCS_HEADER = """\
# Configuration

<!-- Written from demandmatch/config.py by `make docs-config`: change the models there. -->

A run reads one YAML file (`--config`; `make forecast` passes `configs/default.yaml`). Every key
is optional: one left out takes the default below, so a file need hold only what it changes.
Sections nest as in the YAML: `optimiser.service_levels.default` is `default` under
`service_levels` under `optimiser`.

The `model` section holds the parameters of every demand model; each model reads the ones it
declares (the read-by column), and its seed is the top-level `seed`. The defaults are the models'
own (demandmatch/forecast/models/params.py), so a model made in Python and one made from a config
agree.
"""

YAML_HEADER = """\
# demandmatch settings. Every key is optional; one left out takes the default written here.
# Written from demandmatch/config.py by `make docs-config` (docs/configuration.md says more):
# copy this file to change settings.
"""


def render_markdown() -> str:
    """docs/configuration.md: a table per section of the config, key by key."""
    out = [DOCS_HEADER.rstrip("\n")]
    for path, model in _sections(Config(), ()):
        out += ["", f"## {'Top level' if not path else '`' + '.'.join(path) + '`'}", ""]
        doc = (type(model).__doc__ or "").strip()
        if doc and path:
            out += [" ".join(doc.split()), ""]
        readers = path == ("model",)
        out.append("| key | default | " + ("read by | " if readers else "") + "meaning |")
        out.append("|---|---|" + ("---|" if readers else "") + "---|")
        for name, value in _fields(model):
            if isinstance(value, BaseModel):
                shown = f"see `{'.'.join((*path, name))}`"
            else:
                shown = f"`{_flow(value)}`"
            cells = [f"`{name}`", shown]
            if readers:
                cells.append(", ".join(_readers(name)) or "the forecast stage")
            cells.append(_description(model, name))
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def render_yaml() -> str:
    """configs/default.yaml: every key at its default, with what it means."""
    return YAML_HEADER + "\n".join(_yaml_lines(Config(), 0)) + "\n"


def _sections(model: BaseModel, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], BaseModel]]:
    out = [(path, model)]
    for name, value in _fields(model):
        if isinstance(value, BaseModel):
            out += _sections(value, (*path, name))
    return out


def _fields(model: BaseModel) -> list[tuple[str, Any]]:
    return [(name, getattr(model, name)) for name in type(model).model_fields]


def _description(model: BaseModel, name: str) -> str:
    return type(model).model_fields[name].description or ""


def _readers(name: str) -> list[str]:
    """The demand models whose settings declare `name` (none: the stage's own setting)."""
    return [m for m, cls in MODELS.items() if name in cls.settings_model.model_fields]


def _plain(value: Any) -> Any:
    """A value as YAML holds it: models and tuples as mappings and lists."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _flow(value: Any) -> str:
    text = yaml.safe_dump(_plain(value), default_flow_style=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _yaml_lines(model: BaseModel, depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for name, value in _fields(model):
        note = _description(model, name)
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:  # {note}")
            lines += _yaml_lines(value, depth + 1)
        elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            lines.append(f"{pad}{name}:  # {note}")
            lines += [f"{pad}  - {_flow(v)}" for v in value]
        else:
            lines.append(f"{pad}{name}: {_flow(value)}  # {note}")
    return lines
