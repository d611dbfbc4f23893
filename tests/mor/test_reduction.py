"""mor.reduce and the Reductor (mor/reduction.py): python-control systems in, dt and names
kept, certified bounds, and unstable systems (the stable part reduced, the unstable kept).

Oracles are independent of the code under test: python-control's own norms and frequency
responses, closed forms, the descriptor transfer function ``C(sE − A)⁻¹B`` evaluated
directly, and bit-exact round trips.
"""

from __future__ import annotations

import control
import numpy as np
import pytest

import mor
from mor.exceptions import UnstableModeWarning
from mor.reduction import Reductor, stable_unstable_split

from ._control_systems import _mimo, _response


# ---------------------------------------------------------------- mor.reduce
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


# ---------------------------------------------------------------- unstable systems
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


def test_reduce_keeps_its_certificate_on_a_nearly_real_pair():
    # J's system (found by verification.strategies): SLICOT AB09AD, used by mor.reduce before,
    # gave an order-1 model with exact error 1917 for the certificate 186 (its real-Schur
    # Lyapunov solver is wrong for the pair 0.999 ± 1.35e-80j)
    s = mor.ModalSystem(
        [0.8296215010249236, -0.24610243724207917 + 0.43523969302386528j, 0.95,
         0.999 + 1.3488653200313583e-80j],
        [[-2 + 1.585166990964376j], [0.7799754895166866j], [-2], [0.7546322342695692j]],
        [[0, 1.931782651373584 + 1.931782651373584j, 1.001,
          1.9052436223959088 + 1.9052436223959088j], [-2 - 2j, 0, -2, 0]],
        dt=1, pair=[True, True, False, True]).to_statespace()
    for method in ("balanced_truncation", "balanced_singular_perturbation"):
        for order in (1, 2, 4):
            reduced, info = mor.reduce(s, method, order=order, return_info=True)
            assert reduced.nstates == order
            exact = mor.hinf_norm(s - reduced, method="slicot")
            assert exact <= info.bound * (1 + 1e-8), (method, order, exact, info.bound)
