"""Done criterion: on the bundled benchmarks, every bound marked valid holds."""

import warnings

import numpy as np
import pytest

import mor
from verification import certify

RATIOS = [round(float(r), 1) for r in np.arange(0.1, 1.0, 0.1)]


@pytest.fixture(scope="module")
def modal_benchmarks():
    out = {}
    for name in mor.BENCHMARKS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mor.IllConditionedEigenbasisWarning)
            out[name] = mor.ModalSystem.from_statespace(mor.load_benchmark(name), name=name)
    return out


@pytest.mark.parametrize("method", ["aire", "last", "balanced_truncation"])
@pytest.mark.parametrize("name", mor.BENCHMARKS)
def test_every_valid_bound_holds(modal_benchmarks, name, method):
    sys = modal_benchmarks[name]
    for ratio in RATIOS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            report = certify(sys, mor.prune([sys], method, ratio=ratio))
        report.assert_valid_bounds_hold()
        assert report.all_valid_bounds_hold is True
        layer = report.layers[0]
        assert layer.exact_hinf is not None and layer.exact_hinf >= 0
        names = {b.name for b in layer.bounds}
        if method == "balanced_truncation":
            assert names == {"balanced_2sigma"}
        else:
            assert {"modal_triangle", "aire_eq19", "h2_triangle"} <= names
            # the modal error is computed from the pruned units: never above the triangle bound
            assert layer.exact_hinf <= layer.bound("modal_triangle").value * (1 + 1e-8)
