"""python-control in and out: LTI systems, names, ``mor.reduce``, unstable systems, files.

Oracles are independent of the code under test: python-control's own norms and frequency
responses, closed forms, the descriptor transfer function ``C(sE − A)⁻¹B`` evaluated
directly, and bit-exact round trips.
"""

from __future__ import annotations

import inspect
import json
import warnings

import control
import numpy as np
import pytest
import scipy.io

import mor
from mor.exceptions import InputFileError, InputTypeError, UnstableModeWarning
from mor.reduction import Reductor, stable_unstable_split


def _plant() -> control.TransferFunction:
    """1/((s+1)(s+2)) named as a control user names it."""
    return control.tf([1], [1, 3, 2], name="plant", inputs="f", outputs="tau")


def _mimo(n: int = 8, dt=0, seed: int = 0) -> control.StateSpace:
    """A stable, generic 2×2 system with distinct real and complex poles."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k in range(n // 2):
        a, b = -0.3 - 0.4 * k, 0.5 + k
        blocks.append(np.array([[a, -b], [b, a]]) if k % 2 else np.diag([a, 2 * a - 0.1]))
    A = np.zeros((n, n))
    for k, blk in enumerate(blocks):
        A[2 * k:2 * k + 2, 2 * k:2 * k + 2] = blk
    T = rng.standard_normal((n, n)) + 3 * np.eye(n)
    A = T @ A @ np.linalg.inv(T)
    B, C = rng.standard_normal((n, 2)), rng.standard_normal((2, n))
    D = 0.1 * rng.standard_normal((2, 2))
    sys = control.ss(A, B, C, D, name="rig", inputs=["force", "torque"],
                     outputs=["pos", "angle"])
    if dt:
        sys = control.c2d(sys, dt, method="zoh")
        sys = control.ss(sys.A, sys.B, sys.C, sys.D, dt, name="rig",
                         inputs=["force", "torque"], outputs=["pos", "angle"])
    return sys


def _response(sys, w: np.ndarray) -> np.ndarray:
    """Frequency response by python-control (the oracle), shape (p, m, len(w))."""
    return np.asarray(control.frequency_response(sys, w).complex).reshape(
        sys.noutputs, sys.ninputs, w.size)


# ---------------------------------------------------------------------- point 1: LTI in/out
def test_a_transfer_function_is_accepted_by_norms_and_the_modal_form():
    tf = _plant()
    assert mor.hinf_norm(tf) == pytest.approx(0.5, rel=1e-9)  # the DC gain 1/2
    assert mor.h2_norm(tf) == pytest.approx(control.system_norm(tf, p=2), rel=1e-10)
    assert mor.h2_norm(tf) == pytest.approx(1 / np.sqrt(12), rel=1e-12)  # closed form
    hsv = mor.hankel_singular_values(tf)
    assert hsv == pytest.approx(mor.hankel_singular_values(control.ss(tf)), rel=1e-12)
    modal = mor.ModalSystem.from_statespace(tf)
    assert np.sort(modal.poles.real) == pytest.approx([-2.0, -1.0])


def test_names_survive_the_round_trip_through_the_modal_form():
    tf = _plant()
    modal = mor.ModalSystem.from_statespace(tf)
    assert (modal.name, modal.input_labels, modal.output_labels) == ("plant", ("f",), ("tau",))
    back = modal.to_statespace()
    assert (back.name, back.input_labels, back.output_labels) == ("plant", ["f"], ["tau"])
    assert back.state_labels == ["unit[0]", "unit[1]"]
    again = mor.ModalSystem.from_statespace(back).to_statespace()
    assert again.state_labels == back.state_labels  # the modal form's own state names
    sys = _mimo()
    m = mor.ModalSystem.from_statespace(sys)
    assert m.input_labels == ("force", "torque") and m.output_labels == ("pos", "angle")
    assert m.subsystem([0, 1]).input_labels == ("force", "torque")  # operations keep them
    assert len(m.to_statespace().state_labels) == sys.nstates
    # python-control's made-up names are not taken as the user's
    assert mor.ModalSystem.from_statespace(control.ss([[-1.0]], [[1.0]], [[1.0]], 0)).name is None


def test_wrong_signal_names_are_refused():
    with pytest.raises(mor.StateDimensionError, match="2 inputs names for 1 inputs"):
        mor.ModalSystem([-1.0], [[1.0]], [[1.0]], inputs=["a", "b"])
    with pytest.raises(InputTypeError, match="must be strings"):
        mor.ModalSystem([-1.0], [[1.0]], [[1.0]], outputs=[3])


def test_frequency_response_data_and_bode_plot_through_the_adapter():
    sys = _mimo()
    modal = mor.ModalSystem.from_statespace(sys)
    w = np.logspace(-2, 2, 40)
    frd = modal.to_frd(w)
    assert isinstance(frd, control.FrequencyResponseData)
    assert frd.input_labels == ["force", "torque"]
    assert np.allclose(np.asarray(frd.complex).reshape(2, 2, -1), _response(sys, w),
                       rtol=1e-9, atol=1e-12)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    control.bode_plot(frd)  # what failed on the ModalSystem itself
    control.singular_values_plot(modal.to_statespace(), w)
    plt.close("all")


def test_arithmetic_gives_the_error_system():
    sys = _mimo()
    modal = mor.ModalSystem.from_statespace(sys)
    reduced = modal.subsystem([0, 2])
    error = modal - reduced
    assert isinstance(error, mor.ModalSystem) and error.nunits == modal.nunits + 2
    w = np.logspace(-2, 2, 30)
    assert np.allclose(error.frequency_response(w),
                       modal.frequency_response(w) - reduced.frequency_response(w),
                       rtol=1e-10, atol=1e-12)
    removed = modal.subsystem([k for k in range(modal.nunits) if k not in (0, 2)])
    exact = mor.hinf_norm(mor.ModalSystem(removed.poles, removed.B, removed.C,
                                          pair=removed.pair))  # Σ removed units, D = 0
    assert mor.hinf_norm(error, method="slicot") == pytest.approx(exact, rel=1e-7)
    # with a python-control system on either side: a StateSpace
    assert isinstance(sys - modal, control.StateSpace)
    assert isinstance(modal - sys, control.StateSpace)
    assert mor.hinf_norm(control.ss(sys.A, sys.B, sys.C, sys.D) - reduced) == pytest.approx(
        mor.hinf_norm(error, method="slicot"), rel=1e-7)


def test_modal_truncation_of_a_statespace_says_what_to_do():
    with pytest.raises(InputTypeError, match=r"mor\.reduce"):
        mor.modal_truncation(_mimo(), [0])


def test_frequency_data_is_refused_with_a_reason():
    frd = control.frd(_plant(), np.logspace(-1, 1, 5))
    with pytest.raises(InputTypeError, match="no state-space realisation"):
        mor.hinf_norm(frd)
    with pytest.raises(InputTypeError, match="expected a python-control LTI"):
        mor.ModalSystem.from_statespace(np.eye(2))


def test_load_mat_system_is_exported():
    from mor.benchmarks import load_mat_system

    assert mor.load_mat_system is load_mat_system and "load_mat_system" in mor.__all__


def _public_functions():
    for name in mor.__all__:
        obj = getattr(mor, name)
        if inspect.isfunction(obj):
            yield name, obj
    for cls in (mor.ModalSystem, mor.Reductor):
        for name, obj in vars(cls).items():
            func = obj.__func__ if isinstance(obj, classmethod | staticmethod) else obj
            if not name.startswith("_") and inspect.isfunction(func):
                yield f"{cls.__name__}.{name}", func


@pytest.mark.parametrize("name, func", list(_public_functions()), ids=lambda x: str(x))
def test_public_functions_have_numpydoc_parameters_and_returns(name, func):
    doc = inspect.getdoc(func) or ""
    params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    if params:
        assert "Parameters\n----------" in doc, f"{name}: no Parameters section"
        missing = [p for p in params if not any(
            line.split(":")[0].strip().lstrip("*") == p or p in
            [x.strip() for x in line.split(":")[0].split(",")]
            for line in doc.splitlines() if ":" in line or "," in line)]
        assert not missing, f"{name}: parameters {missing} are not documented"
    assert "Returns\n-------" in doc, f"{name}: no Returns section"


# ---------------------------------------------------------------------- point 2: mor.reduce
@pytest.mark.parametrize("dt", [0, 0.1])
def test_reduce_keeps_dt_and_names_and_its_bound_holds(dt):
    sys = _mimo(10, dt=dt)
    reduced, info = mor.reduce(sys, order=4, return_info=True)
    assert isinstance(reduced, control.StateSpace) and reduced.nstates == 4
    assert reduced.dt == sys.dt and reduced.name == "rig"
    assert reduced.input_labels == ["force", "torque"]
    assert reduced.output_labels == ["pos", "angle"]
    exact = mor.hinf_norm(sys - reduced)
    assert exact <= info.bound * (1 + 1e-9)
    hsv = mor.hankel_singular_values(sys)
    assert info.bound == pytest.approx(2 * hsv[4:].sum(), rel=1e-12)


def test_reduce_by_tol_picks_the_smallest_certified_order():
    sys = mor.load_benchmark("build")
    red = Reductor(sys)
    bounds = red.error_bounds()
    hsv = mor.hankel_singular_values(sys)
    assert bounds.shape == (sys.nstates + 1,) and bounds[-1] == 0
    assert np.all(np.diff(bounds) <= 0)
    assert bounds[5] == pytest.approx(2 * hsv[5:].sum(), rel=1e-12)  # pyMOR's error_bounds
    tol = 2e-4
    reduced, info = mor.reduce(sys, tol=tol, return_info=True)
    r = reduced.nstates
    assert bounds[r] <= tol < bounds[r - 1]
    assert info.bound <= tol and info.tol == tol and info.requested_order is None
    assert mor.hinf_norm(sys - reduced) <= tol
    assert np.array_equal(mor.error_bounds(sys), bounds)


def test_reduce_agrees_with_control_balred_on_a_stable_system():
    sys = _mimo(10)
    ours = mor.reduce(sys, order=5)
    theirs = control.balred(control.ss(sys.A, sys.B, sys.C, sys.D), 5)
    w = np.logspace(-2, 2, 50)
    assert np.allclose(_response(ours, w), _response(theirs, w), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("method", ["aire", "last", "balanced_singular_perturbation"])
def test_other_methods_certify_their_error(method):
    sys = _mimo(10)
    reduced, info = mor.reduce(sys, method, order=4, return_info=True)
    assert reduced.nstates <= 4 and reduced.input_labels == ["force", "torque"]
    assert mor.hinf_norm(sys - reduced) <= info.bound * (1 + 1e-9)
    bounds = mor.error_bounds(sys, method)
    assert bounds[reduced.nstates] == pytest.approx(info.bound, rel=1e-12)
    if method != "balanced_singular_perturbation":  # modal: the kept units keep their names
        assert all(s.startswith("unit[") for s in reduced.state_labels)


def test_reduce_argument_errors_name_the_fix():
    sys = _mimo()
    with pytest.raises(mor.StateDimensionError, match=r"exactly one of order= .* and tol="):
        mor.reduce(sys)
    with pytest.raises(mor.StateDimensionError, match=r"1\.\.8"):
        mor.reduce(sys, order=9)
    with pytest.raises(mor.UnknownMethodError, match="balanced_truncation"):
        mor.reduce(sys, "bogus", order=2)
    with pytest.raises(mor.RatioError, match="tol"):
        mor.reduce(sys, tol=-1.0)


# ---------------------------------------------------------------------- point 3: unstable
def _unstable(dt=0) -> control.StateSpace:
    rng = np.random.default_rng(3)
    if dt:
        poles = [0.9, 0.5, -0.3, 0.2, 1.2, 1.05]  # two outside the unit circle
    else:
        poles = [-1.0, -2.0, -3.0, -4.5, 0.5, 1.0]  # two in the right half plane
    A = np.diag(poles) + np.triu(0.3 * rng.standard_normal((6, 6)), 1)
    return control.ss(A, rng.standard_normal((6, 1)), rng.standard_normal((1, 6)), 0.2, dt,
                      name="unstable", inputs="u", outputs="y")


@pytest.mark.parametrize("dt", [0, 0.5])
def test_unstable_part_is_kept_and_the_stable_part_reduced(dt):
    sys = _unstable(dt)
    with pytest.warns(UnstableModeWarning, match="2 unstable state"):
        reduced, info = mor.reduce(sys, order=3, return_info=True)
    assert info.unstable_states == 2 and reduced.nstates == 3
    assert any("kept whole" in note for note in info.notes)
    unstable = [1.2, 1.05] if dt else [0.5, 1.0]
    assert all(np.min(np.abs(np.linalg.eigvals(reduced.A) - p)) < 1e-9 for p in unstable)
    # the error is the stable part's: no unstable pole survives in it, and the bound holds
    w = np.linspace(1e-3, np.pi / dt, 2000) if dt else np.logspace(-3, 3, 2000)
    err = np.abs(_response(sys, w) - _response(reduced, w)).max()
    assert err <= info.bound * (1 + 1e-9)
    assert reduced.dt == sys.dt and reduced.name == "unstable"
    with pytest.raises(mor.StateDimensionError, match="2 unstable state"):
        mor.reduce(sys, order=1)


def test_unstable_reduction_agrees_with_control_balred():
    sys = _unstable()
    with pytest.warns(UnstableModeWarning):
        ours = mor.reduce(sys, order=4)
    theirs = control.balred(control.ss(sys.A, sys.B, sys.C, sys.D), 4)  # AB09MD
    w = np.logspace(-2, 2, 60)
    assert np.allclose(_response(ours, w), _response(theirs, w), rtol=1e-7, atol=1e-10)


def test_the_split_is_additive_and_alpha_moves_the_boundary():
    sys = _unstable()
    stable, unstable = stable_unstable_split(sys)
    w = np.logspace(-2, 2, 40)
    assert np.allclose(_response(stable, w) + _response(unstable, w), _response(sys, w),
                       rtol=1e-9, atol=1e-12)
    assert np.all(np.linalg.eigvals(stable.A).real < 0)
    assert np.all(np.linalg.eigvals(unstable.A).real >= 0)
    with pytest.warns(UnstableModeWarning, match="3 unstable state"):  # -1 is not < -1.5
        _, info = mor.reduce(sys, order=4, alpha=-1.5, return_info=True)
    assert info.unstable_states == 3 and info.alpha == -1.5
    with pytest.raises(mor.RatioError, match="alpha"):
        mor.reduce(sys, order=4, alpha=0.5)


def test_a_modal_method_keeps_unstable_units():
    sys = _unstable()
    with pytest.warns(UnstableModeWarning):
        reduced, info = mor.reduce(sys, "aire", order=3, return_info=True)
    assert info.unstable_states == 2
    assert all(np.min(np.abs(np.linalg.eigvals(reduced.A) - p)) < 1e-9 for p in (0.5, 1.0))
    assert np.isinf(mor.error_bounds(sys, "aire")[1])


# ---------------------------------------------------------------------- point 4: .mat files
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
