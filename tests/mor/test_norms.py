import control
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, reject
from hypothesis import strategies as st

import mor
from mor import ModalSystem
from mor.slicot import benchmark_path
from mor.system_io import read_mat_arrays
from verification import strategies as mst


@pytest.fixture(scope="module")
def benchmarks():
    return {name: mor.load_benchmark(name) for name in mor.BENCHMARKS}


def test_closed_forms_of_one_over_s_plus_one():
    s = ModalSystem([-1.0], [[1.0]], [[1.0]])
    assert np.isclose(mor.h2_norm(s), 1 / np.sqrt(2), rtol=1e-14)
    value, peak = mor.hinf_norm(s, return_peak_frequency=True)
    assert np.isclose(value, 1.0, rtol=1e-12) and peak == 0.0


def test_heat_cont_hankel_singular_values_match_the_file(benchmarks):
    reference = read_mat_arrays(benchmark_path("heat-cont"))["hsv"].ravel()
    hsv = mor.hankel_singular_values(benchmarks["heat-cont"])
    assert np.max(np.abs(hsv[:8] / reference[:8] - 1)) < 1e-8


def test_heat_cont_magnitudes_match_the_file(benchmarks):
    data = read_mat_arrays(benchmark_path("heat-cont"))
    w, mag = data["w"].ravel(), data["mag"].ravel()
    keep = mag > 1e-12  # the file's smaller values are round-off
    sys_ = benchmarks["heat-cont"]
    original = np.abs(sys_.frequency_response(w).frdata[0, 0])
    modal = np.abs(ModalSystem.from_statespace(sys_).frequency_response(w)[0, 0])
    assert np.max(np.abs(original[keep] / mag[keep] - 1)) < 1e-6
    assert np.max(np.abs(modal[keep] / mag[keep] - 1)) < 1e-6


@pytest.mark.parametrize("name", mor.BENCHMARKS)
def test_benchmark_norms_match_slicot_and_gramians(benchmarks, name):
    sys_ = benchmarks[name]
    modal = ModalSystem.from_statespace(sys_)
    h2_reference = control.norm(sys_, 2)
    assert abs(mor.h2_norm(modal) - h2_reference) / h2_reference < 1e-10
    assert abs(mor.h2_norm(sys_) - h2_reference) / h2_reference < 1e-10
    hinf_reference = control.norm(sys_, "inf")
    assert abs(mor.hinf_norm(modal) - hinf_reference) / hinf_reference < 1e-6


@given(mst.seeded_modal_systems())
def test_closed_form_h2_equals_gramian_h2(s):
    reference = control.norm(s.to_statespace(), 2)
    assert abs(mor.h2_norm(s) - reference) <= 1e-10 * reference


@given(mst.seeded_modal_systems())
def test_fast_hinf_equals_ab13dd(s):
    reference = mor.hinf_norm(s.to_statespace(), method="slicot")
    assert abs(mor.hinf_norm(s) - reference) <= 1e-6 * reference


@given(mst.seeded_modal_systems(time_domain="dt", bidirectional=True, max_units=4))
def test_bidirectional_hinf_bounds_a_dense_grid(s):
    value = mor.hinf_norm(s, tol=1e-10)
    theta = np.linspace(-np.pi, np.pi, 4001)
    grid = np.linalg.norm(np.moveaxis(s.frequency_response(theta), 2, 0), 2, axis=(1, 2))
    assert grid.max() <= value * (1 + 1e-9)
    # the value is attained: a local refinement of the grid reaches it
    k = int(np.argmax(grid))
    fine = np.linspace(theta[max(k - 1, 0)], theta[min(k + 1, theta.size - 1)], 20001)
    fine_grid = np.linalg.norm(np.moveaxis(s.frequency_response(fine), 2, 0), 2, axis=(1, 2))
    assert fine_grid.max() >= value * (1 - 1e-6)


