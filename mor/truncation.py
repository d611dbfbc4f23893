"""Reduction: modal truncation, balanced truncation and balanced singular perturbation.

Balanced methods work in the system's own time domain (python-control 0.10.2's ``balred``
always passes ``dico='C'`` to SLICOT and gets discrete-time systems wrong, ANCHORS.md), by
the square-root method on Gramian factors from Hammarling's method on the complex Schur
form (SLICOT AB09AD/AB09BD, the reference in the tests, break their own error bound on
conjugate pairs with a tiny imaginary part).  A modal system holding units that are not
strictly stable (``allow_unstable=True``) is reduced as ``control.balred`` reduces an
unstable system: the unstable part is kept whole and only the stable part is balanced and
reduced (the modal form splits the two exactly).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import control
import numpy as np
import scipy.linalg

from mor._lti import as_statespace
from mor.after_update import _numerical_rank
from mor.exceptions import ArgumentError, InputTypeError, StateDimensionError
from mor.norms import _cholesky_factor, hankel_singular_values, statespace_matrices
from mor.systems import ModalSystem

__all__ = [
    "balanced_singular_perturbation",
    "balanced_truncation",
    "balanced_truncation_bound",
    "error_system",
    "modal_truncation",
]


def modal_truncation(sys: ModalSystem, keep: Sequence[int]) -> ModalSystem:
    """Keep the units ``keep`` of a modal system: ``G_r = Σ_{i∈keep} G_i + D``.

    The error ``G − G_r = Σ_{i∉keep} G_i`` is exact by diagonality (last eq. 15–17).

    Parameters
    ----------
    sys : ModalSystem
        For a python-control system, take its modal form first
        (``ModalSystem.from_statespace``), whose unit order ``keep`` refers to, or let
        :func:`mor.reduce` choose the units (``method="aire"``, ``"last"`` ...).
    keep : sequence of int
        Indices of the units to keep (each real mode or conjugate pair is one unit).

    Returns
    -------
    ModalSystem

    Raises
    ------
    InputTypeError
        ``sys`` is not a :class:`ModalSystem`.
    """
    if not isinstance(sys, ModalSystem):
        raise InputTypeError(
            f"modal_truncation takes a ModalSystem (units to keep are indices of its modal "
            f"form); got a {type(sys).__name__}.  Use mor.reduce(sys, method='aire', "
            "order=...) to reduce it directly, or ModalSystem.from_statespace(sys) and its "
            "unit indices"
        )
    return sys.subsystem(keep)


def error_system(full, reduced):
    """The error system ``G − G_r`` of a truncation.

    For a modal system the error of a modal truncation is exactly the pruned units,
    ``G − G_r = Σ_{i∈T} G_i`` with D = 0 (last eq. 15–17): no unit is formed twice, so
    nothing cancels in floating point and its norms are those of the pruned units alone.

    Parameters
    ----------
    full : ModalSystem, `StateSpace` or `TransferFunction`
        The full system G.
    reduced : ModalSystem, `StateSpace`, `TransferFunction` or sequence of int
        The reduced model G_r, or (``full`` a ModalSystem) the indices ``T`` of the units
        the truncation prunes.  A ModalSystem whose units are units of ``full`` (as
        :func:`modal_truncation` or ``full.subsystem`` make them) is matched unit by unit.

    Returns
    -------
    ModalSystem or `StateSpace`
        A ModalSystem of the pruned units (pairing, time domain, backward C, pole logs
        and output convention of ``full``; D = ``full.D − reduced.D``, 0 for a truncation);
        ``full − reduced`` as a ModalSystem holding the units of both when ``reduced`` is
        another modal system; otherwise the ``StateSpace`` realisation of ``full − reduced``
        (the states of both).

    Raises
    ------
    StateDimensionError
        Unit indices outside ``0..nunits − 1`` or repeated, or systems whose time base or
        channel counts differ.

    Examples
    --------
    >>> s = ModalSystem([0.5, -0.9], [[1.0], [1.0]], [[1.0, 0.1]], dt=1)
    >>> error_system(s, [1]).poles.real.tolist()
    [-0.9]
    >>> error_system(s, modal_truncation(s, [0])).poles.real.tolist()
    [-0.9]
    """
    if isinstance(full, ModalSystem) and isinstance(reduced, ModalSystem):
        kept = _matched_units(full, reduced)
        if kept is None:
            return full - reduced
        pruned = np.setdiff1d(np.arange(full.nunits), kept)
        return _pruned_units(full, pruned, full.D - reduced.D)
    if isinstance(full, ModalSystem) and not isinstance(reduced, control.LTI):
        return _pruned_units(full, np.asarray(reduced, dtype=np.int64), None)
    return as_statespace(_as_statespace(full)) - as_statespace(_as_statespace(reduced))


def _pruned_units(sys: ModalSystem, pruned: np.ndarray, D) -> ModalSystem:
    """The units ``pruned`` of ``sys`` with feedthrough ``D`` (None: 0)."""
    part = sys.subsystem(pruned)
    return ModalSystem(
        part.poles, part.B, part.C, None if D is None or not np.any(D) else D, part.dt,
        pair=part.pair, C_backward=part.C_backward, log_poles=part.log_poles,
        output_after_update=part.output_after_update,
        name=f"{sys.name or 'layer'} (truncation error)", allow_unstable=part.allow_unstable,
    )


def _unit_key(sys: ModalSystem, i: int) -> tuple:
    """Everything that defines unit ``i`` (its pole, log, pairing, B row, C and C_b columns)."""
    backward = b"" if sys.C_backward is None else sys.C_backward[:, i].tobytes()
    log = None if sys.log_poles is None else complex(sys.log_poles[i])
    return (complex(sys.poles[i]), log, bool(sys.pair[i]), sys.B[i].tobytes(),
            sys.C[:, i].tobytes(), backward)


def _matched_units(full: ModalSystem, reduced: ModalSystem) -> np.ndarray | None:
    """Indices in ``full`` of the units of ``reduced`` (each used once), or None when a unit
    of ``reduced`` is not a unit of ``full`` or the two differ in form."""
    same_form = (full.output_after_update == reduced.output_after_update
                 and (full.C_backward is None) == (reduced.C_backward is None)
                 and full.dt == reduced.dt and full.D.shape == reduced.D.shape)
    if not same_form:
        return None
    free: dict[tuple, list[int]] = {}
    for i in range(full.nunits):
        free.setdefault(_unit_key(full, i), []).append(i)
    kept = []
    for i in range(reduced.nunits):
        slots = free.get(_unit_key(reduced, i))
        if not slots:
            return None
        kept.append(slots.pop(0))
    return np.asarray(kept, dtype=np.int64)


def _as_statespace(sys) -> control.StateSpace:
    return sys.to_statespace() if isinstance(sys, ModalSystem) else sys


def _check_order(order: int, n: int) -> int:
    if not isinstance(order, int | np.integer) or not 1 <= order <= n:
        raise StateDimensionError(f"order = {order!r}; expected an integer in 1..{n} (nstates)")
    return int(order)


def _reduce_stable_part(sys: ModalSystem, order: int, reduce) -> control.StateSpace:
    """``reduce(stable part, order − unstable states)`` plus the unstable part, unchanged."""
    order = _check_order(order, sys.nstates)
    unstable = sys.subsystem(sys.unstable_units).to_statespace()
    nu = unstable.nstates
    if order < nu:
        raise StateDimensionError(
            f"{sys.name + ': ' if sys.name else ''}order = {order} is below the {nu} states of "
            "the unstable part, which is kept whole (as control.balred does); ask for at "
            f"least {nu}"
        )
    stable = sys.stable_part()
    if stable is None:
        return unstable
    stable_ss = stable.to_statespace()
    r = order - nu
    if r == 0:
        reduced = (np.zeros((0, 0)), np.zeros((0, sys.ninputs)), np.zeros((sys.noutputs, 0)),
                   np.asarray(stable_ss.D))
    else:
        red = reduce(stable_ss, r)
        reduced = (red.A, red.B, red.C, red.D)
    # Each part's standard form carries D plus its own units' lag-0 term: count D once.
    return control.ss(
        scipy.linalg.block_diag(reduced[0], unstable.A),
        np.vstack([reduced[1], unstable.B]),
        np.hstack([reduced[2], unstable.C]),
        np.asarray(reduced[3]) + np.asarray(unstable.D) - sys.D,
        sys.dt,
    )


def _warn_if_lower(requested: int, got: int) -> None:
    if got < requested:
        warnings.warn(
            f"requested order {requested} but the numerically minimal realization has order "
            f"{got} (Hankel singular values above n·eps·σ₁, AB09AD's default); returning "
            f"order {got}",
            stacklevel=3,
        )


def _square_root_factors(A: np.ndarray, B: np.ndarray, C: np.ndarray, discrete: bool):
    """(Lc, Lo, U, σ, Vᵀ): Gramian factors ``P = Lc Lcᵀ``, ``Q = Lo Loᵀ`` and the SVD
    ``Loᵀ Lc = U diag(σ) Vᵀ``, σ the Hankel singular values.

    The factors come from Hammarling's method on the complex Schur form
    (:func:`mor.norms._cholesky_factor`).  SLICOT AB09AD shares SB03OD's real-Schur solver,
    which is wrong for a conjugate pair with a tiny imaginary part: on the DT pair
    0.999 ± 1.35e-80j among three other units its order-1 model had ‖G − G_r‖∞ = 1917
    against its own bound 2Σσ = 186.
    """
    Lc = _cholesky_factor(A, B, discrete)
    Lo = _cholesky_factor(A.T, C.T, discrete)
    U, s, Vt = scipy.linalg.svd(Lo.T @ Lc)
    return Lc, Lo, U, s, Vt


def _projection(factors, order: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(T, T⁺) with ``T⁺ T = I``: the reduced model is ``(T⁺ A T, T⁺ B, C T)``.

    ``"sqrt"`` (balanced, Laub et al. 1987; Tombs & Postlethwaite 1987):
    ``T = Lc V_r Σ_r^{-1/2}``, ``T⁺ = Σ_r^{-1/2} U_rᵀ Loᵀ``.  ``"balancing_free"`` (Varga
    1991): orthonormal bases X of ``Lc V_r`` and Y of ``Lo U_r``, ``T = X``,
    ``T⁺ = (Yᵀ X)⁻¹ Yᵀ``; the same transfer function, better conditioned when σ₁/σ_r is large.
    """
    Lc, Lo, U, s, Vt = factors
    if method == "sqrt":
        scale = 1.0 / np.sqrt(s[:order])
        return (Lc @ Vt[:order].T) * scale[None, :], (U[:, :order] * scale[None, :]).T @ Lo.T
    X = scipy.linalg.qr(Lc @ Vt[:order].T, mode="economic")[0]
    Y = scipy.linalg.qr(Lo @ U[:, :order], mode="economic")[0]
    return X, np.linalg.solve(Y.T @ X, Y.T)


