import control
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mor
from mor.truncation import balanced_truncation_bound
from verification import strategies as mst


def hinf_error(full, reduced):
    return mor.hinf_norm(control.parallel(full, -reduced), method="slicot")


@given(mst.seeded_modal_systems(time_domain="dt", max_units=6), st.data())
def test_dt_balanced_truncation_respects_twice_the_tail(s, data):
    ss = s.to_statespace()
    order = data.draw(st.integers(1, ss.nstates))
    with np.errstate(all="ignore"):
        reduced = mor.balanced_truncation(ss, order)
    hsv = mor.hankel_singular_values(ss)
    assert reduced.dt == ss.dt and reduced.isdtime(strict=True)
    if hsv[min(order, hsv.size - 1)] > 1e-10 * hsv[0]:  # order not above the minimal order
        assert reduced.nstates == order
    assert hinf_error(ss, reduced) <= 2 * hsv[order:].sum() * (1 + 1e-8) + 1e-10 * hsv[0]


@pytest.mark.parametrize("name", ["build", "CDplayer"])
@pytest.mark.parametrize("order", [4, 10, 20])
def test_ct_balanced_methods_on_benchmarks(name, order):
    sys_ = mor.load_benchmark(name)
    bound = balanced_truncation_bound(sys_, order)
    for reduce in (mor.balanced_truncation, mor.balanced_singular_perturbation):
        reduced = reduce(sys_, order)
        assert reduced.nstates == order and reduced.dt == 0
        assert hinf_error(sys_, reduced) <= bound
    spa = mor.balanced_singular_perturbation(sys_, order)
    assert np.allclose(spa(0), sys_(0), rtol=1e-8, atol=1e-12)  # DC gain kept


def test_dt_layer_of_64_states_gets_the_requested_order():
    # python-control 0.10.2's balred returns order 50 and dt=0 here (ANCHORS.md)
    rng = np.random.default_rng(5)
    poles = rng.uniform(0.3, 0.99, 32) * np.exp(1j * rng.uniform(0.1, 3.0, 32))
    s = mor.ModalSystem(poles, rng.standard_normal((32, 4)) + 0j, rng.standard_normal((4, 32)) + 1j,
                        dt=1)
    reduced = mor.balanced_truncation(s, 8)
    assert reduced.nstates == 8 and reduced.dt == 1
    assert hinf_error(s.to_statespace(), reduced) <= balanced_truncation_bound(s, 8)
    spa = mor.balanced_singular_perturbation(s, 8)
    assert spa.nstates == 8 and spa.dt == 1
    assert np.allclose(spa(1), s.to_statespace()(1))  # gain at z = 1 kept


def test_modal_truncation_error_is_the_pruned_units():
    s = mor.ModalSystem([0.9, 0.5j + 0.2, -0.3], np.ones((3, 1)) + 0j, np.ones((1, 3)) + 0j, dt=1)
    kept = mor.modal_truncation(s, [0, 2])
    pruned = mor.modal_truncation(s, [1])
    w = np.linspace(0, np.pi, 50)
    assert np.allclose(s.frequency_response(w) - kept.frequency_response(w),
                       pruned.frequency_response(w))


def test_bad_orders():
    sys_ = mor.load_benchmark("build")
    for order in (0, 49, 2.5):
        with pytest.raises(mor.StateDimensionError, match="order"):
            mor.balanced_truncation(sys_, order)
    with pytest.raises(mor.UnstableSystemError):
        mor.balanced_truncation(control.ss([[0.1]], [[1.0]], [[1.0]], 0), 1)


def test_error_system_of_a_modal_truncation_is_the_pruned_units():
    s = mor.ModalSystem([0.5, -0.9, 0.3j], [[1.0], [2.0], [1.0]], [[1.0, 0.1, 1.0]], [[3.0]],
                        dt=1, pair=[False, False, True])
    by_index = mor.error_system(s, [1, 2])
    by_model = mor.error_system(s, mor.modal_truncation(s, [0]))
    for err in (by_index, by_model):
        assert isinstance(err, mor.ModalSystem) and err.nunits == 2
        assert np.array_equal(err.poles, s.poles[[1, 2]]) and not np.any(err.D)
    omega = np.linspace(0.0, np.pi, 64)
    expected = s.frequency_response(omega) - s.subsystem([0]).frequency_response(omega)
    np.testing.assert_allclose(by_model.frequency_response(omega), expected, atol=1e-12)


def test_error_system_of_other_reductions_is_the_difference():
    s = mor.ModalSystem([0.5, -0.9], [[1.0], [2.0]], [[1.0, 0.1]], dt=1)
    reduced = mor.balanced_truncation(s, 1)
    err = mor.error_system(s, reduced)
    assert isinstance(err, control.StateSpace) and err.nstates == 3
    assert mor.hinf_norm(err) <= mor.truncation.balanced_truncation_bound(s, 1) * (1 + 1e-8)
    other = mor.ModalSystem([0.2], [[1.0]], [[1.0]], dt=1)  # not a unit of s
    assert mor.error_system(s, other).nunits == 3
