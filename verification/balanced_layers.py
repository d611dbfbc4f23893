"""Certificates of balanced plans: one layer reduced by balanced truncation.

- Causal layers in standard form: SLICOT AB09AD on the real realisation, the error
  ``G − G_bt`` of the two realisations, H∞ by AB13DD; bound ``balanced_2sigma``,
  ``2 Σ_{i>r} σ_i`` (Enns 1984; Al-Saggaf & Franklin 1987).
- S5/S4D layers (output after the update, one or two directions): reduced by
  :func:`mor.after_update.after_update_balanced_truncation`, which keeps them diagonal with
  the same D.  The error is ``z·(H − H_r)`` (one direction) or ``z·E_f(z) + z⁻¹E_b(z⁻¹)``
  (two); its exact norms come from the modal methods of :mod:`mor.norms` on
  :func:`mor.after_update.reduction_error`, and the bound is the reduction's certificate:
  ``balanced_2sigma`` of ``H`` (the largest block's for decoupled channels) or
  ``balanced_bidirectional``, ``f Σ_{i>r} σ_i`` with the stacked output ``[C; C_b]``,
  f = 2√2 for one input per block, 4 otherwise (:func:`mor.after_update.error_bound_factor`;
  ``2 Σ σ`` alone is falsified for such layers).
- Calibrated balanced truncation: the exact error only (``calibrated_balanced``: no
  a-priori bound).

Names, sources and validity of the bounds come from the registry
:data:`verification.bounds.BOUNDS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from mor import h2_norm, hinf_norm
from mor.after_update import after_update_balanced_truncation, reduction_error
from mor.exceptions import MORError, PlanMismatchError
from mor.norms import hankel_singular_values
from mor.systems import ModalSystem
from mor.truncation import balanced_truncation, error_system
from verification import bounds as _b
from verification.certificates import BoundResult, LayerCertificate, _checked, _result

__all__ = ["after_update_balanced_layer", "balanced_layer", "calibrated_balanced_layer"]

_ROUND_OFF = 1e3  # multiples of eps·(f Σ σ) below which an exact error is round-off
_UNTRUNCATED = ("nothing truncated: the error is zero",)
_DIAGONAL = "diagonal, same D, same direction(s)"


def _bound(name: str, sys: ModalSystem, value, holds=None, margin=None,
           reason=None) -> BoundResult:
    """The registry bound ``name`` for layer ``sys``; valid unless the registry says not."""
    entry = _b.bound(name)
    unproved = entry.unproved(sys)
    return BoundResult(name, entry.source_for(sys), entry.norm, value, unproved is None, holds,
                       margin, reason or unproved)


def _reduced(reduce: Callable, *args) -> tuple[object, list[str]]:
    """``reduce(*args)`` and the messages of the warnings it raised (the certificate's
    notes); the warnings are passed on to the caller as well."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = reduce(*args)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, [str(w.message) for w in caught]


def _failed(layer, ratio, n, npruned, bound: BoundResult) -> LayerCertificate:
    return LayerCertificate(layer, ratio, n, npruned, None, None, (bound,),
                            hinf_reason=bound.reason, h2_reason=bound.reason)


def balanced_layer(layer: int, ratio: float | None, sys: ModalSystem, order: int, *,
                   tol: float, rtol: float) -> LayerCertificate:
    """The :class:`~verification.certificates.LayerCertificate` of one balanced layer.

    Raises
    ------
    PlanMismatchError
        A bidirectional layer in standard form (no causal realisation to balance).
    """
    if sys.output_after_update:
        # S5/S4D layers: the structure-preserving reduction that KeepPlan.apply and
        # ssm_bridge.apply use (mor.after_update), certified for the layer as it runs
        return after_update_balanced_layer(layer, ratio, sys, order, tol=tol, rtol=rtol)
    if sys.bidirectional:
        raise PlanMismatchError(
            f"layer {layer}: balanced truncation needs a causal layer; this one is "
            "bidirectional (use a modal plan such as aire or last)"
        )
    full = sys.to_statespace()
    n = full.nstates
    hsv, hsv_reason = None, None
    try:
        hsv = hankel_singular_values(full)
    except (MORError, np.linalg.LinAlgError) as err:
        hsv_reason = f"Hankel singular values failed: {err}"
    if order >= n:
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0,
                                (_bound("balanced_2sigma", sys, 0.0, True, 0.0),),
                                notes=_UNTRUNCATED)
    try:
        reduced, notes = _reduced(balanced_truncation, full, order)
    except MORError as err:
        return _failed(layer, ratio, n, n - order, _bound(
            "balanced_2sigma", sys, None, reason=f"balanced truncation failed: {err}"))
    r = reduced.nstates
    err_ss = error_system(full, reduced)
    exact_hinf, hinf_reason = _checked(hinf_norm, err_ss, tol=tol, method="slicot")
    exact_h2, h2_reason = _checked(h2_norm, err_ss)
    value = None if hsv is None else float(2.0 * np.sum(hsv[r:]))
    # G − G_r is a difference of two realisations: its norm is accurate only to about
    # eps·‖G‖∞ times a modest factor.  2 Σ σ_i ≥ ‖G − D‖∞ gives the scale.
    atol = 0.0 if hsv is None else _ROUND_OFF * np.finfo(float).eps * 2.0 * float(np.sum(hsv))
    if exact_hinf is not None and exact_hinf <= atol:
        notes.append(f"exact H∞ error {exact_hinf:.3g} is at the round-off level {atol:.3g} of "
                     "the difference of two realisations")
    if exact_h2 is not None:
        notes.append("the exact H2 error of a difference of realisations is accurate to about "
                     "eps·‖G‖₂ times the order (‖C U‖_F with U the Gramian's factor)")
    entry = _b.bound("balanced_2sigma")
    bound = _result(entry.name, entry.source_for(sys), entry.norm, value, exact_hinf,
                    hinf_reason, valid=True, rtol=rtol, reason=hsv_reason, atol=atol)
    return LayerCertificate(layer, ratio, n, n - r, exact_hinf, exact_h2, (bound,), (),
                            hinf_reason, h2_reason, tuple(notes))


