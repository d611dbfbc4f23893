"""Exact system norms: H2, H∞ and Hankel singular values, in continuous and discrete time.

Each function accepts a :class:`~mor.systems.ModalSystem` or a python-control
``StateSpace``.  All assume an asymptotically stable system.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Literal

import control
import numpy as np
import scipy.linalg

from mor._hinf_modal import modal_hinf
from mor._lti import as_statespace
from mor.exceptions import (
    ArgumentError,
    NormComputationError,
    StateDimensionError,
    UnstableSystemError,
)
from mor.systems import ModalSystem

__all__ = [
    "h2_norm",
    "hankel_singular_values",
    "hinf_norm",
    "modal_hinf_with_fallback",
    "statespace_matrices",
]


def statespace_matrices(sys) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(A, B, C, D, is_discrete) of a ``StateSpace`` as float64, checked for stability.

    Subnormal entries (below 2.2e-308 in magnitude) are set to 0: SLICOT's routines fail
    (AB13DD: QR does not converge) or return garbage (SB03OD: a Hankel singular value of
    3e169 for one of 0.51) on them, and the change is below float64's normal range (found
    by the 10,000-example test runs).
    """
    sys = as_statespace(sys)  # a TransferFunction (any LTI) is realised first
    A, B, C, D = (_flush_subnormal(np.asarray(x, dtype=np.float64))
                  for x in (sys.A, sys.B, sys.C, sys.D))
    discrete = bool(sys.isdtime(strict=True))
    if A.size:
        eig = np.linalg.eigvals(A)
        bad = np.abs(eig) >= 1 if discrete else eig.real >= 0
        if np.any(bad):
            raise UnstableSystemError(
                f"the system has {int(np.count_nonzero(bad))} unstable pole(s), e.g. "
                f"{eig[bad][0]:.6g}; norms here are defined for stable systems"
            )
    return A, B, C, D, discrete


def _require_stable(sys) -> None:
    """Raise UnstableSystemError for a ModalSystem holding a unit that is not strictly stable."""
    if isinstance(sys, ModalSystem) and not sys.is_stable:
        bad = sys.unstable_units
        raise UnstableSystemError(
            f"{sys.name + ': ' if sys.name else ''}unit(s) {bad.tolist()[:8]} are not strictly "
            f"stable (e.g. pole {sys.poles[bad[0]]:.6g}): the norm is infinite; norms here "
            "are defined for stable systems (use sys.stable_part())"
        )


def h2_norm(sys: ModalSystem | control.StateSpace) -> float:
    """Exact H2 norm.

    Modal systems use the closed-form Gramian of a diagonal system (MATH.md §4):
    ``P_ij = (B Bᴴ)_ij / (1 − λ̄_i conj(λ̄_j))`` with ``1 − λ̄_i conj(λ̄_j) =
    −expm1(μ_i + conj(μ_j))`` in DT, ``P_ij = −(B Bᴴ)_ij / (λ_i + conj(λ_j))`` in CT;
    ``‖G‖₂² = tr(C P Cᴴ) + ‖D‖_F²`` (DT; a CT system with D ≠ 0 has infinite H2 norm).
    A bidirectional layer adds its backward part's ``tr(C_b P C_bᴴ)``: the two kernels
    overlap only at lag 0, which the standard form's D carries.  Where the modes nearly
    cancel that sum is round-off; then ``‖C L‖_F`` with L a Cholesky factor of P from the
    generalized Schur algorithm is used (:func:`_modal_h2`).  Other systems: ``‖C Q L‖_F``
    with ``Q L`` a factor of the Gramian from Hammarling's method on the complex Schur form
    (:func:`_gramian_factor`; SLICOT SB03OD's real-Schur version was wrong by up to 90 %
    for conjugate pairs with a tiny imaginary part).  Modes are balanced and B, C scaled
    by powers of two first (exact), so gains far from 1 neither under- nor overflow.

    Parameters
    ----------
    sys : ModalSystem, `StateSpace` or `TransferFunction`
        A stable system, continuous or discrete time (any python-control LTI with a
        state-space realisation).

    Returns
    -------
    float
        ``‖G‖₂``; ``inf`` (with a warning) for a continuous-time system with D ≠ 0.

    Raises
    ------
    UnstableSystemError
        A mode is not strictly stable.
    NormComputationError
        The modes cancel so closely that ‖G‖₂ is within 1e3 times its round-off estimate
        (about eps times the size of the modes): never a 0 that is not exact.

    Examples
    --------
    >>> s = ModalSystem([-1.0], [[1.0]], [[1.0]])  # 1/(s+1)
    >>> round(h2_norm(s), 12)  # 1/sqrt(2)
    0.707106781187
    """
    _require_stable(sys)
    if isinstance(sys, ModalSystem):
        s = sys.standard_form()
        D, discrete = s.D, s.isdtime
    else:
        A, B, C, D, discrete = statespace_matrices(sys)
    if not discrete and np.any(D != 0):
        warnings.warn("continuous-time system with D ≠ 0: H2 norm is infinite", stacklevel=2)
        return float("inf")
    dynamic = _modal_h2(s) if isinstance(sys, ModalSystem) else _statespace_h2(A, B, C, discrete)
    if discrete:
        d_exp = _exponent(D)
        return math.hypot(dynamic, float(np.ldexp(np.linalg.norm(_ldexp(D, -d_exp)), d_exp)))
    return dynamic


