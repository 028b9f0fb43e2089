"""The engine past one machine, on Dask (the only package that imports dask, distributed and
lightgbm.dask): a forecast whose features, trees and predictions are made on a cluster's workers
(`fit_predict_on_cluster`), and a plan made per merchant in parallel (`plan_by_merchant`); a
LocalCluster of this machine's cores when no scheduler is given (`dask_client`). See
docs/scale.md."""

from .cluster import dask_client
from .forecast import DaskTrainer, fit_predict_on_cluster
from .plan import plan_by_merchant

__all__ = [
    "DaskTrainer",
    "dask_client",
    "fit_predict_on_cluster",
    "plan_by_merchant",
]
