"""A forecast and its plan on a Dask cluster: the single machine's stages (forecast.stages) with
the features built per partition of streams, the trees grown by lightgbm.dask, the forecasts made
per block of rows and the plan made per merchant, each on the workers. What stays on the client:
loading and checking the tables, and the parts of the demand model that read every training row
at once (the random-effects start, the held-out calibration)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd
from distributed import Client

from demandmatch.config import Config
from demandmatch.data.tables import Tables
from demandmatch.forecast.models.negbin import LGBMNegBinDemand
from demandmatch.forecast.models.registry import model_class
from demandmatch.forecast.stages import (
    DemandForecast,
    FittedDemand,
    fit_demand,
    make_demand_model,
    predict_demand,
)
from demandmatch.timing import Progress, Timer, quiet

from .boosting import DaskBoosting
from .features import PartitionedFeatures
from .predict import OnCluster


@dataclass(frozen=True)
class DaskTrainer:
    """Makes the Boosting of a demand model's trees (LightGBM's parameters, bags) on `client`:
    the `trainer` of LGBMNegBinDemand. A handle on a cluster, so a copy of a model shares it."""

    client: Client = field(compare=False)
    partitions: int | None = None

    def __call__(self, params: dict, bags: int) -> DaskBoosting:
        return DaskBoosting(params, bags, client=self.client, partitions=self.partitions)

    def __deepcopy__(self, memo: dict) -> DaskTrainer:
        return self

    def __reduce__(self) -> tuple:
        return (_no_trainer, ())  # a pickled model (sent to a worker) does not carry the client


def _no_trainer() -> None:
    return None


def fit_predict_on_cluster(
    client: Client,
    tables: Tables,
    config: Config,
    as_of: pd.Timestamp | None = None,
    horizon_days: int | None = None,
    timer: Timer | None = None,
    progress: Progress = quiet,
    partitions: int | None = None,
) -> tuple[FittedDemand, DemandForecast]:
    """(the fitted model, its forecast): `forecast.stages.fit_demand` and `predict_demand` on
    `client`'s cluster (see the module's docstring); `partitions`: of the rows, per task (default:
    two per worker). A model other than lgbm_negbin learns on the client. The fit is returned as
    the client made it, for a run that logs the model and reads the history it learned from."""
    timer = timer or Timer()
    features = PartitionedFeatures(client, partitions)
    if issubclass(model_class(config.model.name), LGBMNegBinDemand):
        model = make_demand_model(config, trainer=DaskTrainer(client, partitions))
    else:
        model = make_demand_model(config)
    fitted = fit_demand(tables, config, as_of, model, timer, progress, features=features)
    on_cluster = replace(fitted, model=OnCluster(fitted.model, client, partitions))
    fc = predict_demand(
        on_cluster, tables, config, horizon_days, None, timer, progress, features=features
    )
    return fitted, fc