# ---------------------------------------------------------------------- H2 internals
_DIRECT_H2_RTOL = 1e-12  # largest a-priori relative error of ‖G‖₂² accepted from the closed form
_RESOLVED_H2 = 1e3  # ‖G‖₂ must exceed this many times its round-off estimate (else an error)


def _modal_h2(s: ModalSystem) -> float:
    """‖G − D‖₂ of a standard-form modal system (see :func:`h2_norm`).

    The closed form ``Σ_ij P_ij (Cᴴ C)_ji`` is a sum of terms of both signs: when the modes
    nearly cancel (e.g. two close poles with opposite residues, as in the error system of
    a truncation) the sum is round-off, and was clamped to 0.  Its a-priori error
    ``γ·eps·Σ_ij |terms|`` is therefore checked, and beyond ``_DIRECT_H2_RTOL`` the norm is
    computed as ``‖C L‖_F`` from a Cholesky factor ``L`` of the Gramian
    (:func:`_schur_h2`), a sum of squares whose error is ``eps`` times the size of the
    modes rather than ``√eps`` (the accuracy of SLICOT's AB13BD).  Each mode is first
    balanced (``B_k·2^t``, ``C_k·2^−t``: exact, the same transfer function) and B and C
    scaled to unit size by powers of two, so no square under- or overflows.
    """
    poles, B, C, Cb = s.expanded_modes()
    outputs = C if Cb is None else np.concatenate([C, Cb], axis=0)
    logs = s.expanded_log_poles() if s.isdtime else None
    live = np.any(B != 0, axis=1) & np.any(outputs != 0, axis=0)
    if not np.any(live):  # every mode has a zero B row or C column: G − D is exactly 0
        return 0.0
    poles, B, outputs = poles[live], B[live], outputs[:, live]
    logs = None if logs is None else logs[live]
    shift = (_exponents(outputs, axis=0) - _exponents(B, axis=1)) // 2
    B, outputs = _ldexp(B, shift[:, None]), _ldexp(outputs, -shift[None, :])
    b_exp, c_exp = _exponent(B), _exponent(outputs)
    B, outputs = _ldexp(B, -b_exp), _ldexp(outputs, -c_exp)
    gaps = _kernel_gaps(poles, logs)
    total, magnitude = _closed_form_h2_squared(B, outputs, gaps)
    n, m, p = B.shape[0], B.shape[1], outputs.shape[0]
    gamma = m + p + 2 * math.ceil(math.log2(n + 1)) + 10
    if total > 0 and gamma * _EPS * magnitude <= _DIRECT_H2_RTOL * total:
        return float(np.ldexp(math.sqrt(total), b_exp + c_exp))
    value, error = _schur_h2(poles, logs, B, outputs)
    if not value > _RESOLVED_H2 * error:
        if _residues_cancel_exactly(poles, logs, B, outputs):
            return 0.0  # e.g. two modes at one pole with opposite residues: G − D ≡ 0
        value, error = (float(np.ldexp(x, b_exp + c_exp)) for x in (value, error))
        raise NormComputationError(
            f"the modes cancel: ‖G‖₂ ≈ {value:.3g} is within {_RESOLVED_H2:g} times its "
            f"round-off estimate {error:.3g}, beyond what float64 resolves (the poles and "
            "residues of the nearly cancelling modes are too close to tell G from 0 at "
            "this precision)"
        )
    return float(np.ldexp(value, b_exp + c_exp))


