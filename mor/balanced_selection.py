"""Balanced-truncation plans over a stack of layers: per-layer orders from Hankel values.

A balanced plan (``KeepPlan.kind == "balanced"``) keeps, in layer l, the leading
``len(keep[l])`` balanced states (real states).  The orders are chosen by one of:

- ``ratio`` p: the same fraction in every layer, ``max(1, n_l − round(p·n_l))`` states;
- ``threshold`` τ: the layer-adaptive rule of AIRE / LAST applied to Hankel singular
  values — per layer, sort σ descending and prefix-normalise, ``s_i = σ_i / Σ_{j≤i} σ_j``
  (aire-prune eq. 11); keep the states with ``s_i ≥ τ`` (each layer's first always);
- ``budget``: per layer, the order;
- ``tol`` ε: per layer, the smallest order whose certified H∞ error is ≤ ε (the error-budget
  form of pyMOR's ``reduce(tol=…)``; :func:`mor.after_update.after_update_error_bounds`).

Layers that read their output after the update (S5/S4D, ``output_after_update``) are ranked
by the Hankel singular values of their after-update triple (:mod:`mor.after_update`), which
is what reducing them keeps; other layers by those of their standard form.  A layer's
unstable part is kept whole on top of its order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mor.after_update import (
    after_update_error_bounds,
    after_update_hankel_singular_values,
    order_for_tolerance,
)
from mor.exceptions import RatioError
from mor.norms import hankel_singular_values
from mor.plan import KeepPlan
from mor.scores import prefix_normalize
from mor.systems import ModalSystem

__all__ = ["balanced_plan", "layer_error_bounds", "layer_hankel_singular_values"]


def layer_hankel_singular_values(sys: ModalSystem) -> np.ndarray:
    """The Hankel singular values a balanced plan ranks a layer by (stable part, descending)."""
    if sys.output_after_update:
        return after_update_hankel_singular_values(sys)
    stable = sys.stable_part()
    return np.zeros(0) if stable is None else hankel_singular_values(stable)


def _unstable_states(sys: ModalSystem) -> int:
    stable = sys.stable_part()
    return sys.nstates - (0 if stable is None else stable.nstates)


def layer_error_bounds(sys: ModalSystem) -> np.ndarray:
    """Certified H∞ error of the layer's balanced truncation at every order 0..nstates.

    After-update layers: :func:`mor.after_update.after_update_error_bounds`;
    others: ``2 Σ_{i>r} σ_i`` of the stable part (+inf below the unstable states).
    """
    if sys.output_after_update:
        return after_update_error_bounds(sys)
    hsv = layer_hankel_singular_values(sys)
    nu = _unstable_states(sys)
    out = np.full(sys.nstates + 1, np.inf)
    tails = 2.0 * np.concatenate([np.cumsum(hsv[::-1])[::-1], [0.0]])
    out[nu:] = tails
    return out


def _tol_order(sys: ModalSystem, tol: float) -> int:
    if sys.output_after_update:
        return order_for_tolerance(sys, tol)
    if not isinstance(tol, int | float) or isinstance(tol, bool) or not (
            math.isfinite(tol) and tol > 0):
        raise RatioError(f"tol = {tol!r}; expected a positive finite number (an H∞ error)")
    bounds = layer_error_bounds(sys)
    ok = np.flatnonzero(bounds[1:] <= tol)
    return int(ok[0]) + 1 if ok.size else sys.nstates


def _check_ratio(ratio: float) -> float:
    if not isinstance(ratio, int | float) or isinstance(ratio, bool) or not (
            math.isfinite(ratio) and 0.0 <= ratio <= 1.0):
        raise RatioError(f"ratio = {ratio!r}; expected a number in [0, 1] (0 keeps everything)")
    return float(ratio)


def _check_budget(budget: Sequence[int], nstates: Sequence[int]) -> list[int]:
    if len(budget) != len(nstates):
        raise RatioError(f"budget has {len(budget)} entries for {len(nstates)} layers")
    out = []
    for layer, (b, n) in enumerate(zip(budget, nstates, strict=True)):
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or not 1 <= b <= n:
            raise RatioError(f"layer {layer}: budget {b!r} is outside 1..{n} (real states)")
        out.append(int(b))
    return out


def _prefix_orders(hsv: Sequence[np.ndarray], threshold: float) -> list[int]:
    if not math.isfinite(threshold):
        raise RatioError(f"threshold = {threshold!r}; expected a finite number")
    orders = []
    for h in hsv:
        if h.size == 0:
            orders.append(0)
            continue
        keys = prefix_normalize(h)  # non-increasing: "≥ τ" keeps a prefix
        orders.append(max(1, int(np.count_nonzero(keys >= threshold))))
    return orders


def balanced_plan(
    layers: Sequence[ModalSystem],
    *,
    ratio: float | None = None,
    threshold: float | None = None,
    budget: Sequence[int] | None = None,
    tol: float | None = None,
    method: str = "balanced_truncation",
) -> KeepPlan:
    """A balanced-truncation KeepPlan: per layer, an order (real states).

    Give exactly one of ``ratio``, ``threshold``, ``budget`` or ``tol`` (module docstring).

    Returns
    -------
    KeepPlan
        ``kind="balanced"``, ``nunits`` = real states per layer, ``keep[l] = range(order)``,
        ``scores`` the Hankel singular values ranked by, ``normalized_scores`` their prefix
        normalisation (threshold mode).

    Raises
    ------
    RatioError
        None or several of the four given, or a value out of range.
    """
    layers = list(layers)
    given = [x is not None for x in (ratio, threshold, budget, tol)]
    if sum(given) != 1:
        raise RatioError(f"{method}: give exactly one of ratio, threshold, budget or tol")
    nstates = [s.nstates for s in layers]
    hsv = [layer_hankel_singular_values(s) for s in layers]
    unstable = [_unstable_states(s) for s in layers]
    normalized = None
    if ratio is not None:
        ratio = _check_ratio(ratio)
        orders = [max(1, n - math.floor(ratio * n + 0.5)) for n in nstates]
    elif budget is not None:
        orders = _check_budget(budget, nstates)
    elif tol is not None:
        orders = [_tol_order(s, tol) for s in layers]
    else:
        threshold = float(threshold)
        orders = [u + r for u, r in zip(unstable, _prefix_orders(hsv, threshold), strict=True)]
        normalized = [tuple(prefix_normalize(h)) if h.size else () for h in hsv]
    orders = [min(n, max(r, u, 1)) for r, u, n in zip(orders, unstable, nstates, strict=True)]
    return KeepPlan(
        method=method,
        keep=[tuple(range(r)) for r in orders],
        nunits=nstates,
        ratio=ratio,
        threshold=threshold,
        scores=[tuple(float(x) for x in h) for h in hsv],
        normalized_scores=normalized,
        kind="balanced",
    )
