"""The wide-layer paths of the modal H∞ method (mor/_hinf_modal.py).

tests/mor/test_norms.py checks the method on small systems (p, m ≤ 3: G(jω) formed densely).
Here: layers wider than 24 channels, where σ_max comes from Golub–Kahan–Lanczos and the peak
from the subspace refinement; the structure-preserving Hamiltonian solver (SLICOT MB03XD
through ctypes) and the LAPACK fallback with its mirror-pair near-axis test.
"""

import numpy as np
import pytest

import mor
from mor import ModalSystem
from mor import _hinf_modal as hm
from mor.systems import real_block_form


def s5_like(nunits, channels, family, seed, *, bidirectional=False):
    """A DT S5-style layer (ZOH, output after the update) of ``nunits`` conjugate pairs."""
    rng = np.random.default_rng(seed)
    if family == "hippo":
        lam = -0.5 + 1j * np.pi * np.arange(nunits)
    else:
        low, high = (-2.0, 0.0) if family == "random" else (-4.0, -2.0)
        lam = -(10.0 ** rng.uniform(low, high, nunits)) + 1j * rng.uniform(0, np.pi * nunits,
                                                                            nunits)
    step = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), nunits))

    def cplx(shape):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    Cb = cplx((channels, nunits)) / np.sqrt(2 * nunits) if bidirectional else None
    return ModalSystem.from_continuous_parameters(
        lam, cplx((nunits, channels)) / np.sqrt(2 * channels),
        cplx((channels, nunits)) / np.sqrt(2 * nunits), np.diag(rng.standard_normal(channels)),
        step=step, C_backward=Cb,
    )


def wide_ct(seed, nreal=3, npairs=9, p=30, m=27):
    """A CT system with real modes and pairs, p ≠ m, no feedthrough."""
    rng = np.random.default_rng(seed)
    n = nreal + npairs
    re = -np.exp(rng.uniform(np.log(1e-3), np.log(3.0), n))
    im = np.where(np.arange(n) < npairs, np.exp(rng.uniform(np.log(0.1), np.log(30.0), n)), 0)
    pair = np.arange(n) < npairs
    B = np.where(pair[:, None], rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m)),
                 rng.standard_normal((n, m)))
    C = np.where(pair[None], rng.standard_normal((p, n)) + 1j * rng.standard_normal((p, n)),
                 rng.standard_normal((p, n)))
    return ModalSystem(re + 1j * im, B, C, None, 0, pair=pair)


CASES = [("hippo", 0), ("random", 1), ("lightly_damped", 2), ("lightly_damped", 3)]


@pytest.mark.parametrize(("family", "seed"), CASES)
def test_wide_layers_agree_with_ab13dd_to_1e_10(family, seed):
    s = s5_like(20, 32, family, seed)
    assert not hm._Evaluator(hm._cayley_parts(s)).dense  # the Lanczos path
    reference = mor.hinf_norm(s, method="slicot", tol=1e-12)
    # AB13DD sees the real block [[r cos θ, −r sin θ], [r sin θ, r cos θ]], whose rounding
    # moves 1 − |λ̄| by ~eps: its value carries a relative error up to ~eps/(1 − |λ̄|)
    # (2.3e-10 on the third case, whose true norm, from the modal data in 34-digit
    # arithmetic, the modal method matches to 1e-16)
    conditioning = 4 * np.finfo(float).eps / np.min(s.decay_gap())
    assert mor.hinf_norm(s, tol=1e-12) == pytest.approx(reference, rel=1e-10 + conditioning)


# (log pole μ, exact ‖G‖∞) of G(z) = R/(z − e^μ) + R̄/(z − e^μ̄), R = 0.3 − 0.7j: the supremum
# of |G(e^{jω})| found by golden-section search in 40-digit arithmetic (mpmath).  Before the
# Cayley map was computed as tanh(μ/2), Re λ_c lost digits and the method was off by 2.7e-8,
# 1.3e-9 and 2.8e-10; AB13DD on the real realisation is off by 1.1e-7, 7.0e-10, 2.6e-9.
LIGHTLY_DAMPED_PAIRS = [(-1e-9 + 1.0j, 761577310.8816194), (-1e-7 + 2.5j, 7615772.854916136),
                        (-3e-8 + 0.3j, 25385911.362459293)]