_EPS = float(np.finfo(np.float64).eps)


def _exponents(x: np.ndarray, axis: int) -> np.ndarray:
    """Per row (axis=1) or column (axis=0), e with max |x| in [2^(e−1), 2^e); 0 for zeros."""
    return np.frexp(np.max(np.abs(x), axis=axis))[1].astype(np.int64)


def _kernel_gaps(poles: np.ndarray, logs: np.ndarray | None, k: int | None = None) -> np.ndarray:
    """``g_ij`` with ``P_ij = (B Bᴴ)_ij / g_ij``: ``−(λ_i + conj λ_j)`` (CT) or
    ``1 − λ_i conj(λ_j) = −expm1(μ_i + conj μ_j)`` (DT, from the poles' logs).

    The whole matrix, or with ``k`` the column ``g_ik`` for every i.
    """
    cols = slice(None) if k is None else slice(k, k + 1)
    if logs is None:
        g = -(poles[:, None] + np.conj(poles[cols])[None, :])
    else:
        g = -np.expm1(logs[:, None] + np.conj(logs[cols])[None, :])
    return g if k is None else g[:, 0]


def _closed_form_h2_squared(B, C, gaps) -> tuple[float, float]:
    """(``Σ_ij P_ij (Cᴴ C)_ji`` with ``P = (B Bᴴ) / gaps``, a bound on ``Σ_ij |terms|``).

    The bound is ``wᵀ |1/gaps| w`` with ``w_k = ‖B_k‖ ‖C_k‖``: by Cauchy–Schwarz it is at
    least ``Σ|terms|``, and it is the scale of the rounding errors of ``B Bᴴ`` and ``Cᴴ C``.
    """
    kernel = 1.0 / gaps
    total = np.sum((B @ B.conj().T) * kernel * (C.conj().T @ C).T).real
    w = _row_norms(B) * _row_norms(C.T)
    return float(total), float(w @ (np.abs(kernel) @ w))


def _row_norms(x: np.ndarray) -> np.ndarray:
    """2-norm of each row (entries here are at most 1 after scaling: no overflow)."""
    return np.sqrt(np.sum(x.real**2 + x.imag**2, axis=1))