def _balanced_reduction(ss: control.StateSpace, order: int, method: str):
    """(A_r, B_r, C_r, D, discrete): ``ss`` projected to ``min(order, minimal order)`` states,
    warning when the numerically minimal order is lower."""
    A, B, C, D, discrete = statespace_matrices(ss)
    order = _check_order(order, A.shape[0])
    factors = _square_root_factors(A, B, C, discrete)
    r = min(order, _numerical_rank(factors[3]))
    _warn_if_lower(order, r)
    T, Ti = _projection(factors, r, method)
    return Ti @ A @ T, Ti @ B, C @ T, D, discrete


def balanced_truncation(
    sys: ModalSystem | control.StateSpace,
    order: int,
    *,
    method: Literal["sqrt", "balancing_free"] = "sqrt",
) -> control.StateSpace:
    """Balanced truncation to ``order`` states, continuous or discrete time.

    Square-root (``"sqrt"``) or balancing-free square-root (``"balancing_free"``) method
    (:func:`_projection`) on Gramian factors from Hammarling's method on the complex Schur
    form, in the system's own time domain.  The error satisfies
    ``‖G − G_r‖∞ ≤ 2 Σ_{i>r} σ_i`` (Enns 1984; Al-Saggaf & Franklin 1987 for DT).  SLICOT
    AB09AD computes the same models (the tests hold it as the reference) but its real-Schur
    Lyapunov solver breaks that bound on conjugate pairs with a tiny imaginary part
    (:func:`_square_root_factors`).  Orders above the numerically minimal order (Hankel
    singular values above ``n·eps·σ₁``, AB09AD's default) return that order, with a
    ``UserWarning``.

    A :class:`ModalSystem` with unstable units: the unstable part is kept whole and the
    stable part truncated to ``order`` minus its state count (module docstring).  For any
    python-control system, unstable or not, with names kept and the certificate for every
    order, see :func:`mor.reduce`.

    Parameters
    ----------
    sys : ModalSystem, `StateSpace` or `TransferFunction`
        A stable system (or a ModalSystem with unstable units, see above).
    order : int
        States of the reduced model, 1..nstates.
    method : {"sqrt", "balancing_free"}
        Square-root (balanced reduced model) or balancing-free square-root method.

    Returns
    -------
    `StateSpace` with the same ``dt`` as ``sys`` and D unchanged.

    Examples
    --------
    >>> import control
    >>> r = balanced_truncation(control.ss([[0.5, 0], [0, 0.1]], [[1], [1]], [[1, 1]], 0, 0.1), 1)
    >>> r.nstates, r.dt
    (1, 0.1)
    """
    if method not in ("sqrt", "balancing_free"):
        raise ArgumentError(f"unknown method {method!r}; use 'sqrt' or 'balancing_free'")
    if isinstance(sys, ModalSystem) and not sys.is_stable:
        return _reduce_stable_part(sys, order,
                                   lambda ss, r: balanced_truncation(ss, r, method=method))
    ss = _as_statespace(sys)
    Ar, Br, Cr, D, _ = _balanced_reduction(ss, order, method)
    return control.ss(Ar, Br, Cr, D, ss.dt)


