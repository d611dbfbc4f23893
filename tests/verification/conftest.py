"""Fixtures for the verification tests.

OpenBLAS busy-waits its worker threads; on the shared 2-core CI machine, with other test
processes running, multi-threaded BLAS made SLICOT's AB13DD/AB09AD calls 10-100x slower
(CDplayer balanced-truncation certificate: 0.4 s single-threaded, 65 s with 2 threads under
load).  The matrices here are small, so one BLAS thread is also the fastest setting.
"""

import pytest

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
    threadpool_limits = None


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1):
        yield
