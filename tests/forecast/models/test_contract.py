"""The demand models keep scikit-learn's estimator contract: `clone`, parameters stored as given
and validated in `fit`, defaults from the one settings model, and sklearn's own estimator checks.

Checks left out, and why (marked xfail with the reason, so they still run):
- lgbm_negbin learns counts and refuses y that is not whole numbers; the checks below that fit on
  continuous y are replaced by the same contract points tested on counts
  (test_the_count_model_keeps_the_contract_on_counts);
- sku_empirical groups rows by SKU and category columns, which a numeric array has none of: it
  then predicts the overall quantiles, so it cannot fit a regression (check_regressors_train).
"""

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from demandmatch.data.schema import QUANTILE_LEVELS
from demandmatch.forecast.models import MODELS
from demandmatch.forecast.models.empirical import EmpiricalQuantileDemand
from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.models.quantile import LGBMQuantileDemand

CONTINUOUS_Y = (
    "the check fits on continuous y; the negative binomial learns counts (tested on counts in "
    "test_the_count_model_keeps_the_contract_on_counts)"
)
NEGBIN_ON_CONTINUOUS_Y = (
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_regressors_train",
)


def _expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, LGBMNegBinDemand):
        return dict.fromkeys(NEGBIN_ON_CONTINUOUS_Y, CONTINUOUS_Y)
    if isinstance(estimator, EmpiricalQuantileDemand):
        return {"check_regressors_train": "an array has no SKU or category: overall quantiles"}
    return {}


@pytest.mark.slow
@parametrize_with_checks(
    [
        LGBMNegBinDemand(n_estimators=10, n_jobs=1),
        LGBMQuantileDemand(n_estimators=100, learning_rate=0.1, min_child_samples=5, n_jobs=1),
        EmpiricalQuantileDemand(),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _counts(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    mu = np.exp(1.5 + 1.2 * X[:, 0] - 0.6 * X[:, 1])
    return X, rng.negative_binomial(4.0, 4.0 / (4.0 + mu)).astype(float)


def test_the_count_model_keeps_the_contract_on_counts():
    X, y = _counts()
    m = LGBMNegBinDemand(n_estimators=40, min_child_samples=5, n_jobs=1)
    with pytest.raises(NotFittedError):
        m.predict(X)
    m.fit(X, y)
    assert m.n_features_in_ == 3
    first = m.predict(X)
    np.testing.assert_array_equal(clone(m).fit(X, y).predict(X), first)  # idempotent
    assert m.score(X, y) > 0.5  # R^2 of the mean on a count regression
    np.testing.assert_allclose(m.predict(X.tolist()), first)  # a list is an array too
    with pytest.raises(ValueError, match="X has 2 features, but LGBMNegBinDemand is expecting 3"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="whole numbers"):
        m.fit(X, y + 0.5)


@pytest.mark.parametrize("cls", list(MODELS.values()))
def test_defaults_come_from_the_settings_model_and_clone_keeps_parameters(cls):
    signature = inspect.signature(cls.__init__).parameters
    settings = cls.settings_model()
    seeded = {"random_state"} if cls.uses_seed else set()
    # trainer: where lgbm_negbin's trees grow (demandmatch.engine), not a setting of the model
    assert set(signature) - {"self", "trainer"} == (
        set(type(settings).model_fields) | {"levels"} | seeded
    )
    for name in type(settings).model_fields:
        assert signature[name].default == getattr(settings, name), name
    assert signature["levels"].default == QUANTILE_LEVELS
    m = cls(levels=[0.1, 0.5, 0.9])
    c = clone(m)
    assert c is not m and c.get_params() == m.get_params()
    assert c.levels == [0.1, 0.5, 0.9]  # stored as given, not converted


def test_parameters_are_validated_in_fit_not_in_init():
    X = pd.DataFrame({"x": np.arange(40.0)})
    y = np.arange(40.0) % 5
    bad = LGBMNegBinDemand(round_shares=(), n_estimators=5)  # kept as given
    assert bad.round_shares == ()
    with pytest.raises(ValueError, match="round_shares"):
        bad.fit(X, y)
    with pytest.raises(ValueError, match="round shares must be in"):
        LGBMNegBinDemand(round_shares=(0.5, 1.5)).fit(X, y)
    with pytest.raises(ValueError, match="unknown transform"):
        LGBMNegBinDemand(offset=("exp:x",)).fit(X, y)
    with pytest.raises(ValueError, match="levels must be increasing"):
        LGBMQuantileDemand(levels=(0.5, 0.1)).fit(X, y)
    with pytest.raises(ValueError, match="min_history"):
        EmpiricalQuantileDemand(min_history=0).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        EmpiricalQuantileDemand().fit(X, -y)


def test_capabilities_are_declared_on_the_class():
    assert LGBMNegBinDemand.learns_censoring and LGBMNegBinDemand.uses_seed
    assert not LGBMQuantileDemand.learns_censoring and LGBMQuantileDemand.uses_seed
    assert not EmpiricalQuantileDemand.learns_censoring and not EmpiricalQuantileDemand.uses_seed