def balanced_singular_perturbation(
    sys: ModalSystem | control.StateSpace,
    order: int,
) -> control.StateSpace:
    """Balanced singular perturbation approximation, continuous or discrete time.

    The system is balanced at its numerically minimal order (square-root method on
    Hammarling factors, as :func:`balanced_truncation`) and the weak states are set to
    steady state instead of being dropped (Liu & Anderson 1989): with the balanced
    realisation partitioned after ``order`` states,

    - CT: ``A_r = A₁₁ − A₁₂ A₂₂⁻¹ A₂₁``, ``B_r = B₁ − A₁₂ A₂₂⁻¹ B₂``,
      ``C_r = C₁ − C₂ A₂₂⁻¹ A₂₁``, ``D_r = D − C₂ A₂₂⁻¹ B₂``;
    - DT: the same with ``A₂₂⁻¹`` replaced by ``−(I − A₂₂)⁻¹``.

    The reduced model matches the gain at s = 0 (CT) or z = 1 (DT) and satisfies the same
    bound ``2 Σ_{i>r} σ_i``.  SLICOT AB09BD computes the same models (the tests hold it as
    the reference on small systems; its slycot wrapper corrupted the heap on a 44-state DT
    system here) but shares AB09AD's real-Schur Lyapunov solver.  A :class:`ModalSystem`
    with unstable units: the stable part is reduced, the unstable part kept whole.

    Parameters
    ----------
    sys : ModalSystem, `StateSpace` or `TransferFunction`
        A stable system (or a ModalSystem with unstable units).
    order : int
        States of the reduced model, 1..nstates.

    Returns
    -------
    `StateSpace`
        With the same ``dt`` as ``sys``; D changes (the DC gain is matched).

    Raises
    ------
    StateDimensionError
        A :class:`ModalSystem` that reads its output after the update (an S5/S4D layer,
        ``output_after_update=True``): there the method does not preserve the layer's
        structure.  The layer is ``z·H(z) + D``; singular perturbation of H gives
        ``H_r = C_r(zI − A_r)⁻¹B_r + D_r`` with ``D_r ≠ 0``, so the reduced layer would need the
        term ``z·D_r`` (the output at step k reading the input at step k + 1), which no
        S5/S4D layer has; perturbing the standard form instead gives a full feedthrough in
        place of the diagonal D.  Use :func:`mor.after_update.after_update_balanced_truncation`
        (or convert explicitly with ``standard_form()`` for a linear-systems reduction).
    """
    if isinstance(sys, ModalSystem) and sys.output_after_update:
        raise StateDimensionError(
            f"{sys.name + ': ' if sys.name else ''}balanced singular perturbation does not keep "
            "the structure of a layer that reads its output after the update (S5/S4D): the "
            "layer is z·H(z) + D, and perturbing H leaves a feedthrough D_r whose term z·D_r "
            "(output at step k reading the input at step k + 1) no such layer has.  Use "
            "balanced truncation (mor.after_update.after_update_balanced_truncation), or pass "
            "sys.standard_form() to reduce the operator as a plain linear system"
        )
    if isinstance(sys, ModalSystem) and not sys.is_stable:
        return _reduce_stable_part(sys, order, balanced_singular_perturbation)
    ss = as_statespace(_as_statespace(sys))
    order = _check_order(order, ss.nstates)
    with warnings.catch_warnings():  # balancing to the minimal order: warned below, once
        warnings.filterwarnings("ignore", message="requested order")
        Ab, Bb, Cb, D, discrete = _balanced_reduction(ss, ss.nstates, "sqrt")
    nmin = Ab.shape[0]
    _warn_if_lower(order, min(order, nmin))
    return control.ss(*_perturb(Ab, Bb, Cb, D, min(order, nmin), discrete), ss.dt)


def _perturb(A, B, C, D, r: int, discrete: bool):
    """Singular perturbation of the balanced (A, B, C, D) after ``r`` states (see
    :func:`balanced_singular_perturbation`)."""
    A11, A12, A21, A22 = A[:r, :r], A[:r, r:], A[r:, :r], A[r:, r:]
    B1, B2, C1, C2 = B[:r], B[r:], C[:, :r], C[:, r:]
    if r == A.shape[0]:
        return A11, B1, C1, D
    M = np.eye(A.shape[0] - r) - A22 if discrete else -A22  # A₂₂ − I (DT) or A₂₂ (CT), negated
    solve_A21 = np.linalg.solve(M, A21)
    solve_B2 = np.linalg.solve(M, B2)
    return A11 + A12 @ solve_A21, B1 + A12 @ solve_B2, C1 + C2 @ solve_A21, D + C2 @ solve_B2


def balanced_truncation_bound(sys: ModalSystem | control.StateSpace, order: int) -> float:
    """The a-priori bound ``2 Σ_{i>order} σ_i`` on ‖G − G_r‖∞ of balanced truncation."""
    hsv = hankel_singular_values(sys)
    _check_order(order, hsv.size)
    return float(2.0 * np.sum(hsv[order:]))
