"""After-update balanced truncation: a diagonal layer with the same D, and its certificate."""

from __future__ import annotations

import math
import warnings

import control
import numpy as np
import pytest
import scipy.linalg

import mor
from mor.after_update import (
    after_update_balanced_truncation,
    after_update_error_bounds,
    after_update_hankel_singular_values,
    decoupled_blocks,
    error_bound_factor,
    reduction_error,
)
from mor.balanced_selection import LayerReductor, apply_plan
from mor.systems import real_block_form

RTOL = 1e-8  # slack of "exact ≤ bound" for the floating-point evaluation of both sides


def layer(n=6, m=2, p=2, *, bidirectional=False, seed=0, after=True):
    """A random stable DT layer of n pair units (S5-like: complex B, C; diagonal D)."""
    rng = np.random.default_rng(seed)
    poles = rng.uniform(0.3, 0.98, n) * np.exp(1j * rng.uniform(0.05, 3.0, n))
    B = rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m))
    C = rng.standard_normal((p, n)) + 1j * rng.standard_normal((p, n))
    Cb = rng.standard_normal((p, n)) + 1j * rng.standard_normal((p, n)) if bidirectional else None
    D = np.diag(rng.standard_normal(p)) if p == m else rng.standard_normal((p, m))
    return mor.ModalSystem(poles, B, C, D, 1, pair=True, C_backward=Cb,
                           output_after_update=after, name="layer 3")


def exact_error(full, reduced):
    return mor.hinf_norm(reduction_error(full, reduced))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("m", [1, 2])
def test_every_order_keeps_the_structure_and_its_certificate(bidirectional, m):
    full = layer(m=m, p=m, bidirectional=bidirectional, seed=m)
    hsv = after_update_hankel_singular_values(full)
    factor = error_bound_factor(bidirectional, m)
    for order in range(1, full.nstates):
        red = after_update_balanced_truncation(full, order)
        s = red.system
        assert s.nstates == order and red.order == order
        assert s.output_after_update and s.bidirectional == bidirectional
        np.testing.assert_array_equal(s.D, full.D)  # the layer's own diagonal D
        assert red.bound == pytest.approx(factor * hsv[order:].sum(), rel=1e-12)
        assert exact_error(full, s) <= red.bound * (1 + RTOL)


def test_the_exact_error_is_the_textbook_one():
    """Independent oracles: AB09AD on the stacked real triple, AB13DD on the error."""
    full = layer(m=2, p=2, seed=5)
    A, B, C = real_block_form(full.poles, full.B, full.C, full.pair)
    w = np.linspace(0.01, 3.1, 40)
    z = np.exp(1j * w)
    for order in (3, 6, 9):
        red = after_update_balanced_truncation(full, order).system
        bt = mor.balanced_truncation(control.ss(A, B, C, 0, 1), order)
        ref = np.stack([zk * (bt.C @ np.linalg.solve(zk * np.eye(order) - bt.A, bt.B)) + full.D
                        for zk in z], axis=-1)
        got = red.frequency_response(w)
        assert np.max(np.abs(got - ref)) <= 1e-10 * np.max(np.abs(ref))
        err = reduction_error(full, red)
        slicot = mor.hinf_norm(err.standard_form(), method="slicot")
        assert mor.hinf_norm(err) == pytest.approx(slicot, rel=1e-6)


def test_hankel_values_are_those_of_the_markov_parameters_of_h():
    """σ of H(z) = C(zI − Λ)⁻¹B̄: singular values of the Hankel matrix [C Λ^{i+j} B̄]."""
    full = layer(n=4, m=2, p=2, seed=7)
    A, B, C = real_block_form(full.poles, full.B, full.C, full.pair)
    hsv = after_update_hankel_singular_values(full)
    K = 150  # |λ| ≤ 0.98: 0.98^300 ≈ 2e-3 relative, tail of the values below 1e-6
    markov = [C @ np.linalg.matrix_power(A, k) @ B for k in range(2 * K)]
    hankel = np.block([[markov[i + j] for j in range(K)] for i in range(K)])
    sv = np.linalg.svd(hankel, compute_uv=False)[: hsv.size]
    np.testing.assert_allclose(sv[:4], hsv[:4], rtol=1e-6)


