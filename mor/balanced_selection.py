"""Balanced truncation of a stack of layers: a reductor per layer, a BalancedPlan per stack.

:class:`LayerReductor` reduces one layer the pyMOR way (``BTReductor(fom)``): the Hankel
singular values and the certified H∞ error of every order are computed once
(:meth:`~LayerReductor.error_bounds`), so ``reduce(tol=…)`` is one call.  Layers that read
their output after the update (S5/S4D, ``output_after_update``) are reduced by the
structure-preserving truncation of :mod:`mor.after_update` and ranked by the Hankel singular
values of their after-update triple; other layers by textbook balanced truncation of their
standard form.  With calibration moments (:mod:`mor.calibrated`) the controllability Gramian
is the empirical one and there is no a-priori bound.  A layer's unstable part is kept whole
on top of its order.

:func:`balanced_plan` chooses one order per layer (real states) by one of

- ``ratio`` p: the same fraction in every layer, ``max(1, n_l − round(p·n_l))`` states;
- ``threshold`` τ: the layer-adaptive rule of AIRE / LAST applied to Hankel singular
  values — per layer, sort σ descending and prefix-normalise, ``s_i = σ_i / Σ_{j≤i} σ_j``
  (aire-prune eq. 11); keep the states with ``s_i ≥ τ`` (each layer's first always);
- ``budget``: per layer, the order;
- ``tol`` ε: per layer, the smallest order whose certified H∞ error is ≤ ε;

and returns a :class:`~mor.plan.BalancedPlan` (plain data); :func:`apply_plan` reduces the
layers by a plan of either kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mor.after_update import (
    after_update_error_bounds,
    after_update_hankel_singular_values,
    balance,
)
from mor.calibrated import (
    CALIBRATED_METHODS,
    CalibratedBalancing,
    LayerMoments,
    checked_moments,
)
from mor.exceptions import InputTypeError, PlanMismatchError, RatioError, StateDimensionError
from mor.norms import hankel_singular_values
from mor.plan import BalancedPlan, KeepPlan, modal_layers
from mor.reduction import CertifiedReductor
from mor.scores import prefix_normalize
from mor.systems import ModalSystem

__all__ = [
    "LayerReductor",
    "apply_plan",
    "balanced_plan",
    "layer_error_bounds",
    "layer_hankel_singular_values",
    "layer_reductors",
]


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
    out = np.full(sys.nstates + 1, np.inf)
    out[_unstable_states(sys):] = 2.0 * np.concatenate([np.cumsum(hsv[::-1])[::-1], [0.0]])
    return out


def _standard_balanced(sys: ModalSystem, order: int) -> ModalSystem:
    """Textbook balanced truncation of a standard-form layer, back in modal form."""
    from mor.truncation import balanced_truncation

    return ModalSystem.from_statespace(
        balanced_truncation(sys if not sys.is_stable else sys.to_statespace(), order=order),
        name=sys.name, allow_unstable=not sys.is_stable,
    )


class LayerReductor(CertifiedReductor):
    """Balanced truncation of one diagonal layer, with the certificate for every order.

    Parameters
    ----------
    sys : ModalSystem
        One layer (after-update S5/S4D layers keep their structure and D).
    moments : LayerMoments, optional
        Calibration moments: balance with the empirical controllability Gramian
        (:func:`mor.calibrated.calibrated_balanced_truncation`); no a-priori bound then.

    Attributes
    ----------
    sys : ModalSystem
    nstates, unstable_states : int
        Real states of the layer and of its unstable part (kept whole).

    Examples
    --------
    >>> s = ModalSystem([0.9, 0.5, 0.1], [[1.0], [1.0], [1.0]], [[1.0, 1.0, 1.0]], dt=1,
    ...                 output_after_update=True)
    >>> red = LayerReductor(s)
    >>> red.error_bounds().round(2).tolist()   # 2 Σ_{i>r} σ_i for r = 0 … 3
    [15.21, 2.51, 0.14, 0.0]
    >>> red.reduce(tol=1.0).nstates             # the smallest order certified within 1
    2
    """

    def __init__(self, sys: ModalSystem, moments: LayerMoments | None = None) -> None:
        if not isinstance(sys, ModalSystem):
            raise InputTypeError(f"sys is a {type(sys).__name__}; expected a ModalSystem")
        self.sys = sys
        self.moments = moments
        self.nstates = sys.nstates
        self.unstable_states = _unstable_states(sys)
        self._hsv: np.ndarray | None = None
        self._bounds: np.ndarray | None = None
        self._balanced = None

    def _balancing(self):
        """The layer balanced once (lazily), or None for a standard-form layer.

        A :class:`mor.after_update.BalancedRealisation` (after-update layers) or a
        :class:`mor.calibrated.CalibratedBalancing` (with moments): what every order shares.
        """
        if self._balanced is None and (self.moments is not None or self.sys.output_after_update):
            self._balanced = (balance(self.sys) if self.moments is None
                              else CalibratedBalancing(self.sys, self.moments))
        return self._balanced

    def hankel_singular_values(self) -> np.ndarray:
        """The values the layer's states are ranked by (stable part, descending)."""
        if self._hsv is None:
            balanced = self._balancing()
            self._hsv = (layer_hankel_singular_values(self.sys) if balanced is None
                         else balanced.hankel_singular_values())
        return self._hsv.copy()

    def error_bounds(self) -> np.ndarray:
        """The certified bound on the layer's ``‖G − G_r‖∞`` for every order r = 0 … nstates.

        Raises
        ------
        RatioError
            A calibrated reductor: a data-weighted Gramian gives no a-priori bound.
        """
        if self.moments is not None:
            raise RatioError(
                f"{self.sys.name or 'layer'}: calibrated balanced truncation has no a-priori "
                "error bound (data-weighted Gramian), so no tol form; choose the order by "
                "ratio, threshold or budget")
        if self._bounds is None:
            balanced = self._balancing()
            self._bounds = (layer_error_bounds(self.sys) if balanced is None
                            else balanced.error_bounds())
        return self._bounds.copy()

    def reduce(self, order: int | None = None, *, tol: float | None = None) -> ModalSystem:
        """The reduced layer at ``order`` real states, or the smallest certified within ``tol``.

        Raises
        ------
        StateDimensionError
            Neither or both of ``order`` and ``tol``, or an order outside its range.
        """
        if (order is None) == (tol is None):
            raise StateDimensionError("give exactly one of order= (real states) and tol= "
                                      "(the certified H∞ error allowed)")
        order = self.order_for_tolerance(tol) if order is None else order
        balanced = self._balancing()
        if balanced is None:
            return _standard_balanced(self.sys, order)
        return balanced.truncate(order).system