@given(mst.seeded_modal_systems(time_domain="dt", bidirectional=True, max_units=4))
def test_bidirectional_h2_is_the_energy_of_both_kernels(s):
    if np.max(np.abs(s.poles)) > 0.95:
        return
    forward = s.forward_part().impulse_response(1500)  # h[0] carries D and lag-0 of C_f
    backward = s.backward_part().impulse_response(1500)
    if s.output_after_update:  # both directions add their lag-0 term once, at lag 0
        lag0 = forward[0] + backward[0]
    else:
        lag0 = forward[0]
        backward = np.concatenate([backward[:1] * 0, backward[1:]])
    energy = np.sum(lag0**2) + np.sum(forward[1:] ** 2) + np.sum(backward[1:] ** 2)
    assert np.isclose(mor.h2_norm(s) ** 2, energy, rtol=1e-9)


@given(mst.seeded_modal_systems(time_domain="dt", max_units=4))
def test_dt_hankel_singular_values_are_those_of_the_hankel_matrix(s):
    if np.max(np.abs(s.poles)) > 0.8:  # 0.8^200 < 1e-19: the truncated Hankel matrix is exact
        return
    ss = s.to_statespace()
    blocks = 100
    markov, state = [], ss.B
    for _ in range(2 * blocks):
        markov.append(ss.C @ state)
        state = ss.A @ state
    hankel = np.block([[markov[i + j] for j in range(blocks)] for i in range(blocks)])
    reference = np.linalg.svd(hankel, compute_uv=False)[: ss.nstates]
    hsv = mor.hankel_singular_values(s)
    # values below float64's normal range (2.2e-308) carry no relative precision
    atol = max(1e-12 * reference[0], np.finfo(np.float64).tiny)
    assert np.allclose(hsv, reference, rtol=1e-8, atol=atol)


def test_unstable_statespace_is_refused():
    with pytest.raises(mor.UnstableSystemError):
        mor.h2_norm(control.ss([[1.0]], [[1.0]], [[1.0]], 0))
    with pytest.raises(mor.UnstableSystemError):
        mor.hinf_norm(control.ss([[1.5]], [[1.0]], [[1.0]], 1))


def test_ct_h2_with_feedthrough_is_infinite():
    with pytest.warns(UserWarning, match="infinite"):
        assert mor.h2_norm(ModalSystem([-1.0], [[1.0]], [[1.0]], [[1.0]])) == np.inf


def test_hinf_rejects_bad_arguments():
    s = ModalSystem([-1.0], [[1.0]], [[1.0]])
    with pytest.raises(mor.StateDimensionError):
        mor.hinf_norm(s, tol=0)
    with pytest.raises(mor.StateDimensionError):
        mor.hinf_norm(s, method="grid")


@pytest.mark.parametrize(
    ("poles", "B", "C", "D"),
    [
        ([0.5, -0.3], [[0.0], [0.0]], [[1.0, 1.0]], None),  # identically zero
        ([0.5, -0.3], [[0.0], [1.0]], [[1.0, 0.0]], [[2.0]]),  # G = D: peak at every ω
        ([0.5, -0.3], [[1e-57], [1e-57]], [[1e-57, 1e-56]], None),  # norm ≈ 1e-113
    ],
)
def test_degenerate_systems_match_ab13dd(poles, B, C, D):
    s = ModalSystem(poles, B, C, D, dt=1)
    reference = mor.hinf_norm(s, method="slicot")
    assert abs(mor.hinf_norm(s) - reference) <= 1e-9 * reference


def test_kinked_sigma_max_regression():
    # found by the verification suite: brentq on dσ/dω failed to converge here
    B = np.zeros((5, 3), complex)
    B[0, 2], B[4, 2] = -1, 1
    C = np.zeros((2, 5), complex)
    C[0, 0], C[1, 4] = 1, 1
    s = ModalSystem([0.4960988336146645 + 0.062337366692613846j, 0, 0, 0, -0.5], B, C, dt=1,
                    pair=[True, False, False, False, False])
    reference = mor.hinf_norm(s, method="slicot")
    assert abs(mor.hinf_norm(s) - reference) <= 1e-9 * reference