@pytest.mark.parametrize(("mu", "exact"), LIGHTLY_DAMPED_PAIRS)
def test_lightly_damped_pair_has_full_relative_accuracy(mu, exact):
    s = ModalSystem([np.exp(mu)], [[1.0]], [[0.3 - 0.7j]], None, 1, pair=[True], log_poles=[mu])
    assert mor.hinf_norm(s) == pytest.approx(exact, rel=4e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_ct_systems_agree_with_ab13dd(seed):
    s = wide_ct(seed)
    reference = mor.hinf_norm(s, method="slicot")
    value, peak = mor.hinf_norm(s, return_peak_frequency=True)
    assert value == pytest.approx(reference, rel=1e-9)
    # the returned frequency attains the value
    G = s.frequency_response(np.array([peak]))[:, :, 0]
    assert np.linalg.svd(G, compute_uv=False)[0] == pytest.approx(value, rel=1e-12)


def test_wide_bidirectional_layer_bounds_a_grid_and_is_attained():
    s = s5_like(12, 28, "random", 5, bidirectional=True)
    value, peak = mor.hinf_norm(s, return_peak_frequency=True)
    theta = np.linspace(0, np.pi, 3001)
    grid = np.linalg.norm(np.moveaxis(s.frequency_response(theta), 2, 0), 2, axis=(1, 2))
    assert grid.max() <= value * (1 + 1e-9)
    at_peak = np.linalg.svd(s.frequency_response(np.array([peak]))[:, :, 0],
                            compute_uv=False)[0]
    assert at_peak == pytest.approx(value, rel=1e-12)


def _normalised_evaluator(s):
    ct, _ = hm._normalised(hm._drop_silent_units(hm._cayley_parts(s)))
    return ct, hm._Evaluator(ct)


def test_lanczos_values_are_lower_bounds_and_converge_to_the_svd():
    _, ev = _normalised_evaluator(s5_like(16, 40, "random", 7))
    omega = np.geomspace(1e-3, 1e2, 40)
    exact = np.linalg.svd(ev.response(omega), compute_uv=False)[:, 0]
    rough = ev.sigma_max(omega)  # a fixed, small number of steps
    fine = ev.sigma_max(omega, fine=True)
    assert np.all(rough <= exact * (1 + 1e-13))
    assert np.all(fine <= exact * (1 + 1e-13))
    np.testing.assert_allclose(fine, exact, rtol=1e-12)


def test_products_with_g_match_the_formed_response():
    _, ev = _normalised_evaluator(wide_ct(4))
    rng = np.random.default_rng(0)
    omega = np.array([0.0, 0.3, 7.0])
    V = rng.standard_normal((ev.m, 3)) + 1j * rng.standard_normal((ev.m, 3))
    U = rng.standard_normal((ev.p, 3)) + 1j * rng.standard_normal((ev.p, 3))
    G = ev.response(omega)
    weights = ev._weights(omega)
    np.testing.assert_allclose(ev._apply(weights, V), np.einsum("kpm,mk->pk", G, V),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ev._apply_adjoint(weights, U),
                               np.einsum("kpm,pk->mk", G.conj(), U), rtol=1e-12, atol=1e-14)


def test_slope_matches_a_finite_difference():
    _, ev = _normalised_evaluator(s5_like(10, 30, "hippo", 3))
    w, h = 0.37, 1e-6
    sigma, slope, _ = ev.value_and_slope(w)
    up, down = ev.sigma_max(np.array([w + h, w - h]), fine=True)
    assert slope == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-12 * sigma)


# ---------------------------------------------------------------- Hamiltonian eigenvalues
needs_mb03xd = pytest.mark.skipif(hm._mb03xd() is None,
                                  reason="SLICOT MB03XD not reachable in this slycot build")


