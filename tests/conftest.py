"""Test configuration: hypothesis profiles chosen by MOR_HYPOTHESIS_PROFILE.

- ``ci`` (default): 200 examples per property, derandomised (a fixed seed), no deadline.
- ``dev``: 20 examples, for quick local runs.
- ``thorough``: 10,000 examples per property (``make test-thorough``).

One BLAS thread for every test (an autouse session fixture): OpenBLAS busy-waits its worker
threads; on the shared 2-core CI machine, with other test processes running, multi-threaded
BLAS made SLICOT's AB13DD/AB09AD calls 10-100x slower (CDplayer balanced-truncation
certificate: 0.4 s single-threaded, 65 s with 2 threads under load).  The matrices here are
small, so one BLAS thread is also the fastest setting.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
    threadpool_limits = None

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=200, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=10_000, derandomize=True, **_COMMON)
settings.load_profile(os.environ.get("MOR_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1):
        yield