@given(mst.seeded_modal_systems(), st.integers(-250, 250), st.sampled_from(["B", "C"]))
def test_norms_scale_with_the_system_over_the_whole_float_range(s, exponent, which):
    # found by the thorough verification run: 1e±160 gains overflowed the Gram matrix or the
    # Hamiltonian, at 1e-200 np.linalg.norm underflowed and the modes were dropped; the H2
    # Gramian squared B and C the same way
    k = 10.0**exponent
    scaled = ModalSystem(s.poles, s.B * k if which == "B" else s.B,
                         s.C * k if which == "C" else s.C, s.D * k, s.dt, pair=s.pair,
                         output_after_update=s.output_after_update)
    assert mor.hinf_norm(scaled) == pytest.approx(k * mor.hinf_norm(s), rel=1e-9, abs=0)
    assert mor.h2_norm(scaled) == pytest.approx(k * mor.h2_norm(s), rel=1e-9, abs=0)
    if not s.isctime:  # the Gramian (Lyapunov) path as well
        ss, sss = s.to_statespace(), scaled.to_statespace()
        assert mor.h2_norm(sss) == pytest.approx(k * mor.h2_norm(ss), rel=1e-6, abs=0)


def test_modes_cancelling_beyond_float64_give_a_clear_error():
    # a conjugate pair with a subnormal imaginary part and residue j·1: the two modal terms
    # cancel to ‖G‖∞ ≈ 2e-309 (found by the thorough verification run; AB13DD fails too)
    s = ModalSystem([0.25 + 5.56268465e-310j], [[1j]], [[1.0]], dt=1, pair=[True])
    with pytest.raises(mor.NormComputationError, match="the modes cancel"):
        mor.hinf_norm(s)


def test_peak_just_above_the_feedthrough_norm_is_found():
    # found by the thorough run: the lower bound was ‖D‖₂ (the value at ω = π), and at the
    # level ‖D‖₂(1 + tol) the Hamiltonian needs (DᵀD − γ²I)⁻¹, nearly singular: it showed no
    # crossing and 10.2084 was returned for 10.2549.  Such levels now use the pencil.
    s = ModalSystem(
        [0.1960699985075748 + 0.33117449002438737j, -0.1967056464791721,
         -0.5167951813393483, 0.8387239994414707],
        [[0.7446409951474956 + 1.2032058029985502j], [0.5049474151986219],
         [-0.9619232430228546], [0.15940657661374438]],
        [[0.6593583313107543 - 0.16707719218524922j, 1.298664793218568, -1.569906920683276,
          0.06825579569353311],
         [2.689538143676203 - 0.9665189006517958j, 0.16992008785123458, -0.7051337310379854,
          -0.11882338916098871]],
        [[-1.1900380544607054], [1.841249091584043]],
        dt=1, pair=[True, False, False, False], output_after_update=True,
    )
    reference = mor.hinf_norm(s.to_statespace(), method="slicot")
    assert reference > 1.004 * np.linalg.norm(s.standard_form().D, 2)
    assert mor.hinf_norm(s) == pytest.approx(reference, rel=1e-9)


def test_subnormal_entries_do_not_break_slicot():
    # found by the thorough run: SB03OD returned a Hankel singular value of 3e169 for a pole
    # at 1.1e-308 (true value |cb|/sqrt(1 − λ²) = 0.507), AB13DD failed on a subnormal A
    s = ModalSystem([1.1125369292536007e-308], [[-0.535669373161111]], [[0.9470809631292422]],
                    [[-0.7037352358069926]], dt=1)
    np.testing.assert_allclose(mor.hankel_singular_values(s), [0.535669373161111 *
                                                               0.9470809631292422], rtol=1e-12)
    for pole in (1e-140, 1.20668302e-237):  # SB03OD gave 34 and 2.3e61 here
        tiny = ModalSystem([pole], [[-0.535669373161111]], [[0.9470809631292422]], dt=1)
        np.testing.assert_allclose(mor.hankel_singular_values(tiny),
                                   [0.535669373161111 * 0.9470809631292422], rtol=1e-12)
    pair = ModalSystem([0.25 + 5.56268465e-310j], [[1j]], [[1.0]], dt=1, pair=[True])
    assert mor.hinf_norm(pair.to_statespace(), method="slicot") < 1e-300  # true: 2.4e-309