@needs_mb03xd
def test_mb03xd_returns_the_hamiltonian_spectrum():
    rng = np.random.default_rng(1)
    n = 7
    F = rng.standard_normal((n, n))
    G = rng.standard_normal((n, n))
    Q = rng.standard_normal((n, n))
    G, Q = G + G.T, Q + Q.T
    eig = hm._structured_eigenvalues(F, G, Q)  # n of the 2n: the rest are their negatives
    reference = np.linalg.eigvals(np.block([[F, G], [Q, -F.T]]))
    full = np.concatenate([eig, -eig])
    assert eig.shape == (n,)
    assert max(np.min(np.abs(full - r)) for r in reference) < 1e-10
    assert max(np.min(np.abs(reference - r)) for r in full) < 1e-10


@needs_mb03xd
def test_imaginary_eigenvalues_come_back_exactly_on_the_axis():
    # H of 1/(s² + 0.2s + 1) at a level below its peak (5.0) and above |G(0)| = 1 crosses
    # the axis twice
    s = ModalSystem([-0.1 + 0.995j], [[1.0]], [[-0.5j / 0.995]], None, 0, pair=[True])
    A, B, C = real_block_form(s.poles, s.B, s.C, s.pair)
    crossings, structured = hm._hamiltonian_crossings(A, B, C, np.zeros((1, 1)), 2.0)
    assert structured and crossings.size == 2
    G = s.frequency_response(crossings)[0, 0]
    np.testing.assert_allclose(np.abs(G), 2.0, rtol=1e-10)


@pytest.mark.parametrize("structured", [True, False])
def test_lightly_damped_poles_are_not_crossings(structured, monkeypatch):
    # Above the norm there is no crossing.  The Hamiltonian's eigenvalues sit next to the
    # poles ±λ, |Re λ| down to 1e-7: the old test |Re| ≤ 1e-7·max|eig| took them for
    # crossings (up to 56 per solve on S5-sized layers).
    if structured and hm._mb03xd() is None:
        pytest.skip("SLICOT MB03XD not reachable")
    if not structured:
        monkeypatch.setattr(hm, "_structured_eigenvalues", lambda F, G, Q: None)
    s = s5_like(24, 30, "lightly_damped", 11)
    ct, _ = _normalised_evaluator(s)
    peak = hm._normalised_hinf(ct, 1e-10)[0]
    A, B, C = real_block_form(ct.poles, ct.B, ct.C, ct.pair)
    assert np.min(np.abs(ct.poles.real)) < 1e-6 * np.max(np.abs(ct.poles))
    crossings, used = hm._hamiltonian_crossings(A, B, C / peak, ct.D / peak, 1.001)
    assert used == structured
    assert crossings.size == 0


def test_mirror_pairs_are_rejected_and_lone_axis_eigenvalues_kept():
    eig = np.array([3e-9 + 2.0j, -3e-9 + 2.0j,  # an off-axis Hamiltonian pair
                    1e-13 + 5.0j,  # an imaginary eigenvalue with round-off
                    -0.5 + 1.0j, 0.5 + 1.0j])  # a well-damped pair
    np.testing.assert_array_equal(hm._axis_crossings(eig), [5.0])


@pytest.mark.parametrize(("family", "seed"), CASES[:2])
def test_lapack_fallback_agrees_with_ab13dd(family, seed, monkeypatch):
    monkeypatch.setattr(hm, "_structured_eigenvalues", lambda F, G, Q: None)
    s = s5_like(20, 32, family, seed)
    outcome = hm.modal_hinf_stats(s, tol=1e-12)
    assert not outcome.structured
    reference = mor.hinf_norm(s, method="slicot", tol=1e-12)
    assert outcome.value == pytest.approx(reference, rel=1e-10)


def test_pair_on_the_real_axis_with_an_imaginary_residue_is_exactly_zero():
    # found by the certify property test: 2·Re(c b)/(s + 1) vanishes (c b = 0.44j), but
    # np.real of the complex product, computed with a fused multiply-add, left 1.4e-17 and the
    # unit was kept; the norm then failed as "modes cancel" instead of being exactly 0
    b = float.fromhex("0x1.2c9fa0c3e9499p-1")
    s = ModalSystem([-1.0], [[-0.5 - 0.5j, b + b * 1j]], [[-0.375 - 0.375j]], None, 0,
                    pair=[True])
    assert mor.hinf_norm(s) == 0.0
