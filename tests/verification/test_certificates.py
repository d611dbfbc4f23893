"""certify and certify_many: bounds vs exact norms on generated systems and on the bundled
benchmarks, bad input, serialisation, shared per-layer work across plans."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mor
from mor.plan import BalancedPlan
from mor.truncation import error_system
from verification import CertificateError, certify, certify_many
from verification import bounds as B
from verification import strategies as mst


@given(mst.modal_systems(max_units=5, bidirectional=None), st.data())
def test_valid_bounds_hold_on_generated_systems(sys, data):
    plan = data.draw(mst.keep_plans(sys))
    report = certify(sys, plan)
    report.assert_valid_bounds_hold()
    layer = report.layers[0]
    if layer.npruned:
        assert layer.exact_hinf is not None and layer.exact_h2 is not None


def test_pair_counted_once_is_reported_not_valid():
    # one conjugate pair at 0: G(z) = 2 Re(c b)/z; the published eq. 19 gives half of it
    s = mor.ModalSystem([0.0, 0.5], [[1j], [1.0]], [[1j, 1.0]], dt=1, pair=[True, False])
    plan = mor.KeepPlan("manual", ((1,),), (2,))
    layer = certify(s, plan).layers[0]
    assert layer.exact_hinf == pytest.approx(2.0)
    published = layer.bound("aire_eq19_published")
    assert published.valid is False and published.holds is False
    assert layer.bound("aire_eq19").holds is True
    assert layer.bound("modal_triangle").value == pytest.approx(2.0)


def test_exact_error_cross_checked_with_slicot():
    s = mor.ModalSystem([0.9, 0.5 + 0.4j, -0.3], [[1.0, 0.5], [0.3j, 1.0], [1.0, 0.0]],
                        [[1.0, 0.2 - 1j, 0.5]], dt=1)
    report = certify(s, mor.prune([s], "last", ratio=0.6))
    err = error_system(s, report_pruned := mor.prune([s], "last", ratio=0.6).pruned[0])
    assert report_pruned
    assert report.layers[0].exact_hinf == pytest.approx(
        mor.hinf_norm(err, method="slicot"), rel=1e-8)


def test_zero_error_system_is_exact_zero():
    s = mor.ModalSystem([0.5, 0.2], [[1.0], [0.0]], [[1.0, 3.0]], dt=1)
    layer = certify(s, mor.KeepPlan("manual", ((0,),), (2,))).layers[0]
    assert layer.exact_hinf == 0.0 and all(b.holds for b in layer.bounds if b.valid)


def test_balanced_plan_bound_and_json():
    s = mor.ModalSystem.from_statespace(mor.load_benchmark("build"))
    report = certify(s, mor.prune([s], "balanced_truncation", ratio=0.5))
    b = report.layers[0].bound("balanced_2sigma")
    assert b.valid and b.holds and b.value >= report.layers[0].exact_hinf
    data = json.loads(report.to_json())
    layer = data["layers"][0]
    for key in ("layer", "ratio", "exact_hinf", "exact_h2", "bounds"):
        assert key in layer
    assert {"name", "source", "norm", "value", "holds"} <= set(layer["bounds"][0])
    assert "every valid bound holds" in report.render()


def test_norm_failure_is_unknown_not_holding(monkeypatch):
    import verification.certificates as cert

    def broken(*args, **kwargs):
        raise mor.NormComputationError("did not converge")

    monkeypatch.setattr(cert, "hinf_norm", broken)
    s = mor.ModalSystem([0.5, 0.2], [[1.0], [1.0]], [[1.0, 3.0]], dt=1)
    report = certify(s, mor.KeepPlan("manual", ((0,),), (2,)))
    hinf_bounds = [b for b in report.layers[0].bounds if b.norm == "hinf"]
    assert all(b.holds is None and "unknown" in b.reason for b in hinf_bounds)
    assert report.all_valid_bounds_hold is None
    assert "did not converge" in report.layers[0].hinf_reason
    with pytest.raises(AssertionError):
        report.assert_valid_bounds_hold()


def test_bad_inputs_raise_clear_errors():
    s = mor.ModalSystem([0.5, 0.2], [[1.0], [1.0]], [[1.0, 3.0]], dt=1)
    with pytest.raises(mor.PlanMismatchError, match="units"):
        certify(s, mor.KeepPlan("manual", ((0,),), (3,)))
    with pytest.raises(mor.PlanMismatchError, match="layers"):
        certify([s, s], mor.KeepPlan("manual", ((0,),), (2,)))
    with pytest.raises(CertificateError, match="ModalSystem"):
        certify([s.to_statespace()], mor.KeepPlan("manual", ((0,),), (2,)))
    with pytest.raises(CertificateError, match="KeepPlan"):
        certify(s, {"keep": [[0]]})
    with pytest.raises(mor.UnstableSystemError):
        mor.ModalSystem([1.2], [[1.0]], [[1.0]], dt=1)
    bidir = mor.ModalSystem([0.5], [[1.0]], [[1.0]], dt=1, C_backward=[[1.0]])
    with pytest.raises(mor.PlanMismatchError, match="bidirectional"):
        certify(bidir, BalancedPlan("bt", (1,), (1,)))


def test_bidirectional_published_average_is_flagged():
    s = mor.ModalSystem([0.0, 0.3], [[1.0], [1.0]], [[0.0, 1.0]], dt=1,
                        C_backward=[[1.0, 0.0]])
    layer = certify(s, mor.KeepPlan("manual", ((1,),), (2,))).layers[0]
    assert layer.bound("aire_eq19_published").valid is False
    assert layer.bound("aire_eq19").holds is True
    assert B.aire_certificate(error_system(s, [0])) == pytest.approx(layer.exact_hinf)


def test_verification_never_imports_jax():
    import subprocess
    import sys

    code = ("import sys, verification, verification.claims, verification.strategies, "
            "mor_cli.verify; print(any(m.split('.')[0] in ('jax', 'flax') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- norms at any scale (issue 9)
def test_tiny_gains_are_certified_not_reported_as_zero():
    # ‖C_0‖·‖B_0‖ = 1e20 · 1e-170: np.linalg.norm(1e-170) underflowed to 0, the error was
    # reported as exactly 0 and every bound as holding.  True error: 1e-150/(z − 0.5).
    s = mor.ModalSystem([0.5, 0.2], [[1e-170], [1.0]], [[1e20, 3.0]], dt=1)
    layer = certify(s, mor.KeepPlan("manual", ((1,),), (2,))).layers[0]
    assert layer.exact_hinf == pytest.approx(1e-150 / 0.5, rel=1e-9, abs=0)
    assert layer.exact_h2 == pytest.approx(1e-150 / (1 - 0.25) ** 0.5, rel=1e-9, abs=0)
    for b in layer.bounds:
        exact = layer.exact_hinf if b.norm == "hinf" else layer.exact_h2
        if b.valid:
            assert b.holds is True and b.value >= exact * (1 - 1e-9) > 0
    assert layer.bound("modal_triangle").value == pytest.approx(2e-150, rel=1e-12, abs=0)


def test_units_scaled_in_opposite_directions():
    # unit 0: B = 1, C = 1e-200; unit 1: B = 1e-200, C = 1 — each gain 1e-200, which no
    # single scaling of B and C brings to unit size: units are balanced one by one
    s = mor.ModalSystem([0.5, -0.25, 0.1], [[1.0], [1e-200], [1.0]], [[1e-200, 1.0, 3.0]],
                        dt=1)
    layer = certify(s, mor.KeepPlan("manual", ((2,),), (3,))).layers[0]
    reference = mor.hinf_norm(mor.ModalSystem([0.5, -0.25], [[1.0], [1.0]], [[1.0, 1.0]], dt=1))
    assert layer.exact_hinf == pytest.approx(1e-200 * reference, rel=1e-9, abs=0)
    triangle = layer.bound("modal_triangle").value
    assert triangle == pytest.approx(1e-200 * (2 + 1 / 0.75), rel=1e-12, abs=0)
    assert layer.bound("modal_triangle").holds and layer.bound("aire_eq19").holds


@pytest.mark.parametrize("gain", [1e-170, 1e170])
def test_errors_beyond_float64_range_are_checked_at_unit_scale(gain):
    # ‖G − G_r‖ = gain² is not a float64; holds is decided on the error scaled to unit size
    s = mor.ModalSystem([0.5, 0.2, 0.1], [[gain], [gain], [1.0]], [[gain, gain, 3.0]], dt=1)
    report = certify(s, mor.KeepPlan("manual", ((2,),), (3,)))
    layer = report.layers[0]
    assert report.all_valid_bounds_hold is True
    assert any("outside float64's range" in note for note in layer.notes)


def test_h2_error_beyond_resolution_is_unknown_not_holding():
    # the pruned modes cancel to 5e-14 of their size: H2 is not resolved, so the H2 bound
    # must not hold (the H∞ norm of the same error is, by the modal method)
    b = -1.0 - 1e-13
    s = mor.ModalSystem([-1.0, b, -3.0], [[1.0], [1.0], [1.0]], [[1.0, -1.0, 1.0]])
    layer = certify(s, mor.KeepPlan("manual", ((2,),), (3,))).layers[0]
    assert layer.exact_h2 is None and "the modes cancel" in layer.h2_reason
    assert layer.bound("h2_triangle").holds is None
    # ‖G‖∞ = d/(1 + d) at ω = 0, d = −1 − b; the modal method evaluates G to about 1e-16
    # times the triangle bound 2, i.e. 2e-3 of this value
    d = -1.0 - b
    assert layer.exact_hinf == pytest.approx(d / (1 + d), rel=5e-3, abs=0)


def test_h2_error_of_nearly_cancelling_modes_is_computed():
    # ‖G − G_r‖₂ = 5.2e-11 (closed form without cancellation): it was clamped to 0
    a, b = 1.0, 1.0 + 1.04e-10
    s = mor.ModalSystem([-a, -b, -3.0], [[1.0], [1.0], [1.0]], [[1.0, -1.0, 1.0]])
    layer = certify(s, mor.KeepPlan("manual", ((2,),), (3,))).layers[0]
    reference = (b - a) / (2 * a * b * (a + b)) ** 0.5
    assert layer.exact_h2 == pytest.approx(reference, rel=1e-4, abs=0)


def test_norm_computed_as_zero_for_a_nonzero_error_is_unknown(monkeypatch):
    import verification.certificates as cert

    monkeypatch.setattr(cert, "hinf_norm", lambda *args, **kwargs: 0.0)
    s = mor.ModalSystem([0.5, 0.2], [[1.0], [1.0]], [[1.0, 3.0]], dt=1)
    report = certify(s, mor.KeepPlan("manual", ((0,),), (2,)))
    layer = report.layers[0]
    assert layer.exact_hinf is None and "computed as 0" in layer.hinf_reason
    assert all(b.holds is None for b in layer.bounds if b.norm == "hinf" and b.value)
    assert report.all_valid_bounds_hold is None


def test_silent_units_give_an_exactly_zero_error():
    # a pair unit on the real axis with an imaginary residue: 2·Re(c b)/(z − a) = 0
    s = mor.ModalSystem([0.5, 0.2], [[1j], [1.0]], [[1.0, 3.0]], dt=1, pair=[True, False])
    layer = certify(s, mor.KeepPlan("manual", ((1,),), (2,))).layers[0]
    assert layer.exact_hinf == 0.0 and layer.exact_h2 == 0.0
    assert all(b.holds for b in layer.bounds if b.valid)


# ---------------------------------------------------------------- certify_many
def _stack(seed=0, nlayers=3, npairs=6, channels=3):
    rng = np.random.default_rng(seed)
    stack = []
    for layer in range(nlayers):
        poles = rng.uniform(0.5, 0.99, npairs) * np.exp(1j * rng.uniform(0, np.pi, npairs))
        B = rng.standard_normal((npairs, channels)) + 1j * rng.standard_normal((npairs, channels))
        C = rng.standard_normal((channels, npairs)) + 1j * rng.standard_normal((channels, npairs))
        stack.append(mor.ModalSystem(poles, B, C, np.eye(channels), 1.0, pair=True,
                                     output_after_update=True, name=f"layer {layer}"))
    return stack


def _same(a, b):
    assert (a.method, a.kind, a.ratio) == (b.method, b.kind, b.ratio)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert (la.layer, la.npruned) == (lb.layer, lb.npruned)
        for x, y in ((la.exact_hinf, lb.exact_hinf), (la.exact_h2, lb.exact_h2)):
            assert y == pytest.approx(x, rel=1e-12, abs=0)
        assert [(r.name, r.value, r.holds) for r in la.bounds] == \
            [(r.name, r.value, r.holds) for r in lb.bounds]


@pytest.mark.parametrize("processes", [1, 2])
def test_certify_many_equals_certify_plan_by_plan(processes):
    stack = _stack()
    plans = [mor.prune(stack, method, ratio=r) for method in ("aire", "last")
             for r in (0.2, 0.5, 0.8)]
    plans.append(mor.prune(stack, "balanced_truncation", ratio=0.5))
    many = certify_many(stack, plans, processes=processes)
    assert len(many) == len(plans)
    for plan, report in zip(plans, many, strict=True):
        _same(certify(stack, plan), report)


def test_certify_many_checks_its_arguments():
    stack = _stack()
    plan = mor.prune(stack, "aire", ratio=0.5)
    with pytest.raises(CertificateError):
        certify_many(stack, [plan], processes=0)
    with pytest.raises(CertificateError):
        certify_many(stack, [plan, "not a plan"])
    with pytest.raises(mor.PlanMismatchError):
        certify_many(stack[:2], [plan])


def test_pruned_pair_on_the_real_axis_with_an_imaginary_residue_has_zero_error():
    # found by test_certify's property test: 2·Re(c b)/(s + 1) is exactly 0, but np.real of
    # the complex product (a fused multiply-add) left 1.4e-17 after the unit scaling, and the
    # exact H∞ and H2 errors were reported unknown ("computed as 0 for a non-zero system")
    b = 2 * float.fromhex("0x1.2c9fa0c3e9499p-1")
    s = mor.ModalSystem([-1.0, -2.0], [[-1 - 1j, b + b * 1j], [1.0, 0.5]],
                        [[-0.75 - 0.75j, 1.0]], None, 0, pair=[True, False])
    plan = mor.KeepPlan("manual", ((1,),), (2,))
    for report in (certify(s, plan), certify_many(s, [plan])[0]):
        layer = report.layers[0]
        assert layer.exact_hinf == 0.0 and layer.exact_h2 == 0.0
        report.assert_valid_bounds_hold()


# ---------------------------------------------------------------- bundled benchmarks
# Done criterion: on the bundled benchmarks, every bound marked valid holds.
RATIOS = [round(float(r), 1) for r in np.arange(0.1, 1.0, 0.1)]


@pytest.fixture(scope="module")
def modal_benchmarks():
    out = {}
    for name in mor.BENCHMARKS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mor.IllConditionedEigenbasisWarning)
            out[name] = mor.ModalSystem.from_statespace(mor.load_benchmark(name), name=name)
    return out


@pytest.mark.parametrize("method", ["aire", "last", "balanced_truncation"])
@pytest.mark.parametrize("name", mor.BENCHMARKS)
def test_every_valid_bound_holds(modal_benchmarks, name, method):
    sys = modal_benchmarks[name]
    for ratio in RATIOS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            report = certify(sys, mor.prune([sys], method, ratio=ratio))
        report.assert_valid_bounds_hold()
        assert report.all_valid_bounds_hold is True
        layer = report.layers[0]
        assert layer.exact_hinf is not None and layer.exact_hinf >= 0
        names = {b.name for b in layer.bounds}
        if method == "balanced_truncation":
            assert names == {"balanced_2sigma"}
        else:
            assert {"modal_triangle", "aire_eq19", "h2_triangle"} <= names
            # the modal error is computed from the pruned units: never above the triangle bound
            assert layer.exact_hinf <= layer.bound("modal_triangle").value * (1 + 1e-8)