@pytest.mark.parametrize("b", [1e-4, 1e-9, 1e-12])
def test_nearly_real_pair_is_evaluated_without_cancellation(b):
    # R/(s − λ) + R̄/(s − λ̄) with R = j and λ = −1 + jb is −2b/((s + 1)² + b²): the two
    # conjugate terms are O(1) each; summed term by term, round-off left 2.5e-10 of the
    # norm at b = 1e-12 (and a BLAS-kernel-dependent 8.6e-17 instead of an error for the
    # subnormal pair above).  The pair-stable form gives it to full precision.
    s = ModalSystem([-1.0 + b * 1j], [[1j]], [[1.0]], dt=0, pair=[True])
    assert mor.hinf_norm(s) == pytest.approx(2 * b / (1 + b * b), rel=1e-13)


# ---------------------------------------------------------------- cancellation (issue 9)
def _difference_of_close_modes(a: float, b: float, dt=0) -> ModalSystem:
    """G = 1/(s + a) − 1/(s + b) (CT) or 1/(z − a) − 1/(z − b) (DT)."""
    poles = [-a, -b] if dt == 0 else [a, b]
    return ModalSystem(poles, [[1.0], [1.0]], [[1.0, -1.0]], dt=dt)


def test_h2_of_nearly_cancelling_modes_is_not_clamped_to_zero():
    # the audit's case: ‖G‖₂ = 5.2e-11, and the closed-form Gramian sum (terms of size 1)
    # was round-off, clamped to exactly 0.  Reference without cancellation:
    # G = (b − a)/((s + a)(s + b)), ‖G‖₂² = (b − a)²/(2ab(a + b)).
    a, b = 1.0, 1.0 + 1.04e-10
    reference = (b - a) / np.sqrt(2 * a * b * (a + b))
    assert reference == pytest.approx(5.2e-11, rel=1e-3, abs=0)
    s = _difference_of_close_modes(a, b)
    # error about eps·(size of the modes)/‖G‖₂ = 2e-6 here (SLICOT AB13BD's accuracy)
    assert mor.h2_norm(s) == pytest.approx(reference, rel=1e-4, abs=0)
    assert mor.h2_norm(s.to_statespace()) == pytest.approx(reference, rel=1e-4, abs=0)
    assert control.norm(s.to_statespace(), 2) == pytest.approx(reference, rel=1e-4, abs=0)


def test_dt_h2_of_nearly_cancelling_modes():
    # G = (a − b)/((z − a)(z − b)): ‖G‖₂² = (a − b)²(1 + ab)/((1 − a²)(1 − b²)(1 − ab))
    for a, d in ((0.5, 1e-10), (0.999, 1e-9), (-0.3, 3e-8)):
        b = a + d
        reference = abs(a - b) * np.sqrt((1 + a * b) / ((1 - a * a) * (1 - b * b) * (1 - a * b)))
        s = _difference_of_close_modes(a, b, dt=1)
        assert mor.h2_norm(s) == pytest.approx(reference, rel=1e-4, abs=0)
        assert mor.h2_norm(s.to_statespace()) == pytest.approx(reference, rel=1e-4, abs=0)


def test_h2_beyond_float64_resolution_is_an_error_not_zero():
    s = _difference_of_close_modes(1.0, 1.0 + 1e-13)  # ‖G‖₂ = 5e-14, terms of size 1
    with pytest.raises(mor.NormComputationError, match="the modes cancel"):
        mor.h2_norm(s)


def test_h2_of_exactly_cancelling_modes_is_exactly_zero():
    s = ModalSystem([0.5, 0.5, -0.2], [[1.0], [1.0], [0.0]], [[2.0, -2.0, 1.0]], dt=1)
    assert mor.h2_norm(s) == 0.0


