"""Experiment files: expanded into variants x datasets x seeds; a mistake names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from demandmatch.experiments.runner import child_key
from demandmatch.experiments.spec import SpecError, load_experiment

REPO = Path(__file__).resolve().parents[2]
BASE = """
name: toy
question: Does it help?
base_config: configs/default.yaml
overrides: {model: {n_estimators: 50}}
backtest: {origins: 2, step_days: 7, horizon_days: 7, leads: [origin, 24h]}
seeds: [0, 1]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(text)
    return path


def _load(tmp_path: Path, body: str):
    return load_experiment(_write(tmp_path, BASE + body), project_dir=REPO)


def test_grid_expands_variants_datasets_and_seeds(tmp_path: Path) -> None:
    exp = _load(
        tmp_path,
        """
variants:
  grid: {model.censoring: [true, false], model.name: [lgbm_negbin, lgbm_quantile]}
datasets:
  - {kind: demo, seeds: [3, 4], size: tiny}
  - {kind: dir, path: shop/data}
""",
    )
    assert exp.variant_names == [
        "censoring-true_name-lgbm_negbin",
        "censoring-true_name-lgbm_quantile",
        "censoring-false_name-lgbm_negbin",
        "censoring-false_name-lgbm_quantile",
    ]
    assert [d.name for d in exp.datasets] == ["demo-tiny-w3", "demo-tiny-w4", "dir-data"]
    children = exp.children
    assert len(children) == 4 * 3 * 2
    first = children[0]
    assert first.name == "censoring-true_name-lgbm_negbin | demo-tiny-w3 | seed 0"
    assert first.config.model.n_estimators == 50  # the overrides
    assert first.config.model.learning_rate == 0.05  # the base config
    assert {c.config.seed for c in children} == {0, 1}
    assert len({child_key(exp, c) for c in children}) == len(children)


def test_zip_with_names_and_dropped_features(tmp_path: Path) -> None:
    exp = _load(
        tmp_path,
        """
variants:
  zip:
    model.drop_features: [[], [video]]
    model.effect_sd: [0.5, 0.0]
  names: [with-video, without-video]
datasets: [{kind: demo}]
""",
    )
    a, b = exp.variants
    assert (a.name, b.name) == ("with-video", "without-video")
    assert a.config.model.drop_features == () and b.config.model.drop_features == ("video",)
    assert b.config.model.effect_sd == 0.0
    assert [d.name for d in exp.datasets] == ["demo-small-w0"]


def test_any_scenario_of_the_zoo(tmp_path: Path) -> None:
    exp = _load(
        tmp_path,
        """
variants: {grid: {model.bags: [1]}}
datasets:
  - {kind: demo, seeds: [0], size: tiny}
  - {kind: demo, seeds: [0], size: tiny, scenario: heavy_hype}
  - {kind: demo, seeds: [0], size: tiny, scenario: "weak_video, lead_0_3"}
""",
    )
    names = [d.name for d in exp.datasets]
    assert names == ["demo-tiny-w0", "demo-tiny-heavy_hype-w0", "demo-tiny-weak_video,lead_0_3-w0"]
    assert [d.spec.scenario for d in exp.datasets] == ["demo", "heavy_hype", "weak_video,lead_0_3"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "variants: {grid: {model.censorin: [true]}}\ndatasets: [{kind: demo}]",
            "variant censorin-true: model.censorin: unknown key",
        ),
        (
            "variants: {grid: {model.holdout: [2.0]}}\ndatasets: [{kind: demo}]",
            "model.holdout: Input should be less than 1",
        ),
        (
            "variants: {grid: {a: [1]}, zip: {b: [1]}}\ndatasets: [{kind: demo}]",
            "variants: Value error, give exactly one of 'grid' or 'zip'",
        ),
        (
            "variants: {zip: {model.bags: [1, 2], seed: [1]}}\ndatasets: [{kind: demo}]",
            "zip lists must have the same length",
        ),
        (
            "variants: {grid: {model.bags: [1]}}\ndatasets: [{kind: demo, sise: tiny}]",
            "datasets.0.sise: unknown key",
        ),
        (
            "variants: {grid: {model.bags: [1]}}\ndatasets: [{kind: cloud}]",
            "datasets.0: Input tag 'cloud'",
        ),
        (
            "variants: {grid: {model.bags: [1]}}\ndatasets: []",
            "datasets: List should have at least 1 item",
        ),
        (
            "variants: {grid: {model.drop_features: [[audio]]}}\ndatasets: [{kind: demo}]",
            "model.drop_features: Value error, unknown feature group ['audio']",
        ),
        (
            "variants: {grid: {engine.drop_features: [[video]]}}\ndatasets: [{kind: demo}]",
            "engine: unknown key",
        ),
        (
            "variants: {grid: {model.bags: [1]}}\ndatasets: [{kind: demo, scenario: hype}]",
            "datasets.0.scenario: Value error, unknown scenario hype; choose from demo,",
        ),
        (
            "variants: {grid: {model.bags: [1, 2]}, names: [one]}\ndatasets: [{kind: demo}]",
            "variants.names: 1 names for 2 variants",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        _load(tmp_path, body)
    assert message in str(err.value)
    assert str(tmp_path / "toy.yaml") in str(err.value)


def test_bad_lead_and_missing_base(tmp_path: Path) -> None:
    body = "variants: {grid: {model.bags: [1]}}\ndatasets: [{kind: demo}]\n"
    with pytest.raises(SpecError, match=r"backtest.leads: Value error, a lead is 'origin'"):
        load_experiment(_write(tmp_path, BASE.replace("24h", "tomorrow") + body), REPO)
    with pytest.raises(SpecError, match="base_config: file not found: nowhere.yaml"):
        load_experiment(
            _write(tmp_path, BASE.replace("configs/default.yaml", "nowhere.yaml") + body), REPO
        )


def test_shipped_experiments_are_valid() -> None:
    files = sorted((REPO / "experiments").glob("*.yaml"))
    assert {f.stem for f in files} >= {"smoke", "censoring", "negbin_vs_quantile", "video"}
    for f in files:
        exp = load_experiment(f, REPO)
        assert len(exp.variants) >= 2 and exp.spec.question
