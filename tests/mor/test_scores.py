import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mor
from mor import ModalSystem, scores
from verification import strategies as mst


def per_mode_impulse_energy(s: ModalSystem, tol=1e-15) -> np.ndarray:
    """Σ_k ‖C_i λ̄_i^k B̄_i‖_F² summed until the terms vanish, for each complex member."""
    out = []
    for i in range(s.nunits):
        outer = np.outer(s.C[:, i], s.B[i])
        total, k, term = 0.0, 0, np.inf
        power = 1.0 + 0j
        while term > tol * max(total, 1e-300) and k < 2_000_000:
            term = np.sum(np.abs(outer * power) ** 2)
            total += term
            power *= s.poles[i]
            k += 1
        out.append(total * (2.0 if s.pair[i] else 1.0))
    return np.array(out)


@given(mst.seeded_modal_systems(time_domain="dt", output_after_update=False))
def test_energy_equals_summed_squared_impulse_response(s):
    if np.max(np.abs(s.poles)) > 0.99:  # keep the brute-force sum short
        return
    assert np.allclose(scores.energy(s), per_mode_impulse_energy(s), rtol=1e-10)


@given(mst.seeded_modal_systems(time_domain="dt"))
def test_hinf_gain_is_the_peak_of_one_complex_mode(s):
    # |c b / (z − λ)| peaks at z = λ/|λ| with value α / (1 − |λ|); check against a dense grid
    # and against the exact norm of the real one-mode system (a real unit).
    gains = scores.hinf_gain(s)
    theta = np.linspace(-np.pi, np.pi, 20001)
    for i in range(s.nunits):
        z = np.exp(1j * theta)
        alpha = np.linalg.norm(s.C[:, i]) * np.linalg.norm(s.B[i])
        grid_peak = np.max(alpha / np.abs(z - s.poles[i]))
        exact_peak = alpha / abs(1 - abs(s.poles[i])) if s.poles[i] != 0 else alpha
        assert gains[i] <= exact_peak * (1 + 1e-12) and gains[i] >= exact_peak * (1 - 1e-12)
        assert grid_peak <= gains[i] * (1 + 1e-9)
    assert np.allclose(scores.hinf(s), np.where(s.pair, 2.0, 1.0) * gains**2)


def test_real_mode_scores_equal_exact_norms():
    s = ModalSystem([0.9], [[2.0]], [[0.5]], dt=1)
    assert np.isclose(scores.hinf_gain(s)[0], mor.hinf_norm(s, method="slicot"), rtol=1e-9)
    assert np.isclose(scores.energy(s)[0], mor.h2_norm(s) ** 2, rtol=1e-12)
    ct = ModalSystem([-0.5], [[2.0]], [[0.5]])
    assert np.isclose(scores.hinf_gain(ct)[0], mor.hinf_norm(ct, method="slicot"), rtol=1e-9)
    assert np.isclose(scores.energy(ct)[0], mor.h2_norm(ct) ** 2, rtol=1e-12)


@given(mst.seeded_modal_systems(time_domain="dt"), st.integers(1, 60))
def test_finite_horizon_energy_is_the_partial_sum(s, horizon):
    partial = []
    for i in range(s.nunits):
        alpha2 = (np.linalg.norm(s.C[:, i]) * np.linalg.norm(s.B[i])) ** 2
        k = np.arange(horizon)
        partial.append(alpha2 * np.sum(np.abs(s.poles[i]) ** (2 * k)))
    expected = np.where(s.pair, 2.0, 1.0) * np.array(partial)
    assert np.allclose(scores.finite_horizon_energy(s, horizon), expected, rtol=1e-10)
    assert np.all(scores.finite_horizon_energy(s, horizon) <= scores.energy(s) * (1 + 1e-12))


def test_magnitude_score():
    s = ModalSystem([0.5 + 0.5j, -0.25], [[1.0 + 1j], [2.0]], [[3.0, 1.0]], dt=1)
    expected = [2 * abs(0.5 + 0.5j) * np.sqrt(2) * 3.0, 0.25 * 2.0 * 1.0]
    assert np.allclose(scores.magnitude(s), expected)


def test_bidirectional_gain_averages_squared_c_norms():
    s = ModalSystem([0.5], [[2.0]], [[3.0]], dt=1, C_backward=[[1.0]])
    assert np.isclose(scores.gains(s)[0], np.sqrt((9 + 1) / 2) * 2)


def test_ct_scores():
    s = ModalSystem([-2.0 + 5j], [[1.0 + 0j]], [[1.0 + 0j]])
    assert np.isclose(scores.energy(s)[0], 2 * 1 / (2 * 2.0))
    assert np.isclose(scores.hinf_gain(s)[0], 0.5)
    assert np.isclose(scores.finite_horizon_energy(s, 1e9)[0], scores.energy(s)[0])


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=40))
def test_prefix_normalisation_is_non_increasing_with_top_one(values):
    v = np.array(values)
    s = scores.prefix_normalize(v)
    order = np.lexsort((np.arange(v.size), -v))
    assert np.all(np.diff(s[order]) <= 0)
    assert s[order[0]] == (1.0 if v.max() > 0 else 0.0)
    assert np.all((s >= 0) & (s <= 1))
    assert np.allclose(scores.prefix_normalize(3.5 * v), s)  # scale invariant


def test_prefix_normalisation_rejects_bad_scores():
    with pytest.raises(mor.RatioError):
        scores.prefix_normalize([1.0, -1.0])
    with pytest.raises(mor.RatioError):
        scores.prefix_normalize([])
