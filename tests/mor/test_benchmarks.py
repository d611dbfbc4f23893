import numpy as np
import pytest
import scipy.io

import mor
from mor.benchmarks import load_mat_system


@pytest.mark.parametrize("name", mor.BENCHMARKS)
def test_benchmarks_load_as_float64(name):
    sys_ = mor.load_benchmark(name)
    assert sys_.dt == 0
    for matrix in (sys_.A, sys_.B, sys_.C, sys_.D):
        assert matrix.dtype == np.float64


def test_uint8_matrices_are_cast(tmp_path):
    path = tmp_path / "small.mat"
    scipy.io.savemat(path, {"A": -np.eye(2), "B": np.ones((2, 1), np.uint8) * 200,
                            "C": np.ones((1, 2), np.uint8)})
    sys_ = load_mat_system(path)
    assert sys_.B[0, 0] == 200.0


def test_discrete_file(tmp_path):
    path = tmp_path / "dt.mat"
    scipy.io.savemat(path, {"A": 0.5 * np.eye(2), "B": np.ones((2, 1)), "C": np.ones((1, 2)),
                            "dt": 0.1})
    assert load_mat_system(path).dt == 0.1


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"B": np.ones((2, 1)), "C": np.ones((1, 2))}, "lacks A"),
        ({"A": -np.eye(2), "B": np.ones((3, 1)), "C": np.ones((1, 2))}, "B has shape"),
        ({"A": -np.eye(2), "B": np.ones((2, 1)), "C": np.ones((1, 3))}, "C has shape"),
        ({"A": np.full((2, 2), np.nan), "B": np.ones((2, 1)), "C": np.ones((1, 2))}, "NaN"),
    ],
)
def test_broken_files_fail_clearly(tmp_path, content, match):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, content)
    with pytest.raises(mor.MORError, match=match):
        load_mat_system(path)


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "x.mat"
    path.write_text("hello")
    with pytest.raises(mor.MORError, match="cannot read"):
        load_mat_system(path)


def test_unknown_benchmark():
    with pytest.raises(mor.MORError, match="build"):
        mor.load_benchmark("nope")
