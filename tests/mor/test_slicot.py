"""mor.slicot: the bundled SLICOT benchmark systems."""

import numpy as np
import pytest

import mor


@pytest.mark.parametrize("name", mor.BENCHMARKS)
def test_benchmarks_load_as_float64(name):
    sys_ = mor.load_benchmark(name)
    assert sys_.dt == 0
    for matrix in (sys_.A, sys_.B, sys_.C, sys_.D):
        assert matrix.dtype == np.float64


def test_unknown_benchmark():
    with pytest.raises(mor.MORError, match="build"):
        mor.load_benchmark("nope")
