"""Where the Dask engine runs: a cluster at a scheduler's address, or a LocalCluster of worker
processes on this machine when none is given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster


@contextmanager
def dask_client(
    scheduler: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
) -> Iterator[Client]:
    """A client of the cluster at `scheduler` (an address such as tcp://10.0.0.5:8786), or of a
    LocalCluster of `n_workers` processes (default: one per core) started here and closed on exit.
    Worker processes rather than threads: LightGBM's distributed training is one machine per
    process."""
    if scheduler is not None:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=None,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def n_partitions(client: Client, partitions: int | None) -> int:
    """`partitions`, or two per worker of `client`'s cluster (at least two)."""
    return partitions or 2 * max(len(client.scheduler_info()["workers"]), 1)