def _schur_h2(
    poles: np.ndarray, logs: np.ndarray | None, B: np.ndarray, C: np.ndarray
) -> tuple[float, float]:
    """(``‖C L‖_F``, its round-off estimate) with ``L Lᴴ = P`` from the generalized Schur
    algorithm on the generator B.

    P is Cauchy-like: ``P_ij = B_i B_jᴴ / g_ij``.  Eliminating mode k leaves a Schur
    complement of the same form with generator rows ``G_i + (φ_i − 1) x_i b̂`` for
    ``i > k``, where ``b̂ = G_k/‖G_k‖``, ``x_i = G_i b̂ᴴ`` and ``φ_i = (λ_i − λ_k)/g_ik``
    (the Blaschke factor in DT; in CT ``g_i1 g_1j − g_11 g_ij = (λ_i − λ_1) conj(λ_j − λ_1)``
    as well).  Column k of L is ``‖G_k‖/√g_kk`` on the diagonal and ``x_i √g_kk / g_ik``
    below.  Only differences of the data enter (``λ_i − λ_k``, gaps from the logs), so L is
    the exact factor of slightly perturbed data, and ``‖C L‖_F²`` is a sum of squares: its
    error is about ``eps·‖|C| |L|‖_F`` (returned, times ``n + m + p``), not
    ``eps·Σ|terms|``.  Cost O(n²(m + p)).
    """
    n = poles.size
    G = np.array(B, dtype=np.complex128)
    absC = np.abs(C)
    squares, estimate = [], []
    for k in range(n):
        nb = float(_vector_norm(G[k]))
        if nb == 0.0:  # P's row k is zero: eliminating k changes nothing else
            continue
        rest = slice(k + 1, n)
        gaps = _kernel_gaps(poles, logs, k)  # O(n) per step; the rows above k are not used
        g_kk, g_col = float(gaps[k].real), gaps[rest]
        direction = G[k] / nb
        x = G[rest] @ direction.conj()
        root = math.sqrt(g_kk)
        below = x * root / g_col
        column = C[:, k] * (nb / root) + C[:, rest] @ below
        squares.append(float(np.vdot(column, column).real))
        bound = absC[:, k] * (nb / root) + absC[:, rest] @ np.abs(below)
        estimate.append(float(bound @ bound))
        G[rest] += ((_pole_differences(poles, logs, rest, k) / g_col - 1.0) * x)[:, None] \
            * direction[None, :]
    value = math.sqrt(math.fsum(squares))
    error = (n + C.shape[0] + B.shape[1]) * _EPS * math.sqrt(math.fsum(estimate))
    return value, error


def _residues_cancel_exactly(poles, logs, B, C) -> bool:
    """True when G = Σ_k C_k B_k/(z − λ_k) is exactly 0: at every distinct pole (and log) the
    residues ``Σ C_k ⊗ B_k`` sum to 0 in exact (rational) arithmetic.  A mode alone at its
    pole has a non-zero residue (C_k ≠ 0, B_k ≠ 0 here)."""
    groups: dict[tuple, list[int]] = {}
    for k, pole in enumerate(poles):
        log = 0j if logs is None else logs[k]
        groups.setdefault((pole, log), []).append(k)
    if any(len(g) == 1 for g in groups.values()):
        return False
    for members in groups.values():
        for a in range(C.shape[0]):
            for b in range(B.shape[1]):
                re = im = Fraction(0)
                for k in members:
                    c, x = complex(C[a, k]), complex(B[k, b])
                    cr, ci, xr, xi = (Fraction(v) for v in (c.real, c.imag, x.real, x.imag))
                    re += cr * xr - ci * xi
                    im += cr * xi + ci * xr
                if re or im:
                    return False
    return True


def _pole_differences(poles, logs, rows, k: int) -> np.ndarray:
    """``λ_i − λ_k`` for i in ``rows``; in DT ``λ_k·expm1(μ_i − μ_k)`` from the logs."""
    if logs is None or poles[k] == 0:
        return poles[rows] - poles[k]
    return poles[k] * np.expm1(logs[rows] - logs[k])


def _vector_norm(x: np.ndarray) -> float:
    """2-norm without under- or overflow (``np.linalg.norm`` squares first)."""
    big = float(np.max(np.abs(x))) if x.size else 0.0
    if big == 0.0 or not math.isfinite(big):
        return big
    return big * float(np.linalg.norm(x / big))


