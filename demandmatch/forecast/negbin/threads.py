"""BLAS threads in the numerical kernels: one.

The start's conjugate gradients and the size model's Newton steps call BLAS on vectors of a few
thousand to a few hundred thousand entries, memory-bound work that threads barely speed up. Past
OpenBLAS's size threshold (about 10k entries) each call wakes its threads, and on a machine whose
cores are busy (LightGBM's own threads, other processes) waking and spinning them costs many
times the work: on 2 busy cores the start of a 700k-row fit took 7 s in conjugate gradients with
OpenBLAS's threads and 1 s with one. The limit holds only inside the kernels.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded BLAS once (a scan of the loaded libraries)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS calls made inside run on one thread; the previous setting returns on exit."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
