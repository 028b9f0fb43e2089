import numpy as np
from threadpoolctl import threadpool_info

from demandmatch.forecast.negbin.dispersion import Dispersion
from demandmatch.forecast.negbin.threads import single_threaded_blas


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_blas_runs_on_one_thread_inside_and_as_before_after():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS is loaded
    before = _blas_threads()
    with single_threaded_blas():
        assert _blas_threads() and all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_kernels_leave_blas_threads_as_they_were():
    before = _blas_threads()
    rng = np.random.default_rng(0)
    y = rng.negative_binomial(3.0, 3.0 / 8.0, 500).astype(float)
    Dispersion().fit(np.ones((500, 1)), y, np.full(500, 5.0), np.zeros(500, bool))
    assert _blas_threads() == before
