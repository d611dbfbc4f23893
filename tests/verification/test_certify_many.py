"""certify_many: the reports of certify for several plans, with shared per-layer work."""

import numpy as np
import pytest

import mor
from verification import CertificateError, certify, certify_many


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


@pytest.mark.parametrize(("discrete", "bidirectional", "after_update"),
                         [(True, False, True), (True, True, True), (True, True, False),
                          (False, False, False)])
def test_subset_h2_equals_h2_norm_on_leading_and_trailing_sets(discrete, bidirectional,
                                                                after_update):
    from verification import error_system
    from verification._subset_h2 import SubsetH2

    rng = np.random.default_rng(3)
    n, p, m = 7, 3, 2
    pair = np.arange(n) < 4
    if discrete:
        poles = rng.uniform(0.3, 0.999, n) * np.where(pair, np.exp(1j * rng.uniform(0, 3, n)),
                                                      rng.choice([-1, 1], n))
    else:
        poles = -rng.uniform(0.01, 2, n) + 1j * np.where(pair, rng.uniform(0.1, 5, n), 0)

    def cplx(shape):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    B = np.where(pair[:, None], cplx((n, m)), rng.standard_normal((n, m)))
    C = np.where(pair[None], cplx((p, n)), rng.standard_normal((p, n)))
    Cb = np.where(pair[None], cplx((p, n)), rng.standard_normal((p, n))) if bidirectional \
        else None
    s = mor.ModalSystem(poles, B, C, None, 1.0 if discrete else 0, pair=pair, C_backward=Cb,
                        output_after_update=after_update)
    order = [int(u) for u in rng.permutation(n)]
    subsets = SubsetH2(s, order)
    for k in range(1, n + 1):
        for units in (order[:k], order[n - k:]):
            exact = mor.h2_norm(error_system(s, sorted(units)))
            assert subsets.value(units) == pytest.approx(exact, rel=1e-12)
            assert subsets.value(units, -3) == pytest.approx(exact / 8, rel=1e-12)
    assert subsets.value([order[1]]) is None  # neither leading nor trailing


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
