"""mor.prune(..., tol=ε): per layer, the certified H∞ error of the truncation is ≤ ε."""

from __future__ import annotations

import numpy as np
import pytest

import mor
from mor.budgets import modal_unit_bounds, tolerance_keep


def stack(seed=0, sizes=(6, 4, 5), bidirectional=(False, True, False)):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n, bidi) in enumerate(zip(sizes, bidirectional, strict=True)):
        poles = rng.uniform(0.2, 0.97, n) * np.exp(1j * rng.uniform(0.0, 3.0, n))
        poles[0] = poles[0].real  # one real unit
        B = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
        C = rng.standard_normal((2, n)) + 1j * rng.standard_normal((2, n))
        B[0], C[:, 0] = B[0].real, C[:, 0].real
        Cb = None
        if bidi:
            Cb = rng.standard_normal((2, n)) + 1j * rng.standard_normal((2, n))
            Cb[:, 0] = Cb[:, 0].real
        pair = np.ones(n, bool)
        pair[0] = False
        layers.append(mor.ModalSystem(poles, B, C, np.eye(2), 1, pair=pair, C_backward=Cb,
                                      output_after_update=True, name=f"layer {i}"))
    return layers


def triangle(sys, units):
    """Σ m_i (‖C_i‖ + ‖C_b,i‖) ‖B_i‖ / (1 − |λ_i|), written out independently."""
    total = 0.0
    for i in units:
        c = np.linalg.norm(sys.C[:, i]) + (
            0.0 if sys.C_backward is None else np.linalg.norm(sys.C_backward[:, i]))
        total += (2.0 if sys.pair[i] else 1.0) * c * np.linalg.norm(sys.B[i]) / (
            1 - abs(sys.poles[i]))
    return total


@pytest.mark.parametrize("method", ["aire", "last", "global_magnitude", "random"])
def test_tolerance_plans_are_certified_and_maximal(method):
    layers = stack()
    tol = 0.5 * np.median([triangle(s, range(s.nunits)) for s in layers])
    plan = mor.prune(layers, method, tol=tol, seed=3)
    assert plan.ratio is None
    for sys, pruned, local in zip(layers, plan.pruned, plan.scores or [None] * 3, strict=True):
        assert triangle(sys, pruned) <= tol
        if pruned:  # the error itself, exactly
            err = sys.subsystem(list(pruned))
            err = mor.ModalSystem(err.poles, err.B, err.C, np.zeros((2, 2)), 1, pair=err.pair,
                                  C_backward=err.C_backward, output_after_update=True)
            assert mor.hinf_norm(err) <= tol
        if local is not None:  # the next unit by the method's ranking would break the budget
            ranked = [int(i) for i in np.lexsort((np.arange(sys.nunits), -np.asarray(local)))]
            kept = [i for i in ranked if i not in pruned]
            if len(kept) > 1:
                assert triangle(sys, [*pruned, kept[-1]]) > tol


def test_unit_bounds_and_edge_cases():
    (sys,) = stack(sizes=(4,), bidirectional=(True,))
    np.testing.assert_allclose(modal_unit_bounds(sys), [triangle(sys, [i]) for i in range(4)])
    # a budget larger than everything keeps only the best unit; a tiny one keeps all
    local = np.arange(4.0)
    assert tolerance_keep(sys, local, 1e9).tolist() == [3]
    assert tolerance_keep(sys, local, 1e-12).tolist() == [0, 1, 2, 3]
    for bad in (0.0, -1.0, float("inf"), float("nan"), True):
        with pytest.raises(mor.RatioError, match="tol"):
            mor.prune([sys], "aire", tol=bad)
    with pytest.raises(mor.RatioError, match="exactly one"):
        mor.prune([sys], "aire", ratio=0.5, tol=1.0)
    with pytest.raises(mor.RatioError, match="tol"):
        mor.prune([sys], "aire", tol=1.0, compat="released")