def test_slow_modes_keep_their_certificate():
    """Poles 1e-7 from the unit circle (S5 with clip_eigs): values and bound stay accurate."""
    rng = np.random.default_rng(3)
    mu = -np.logspace(-7, -1, 8) + 1j * rng.uniform(0.01, 3.0, 8)
    full = mor.ModalSystem.from_continuous_parameters(
        mu, rng.standard_normal((8, 2)) + 1j * rng.standard_normal((8, 2)),
        rng.standard_normal((2, 8)) + 1j * rng.standard_normal((2, 8)), np.diag([0.3, 0.5]),
        step=1.0)
    hsv = after_update_hankel_singular_values(full)
    # closed-form Gramians of the expanded complex modes (MATH.md §4), no Lyapunov solve
    _, B, C, _ = full.expanded_modes()
    logs = full.expanded_log_poles()
    P = (B @ B.conj().T) * (-1.0 / np.expm1(logs[:, None] + np.conj(logs)[None, :]))
    Q = (C.conj().T @ C) * (-1.0 / np.expm1(np.conj(logs)[:, None] + logs[None, :]))
    closed = np.sort(np.sqrt(np.abs(np.linalg.eigvals(P @ Q))))[::-1]
    np.testing.assert_allclose(hsv[:8], closed[:8], rtol=1e-7)
    for order in (2, 6, 12):
        red = after_update_balanced_truncation(full, order)
        assert exact_error(full, red.system) <= red.bound * (1 + RTOL)


def test_bidirectional_layers_need_more_than_two_sigma():
    """2 Σ σ of the stacked system does not bound a bidirectional layer's error.

    One real mode λ = 0.9, b = c = c_b = 1 removed: σ = √2/(1 − λ²), error 2/(1 − λ) at
    ω = 0.  And a genuine truncation (3 real modes to 1) that exceeds 2 Σ σ by 38 %.
    """
    one = mor.ModalSystem([0.9], [[1.0]], [[1.0]], [[0.0]], 1, C_backward=[[1.0]],
                          output_after_update=True)
    (sigma,) = after_update_hankel_singular_values(one)
    assert sigma == pytest.approx(math.sqrt(2.0) / (1 - 0.81), rel=1e-12)
    assert mor.hinf_norm(one) == pytest.approx(20.0, rel=1e-9)
    assert 2 * sigma < 15.0 < 20.0 <= error_bound_factor(True, 1) * sigma
    three = mor.ModalSystem([0.956, 0.839, 0.844], [[2.78], [-0.42], [0.68]],
                            [[-0.03, -0.37, 1.34]], [[0.0]], 1,
                            C_backward=[[-0.035, -0.36, -0.99]], output_after_update=True)
    hsv = after_update_hankel_singular_values(three)
    red = after_update_balanced_truncation(three, 1)
    exact = exact_error(three, red.system)
    assert exact > 1.3 * 2 * hsv[1:].sum()
    assert exact <= red.bound * (1 + RTOL)
    assert red.factor == pytest.approx(2 * math.sqrt(2))


def multi_siso(H=3, N=3, seed=11, bidirectional=False):
    """An S4D-like layer: H channels, N pair units each, one-hot B rows and C columns."""
    rng = np.random.default_rng(seed)
    units = H * N
    channel = np.repeat(np.arange(H), N)
    poles = rng.uniform(0.4, 0.97, units) * np.exp(1j * rng.uniform(0.1, 3.0, units))
    B = np.zeros((units, H), complex)
    B[np.arange(units), channel] = rng.standard_normal(units) + 1j * rng.standard_normal(units)
    C = np.zeros((H, units), complex)
    C[channel, np.arange(units)] = rng.standard_normal(units) + 1j * rng.standard_normal(units)
    Cb = None
    if bidirectional:
        Cb = np.zeros((H, units), complex)
        Cb[channel, np.arange(units)] = rng.standard_normal(units) + 1j * rng.standard_normal(units)
    return mor.ModalSystem(poles, B, C, np.diag(rng.standard_normal(H)), 1, pair=True,
                           C_backward=Cb, output_after_update=True, name="layer 1")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_decoupled_channels_are_reduced_channel_by_channel(bidirectional):
    full = multi_siso(bidirectional=bidirectional)
    blocks = decoupled_blocks(full)
    assert [b.units.tolist() for b in blocks] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert [b.inputs.tolist() for b in blocks] == [[0], [1], [2]]
    hsv = after_update_hankel_singular_values(full)
    for order in (4, 9, 13):
        red = after_update_balanced_truncation(full, order)
        s = red.system
        assert s.nstates == order == sum(red.block_orders)
        # every reduced mode lies in one channel: B row and C column(s) on one index
        for i in range(s.nunits):
            used = np.flatnonzero((s.B[i] != 0) | (s.C[:, i] != 0) | (
                False if s.C_backward is None else s.C_backward[:, i] != 0))
            assert used.size == 1
        # the block orders are those of one ranking of all the values
        kept = np.sort(np.concatenate([h[:r] for h, r in zip(red.block_hsv, red.block_orders,
                                                               strict=True)]))[::-1]
        np.testing.assert_allclose(kept, hsv[:order], rtol=1e-12)
        factor = error_bound_factor(bidirectional, 1)
        tails = [factor * h[r:].sum() for h, r in zip(red.block_hsv, red.block_orders,
                                                        strict=True)]
        assert red.bound == pytest.approx(max(tails), rel=1e-12)
        assert red.bound <= factor * hsv[order:].sum() * (1 + 1e-12)
        assert exact_error(full, s) <= red.bound * (1 + RTOL)