def _mpmath_h2(s: ModalSystem, mp) -> float:
    """‖G − D‖₂ by the closed form in 50-digit arithmetic (DT: from the poles' logs)."""
    s = s.standard_form()
    poles, B, C, _ = s.expanded_modes()
    logs = s.expanded_log_poles() if s.isdtime else None
    total = mp.mpf(0)
    for i in range(poles.size):
        for j in range(poles.size):
            if logs is None:
                kernel = -1 / (mp.mpc(poles[i]) + mp.conj(mp.mpc(poles[j])))
            elif poles[i] == 0 or poles[j] == 0:
                kernel = mp.mpf(1)  # 1 − λ_i conj(λ_j) with a pole at 0
            else:
                kernel = -1 / mp.expm1(mp.mpc(logs[i]) + mp.conj(mp.mpc(logs[j])))
            bb = mp.fsum(mp.mpc(B[i, k]) * mp.conj(mp.mpc(B[j, k])) for k in range(B.shape[1]))
            cc = mp.fsum(mp.conj(mp.mpc(C[k, j])) * mp.mpc(C[k, i]) for k in range(C.shape[0]))
            total += kernel * bb * cc
    return float(mp.sqrt(max(mp.re(total), 0)))


@given(mst.seeded_modal_systems(max_units=3, max_channels=2), st.floats(1e-11, 1e-5), st.data())
def test_h2_with_a_cancelling_mode_matches_extended_precision(s, delta, data):
    # each system gets a copy of one of its units, moved by a relative delta, with the
    # opposite residue: the difference of the two is of order delta times the unit's gain
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    k = data.draw(st.integers(0, s.nunits - 1))
    pole = s.poles[k] * (1 + delta) if s.isdtime else s.poles[k] - delta * abs(s.poles[k])
    t = ModalSystem(np.append(s.poles, pole), np.vstack([s.B, s.B[k]]),
                    np.hstack([s.C, -s.C[:, k:k + 1]]), None, s.dt,
                    pair=np.append(s.pair, s.pair[k]))
    reference = _mpmath_h2(t, mp)
    try:
        value = mor.h2_norm(t)
    except mor.NormComputationError:
        # only where the modes cancel to 1e-9 of their size or beyond (the error is raised
        # within 1e3 of the round-off estimate, (n + m + p)·eps·‖|C| |L|‖_F)
        scale = sum(mor.h2_norm(t.subsystem([i])) for i in range(t.nunits))
        assert reference < 1e-9 * scale
        return
    assert value == pytest.approx(reference, rel=1e-3, abs=0)


# ---------------------------------------------------------------- H∞ by SLICOT at any scale
@pytest.mark.parametrize("exponent", [-200, -100, 0, 100, 200])
def test_slicot_hinf_is_invariant_to_the_time_scale(exponent):
    # AB13DD returned inf for A = −1e-200 (‖G‖∞ = 1e200): time is rescaled first
    a = 10.0**exponent
    first_order = control.ss([[-a]], [[1.0]], [[1.0]], [[0.0]])
    assert mor.hinf_norm(first_order, method="slicot") == pytest.approx(1 / a, rel=1e-12, abs=0)
    # a resonant pair: the peak value is scale-free, the peak frequency scales with a
    resonant = control.ss(a * np.array([[-0.1, 5.0], [-5.0, -0.1]]), [[1.0], [0.0]],
                          [[1.0, 0.0]], [[0.0]])
    reference, peak = mor.hinf_norm(control.ss(resonant.A / a, resonant.B, resonant.C, 0),
                                    method="slicot", return_peak_frequency=True)
    value, scaled_peak = mor.hinf_norm(resonant, method="slicot", return_peak_frequency=True)
    assert value == pytest.approx(reference / a, rel=1e-9, abs=0)
    assert scaled_peak == pytest.approx(peak * a, rel=1e-6, abs=0)


def test_slicot_hinf_out_of_float64_reach_is_an_error_not_inf():
    # poles 1e-200 and 1e200 apart by 400 orders of magnitude: no scaling holds both
    sys_ = control.ss(np.diag([-1e-200, -1e200]), [[1.0], [1.0]], [[1.0, 1.0]], [[0.0]])
    with pytest.raises(mor.NormComputationError, match="AB13DD returned"):
        mor.hinf_norm(sys_, method="slicot")


