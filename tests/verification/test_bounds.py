"""The bound registry (verification.bounds.BOUNDS) and the GELU constants' one home."""

import mor
from mor.plan import BalancedPlan
from verification import bounds as B
from verification import certify
from verification import network as net


def _reported(report) -> set[str]:
    return {b.name for layer in report.layers for b in layer.bounds}


def test_registry_lists_every_bound_certify_reports():
    """A bound certify reports that is not in the registry was wired in by hand."""
    dt = mor.ModalSystem([0.5, -0.9, 0.3j], [[1.0], [1.0], [1.0]], [[1.0, 0.1, 1.0]], dt=1,
                         pair=[False, False, True])
    ct = mor.ModalSystem([-1.0, -3.0], [[1.0], [2.0]], [[1.0, 1.0]])
    s5 = mor.ModalSystem([0.5, 0.3], [[1.0], [1.0]], [[1.0, 2.0]], dt=1,
                         output_after_update=True)
    bidir = mor.ModalSystem([0.5, 0.3], [[1.0], [1.0]], [[1.0, 2.0]], dt=1,
                            output_after_update=True, C_backward=[[0.5, 1.0]])
    modal = set()
    for sys in (dt, ct):
        modal |= _reported(certify(sys, mor.prune([sys], "aire", ratio=0.5)))
    assert modal == {b.name for b in B.bounds_for("modal")}
    balanced = set()
    for sys in (dt, s5, bidir):
        balanced |= _reported(certify(sys, BalancedPlan("balanced_truncation", (1,),
                                                        (sys.nstates,))))
    assert balanced <= {b.name for b in B.bounds_for("balanced")}
    assert {"balanced_2sigma", "balanced_bidirectional"} <= balanced
    names = [b.name for b in B.BOUNDS]
    assert len(names) == len(set(names))
    assert all(b.norm in ("hinf", "h2") and b.source for b in B.BOUNDS)


def test_reported_sources_and_validity_come_from_the_registry():
    s = mor.ModalSystem([0.5, 0.3j], [[1.0], [1.0]], [[1.0, 1.0]], dt=1, pair=[False, True])
    layer = certify(s, mor.KeepPlan("manual", ((0,),), (2,))).layers[0]  # prunes the pair
    for b in layer.bounds:
        entry = B.bound(b.name)
        assert b.norm == entry.norm and b.source.startswith(entry.source)
    # the published forms count the pair once: not proved here, reported as such
    assert not layer.bound("aire_eq19_published").valid
    assert layer.bound("modal_triangle").valid


def test_gelu_constants_have_one_home():
    assert net.LIPSCHITZ["gelu"] is B.GELU_LIPSCHITZ
    assert net.LIPSCHITZ["gelu_tanh"] is B.GELU_TANH_LIPSCHITZ