def after_update_balanced_layer(layer: int, ratio: float | None, sys: ModalSystem, order: int,
                                *, tol: float, rtol: float) -> LayerCertificate:
    """The :class:`~verification.certificates.LayerCertificate` of one S5/S4D balanced layer."""
    name = "balanced_bidirectional" if sys.bidirectional else "balanced_2sigma"
    n = sys.nstates
    if order >= n:
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, (_bound(name, sys, 0.0, True, 0.0),),
                                notes=_UNTRUNCATED)
    try:
        red, notes = _reduced(after_update_balanced_truncation, sys, order)
    except (MORError, np.linalg.LinAlgError) as err:
        return _failed(layer, ratio, n, n - order,
                       _bound(name, sys, None, reason=f"balanced truncation failed: {err}"))
    try:
        err = reduction_error(sys, red.system)
    except MORError:  # every block kept whole: the error is exactly zero
        return LayerCertificate(layer, ratio, n, n - red.order, 0.0, 0.0,
                                (_bound(name, sys, red.bound, True, red.bound),),
                                notes=("the reduced layer equals the full one",))
    exact_hinf, hinf_reason = _checked(hinf_norm, err, tol=tol)
    exact_h2, h2_reason = _checked(h2_norm, err)
    atol = _ROUND_OFF * np.finfo(float).eps * red.factor * float(np.sum(red.hsv))
    notes.append(f"reduced layer: {red.system.nunits} units ({red.order} real states), "
                 + _DIAGONAL)
    if len(red.block_orders) > 1:
        notes.append(f"{len(red.block_orders)} decoupled blocks (channels) with orders "
                     f"{list(red.block_orders)[:16]}; the bound is the largest block's")
    entry = _b.bound(name)
    bound = _result(name, entry.source_for(sys), entry.norm, red.bound, exact_hinf, hinf_reason,
                    valid=True, rtol=rtol, atol=atol)
    return LayerCertificate(layer, ratio, n, n - red.order, exact_hinf, exact_h2, (bound,), (),
                            hinf_reason, h2_reason, tuple(notes))


def calibrated_balanced_layer(layer: int, ratio: float | None, sys: ModalSystem, order: int,
                              moments, *, tol: float) -> LayerCertificate:
    """Exact error of a calibrated balanced truncation; no a-priori bound exists for it."""
    from mor.calibrated import calibrated_balanced_truncation

    n = sys.nstates
    no_bound = _bound("calibrated_balanced", sys, None)
    if order >= n:
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, (no_bound,), notes=_UNTRUNCATED)
    try:
        red, notes = _reduced(calibrated_balanced_truncation, sys, order, moments)
        err = reduction_error(sys, red.system)
    except (MORError, np.linalg.LinAlgError) as exc:
        return _failed(layer, ratio, n, n - order, _bound(
            "calibrated_balanced", sys, None,
            reason=f"calibrated balanced truncation failed: {exc}"))
    exact_hinf, hinf_reason = _checked(hinf_norm, err, tol=tol)
    exact_h2, h2_reason = _checked(h2_norm, err)
    notes.append(f"reduced layer: {red.system.nunits} units ({red.order} real states), "
                 + _DIAGONAL)
    return LayerCertificate(layer, ratio, n, n - red.order, exact_hinf, exact_h2, (no_bound,),
                            (), hinf_reason, h2_reason, tuple(notes))