def test_full_order_is_the_layer_itself_and_a_rank_deficient_layer_warns():
    full = layer(n=3, m=1, p=1, seed=2)
    same = after_update_balanced_truncation(full, full.nstates).system
    np.testing.assert_array_equal(same.poles, full.poles)
    np.testing.assert_array_equal(same.C, full.C)
    assert after_update_balanced_truncation(full, full.nstates).bound == 0.0
    # a unit with a zero C column is unobservable: its states have σ = 0
    C = full.C.copy()
    C[:, 2] = 0
    deficient = mor.ModalSystem(full.poles, full.B, C, full.D, 1, pair=True,
                                output_after_update=True)
    with pytest.warns(UserWarning, match="numerically minimal"):
        red = after_update_balanced_truncation(deficient, 5)
    assert red.system.nstates == 4


def test_unstable_units_are_kept_whole():
    s = layer(n=4, m=1, p=1, seed=4)
    poles = s.poles.copy()
    poles[1] = 1.01 * np.exp(0.3j)
    unstable = mor.ModalSystem(poles, s.B, s.C, s.D, 1, pair=True, output_after_update=True,
                               allow_unstable=True, name="layer 0")
    red = after_update_balanced_truncation(unstable, 4)
    assert red.system.nstates == 4 and red.system.unstable.sum() == 1
    assert poles[1] in red.system.poles
    with pytest.raises(mor.StateDimensionError, match="layer 0: order = 1 is below the 2"):
        after_update_balanced_truncation(unstable, 1)


def test_error_bounds_for_every_order_and_tolerance():
    full = layer(seed=9)
    bounds = after_update_error_bounds(full)
    assert bounds.shape == (full.nstates + 1,) and bounds[-1] == 0.0
    assert np.all(np.diff(bounds) <= 0)
    for tol in (bounds[3] * 1.0001, bounds[7], 1e9):
        r = LayerReductor(full).order_for_tolerance(tol)
        assert bounds[r] <= tol and (r == 1 or bounds[r - 1] > tol)
        red = after_update_balanced_truncation(full, r)
        assert exact_error(full, red.system) <= tol * (1 + RTOL)
    with pytest.raises(mor.RatioError, match="tol"):
        LayerReductor(full).order_for_tolerance(-1.0)


def test_standard_form_layers_get_ordinary_balanced_truncation():
    """Without output_after_update the same function is textbook BT with D kept."""
    full = layer(after=False, seed=12)
    for order in (2, 5):
        red = after_update_balanced_truncation(full, order).system
        assert not red.output_after_update
        ref = mor.balanced_truncation(full, order)
        w = np.linspace(0.05, 3.0, 20)
        np.testing.assert_allclose(red.frequency_response(w),
                                   control.frequency_response(ref, w).complex
                                   .reshape(red.frequency_response(w).shape), rtol=1e-8)


def test_bad_orders_are_refused_with_the_layer_name():
    full = layer()
    for bad in (0, full.nstates + 1, 2.0, True):
        with pytest.raises(mor.StateDimensionError, match="layer 3: order"):
            after_update_balanced_truncation(full, bad)