@pytest.mark.parametrize("method", [None, "modal", "slicot"])
def test_hinf_of_a_constant_transfer_function_is_the_norm_of_d(method):
    """G ≡ D (every C_i B_i = 0): both methods return ‖D‖₂ (no special case needed)."""
    d = np.array([[3.0, 0.0], [0.0, -4.0]])
    s = ModalSystem([0.5, 0.2], [[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]], d, dt=1)
    assert mor.hinf_norm(s, method=method) == pytest.approx(4.0, rel=1e-12)


def test_hinf_falls_back_to_slicot_where_the_modal_method_fails(monkeypatch):
    import mor.norms

    def failing(*args, **kwargs):
        raise mor.NormComputationError("did not converge")

    monkeypatch.setattr(mor.norms, "modal_hinf", failing)
    s = ModalSystem([-1.0], [[1.0]], [[1.0]])  # 1/(s+1): ‖G‖∞ = 1
    assert mor.hinf_norm(s) == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(mor.NormComputationError, match="did not converge"):
        mor.hinf_norm(s, method="modal")
    bidir = ModalSystem([0.5], [[1.0]], [[1.0]], dt=1, C_backward=[[1.0]])
    with pytest.raises(mor.NormComputationError, match="did not converge"):
        mor.hinf_norm(bidir)  # AB13DD cannot take a non-causal layer


# ------------------------------------------- Gramian H2 with a nearly real conjugate pair
_NEARLY_REAL_PAIRS = [
    # found by verification.strategies.modal_systems: SLICOT SB03OD (real Schur form, the
    # pair as a 2×2 block) gave ‖G‖₂ = 45.5 for 76.2, and a different value once B was scaled
    ModalSystem([0.8296215010249236, -0.24610243724207917 + 0.43523969302386528j, 0.95,
                 0.999 + 1.3488653200313583e-80j],
                [[-2 + 1.585166990964376j], [0.7799754895166866j], [-2], [0.7546322342695692j]],
                [[0, 1.931782651373584 + 1.931782651373584j, 1.001,
                  1.9052436223959088 + 1.9052436223959088j], [-2 - 2j, 0, -2, 0]],
                dt=1, pair=[True, True, False, True]),
    # a lone pair of tiny modulus: SB03OD gave 0.28 for 2.92
    ModalSystem([1.1088355349408622e-16 + 5.5488024475945176e-18j], [[-1.9375934640978552]],
                [[-0.7530598457512996 - 0.48971645481122117j]], dt=0.1, pair=[True]),
]


@pytest.mark.parametrize("s", _NEARLY_REAL_PAIRS)
@pytest.mark.parametrize("k", [1.0, 1e-3, 10.0, 1e100])
def test_gramian_h2_of_a_nearly_real_pair_matches_extended_precision(s, k):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    reference = k * _mpmath_h2(s, mp)
    scaled = ModalSystem(s.poles, s.B * k, s.C, s.D, s.dt, pair=s.pair)
    assert mor.h2_norm(scaled.to_statespace()) == pytest.approx(reference, rel=1e-9, abs=0)
    assert mor.h2_norm(scaled) == pytest.approx(reference, rel=1e-9, abs=0)


