"""python-control in and out (mor/_lti.py): LTI systems and transfer functions accepted
by the norms and the modal form, signal names kept, frequency data refused with a reason.

Oracles are independent of the code under test: python-control's own norms and frequency
responses, closed forms, the descriptor transfer function ``C(sE − A)⁻¹B`` evaluated
directly, and bit-exact round trips.
"""

from __future__ import annotations

import control
import numpy as np
import pytest

import mor
from mor.exceptions import InputTypeError

from ._control_systems import _mimo, _plant, _response


# ---------------------------------------------------------------- LTI in/out
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