def layer_reductors(systems: Sequence[ModalSystem],
                    moments: Sequence[LayerMoments] | None = None) -> list[LayerReductor]:
    """One :class:`LayerReductor` per layer, to share across plans (e.g. a ratio sweep).

    Each balances its layer on first use and keeps it, so ``apply_plan(plan, systems,
    moments, reductors=…)`` for many plans balances every layer once.

    Parameters
    ----------
    systems : sequence of ModalSystem
    moments : sequence of LayerMoments, optional
        Calibration moments, one per layer (calibrated reductors).
    """
    systems = modal_layers(systems)
    per_layer = [None] * len(systems) if moments is None else checked_moments(systems,
                                                                               moments)[1]
    return [LayerReductor(s, m) for s, m in zip(systems, per_layer, strict=True)]


def _check_reductors(reductors: Sequence[LayerReductor], systems: Sequence[ModalSystem],
                     calibrated: bool) -> list[LayerReductor]:
    """The reductors, if they were made for these layers (and this kind of plan)."""
    reductors = list(reductors)
    fits = len(reductors) == len(systems) and all(
        isinstance(r, LayerReductor) and (r.moments is not None) == calibrated
        and _same_layer(r.sys, s) for r, s in zip(reductors, systems, strict=False))
    if not fits:
        raise PlanMismatchError(
            "reductors were made for other layers (or without/with calibration moments "
            "unlike the plan); build them from these systems with "
            "mor.balanced_selection.layer_reductors(systems, moments)")
    return reductors


def _same_layer(a: ModalSystem, b: ModalSystem) -> bool:
    if a is b:
        return True
    same_cb = (a.C_backward is None) == (b.C_backward is None) and (
        a.C_backward is None or np.array_equal(a.C_backward, b.C_backward))
    return (same_cb and a.dt == b.dt and a.output_after_update == b.output_after_update
            and all(x.shape == y.shape and np.array_equal(x, y) for x, y in
                    ((a.poles, b.poles), (a.B, b.B), (a.C, b.C), (a.D, b.D), (a.pair, b.pair))))


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


def _orders(reductors: list[LayerReductor], hsv: list[np.ndarray], ratio, threshold, budget,
            tol) -> list[int]:
    """Per layer, the order asked for (before the unstable part and the range are applied)."""
    from mor.selection import check_ratio

    nstates = [r.nstates for r in reductors]
    if ratio is not None:
        ratio = check_ratio(ratio)
        return [max(1, n - math.floor(ratio * n + 0.5)) for n in nstates]
    if budget is not None:
        return _check_budget(budget, nstates)
    if tol is not None:
        return [r.order_for_tolerance(tol) for r in reductors]
    return [r.unstable_states + k for r, k in zip(reductors, _prefix_orders(hsv, float(threshold)),
                                                  strict=True)]