def test_plans_reduce_after_update_layers_with_the_same_d():
    """mor.prune / KeepPlan.apply use the structure-preserving reduction for S5/S4D layers."""
    stack = [layer(seed=1), layer(bidirectional=True, seed=2)]
    plan = mor.prune(stack, "balanced_truncation", ratio=0.5)
    assert plan.kind == "balanced" and plan.kept_counts == (6, 6)
    np.testing.assert_allclose(plan.scores[1], after_update_hankel_singular_values(stack[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reduced = apply_plan(plan, stack)
    for full, red in zip(stack, reduced, strict=True):
        assert red.output_after_update and red.nstates == 6
        np.testing.assert_array_equal(red.D, full.D)


def test_unstable_layers_have_a_finite_certified_error():
    """The unstable units are kept whole and cancel exactly in the error system."""
    s = layer(n=5, m=1, p=1, seed=6)
    poles = s.poles.copy()
    poles[0] = 1.02 * np.exp(0.4j)
    unstable = mor.ModalSystem(poles, s.B, s.C, s.D, 1, pair=True, output_after_update=True,
                               allow_unstable=True)
    for order in (4, 6):
        red = after_update_balanced_truncation(unstable, order)
        err = reduction_error(unstable, red.system)
        assert err.is_stable
        assert mor.hinf_norm(err) <= red.bound * (1 + RTOL)


def test_threshold_and_tolerance_select_orders_layer_by_layer():
    """Prefix-normalised Hankel values with one global threshold (aire-prune eq. 11) and the
    per-layer error budget tol (certified H∞ error ≤ tol)."""
    stack = [layer(seed=21), layer(n=4, seed=22), multi_siso(seed=23)]
    plan = mor.prune(stack, "balanced_truncation", threshold=0.05)
    for keep, key in zip(plan.keep, plan.normalized_scores, strict=True):
        key = np.asarray(key)
        assert len(keep) == max(1, int(np.sum(key >= 0.05)))
        assert np.all(np.diff(key) <= 1e-15)  # non-increasing: a prefix is kept
    tol = 0.5
    plan = mor.prune(stack, "balanced_truncation", tol=tol)
    for sys, keep in zip(stack, plan.keep, strict=True):
        red = after_update_balanced_truncation(sys, len(keep))
        assert red.bound <= tol
        assert exact_error(sys, red.system) <= tol
        if len(keep) > 1:  # one state fewer would break the budget
            assert after_update_balanced_truncation(sys, len(keep) - 1).bound > tol
    with pytest.raises(mor.RatioError, match="exactly one"):
        mor.prune(stack, "balanced_truncation", ratio=0.5, tol=1.0)


def solved_hankel_values(A, B, C):
    """Hankel singular values of a real DT triple from directly solved Gramians (Kronecker form)."""
    P = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T, method="direct")
    Q = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C, method="direct")
    return np.sqrt(np.abs(np.sort(np.linalg.eigvals(P @ Q).real)[::-1]))


def test_hankel_values_of_a_nearly_real_pair_match_solved_gramians():
    # a pair at 0.999 ± 1.35e-80j among three other units: SLICOT SB03OD's factors gave
    # σ₁ = 455.6 for 1440.15
    from tests.mor.test_norms import _NEARLY_REAL_PAIRS

    s = _NEARLY_REAL_PAIRS[0]
    reference = solved_hankel_values(*real_block_form(s.poles, s.B, s.C, s.pair))[:5]
    assert reference[0] == pytest.approx(1440.15, rel=1e-5)
    np.testing.assert_allclose(after_update_hankel_singular_values(s)[:5], reference, rtol=1e-8)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_bound_holds_for_a_nearly_real_pair(order):
    # with SB03OD's factors the certificate at order 1 was 125 for an exact error of 1917
    from tests.mor.test_norms import _NEARLY_REAL_PAIRS

    s = _NEARLY_REAL_PAIRS[0]
    red = after_update_balanced_truncation(s, order)
    reference = solved_hankel_values(*real_block_form(s.poles, s.B, s.C, s.pair))[:5]
    assert red.bound == pytest.approx(2 * np.sum(reference[order:]), rel=1e-7)
    assert exact_error(s, red.system) <= red.bound * (1 + RTOL)
