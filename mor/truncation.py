"""Reduction: modal truncation, balanced truncation and balanced singular perturbation.

Balanced methods call SLICOT directly with the system's own time domain: python-control
0.10.2's ``balred`` always passes ``dico='C'`` and gets discrete-time systems wrong
(ANCHORS.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import control
import numpy as np

from mor.exceptions import NormComputationError, StateDimensionError
from mor.norms import hankel_singular_values, statespace_matrices
from mor.systems import ModalSystem

__all__ = [
    "balanced_singular_perturbation",
    "balanced_truncation",
    "balanced_truncation_bound",
    "modal_truncation",
]


def modal_truncation(sys: ModalSystem, keep: Sequence[int]) -> ModalSystem:
    """Keep the units ``keep`` of a modal system: ``G_r = Σ_{i∈keep} G_i + D``.

    The error ``G − G_r = Σ_{i∉keep} G_i`` is exact by diagonality (last eq. 15–17).
    """
    return sys.subsystem(keep)


def _as_statespace(sys) -> control.StateSpace:
    return sys.to_statespace() if isinstance(sys, ModalSystem) else sys


def _check_order(order: int, n: int) -> int:
    if not isinstance(order, int | np.integer) or not 1 <= order <= n:
        raise StateDimensionError(f"order = {order!r}; expected an integer in 1..{n} (nstates)")
    return int(order)


def _warn_if_lower(requested: int, got: int) -> None:
    if got < requested:
        warnings.warn(
            f"requested order {requested} but the minimal realisation has order {got}; "
            f"returning order {got}",
            stacklevel=3,
        )


def balanced_truncation(
    sys: ModalSystem | control.StateSpace,
    order: int,
    *,
    method: Literal["sqrt", "balancing_free"] = "sqrt",
) -> control.StateSpace:
    """Balanced truncation to ``order`` states, continuous or discrete time.

    SLICOT AB09AD with ``dico`` matching the system ('D' for discrete time), square-root
    (``"sqrt"``) or balancing-free square-root (``"balancing_free"``) method.  The error
    satisfies ``‖G − G_r‖∞ ≤ 2 Σ_{i>r} σ_i`` (Enns 1984; Al-Saggaf & Franklin 1987 for DT).

    Returns
    -------
    `StateSpace` with the same ``dt`` as ``sys`` and D unchanged.

    Examples
    --------
    >>> import control
    >>> r = balanced_truncation(control.ss([[-1, 0], [0, -10]], [[1], [1]], [[1, 1]], 0, 0.1), 1)
    >>> r.nstates, r.dt
    (1, 0.1)
    """
    from slycot import ab09ad

    ss = _as_statespace(sys)
    A, B, C, D, discrete = statespace_matrices(ss)
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    order = _check_order(order, n)
    job = {"sqrt": "B", "balancing_free": "N"}.get(method)
    if job is None:
        raise StateDimensionError(f"unknown method {method!r}; use 'sqrt' or 'balancing_free'")
    try:
        nr, Ar, Br, Cr, _ = ab09ad(
            "D" if discrete else "C", job, "N", n, m, p, A.copy(), B.copy(), C.copy(),
            nr=order, tol=0.0,
        )
    except Exception as err:
        raise NormComputationError(f"AB09AD (balanced truncation) failed: {err}") from err
    _warn_if_lower(order, nr)
    return control.ss(Ar[:nr, :nr], Br[:nr], Cr[:, :nr], D, ss.dt)


def balanced_singular_perturbation(
    sys: ModalSystem | control.StateSpace,
    order: int,
    *,
    method: Literal["sqrt", "balancing_free"] = "sqrt",
) -> control.StateSpace:
    """Balanced singular perturbation approximation (SLICOT AB09BD), CT or DT.

    Matches the DC gain (CT, s = 0) or the gain at z = 1 (DT) instead of the high-frequency
    behaviour; the same bound ``2 Σ_{i>r} σ_i`` holds (Liu & Anderson 1989).
    """
    from slycot import ab09bd

    ss = _as_statespace(sys)
    A, B, C, D, discrete = statespace_matrices(ss)
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    order = _check_order(order, n)
    job = {"sqrt": "B", "balancing_free": "N"}.get(method)
    if job is None:
        raise StateDimensionError(f"unknown method {method!r}; use 'sqrt' or 'balancing_free'")
    try:
        nr, Ar, Br, Cr, Dr, _ = ab09bd(
            "D" if discrete else "C", job, "N", n, m, p, A.copy(), B.copy(), C.copy(), D.copy(),
            nr=order, tol1=0.0, tol2=0.0,
        )
    except Exception as err:
        raise NormComputationError(f"AB09BD (singular perturbation) failed: {err}") from err
    _warn_if_lower(order, nr)
    return control.ss(Ar[:nr, :nr], Br[:nr], Cr[:, :nr], Dr, ss.dt)


def balanced_truncation_bound(sys: ModalSystem | control.StateSpace, order: int) -> float:
    """The a-priori bound ``2 Σ_{i>order} σ_i`` on ‖G − G_r‖∞ of balanced truncation."""
    hsv = hankel_singular_values(sys)
    _check_order(order, hsv.size)
    return float(2.0 * np.sum(hsv[order:]))
