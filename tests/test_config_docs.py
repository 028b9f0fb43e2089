"""docs/configuration.md and configs/default.yaml are what the config model writes today."""

from pathlib import Path

from demandmatch.config import Config, load_config
from demandmatch.config_docs import render_markdown, render_yaml

ROOT = Path(__file__).resolve().parents[1]
STALE = "stale: run `make docs-config` and commit the result"


def test_the_configuration_reference_is_current():
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == render_markdown(), (
        STALE
    )


def test_the_default_config_is_current_and_holds_the_defaults():
    path = ROOT / "configs" / "default.yaml"
    assert path.read_text(encoding="utf-8") == render_yaml(), STALE
    assert load_config(path) == Config()


def test_every_setting_is_explained():
    text = render_markdown()
    assert "|  |" not in text and "| |" not in text  # no empty meaning cell
    for line in render_yaml().splitlines()[3:]:
        if line.lstrip().startswith("- "):  # an item of a list explained on its key's line
            continue
        assert "  # " in line and not line.endswith("# "), line