@given(mst.modal_systems(time_domain="dt", bidirectional=False), st.integers(-30, 30))
def test_gramian_h2_is_linear_in_b_for_the_hard_corners(s, exponent):
    # modal_systems reaches pairs with imaginary parts down to 1e-90 of the modulus and poles
    # 1e-3 from the unit circle: the Gramian path must still scale exactly with B (SB03OD
    # changed by up to 70 % here) and agree with the modal closed form
    k = 10.0**exponent
    scaled = ModalSystem(s.poles, s.B * k, s.C, s.D * k, s.dt, pair=s.pair,
                         output_after_update=s.output_after_update)
    # where the modes cancel, both paths are accurate to eps times the size of the modes only;
    # the size is summed without cancellation, Σ ‖c_i‖‖b_i‖ / √(1 − |λ_i|²), + ‖D‖
    with np.errstate(divide="ignore"):
        decay = np.sqrt(-np.expm1(2.0 * np.log(np.abs(s.poles))))
    size = float(np.sum(np.linalg.norm(s.C, axis=0) * np.linalg.norm(s.B, axis=1) / decay)
                 + np.linalg.norm(s.D))
    try:
        value = mor.h2_norm(s.to_statespace())
        modal, scaled_value = mor.h2_norm(s), mor.h2_norm(scaled.to_statespace())
    except mor.NormComputationError as exc:  # documented refusal: G is 0 to float64 precision
        if "the modes cancel" not in str(exc):
            raise
        reject()
    assert abs(value - modal) <= 1e-9 * value + 1e-12 * size
    assert abs(scaled_value - k * value) <= k * (1e-9 * value + 1e-12 * size)


def test_hankel_singular_values_of_a_nearly_real_pair_match_solved_gramians():
    # SB03OD's real-Schur factors gave 455.6 for 1440.2 here; reference: P and Q solved
    # directly (Kronecker form, n = 7) and the square roots of the eigenvalues of P·Q
    ss = _NEARLY_REAL_PAIRS[0].to_statespace()
    A, B, C = (np.asarray(x, dtype=float) for x in (ss.A, ss.B, ss.C))
    P = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T, method="direct")
    Q = scipy.linalg.solve_discrete_lyapunov(A.T, C.T @ C, method="direct")
    reference = np.sqrt(np.sort(np.linalg.eigvals(P @ Q).real)[::-1][:3])
    assert reference[0] == pytest.approx(1440.15, rel=1e-5)
    np.testing.assert_allclose(mor.hankel_singular_values(ss)[:3], reference, rtol=1e-8)


def _solved_gramian(A, B, discrete):
    if discrete:
        return scipy.linalg.solve_discrete_lyapunov(A, B @ B.T, method="direct")
    return scipy.linalg.solve_continuous_lyapunov(A, -B @ B.T)


@pytest.mark.parametrize("discrete", [True, False])
def test_real_gramian_factor_of_a_nearly_real_pair_is_triangular_and_exact(discrete):
    # the real factor balanced truncation uses; SB03OD's had ‖U Uᵀ − P‖ = 0.88‖P‖ (DT) and
    # 0.43‖P‖ (CT: the same units shifted by −1) for the controllability Gramian here
    from mor.norms import _cholesky_factor

    s = _NEARLY_REAL_PAIRS[0]
    A, B, C = mor.systems.real_block_form(s.poles, s.B, s.C, s.pair)
    A = A if discrete else A - np.eye(A.shape[0])
    for a, b in ((A, B), (A.T, C.T)):
        P = _solved_gramian(a, b, discrete)
        U = _cholesky_factor(a, b, discrete)
        assert U.dtype == np.float64 and np.array_equal(U, np.triu(U))
        assert np.all(np.diag(U) >= 0)
        assert np.linalg.norm(U @ U.T - P) <= 1e-11 * np.linalg.norm(P)


@pytest.mark.parametrize("discrete", [True, False])
@pytest.mark.parametrize("m", [0, 1, 3, 9])
def test_real_gramian_factor_matches_the_solved_gramian(discrete, m):
    # random real A (pairs and real eigenvalues), more inputs than states included
    from mor.norms import _cholesky_factor

    rng = np.random.default_rng(m)
    A = rng.standard_normal((6, 6))
    radius = np.max(np.abs(np.linalg.eigvals(A)))
    A = 0.9 * A / radius if discrete else A - (np.max(np.linalg.eigvals(A).real) + 0.5) * np.eye(6)
    B = rng.standard_normal((6, m))
    P = _solved_gramian(A, B, discrete)
    U = _cholesky_factor(A, B, discrete)
    assert U.shape == (6, 6) and np.array_equal(U, np.triu(U))
    assert np.linalg.norm(U @ U.T - P) <= 1e-12 * max(np.linalg.norm(P), 1e-300)
