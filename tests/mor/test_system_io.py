"""mor.system_io: MATLAB .mat system files (load_mat_system, read_mat_arrays), python-control
systems saved and loaded (save_system, load_system) and the layer-stack (.npz) round trip."""

import json
import warnings

import control
import numpy as np
import pytest
import scipy.io

import mor
from mor.exceptions import InputFileError
from mor.system_io import load_mat_system, load_stack, read_mat_arrays, save_stack

from ._control_systems import _mimo, _plant, _response


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


# ---------------------------------------------------------------- layer stacks (.npz)
def _stack():
    a = mor.ModalSystem.from_continuous_parameters(
        [-0.5 + 1j, -0.1 + 3j], np.ones((2, 2)), [[1.0, 0.5j], [0.2, 1.0]], step=0.1)
    b = mor.ModalSystem([0.5, -0.2], [[1.0, 0.0], [0.0, 1.0]], np.eye(2), dt=1,
                        C_backward=np.ones((2, 2)))
    return [a, b]


def test_round_trip(tmp_path):
    stack = _stack()
    save_stack(tmp_path / "s.npz", stack)
    back = load_stack(tmp_path / "s.npz")
    for x, y in zip(stack, back, strict=True):
        w = np.linspace(0, 3, 7)
        np.testing.assert_allclose(x.frequency_response(w), y.frequency_response(w), rtol=1e-14)
        assert x.output_after_update == y.output_after_update
        assert x.bidirectional == y.bidirectional


# ---------------------------------------------------------------- python-control systems






def test_load_mat_system_is_exported():
    from mor.system_io import load_mat_system

    assert mor.load_mat_system is load_mat_system and "load_mat_system" in mor.__all__


# ---------------------------------------------------------------- .mat and .json files
def test_mat_names_are_matched_without_case_and_ts_is_the_sample_time(tmp_path):
    sys = _mimo(dt=0.1)
    path = tmp_path / "lower.mat"
    scipy.io.savemat(path, {"a": sys.A, "b": sys.B, "c": sys.C, "d": sys.D, "Ts": 0.1})
    loaded = mor.load_mat_system(path)
    assert loaded.dt == 0.1 and np.array_equal(loaded.A, sys.A)
    both = tmp_path / "both.mat"
    scipy.io.savemat(both, {"A": sys.A, "a": sys.A, "B": sys.B, "C": sys.C})
    with pytest.raises(mor.StateDimensionError, match="both 'A' and 'a'"):
        mor.load_mat_system(both)
    clash = tmp_path / "clash.mat"
    scipy.io.savemat(clash, {"A": sys.A, "B": sys.B, "C": sys.C, "dt": 0.1, "Ts": 0.2})
    with pytest.raises(mor.StateDimensionError, match="keep one"):
        mor.load_mat_system(clash)
    missing = tmp_path / "missing.mat"
    scipy.io.savemat(missing, {"A": sys.A, "x": sys.B})
    with pytest.raises(mor.StateDimensionError, match=r"lacks B, C \(it holds \['A', 'x'\]\)"):
        mor.load_mat_system(missing)


def test_a_nonsingular_descriptor_matrix_is_applied(tmp_path):
    rng = np.random.default_rng(1)
    sys = _mimo()
    E = np.eye(8) + 0.3 * rng.standard_normal((8, 8))
    path = tmp_path / "desc.mat"
    scipy.io.savemat(path, {"A": sys.A, "B": sys.B, "C": sys.C, "D": sys.D, "E": E})
    loaded = mor.load_mat_system(path)
    for w in (0.1, 1.0, 7.0):  # C (jωE − A)⁻¹ B + D, evaluated directly
        direct = sys.C @ np.linalg.solve(1j * w * E - sys.A, sys.B) + sys.D
        assert np.allclose(_response(loaded, np.array([w]))[:, :, 0], direct, rtol=1e-9)
    singular = tmp_path / "singular.mat"
    E[:, 0] = 0.0
    scipy.io.savemat(singular, {"A": sys.A, "B": sys.B, "C": sys.C, "E": E})
    with pytest.raises(mor.StateDimensionError, match=r"E is singular .*descriptor"):
        mor.load_mat_system(singular)


@pytest.mark.parametrize("suffix", [".mat", ".json"])
@pytest.mark.parametrize("dt", [0, 0.25, True])
def test_saved_systems_come_back_with_dt_and_names(tmp_path, suffix, dt):
    sys = _mimo(6)
    sys = control.ss(sys.A, sys.B, sys.C, sys.D, dt, name="rig", inputs=["force", "torque"],
                     outputs=["pos", "angle"])
    path = mor.save_system(tmp_path / f"model{suffix}", sys)
    back = mor.load_system(path)
    for label in "ABCD":
        assert np.array_equal(getattr(back, label), getattr(sys, label))  # bit for bit
    assert back.dt == sys.dt and (back.dt is True) == (dt is True)
    assert back.name == "rig" and back.input_labels == ["force", "torque"]
    assert back.output_labels == ["pos", "angle"] and back.state_labels == sys.state_labels
    assert [p.name for p in tmp_path.iterdir()] == [f"model{suffix}"]  # no temporary left


def test_system_files_are_checked(tmp_path):
    with pytest.raises(InputFileError, match=r"name it \.mat"):
        mor.save_system(tmp_path / "model.txt", _plant())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputFileError, match=r"mor\.statespace"):
        mor.load_system(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mor.save_system(tmp_path / "tf.json", _plant())  # a TransferFunction is realised
    assert mor.load_system(tmp_path / "tf.json").input_labels == ["f"]


def test_matlab_names_are_read_and_unnamed_signals_get_defaults(tmp_path):
    names = np.empty((2, 1), dtype=object)
    names[0, 0], names[1, 0] = "", "torque"  # MATLAB leaves an unnamed signal ''
    path = tmp_path / "named.mat"
    scipy.io.savemat(path, {"A": -np.eye(2), "B": np.eye(2), "C": np.eye(2),
                            "InputName": names, "outputname": ["pos", "vel"], "Name": "rig"})
    sys = mor.load_mat_system(path)
    assert sys.input_labels == ["u[0]", "torque"] and sys.output_labels == ["pos", "vel"]
    assert sys.name == "rig"
    scipy.io.savemat(path, {"A": -np.eye(2), "B": np.eye(2), "C": np.eye(2),
                            "OutputName": ["pos", "pos"]})
    with pytest.raises(mor.StateDimensionError, match="OutputName should hold 2 distinct"):
        mor.load_mat_system(path)
