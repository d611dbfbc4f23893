import numpy as np
import pytest
import scipy.io

import mor
from mor.benchmarks import load_mat_system, read_mat_arrays


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


# ---------------------------------------------------------------- hostile .mat contents
# (issue 9: complex entries were cut to their real part and a text dt was ignored)
_SYSTEM = {"A": -np.eye(2), "B": np.ones((2, 1)), "C": np.ones((1, 2))}


def _saved(tmp_path, **changes):
    path = tmp_path / "system.mat"
    scipy.io.savemat(path, {**_SYSTEM, **changes})
    return path


@pytest.mark.parametrize("label", ["A", "B", "C", "D"])
def test_complex_matrices_are_refused_not_cut(tmp_path, label):
    value = {"A": -np.eye(2) + 0.5j, "B": np.ones((2, 1)) * (1 + 2j),
             "C": np.ones((1, 2)) * 1j, "D": np.array([[3 - 1j]])}[label]
    with pytest.raises(mor.PairingError, match=f"{label} holds complex entries"):
        load_mat_system(_saved(tmp_path, **{label: value}))


def test_complex_storage_with_zero_imaginary_part_is_real(tmp_path):
    sys_ = load_mat_system(_saved(tmp_path, A=-np.eye(2) + 0j))
    assert sys_.A.dtype == np.float64 and np.array_equal(sys_.A, -np.eye(2))


def test_read_mat_arrays_keeps_imaginary_parts(tmp_path):
    arrays = read_mat_arrays(_saved(tmp_path, extra=np.array([[1.0 + 2.0j]]), text="abc"))
    assert arrays["extra"][0, 0] == 1.0 + 2.0j
    assert "text" not in arrays  # text is not parsed as numbers


@pytest.mark.parametrize(
    ("dt", "match"),
    [
        ("abc", "dt is text"),
        ("0.1", "dt is text"),  # never parsed from text
        ({"x": 1.0}, "dt is a struct"),
        (np.nan, "dt = \\[nan\\]"),
        (np.inf, "dt = \\[inf\\]"),
        (-2.0, "dt = \\[-2.0\\]"),
        ([0.1, 0.2], "expected one number"),
        (np.zeros((0, 0)), "empty"),
        (0.1 + 0.1j, "complex"),
    ],
)
def test_bad_sampling_times_are_refused(tmp_path, dt, match):
    with pytest.raises(mor.MORError, match=match):
        load_mat_system(_saved(tmp_path, dt=dt))


def test_non_numeric_matrix_is_named(tmp_path):
    with pytest.raises(mor.StateDimensionError, match="A is text"):
        load_mat_system(_saved(tmp_path, A="abc"))


def test_sampling_time_conventions(tmp_path):
    # 0: continuous time; -1: MATLAB's unspecified sampling time, python-control's dt=True
    assert load_mat_system(_saved(tmp_path, dt=0.0)).dt == 0
    stable_dt = {"A": 0.5 * np.eye(2)}
    assert load_mat_system(_saved(tmp_path, dt=-1.0, **stable_dt)).dt is True
    assert load_mat_system(_saved(tmp_path, dt=0.25, **stable_dt)).dt == 0.25
