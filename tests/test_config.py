"""The config: YAML over defaults, the model section built from the models' own settings."""

import pytest

from demandmatch.config import Config, load_config
from demandmatch.forecast.models import MODELS
from demandmatch.forecast.models.params import NegBinSettings
from demandmatch.forecast.stages import make_demand_model


def test_every_model_parameter_can_be_set_from_yaml(tmp_path):
    path = tmp_path / "m5.yaml"
    path.write_text(
        "seed: 7\nmodel:\n  working_size: 1000\n  fitted_size: false\n  max_delta_step: 0.7\n"
        "  offset: [slot, 'log:duration_min']\n  random_effects: [streamer_id]\n"
        "  dispersion_ridge: 2.5\n",
        encoding="utf-8",
    )
    m = make_demand_model(load_config(path))
    assert (m.working_size, m.fitted_size, m.max_delta_step) == (1000, False, 0.7)
    assert (m.offset, m.random_effects) == (("slot", "log:duration_min"), ("streamer_id",))
    assert (m.dispersion_ridge, m.random_state) == (2.5, 7)
    for name, cls in MODELS.items():
        model = make_demand_model(load_config(None, {"model": {"name": name}}))
        assert type(model) is cls
        assert model.get_params() == cls().set_params(**_seeded(cls)).get_params()


def _seeded(cls) -> dict:
    return {"random_state": Config().seed} if cls.uses_seed else {}


def test_bad_settings_are_refused_when_the_config_loads():
    with pytest.raises(ValueError, match="round shares must be in"):
        load_config(None, {"model": {"round_shares": [0.5, 1.5]}})
    with pytest.raises(ValueError, match="unknown transform"):
        load_config(None, {"model": {"offset": ["exp:x"]}})
    with pytest.raises(ValueError, match="unknown key"):
        load_config(None, {"model": {"n_estimatorz": 3}})


def test_the_model_section_has_every_setting_of_every_model():
    fields = set(Config().model.model_dump())
    for cls in MODELS.values():
        assert set(cls.settings_model.model_fields) <= fields
    assert Config().model.n_estimators == NegBinSettings().n_estimators