def _statespace_h2(A: np.ndarray, B: np.ndarray, C: np.ndarray, discrete: bool) -> float:
    """‖C(sI − A)⁻¹B‖₂ as ``‖C Q L‖_F`` with ``(Q L)(Q L)ᴴ = P`` (:func:`_gramian_factor`).

    ``tr(C P Cᵀ)`` of a solved Gramian cancels for a difference of realisations (it was
    clamped to 0 there); the factor form is a sum of squares, accurate to ``eps`` times the
    size of the modes (as AB13BD).  CT: time is rescaled first, ``A/a`` with ``a`` a power
    of two near ``max|A|`` (``‖G‖₂ = ‖G_a‖₂/√a``), so poles of any magnitude are fine.
    """
    if A.shape[0] == 0:
        return 0.0
    b_exp, c_exp = _exponent(B), _exponent(C)
    B, C = _ldexp(B, -b_exp), _ldexp(C, -c_exp)
    a_exp = 0 if discrete else _exponent(A)
    Q, L = _gramian_factor(_ldexp(A, -a_exp), B, discrete)
    value = float(np.linalg.norm((C @ Q) @ L))
    # ‖G‖₂ = ‖G_a‖₂ / √a with a = 2^a_exp: an even part as a power of two, an odd part √2
    scaled = float(np.ldexp(value, b_exp + c_exp - (a_exp - (a_exp % 2)) // 2))
    return scaled / math.sqrt(2.0) if a_exp % 2 else scaled


def _gramian_factor(A: np.ndarray, B: np.ndarray, discrete: bool) -> tuple[np.ndarray, np.ndarray]:
    """(Q, L): Q unitary, L upper triangular, ``(Q L)(Q L)ᴴ = P`` the Gramian of (A, B).

    Hammarling's method on the *complex* Schur form ``A = Q T Qᴴ``: every eigenvalue is a
    1×1 block.  SLICOT SB03OD works on the real Schur form, whose 2×2 blocks hold the
    conjugate pairs, and its 2×2 solver (SB03OY) is wrong for a pair whose imaginary part is
    tiny in absolute terms: for the pair 0.999 ± 1.35e-80j among three other units it gave
    ‖G‖₂ = 45.4 for 76.2 (and 76.0 with B·100), for the lone pair
    1.1e-16 ± 5.5e-18j 0.28 for 2.92 (found by the verification strategies).  A real
    factor (balanced truncation) is derived from this one by :func:`_cholesky_factor`.
    """
    n = A.shape[0]
    if B.shape[1] > n:  # P depends on B Bᴴ only: an n-column factor gives it (cheaper steps)
        B = scipy.linalg.qr(B.conj().T, mode="r")[0][:n].conj().T
    T, Q = scipy.linalg.schur(A, output="complex")
    G = Q.conj().T @ B.astype(np.complex128)
    L = np.zeros((n, n), dtype=np.complex128)
    for k in range(n - 1, -1, -1):  # eliminate the last state of the leading block
        L[: k + 1, k], G = _hammarling_step(T[: k + 1, : k + 1], G[: k + 1], discrete)
    return Q, L


def _hammarling_step(
    T: np.ndarray, G: np.ndarray, discrete: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(last column of L, generator of the leading block) for ``L Lᴴ = P`` with
    ``T P Tᴴ − P + G Gᴴ = 0`` (DT) or ``T P + P Tᴴ + G Gᴴ = 0`` (CT), T upper triangular.

    With ``τ = T[-1, -1]``, ``α² = 1 − |τ|²`` (DT) or ``−2 Re τ`` (CT), ``b`` the generator's
    last row and ``ŵ = bᴴ/‖b‖``: ``L[-1, -1] = υ = ‖b‖/α``, the column above solves
    ``(τ̄ T₁ − I) u = −(υ τ̄ t + α G₁ŵ)`` (DT) or ``(T₁ + τ̄ I) u = −(υ t + α G₁ŵ)`` (CT), and
    the leading block's generator is ``G₁ + (z − G₁ŵ) ŵᴴ`` with ``z = α(T₁u + υt) − τ G₁ŵ``
    (DT) or ``α u − G₁ŵ`` (CT): the same number of columns, a rank-one update.
    """
    k = T.shape[0] - 1
    nb = _vector_norm(G[k])
    if nb == 0.0:  # P's last row is zero: nothing couples to the leading block
        return np.zeros(k + 1, dtype=np.complex128), G[:k]
    tau, T1, t, G1 = T[k, k], T[:k, :k], T[:k, k], G[:k]
    alpha2 = (1.0 - abs(tau)) * (1.0 + abs(tau)) if discrete else -2.0 * tau.real
    if not alpha2 > 0.0:
        raise NormComputationError(
            f"eigenvalue {complex(tau)!r} is not stable: the Gramian does not exist; "
            "reduce the stable part only"
        )
    alpha = math.sqrt(alpha2)
    upsilon, w = nb / alpha, G[k].conj() / nb
    q = G1 @ w
    if discrete:
        rhs, M = -(upsilon * np.conj(tau) * t + alpha * q), np.conj(tau) * T1 - np.eye(k)
    else:
        rhs, M = -(upsilon * t + alpha * q), T1 + np.conj(tau) * np.eye(k)
    u = scipy.linalg.solve_triangular(M, rhs) if k else rhs
    z = alpha * (T1 @ u + upsilon * t) - tau * q if discrete else alpha * u - q
    return np.append(u, upsilon), G1 + np.outer(z - q, w.conj())


def _flush_subnormal(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < np.finfo(np.float64).tiny, 0.0, x)


def _exponent(x: np.ndarray) -> int:
    """e with max |x| in [2^(e−1), 2^e) (0 for an empty or zero array)."""
    big = float(np.max(np.abs(x))) if np.size(x) else 0.0
    return math.frexp(big)[1] if big > 0 else 0


def _ldexp(x: np.ndarray, e: int) -> np.ndarray:
    """x · 2^e, exactly (real and imaginary parts separately)."""
    if np.iscomplexobj(x):
        return np.ldexp(x.real, e) + 1j * np.ldexp(x.imag, e)
    return np.ldexp(x, e)


def hinf_norm(
    sys: ModalSystem | control.StateSpace,
    *,
    tol: float = 1e-10,
    method: Literal["modal", "slicot"] | None = None,
    return_peak_frequency: bool = False,
):
    """Exact H∞ norm: the supremum over frequency of σ_max(G).

    Parameters
    ----------
    sys : ModalSystem, `StateSpace` or `TransferFunction`
        A stable system (any python-control LTI with a state-space realisation).
    tol : float
        Relative accuracy: the true norm lies in ``[value, value·(1 + tol)]``.
    method : {"modal", "slicot"}, optional
        ``"modal"``: the diagonal-structure level-set method of :mod:`mor._hinf_modal`, one
        Hamiltonian eigen-solve of size 2·nstates.  ``"slicot"`` (default for
        ``StateSpace``): SLICOT AB13DD through slycot, the reference, on a copy rescaled by
        powers of two (CT time, inputs, outputs); it cannot handle a bidirectional
        (non-causal) layer.  None (default for modal systems): the modal method, and
        AB13DD for a causal system on which the modal method fails (does not converge,
        or the modes cancel beyond its resolution).
    return_peak_frequency : bool
        Also return the frequency (rad per time unit) where the peak is attained.

    Returns
    -------
    float, or (float, float) with the peak frequency.

    Raises
    ------
    NormComputationError
        AB13DD failed or returned a non-finite value for the (rescaled, stable) system, the
        level-set iteration did not converge (with ``method=None``: and AB13DD failed too,
        or the layer is bidirectional), or (modal) the modes
        cancel so strongly that ``‖G‖∞`` is below 1e-100 of the modal triangle bound
        ``Σ‖C_i‖‖B_i‖/dist_i`` (e.g. a conjugate pair with a subnormal imaginary part),
        beyond what float64 resolves.  The modal method is invariant to the scale of the
        system (gains from 1e-250 to 1e250 are tested); where modes partly cancel, its
        frequency evaluations are accurate to about ``1e-16`` times the triangle bound.
    """
    if not (0 < tol < 1):
        raise StateDimensionError(f"tol = {tol!r}; expected 0 < tol < 1")
    _require_stable(sys)
    if method is None and isinstance(sys, ModalSystem):
        value, peak = modal_hinf_with_fallback(sys, tol=tol)
    elif method in ("slicot", None):
        value, peak = _hinf_slicot(sys, tol)
    elif method == "modal":
        modal = sys if isinstance(sys, ModalSystem) else ModalSystem.from_statespace(sys)
        value, peak = modal_hinf(modal, tol=tol)
    else:
        raise ArgumentError(f"unknown H∞ method {method!r}; use 'modal' or 'slicot'")
    return (value, peak) if return_peak_frequency else value


def modal_hinf_with_fallback(sys: ModalSystem, *, tol: float, hints=()) -> tuple[float, float]:
    """(‖G‖∞, peak frequency) by the modal method, or by AB13DD where that fails.

    The modal level-set method (``hints``: extra screening frequencies, see
    :func:`mor._hinf_modal.modal_hinf`) is tried first; when it does not converge (or
    raises ``LinAlgError``) on a causal system, AB13DD, the reference, is used instead.
    Not when the modal method finds that the modes cancel beyond float64's resolution:
    AB13DD's absolute accuracy is no better there (on a pair with a subnormal imaginary
    part it returns 0 for ‖G‖∞ ≈ 2e-309), so that error is raised.  A system with
    ``G ≡ D`` (every ``C_i B_i = 0``) needs no special case: both methods return ``‖D‖₂``.

    Raises
    ------
    NormComputationError
        Both methods failed (the message gives both reasons), the modes cancel, or the
        modal method failed on a bidirectional layer, which AB13DD cannot take.
    """
    try:
        return modal_hinf(sys, tol=tol, hints=hints)
    except (NormComputationError, np.linalg.LinAlgError) as err:
        if sys.bidirectional or str(err).startswith(_MODES_CANCEL):
            raise
        modal_reason = err
    try:
        return _hinf_slicot(sys, tol)
    except NormComputationError as err:
        raise NormComputationError(
            f"the modal method failed ({modal_reason}) and so did AB13DD ({err})") from err


_MODES_CANCEL = "the modes cancel"  # how mor._hinf_modal's cancellation error begins


def _hinf_slicot(sys, tol: float) -> tuple[float, float]:
    """(‖G‖∞, peak frequency) by SLICOT AB13DD on a rescaled copy of the system.

    AB13DD works in absolute terms: for ``A = −1e-200`` (‖G‖∞ = 1e200) it returned inf.  So
    in CT time is rescaled first, ``A/a`` and ``B/a`` with ``a`` a power of two near
    ``max|A|`` (``G(a·s') = C(s'I − A/a)⁻¹(B/a) + D``: the same H∞ norm, the peak frequency
    divided by ``a``); then inputs and outputs are scaled by powers of two so that B and
    ``[C, D]`` have entries of unit size, and the scales are multiplied back at the end
    (the same spirit as :func:`h2_norm`).  Scales within ``2^±_NEAR_UNIT`` are left alone,
    so that systems of ordinary size get exactly the reference values they always got
    (AB13DD's last digits, about 1e-10 on lightly damped layers, depend on the scaling).  A
    result that is still not finite for this stable system is an error, never an infinite
    norm.
    """
    from slycot import ab13dd

    if isinstance(sys, ModalSystem):
        sys = sys.to_statespace()
    A, B, C, D, discrete = statespace_matrices(sys)
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    a_exp = 0 if discrete else _far(_exponent(A))
    A, B = _ldexp(A, -a_exp), _ldexp(B, -a_exp)
    u_exp = _far(_exponent(B))
    B, D = _ldexp(B, -u_exp), _ldexp(D, -u_exp)
    y_exp = _far(max(_exponent(C), _exponent(D)))
    C, D = _ldexp(C, -y_exp), _ldexp(D, -y_exp)
    A, B, C, D = (_flush_subnormal(x) for x in (A, B, C, D))
    try:
        gpeak, fpeak = ab13dd(
            "D" if discrete else "C", "I", "N", "D", n, m, p, A, np.eye(n), B, C, D, max(tol, 1e-14)
        )
    except Exception as err:  # slycot raises its own SlycotArithmeticError / ValueError
        raise NormComputationError(f"AB13DD failed: {err}") from err
    value = float(np.ldexp(float(gpeak), u_exp + y_exp))
    freq = float(np.ldexp(float(fpeak), a_exp)) if math.isfinite(float(fpeak)) else float(fpeak)
    if not math.isfinite(value):
        raise NormComputationError(
            f"AB13DD returned ‖G‖∞ = {float(gpeak)!r} (times 2^{u_exp + y_exp}) for a stable "
            "system: its poles or gains span more than float64 resolves at once (or the norm "
            "exceeds 1.8e308); balance or rescale the realisation, or use method='modal'"
        )
    if discrete and np.isfinite(freq):
        freq = freq / (1.0 if sys.dt is True else float(sys.dt))
    return value, freq


_NEAR_UNIT = 64  # binary exponents within ±64 (1e±19) are not rescaled for AB13DD


def _far(e: int) -> int:
    """``e`` if ``2^e`` is far from 1 (beyond ``2^±_NEAR_UNIT``), else 0."""
    return e if abs(e) > _NEAR_UNIT else 0


def _cholesky_factor(A: np.ndarray, B: np.ndarray, discrete: bool) -> np.ndarray:
    """Real upper-triangular U, diagonal ≥ 0, with ``U Uᵀ = P`` the Gramian of real (A, B).

    From the complex factor ``F = Q L`` of :func:`_gramian_factor`: ``P = Re(F Fᴴ) = G Gᵀ``
    with ``G = [Re F, Im F]`` (n × 2n), and U is the triangle of G's RQ decomposition,
    computed as the QR decomposition of ``(J G)ᵀ`` with J the reversal: ``(J G)ᵀ = Z R``
    gives ``U = J Rᵀ J``.  SLICOT SB03OD, used before, is wrong for conjugate pairs with a
    tiny imaginary part (:func:`_gramian_factor`): for the pair 0.999 ± 1.35e-80j among
    three other units ``‖U Uᵀ − P‖ = 0.88‖P‖``, and balanced truncation to one state
    certified 125 for an error of 1917.
    """
    n = A.shape[0]
    if n == 0:
        return np.zeros((0, 0))
    Q, L = _gramian_factor(A, B, discrete)
    F = Q @ L
    R = scipy.linalg.qr(np.hstack([F.real, F.imag])[::-1].T, mode="r")[0][:n]
    U = R.T[::-1, ::-1]
    return U * np.where(np.diag(U) < 0, -1.0, 1.0)[None, :]  # U D Dᵀ Uᵀ = U Uᵀ


def hankel_singular_values(sys: ModalSystem | control.StateSpace) -> np.ndarray:
    """Hankel singular values, descending, for continuous- and discrete-time systems.

    Square-root method: with Gramian factors P = L_c L_cᴴ and Q = L_o L_oᴴ (Hammarling's
    method on the complex Schur form, :func:`_gramian_factor`), the values are the singular
    values of L_oᴴ L_c.  Unlike eigenvalues of P·Q this keeps full relative accuracy down to
    the small values and never returns NaN.  (SLICOT SB03OD's real-Schur factors gave 456
    for 1440 with a pair at 0.999 ± 1.35e-80j.)

    Parameters
    ----------
    sys : ModalSystem, `StateSpace` or `TransferFunction`
        A stable system, continuous or discrete time.

    Returns
    -------
    ndarray, shape (nstates,)
    """
    if isinstance(sys, ModalSystem):
        sys = sys.to_statespace()
    A, B, C, _, discrete = statespace_matrices(sys)
    if A.shape[0] == 0:
        return np.zeros(0)
    Qc, Lc = _gramian_factor(A, B, discrete)
    Qo, Lo = _gramian_factor(A.T, C.T, discrete)
    return scipy.linalg.svd((Qo @ Lo).conj().T @ (Qc @ Lc), compute_uv=False)
