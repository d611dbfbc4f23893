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
) -> control.StateSpace:
    """Balanced singular perturbation approximation, continuous or discrete time.

    The system is balanced (SLICOT AB09AD, square-root method, at its minimal order) and
    the weak states are set to steady state instead of being dropped (Liu & Anderson
    1989): with the balanced realisation partitioned after ``order`` states,

    - CT: ``A_r = A₁₁ − A₁₂ A₂₂⁻¹ A₂₁``, ``B_r = B₁ − A₁₂ A₂₂⁻¹ B₂``,
      ``C_r = C₁ − C₂ A₂₂⁻¹ A₂₁``, ``D_r = D − C₂ A₂₂⁻¹ B₂``;
    - DT: the same with ``A₂₂⁻¹`` replaced by ``−(I − A₂₂)⁻¹``.

    The reduced model matches the gain at s = 0 (CT) or z = 1 (DT) and satisfies the same
    bound ``2 Σ_{i>r} σ_i``.  (slycot's AB09BD wrapper corrupted the heap on a 44-state DT
    system here, so the perturbation step is done in numpy.)
    """
    ss = _as_statespace(sys)
    A, B, C, D, discrete = statespace_matrices(ss)
    n = A.shape[0]
    order = _check_order(order, n)
    bal = _balanced_realization(A, B, C, discrete)
    Ab, Bb, Cb = bal
    nmin = Ab.shape[0]
    _warn_if_lower(order, min(order, nmin))
    r = min(order, nmin)
    A11, A12, A21, A22 = Ab[:r, :r], Ab[:r, r:], Ab[r:, :r], Ab[r:, r:]
    B1, B2, C1, C2 = Bb[:r], Bb[r:], Cb[:, :r], Cb[:, r:]
    if r == nmin:
        return control.ss(A11, B1, C1, D, ss.dt)
    M = np.eye(nmin - r) - A22 if discrete else -A22  # A₂₂ − I (DT) or A₂₂ (CT), negated
    solve_A21 = np.linalg.solve(M, A21)
    solve_B2 = np.linalg.solve(M, B2)
    return control.ss(
        A11 + A12 @ solve_A21,
        B1 + A12 @ solve_B2,
        C1 + C2 @ solve_A21,
        D + C2 @ solve_B2,
        ss.dt,
    )


def _balanced_realization(A, B, C, discrete: bool):
    """Balanced minimal realisation (A, B, C) by AB09AD's square-root method."""
    from slycot import ab09ad

    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    try:
        nr, Ab, Bb, Cb, _ = ab09ad(
            "D" if discrete else "C", "B", "N", n, m, p, A.copy(), B.copy(), C.copy(),
            nr=None, tol=0.0,
        )
    except Exception as err:
        raise NormComputationError(f"AB09AD (balancing) failed: {err}") from err
    return Ab[:nr, :nr], Bb[:nr], Cb[:, :nr]


def balanced_truncation_bound(sys: ModalSystem | control.StateSpace, order: int) -> float:
    """The a-priori bound ``2 Σ_{i>order} σ_i`` on ‖G − G_r‖∞ of balanced truncation."""
    hsv = hankel_singular_values(sys)
    _check_order(order, hsv.size)
    return float(2.0 * np.sum(hsv[order:]))
