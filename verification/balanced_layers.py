"""Certificates of balanced plans on S5/S4D layers (output after the update, bidirectional).

Such a layer is reduced by :func:`mor.after_update.after_update_balanced_truncation`, which
keeps it diagonal with the same D.  The error is ``z·(H − H_r)`` (one direction) or
``z·E_f(z) + z⁻¹E_b(z⁻¹)`` (two); its exact H∞ and H2 norms come from the modal methods of
:mod:`mor.norms` on :func:`mor.after_update.reduction_error`, and the bound is the
reduction's certificate:

- ``balanced_2sigma``: ``2 Σ_{i>r} σ_i`` (one direction; the largest block's for decoupled
  channels);
- ``balanced_bidirectional``: ``f Σ_{i>r} σ_i`` with the stacked output ``[C; C_b]``,
  f = 2√2 for one input per block, 4 otherwise (:func:`mor.after_update.error_bound_factor`;
  ``2 Σ σ`` alone is falsified for such layers).
"""

from __future__ import annotations

import warnings

import numpy as np

from mor import h2_norm, hinf_norm
from mor.after_update import after_update_balanced_truncation, reduction_error
from mor.exceptions import MORError
from mor.systems import ModalSystem

__all__ = ["SOURCES", "after_update_balanced_layer"]

SOURCES = {
    "balanced_2sigma": "Enns 1984; Al-Saggaf & Franklin 1987 (DT): 2 sum of tail HSVs of "
                       "H = C(zI - A)^-1 B (after-update layer z·H + D; |z| = 1)",
    "balanced_bidirectional": "2 sum of tail HSVs of the stacked [C; C_b] system, times 2 "
                              "(sqrt(2) with one input): the two directions' errors add "
                              "(docs/mor.md, after-update balanced truncation)",
}

_ROUND_OFF = 1e3  # multiples of eps·(f Σ σ) below which an exact error is round-off


def after_update_balanced_layer(layer: int, ratio: float | None, sys: ModalSystem, order: int,
                                *, tol: float, rtol: float):
    """The :class:`~verification.certificates.LayerCertificate` of one balanced layer."""
    from verification.certificates import BoundResult, LayerCertificate, _checked, _result

    name = "balanced_bidirectional" if sys.bidirectional else "balanced_2sigma"
    n = sys.nstates
    if order >= n:
        bound = BoundResult(name, SOURCES[name], "hinf", 0.0, True, True, 0.0, None)
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, (bound,),
                                notes=("nothing truncated: the error is zero",))
    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            red = after_update_balanced_truncation(sys, order)
        notes.extend(str(w.message) for w in caught)
    except (MORError, np.linalg.LinAlgError) as err:
        reason = f"balanced truncation failed: {err}"
        bound = BoundResult(name, SOURCES[name], "hinf", None, True, None, None, reason)
        return LayerCertificate(layer, ratio, n, n - order, None, None, (bound,),
                                hinf_reason=reason, h2_reason=reason)
    try:
        err = reduction_error(sys, red.system)
    except MORError:  # every block kept whole: the error is exactly zero
        bound = BoundResult(name, SOURCES[name], "hinf", red.bound, True, True, red.bound, None)
        return LayerCertificate(layer, ratio, n, n - red.order, 0.0, 0.0, (bound,),
                                notes=("the reduced layer equals the full one",))
    exact_hinf, hinf_reason = _checked(hinf_norm, err, tol=tol)
    exact_h2, h2_reason = _checked(h2_norm, err)
    atol = _ROUND_OFF * np.finfo(float).eps * red.factor * float(np.sum(red.hsv))
    notes.append(f"reduced layer: {red.system.nunits} units ({red.order} real states), "
                 "diagonal, same D, same direction(s)")
    if len(red.block_orders) > 1:
        notes.append(f"{len(red.block_orders)} decoupled blocks (channels) with orders "
                     f"{list(red.block_orders)[:16]}; the bound is the largest block's")
    bound = _result(name, SOURCES[name], "hinf", red.bound, exact_hinf, hinf_reason, valid=True,
                    rtol=rtol, atol=atol)
    return LayerCertificate(layer, ratio, n, n - red.order, exact_hinf, exact_h2, (bound,), (),
                            hinf_reason, h2_reason, tuple(notes))


def calibrated_balanced_layer(layer: int, ratio: float | None, sys: ModalSystem, order: int,
                              moments, *, tol: float):
    """Exact error of a calibrated balanced truncation; no a-priori bound exists for it."""
    from mor.calibrated import calibrated_balanced_truncation
    from verification.certificates import BoundResult, LayerCertificate, _checked

    n = sys.nstates
    name, source = "calibrated_balanced", "no a-priori bound (data-weighted Gramian)"
    why = ("calibrated balancing weights the controllability Gramian by the data; the "
           "2 Σ σ bound holds for the reweighted system, not for the layer: the exact error "
           "is the certificate")
    if order >= n:
        bound = BoundResult(name, source, "hinf", None, False, None, None, why)
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, (bound,),
                                notes=("nothing truncated: the error is zero",))
    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            red = calibrated_balanced_truncation(sys, order, moments)
        notes.extend(str(w.message) for w in caught)
        err = reduction_error(sys, red.system)
    except (MORError, np.linalg.LinAlgError) as exc:
        reason = f"calibrated balanced truncation failed: {exc}"
        bound = BoundResult(name, source, "hinf", None, False, None, None, reason)
        return LayerCertificate(layer, ratio, n, n - order, None, None, (bound,),
                                hinf_reason=reason, h2_reason=reason)
    exact_hinf, hinf_reason = _checked(hinf_norm, err, tol=tol)
    exact_h2, h2_reason = _checked(h2_norm, err)
    notes.append(f"reduced layer: {red.system.nunits} units ({red.order} real states), "
                 "diagonal, same D, same direction(s)")
    bound = BoundResult(name, source, "hinf", None, False, None, None, why)
    return LayerCertificate(layer, ratio, n, n - red.order, exact_hinf, exact_h2, (bound,), (),
                            hinf_reason, h2_reason, tuple(notes))
