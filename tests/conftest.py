"""Test configuration: hypothesis profiles chosen by MOR_HYPOTHESIS_PROFILE.

- ``ci`` (default): 200 examples per property, derandomised (a fixed seed), no deadline.
- ``dev``: 20 examples, for quick local runs.
- ``thorough``: 10,000 examples per property (``make test-thorough``).
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=200, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=10_000, derandomize=True, **_COMMON)
settings.load_profile(os.environ.get("MOR_HYPOTHESIS_PROFILE", "ci"))
