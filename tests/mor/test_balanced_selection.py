"""Balanced reduction per layer (mor/balanced_selection.py): one LayerReductor per layer, its
error bounds and tolerance form, textbook balanced truncation for standard-form layers."""

from __future__ import annotations

import numpy as np
import pytest

import mor
from mor.balanced_selection import LayerReductor, balanced_plan
from mor.systems import ModalSystem


def layer(n=5, *, seed=0, after=True):
    rng = np.random.default_rng(seed)
    poles = rng.uniform(0.3, 0.9, n) * np.exp(1j * rng.uniform(0.2, 2.5, n))
    return ModalSystem(poles, rng.standard_normal((n, 2)) + 0j, rng.standard_normal((2, n)) + 0j,
                       np.eye(2), 1, pair=True, output_after_update=after, name=f"layer {seed}")


def test_layer_reductor_bounds_every_order_and_reduces_by_tolerance():
    full = layer(6, seed=2)
    red = LayerReductor(full)
    bounds = red.error_bounds()
    assert bounds.shape == (13,) and bounds[-1] == 0 and np.all(np.diff(bounds) <= 0)
    for tol in (bounds[2] * 1.0001, bounds[8], 1e9):
        r = red.order_for_tolerance(tol)
        assert bounds[r] <= tol and (r == 1 or bounds[r - 1] > tol)
        reduced = red.reduce(tol=tol)
        assert reduced.nstates == r
        err = mor.hinf_norm(mor.after_update.reduction_error(full, reduced)) if r < 12 else 0.0
        assert err <= tol * (1 + 1e-6)
    with pytest.raises(mor.StateDimensionError, match="exactly one"):
        red.reduce()
    # a stack by tolerance is one reductor per layer
    stack = [full, layer(4, seed=3)]
    plan = balanced_plan(stack, tol=bounds[4])
    assert plan.orders[0] == red.order_for_tolerance(bounds[4])


def test_standard_form_layers_use_textbook_balanced_truncation():
    full = layer(4, seed=4, after=False)
    red = LayerReductor(full)
    np.testing.assert_allclose(red.hankel_singular_values(),
                               mor.hankel_singular_values(full), rtol=1e-10)
    np.testing.assert_allclose(red.error_bounds()[3],
                               2 * np.sum(red.hankel_singular_values()[3:]), rtol=1e-12)
    assert red.reduce(3).nstates == 3


def test_calibrated_reductors_have_no_tolerance_form():
    from mor.calibrated import StateMomentAccumulator

    full = layer(3, seed=5)
    acc = StateMomentAccumulator(full)
    acc.add(np.random.default_rng(0).standard_normal((4, 20, 2)))
    red = LayerReductor(full, acc.result())
    assert red.hankel_singular_values().shape == (6,)
    with pytest.raises(mor.RatioError, match="no a-priori"):
        red.reduce(tol=1.0)


def test_a_cached_reductor_balances_once_and_reduces_exactly_as_the_function(monkeypatch):
    """LayerReductor balances a layer once (one controllability and one observability factor
    per block) and reduce(order) equals after_update_balanced_truncation(sys, order) bit for
    bit; a shared reductor in apply_plan gives the same layers as a fresh one."""
    import mor.after_update as au
    from mor.after_update import after_update_balanced_truncation
    from mor.balanced_selection import apply_plan, layer_reductors

    full = layer(6, seed=7)
    orders = (1, 3, 4, 7, 12)
    expected = [after_update_balanced_truncation(full, r).system for r in orders]
    calls = []
    real = au._cholesky_factor

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(au, "_cholesky_factor", counting)
    red = LayerReductor(full)
    got = [red.reduce(r) for r in orders]
    red.hankel_singular_values()
    red.error_bounds()
    assert len(calls) == 2  # Lc and Lo of the one block, for every order
    for e, g in zip(expected, got, strict=True):
        for f in ("poles", "B", "C", "D", "pair"):
            assert np.array_equal(getattr(e, f), getattr(g, f)), f
    stack = [full, layer(4, seed=8)]
    shared = layer_reductors(stack)
    calls.clear()
    for ratio in (0.2, 0.5, 0.8):
        plan = balanced_plan(stack, ratio=ratio)
        fresh = apply_plan(plan, stack)
        reused = apply_plan(plan, stack, reductors=shared)
        for a, b in zip(fresh, reused, strict=True):
            assert np.array_equal(a.poles, b.poles) and np.array_equal(a.C, b.C)
    # fresh: 3 ratios × 2 layers × 2 factors (plus the plans'); shared: 2 × 2 once
    n_plans = 3 * 2 * 2
    assert len(calls) == n_plans + 3 * 2 * 2 + 2 * 2


def test_apply_plan_rejects_reductors_of_other_layers():
    from mor.balanced_selection import apply_plan, layer_reductors

    stack = [layer(4, seed=9)]
    plan = balanced_plan(stack, ratio=0.5)
    with pytest.raises(mor.PlanMismatchError, match="other layers"):
        apply_plan(plan, stack, reductors=layer_reductors([layer(4, seed=10)]))
