"""Calibrated energies and Gramians against their definitions and the closed form."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mor
from mor.after_update import after_update_hankel_singular_values, reduction_error
from mor.balanced_selection import apply_plan
from mor.calibrated import (
    LayerMoments,
    StateMomentAccumulator,
    calibrated_balanced_truncation,
    calibrated_energy,
    calibrated_hankel_values,
    closed_form_gramian,
    energy_matrix,
    lyapunov_consistent_factor,
    prune_calibrated,
    state_covariance,
)
from mor.systems import real_block_form


def layer(n=4, m=2, p=2, *, seed=0, bidirectional=False, radius=(0.5, 0.9)):
    rng = np.random.default_rng(seed)
    poles = rng.uniform(*radius, n) * np.exp(1j * rng.uniform(0.1, 3.0, n))
    B = rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m))
    C = rng.standard_normal((p, n)) + 1j * rng.standard_normal((p, n))
    Cb = rng.standard_normal((p, n)) + 1j * rng.standard_normal((p, n)) if bidirectional else None
    return mor.ModalSystem(poles, B, C, np.diag(rng.standard_normal(p)), 1, pair=True,
                           C_backward=Cb, output_after_update=True, name="layer 2")


def moments(sys, u, batch=None):
    acc = StateMomentAccumulator(sys)
    for start in range(0, u.shape[0], batch or u.shape[0]):
        acc.add(u[start:start + (batch or u.shape[0])])
    return acc.result()


def test_white_inputs_give_the_closed_form_gramian():
    """E[x xᴴ] of white inputs (covariance Σ_u) = (B Σ_u Bᴴ) ⊘ (1 − λ_i λ̄_j), averaged over
    the horizon.  Fixed seed; 400 sequences × 200 steps: the relative Frobenius error is a
    sampling error of about 0.5 % (correlation times ≤ 10 steps, 8·10⁴ samples); 2 % is the
    tolerance.  The input covariance is checked the same way."""
    sys = layer()
    L = np.array([[1.0, 0.0], [0.6, 0.5]])
    rng = np.random.default_rng(0)
    u = rng.standard_normal((400, 200, 2)) @ L.T
    m = moments(sys, u, batch=100)
    assert m.samples == 400 * 200
    np.testing.assert_allclose(m.input_cov, L @ L.T, atol=0.02)
    empirical = state_covariance(sys, m)
    closed = closed_form_gramian(sys, L @ L.T, horizon=200)
    assert np.linalg.norm(empirical - closed) <= 0.02 * np.linalg.norm(closed)
    stationary = closed_form_gramian(sys, L @ L.T)
    # the horizon average is below the stationary value by the transient, ~ 1/L
    assert np.linalg.norm(closed - stationary) < 0.05 * np.linalg.norm(stationary)


def test_backward_moments_are_those_of_the_reversed_scan():
    sys = layer(bidirectional=True, seed=1)
    u = np.random.default_rng(2).standard_normal((300, 200, 2))
    m = moments(sys, u)
    closed = closed_form_gramian(sys, np.eye(2), horizon=200)
    for direction in (0, 1):
        emp = state_covariance(sys, m, direction=direction)
        assert np.linalg.norm(emp - closed) <= 0.03 * np.linalg.norm(closed)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_calibrated_energy_is_the_output_energy_of_each_unit(bidirectional):
    """Brute force: simulate each unit alone and accumulate ‖y_i‖² over steps and examples."""
    sys = layer(n=5, seed=3, bidirectional=bidirectional)
    rng = np.random.default_rng(4)
    u = rng.standard_normal((3, 40, 2)) * [1.0, 0.2] + 0.3  # coloured, not zero-mean
    m = moments(sys, u)

    def unit_output(i, v):
        x = np.zeros(v.shape[0], complex)
        out = np.empty((v.shape[0], v.shape[1], sys.noutputs))
        for k in range(v.shape[1]):
            x = sys.poles[i] * x + v[:, k] @ sys.B[i]
            out[:, k] = 2 * np.real(np.outer(x, sys.C[:, i]))
        return out

    def unit_output_both(i):
        y = unit_output(i, u)
        if bidirectional:
            cb = mor.ModalSystem([sys.poles[i]], sys.B[i:i + 1], sys.C_backward[:, i:i + 1],
                                 dt=1, pair=True, output_after_update=True)
            x = np.zeros(u.shape[0], complex)
            back = np.empty_like(y)
            for k in reversed(range(u.shape[1])):
                x = cb.poles[0] * x + u[:, k] @ cb.B[0]
                back[:, k] = 2 * np.real(np.outer(x, cb.C[:, 0]))
            y = y + back
        return y

    outputs = [unit_output_both(i) for i in range(sys.nunits)]
    brute = np.array([np.mean(np.sum(y**2, axis=-1)) for y in outputs])
    np.testing.assert_allclose(calibrated_energy(sys, m), brute, rtol=1e-10)
    cross = np.array([[np.mean(np.sum(a * b, axis=-1)) for b in outputs] for a in outputs])
    np.testing.assert_allclose(energy_matrix(sys, m), cross, rtol=1e-10, atol=1e-12)


def test_white_stationary_calibration_recovers_balanced_truncation():
    """Long white sequences: the calibrated Hankel values approach the white-noise ones."""
    sys = layer(n=3, seed=5)
    u = np.random.default_rng(6).standard_normal((200, 400, 2))
    m = moments(sys, u)
    np.testing.assert_allclose(calibrated_hankel_values(sys, m)[:4],
                               after_update_hankel_singular_values(sys)[:4], rtol=0.05)


def test_lyapunov_consistent_factor_of_a_true_gramian_is_exact():
    sys = layer(n=3, seed=7)
    A, B, _ = real_block_form(sys.poles, sys.B, sys.C, sys.pair)
    from scipy.linalg import solve_discrete_lyapunov

    P = solve_discrete_lyapunov(A, B @ B.T)
    Lc = lyapunov_consistent_factor(A, P)
    np.testing.assert_allclose(Lc @ Lc.T, P, rtol=1e-9, atol=1e-12 * np.abs(P).max())


def test_calibrated_reduction_keeps_the_structure_and_plans_apply():
    stack = [layer(n=5, seed=8), layer(n=4, seed=9, bidirectional=True)]
    rng = np.random.default_rng(10)
    u = rng.standard_normal((20, 60, 2)) * [1.0, 0.05]  # the second input barely used
    cal = [moments(s, u) for s in stack]
    for sys, m in zip(stack, cal, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            red = calibrated_balanced_truncation(sys, 4, m)
        assert red.system.nstates == 4 and red.system.is_stable and np.isnan(red.bound)
        np.testing.assert_array_equal(red.system.D, sys.D)
        assert np.isfinite(mor.hinf_norm(reduction_error(sys, red.system)))
    plan = prune_calibrated(stack, "balanced_truncation_calibrated", cal, 0.5)
    assert plan.kind == "balanced" and plan.kept_counts == (5, 4)
    with pytest.raises(mor.PlanMismatchError, match="calibration"):
        apply_plan(plan, stack)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = apply_plan(plan, stack, cal)
    assert [r.nstates for r in reduced] == [5, 4]
    energy = prune_calibrated(stack, "aire_calibrated", cal, 0.5)
    assert energy.kind == "modal" and sum(energy.kept_counts) == mor.kept_count([5, 4], 0.5)
    np.testing.assert_allclose(energy.scores[0], calibrated_energy(stack[0], cal[0]))
    with pytest.raises(mor.StateDimensionError, match="another layer"):
        prune_calibrated(stack, "aire_calibrated", cal[::-1], 0.5)
    with pytest.raises(mor.UnknownMethodError):
        prune_calibrated(stack, "aire", cal, 0.5)


def test_moments_round_trip_as_plain_arrays():
    sys = layer(seed=11, bidirectional=True)
    m = moments(sys, np.random.default_rng(12).standard_normal((2, 10, 2)))
    arrays = m.to_arrays("layer0_")
    assert all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays.values())
    back = LayerMoments.from_arrays(arrays, "layer0_")
    assert back.samples == m.samples
    for a, b in zip(back.blocks, m.blocks, strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_unstable_calibrated_reduction_falls_back_to_the_consistent_gramian(monkeypatch):
    """The guard: if the empirical Gramian gave a pole with |λ̄| ≥ 1, the layer is reduced
    again with the Lyapunov-consistent Gramian (stable by construction), with a warning."""
    import mor.calibrated as mc

    sys = layer(n=4, seed=13)
    m = moments(sys, np.random.default_rng(14).standard_normal((4, 30, 2)))
    real = mc.balance
    calls = []

    class FirstUnstable:  # the balancing calibrated_balanced_truncation truncates
        def __init__(self, s, controllability_factors):
            self.inner = real(s, controllability_factors=controllability_factors)

        def hankel_singular_values(self):
            return self.inner.hankel_singular_values()

        def truncate(self, order):
            red = self.inner.truncate(order)
            if len(calls) == 1:  # pretend the empirical Gramian gave an unstable pole
                bad = red.system.poles.copy()
                bad[0] = 1.05 * bad[0] / abs(bad[0])
                unstable = mor.ModalSystem(bad, red.system.B, red.system.C, red.system.D, 1,
                                           pair=red.system.pair, output_after_update=True,
                                           allow_unstable=True)
                return type(red)(unstable, *[getattr(red, f) for f in (
                    "requested_order", "hsv", "block_hsv", "block_orders", "bound", "factor")])
            return red

    def first_unstable(s, *, controllability_factors):
        calls.append(controllability_factors)
        return FirstUnstable(s, controllability_factors)

    monkeypatch.setattr(mc, "balance", first_unstable)
    with pytest.warns(UserWarning, match="Lyapunov-consistent"):
        red = calibrated_balanced_truncation(sys, 4, m)
    assert len(calls) == 2 and red.system.is_stable
    expected = mc._factors(sys, m, consistent=True)
    np.testing.assert_allclose(calls[1][0] @ calls[1][0].T, expected[0] @ expected[0].T)


def test_lyapunov_consistent_factor_of_a_nearly_real_pair_is_exact():
    # SB03OD's factor was 0.86‖P‖ off for a pair at 0.999 ± 1.35e-80j among three other units
    from scipy.linalg import solve_discrete_lyapunov

    from tests.mor.test_norms import _NEARLY_REAL_PAIRS

    s = _NEARLY_REAL_PAIRS[0]
    A, B, _ = real_block_form(s.poles, s.B, s.C, s.pair)
    P = solve_discrete_lyapunov(A, B @ B.T, method="direct")
    Lc = lyapunov_consistent_factor(A, P)
    assert np.linalg.norm(Lc @ Lc.T - P) <= 1e-10 * np.linalg.norm(P)


def test_calibrated_values_with_the_true_gramian_are_the_hankel_values():
    # moments equal to the controllability Gramian (white unit input, stationary): the
    # calibrated values are the Hankel singular values.  Units with a pair at
    # 0.999 ± 1.35e-80j and real C = Bᵀ, where SB03OD's observability factor was 0.88‖Q‖
    # off and the values came out 111, 28.6, 1.23 for 289, 53.0, 4.75
    from scipy.linalg import solve_discrete_lyapunov

    from tests.mor.test_after_update import solved_hankel_values
    from tests.mor.test_norms import _NEARLY_REAL_PAIRS

    s = _NEARLY_REAL_PAIRS[0]
    C = np.where(s.pair[:, None], s.B.conj() / 2, s.B).T  # real block form: C = Bᵀ
    dual = mor.ModalSystem(s.poles, s.B, C, dt=1, pair=s.pair)
    A, B, Cr = real_block_form(dual.poles, dual.B, dual.C, dual.pair)
    np.testing.assert_array_equal(Cr, B.T)
    P = solve_discrete_lyapunov(A, B @ B.T, method="direct")
    moments = LayerMoments((P,), 1, np.eye(1))
    np.testing.assert_allclose(calibrated_hankel_values(dual, moments)[:5],
                               solved_hankel_values(A, B, Cr)[:5], rtol=1e-8)