def balanced_plan(
    layers: Sequence[ModalSystem],
    *,
    ratio: float | None = None,
    threshold: float | None = None,
    budget: Sequence[int] | None = None,
    tol: float | None = None,
    method: str = "balanced_truncation",
    moments: Sequence[LayerMoments] | None = None,
    reductors: Sequence[LayerReductor] | None = None,
) -> BalancedPlan:
    """A balanced plan: per layer, an order (real states).

    Give exactly one of ``ratio``, ``threshold``, ``budget`` or ``tol`` (module docstring).

    Parameters
    ----------
    layers : sequence of ModalSystem
    ratio, threshold, budget, tol
        How the orders are chosen (module docstring).
    method : str
        Recorded in the plan.
    moments : sequence of LayerMoments, optional
        Calibration moments, one per layer: rank by calibrated Hankel values (no ``tol``).
    reductors : sequence of LayerReductor, optional
        :func:`layer_reductors` of ``layers`` (and ``moments``), shared by many plans: each
        layer is balanced once.  Same plan as without.

    Returns
    -------
    BalancedPlan
        ``scores`` the Hankel singular values ranked by, ``normalized_scores`` their prefix
        normalisation (threshold mode).

    Raises
    ------
    RatioError
        None or several of the four given, or a value out of range.
    """
    layers = modal_layers(layers, "layers")
    if sum(x is not None for x in (ratio, threshold, budget, tol)) != 1:
        raise RatioError(f"{method}: give exactly one of ratio, threshold, budget or tol")
    if reductors is None:
        reductors = layer_reductors(layers, moments)
    else:
        reductors = _check_reductors(reductors, layers, moments is not None)
    hsv = [r.hankel_singular_values() for r in reductors]
    orders = _orders(reductors, hsv, ratio, threshold, budget, tol)
    return BalancedPlan(
        method=method,
        orders=[min(r.nstates, max(k, r.unstable_states, 1))
                for k, r in zip(orders, reductors, strict=True)],
        nstates=[r.nstates for r in reductors],
        ratio=None if ratio is None else float(ratio),
        threshold=None if threshold is None else float(threshold),
        scores=[tuple(float(x) for x in h) for h in hsv],
        normalized_scores=None if threshold is None else [
            tuple(prefix_normalize(h)) if h.size else () for h in hsv],
    )


def apply_plan(plan: KeepPlan | BalancedPlan, systems: Sequence[ModalSystem],
               moments: Sequence[LayerMoments] | None = None, *,
               reductors: Sequence[LayerReductor] | None = None) -> list[ModalSystem]:
    """Reduce each layer by a plan of either kind.

    A :class:`~mor.plan.KeepPlan` keeps its units (:meth:`~mor.plan.KeepPlan.apply`); a
    :class:`~mor.plan.BalancedPlan` balance-truncates each layer to its order
    (:class:`LayerReductor`), a calibrated one with its ``moments``.

    Parameters
    ----------
    plan : KeepPlan or BalancedPlan
    systems : sequence of ModalSystem
    moments : sequence of LayerMoments, optional
        Needed by plans of a calibrated balanced method (ignored by the others).
    reductors : sequence of LayerReductor, optional
        From :func:`layer_reductors` for these systems (and ``moments``, for a calibrated
        plan): layers balanced once and shared by many plans.  Same results as without.

    Returns
    -------
    list of ModalSystem, one per layer.

    Raises
    ------
    PlanMismatchError
        Not a plan, a plan made for other systems, a calibrated plan without moments, or
        reductors made for other layers.
    """
    if isinstance(plan, KeepPlan):
        return plan.apply(systems)
    if not isinstance(plan, BalancedPlan):
        raise PlanMismatchError(f"expected a KeepPlan or BalancedPlan; got {type(plan).__name__}")
    systems = modal_layers(systems)
    plan.check_fits(systems)
    calibrated = plan.method in CALIBRATED_METHODS
    if calibrated and moments is None:
        raise PlanMismatchError(
            f"a {plan.method} plan is applied with its calibration moments: "
            "mor.balanced_selection.apply_plan(plan, systems, moments) (a network: "
            "calibration=, the ssm_bridge.calibration.Calibration saved beside the plan)")
    if reductors is None:
        reductors = layer_reductors(systems, moments if calibrated else None)
    else:
        reductors = _check_reductors(reductors, systems, calibrated)
    return [red.reduce(r) for red, r in zip(reductors, plan.orders, strict=True)]
