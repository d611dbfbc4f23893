"""Exact system norms: H2, H∞ and Hankel singular values, in continuous and discrete time.

Each function accepts a :class:`~mor.systems.ModalSystem` or a python-control
``StateSpace``.  All assume an asymptotically stable system.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import control
import numpy as np
import scipy.linalg

from mor._hinf_modal import modal_hinf
from mor.exceptions import NormComputationError, StateDimensionError, UnstableSystemError
from mor.systems import ModalSystem

__all__ = ["h2_norm", "hankel_singular_values", "hinf_norm", "statespace_matrices"]


def statespace_matrices(sys) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """(A, B, C, D, is_discrete) of a ``StateSpace`` as float64, checked for stability.

    Subnormal entries (below 2.2e-308 in magnitude) are set to 0: SLICOT's routines fail
    (AB13DD: QR does not converge) or return garbage (SB03OD: a Hankel singular value of
    3e169 for one of 0.51) on them, and the change is below float64's normal range (found
    by the 10,000-example test runs).
    """
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


def h2_norm(sys: ModalSystem | control.StateSpace) -> float:
    """Exact H2 norm.

    Modal systems use the closed-form Gramian of a diagonal system (MATH.md §4):
    ``P_ij = (B Bᴴ)_ij / (1 − λ̄_i conj(λ̄_j))`` with ``1 − λ̄_i conj(λ̄_j) =
    −expm1(μ_i + conj(μ_j))`` in DT, ``P_ij = −(B Bᴴ)_ij / (λ_i + conj(λ_j))`` in CT;
    ``‖G‖₂² = tr(C P Cᴴ) + ‖D‖_F²`` (DT; a CT system with D ≠ 0 has infinite H2 norm).
    A bidirectional layer adds its backward part's ``tr(C_b P C_bᴴ)``: the two kernels
    overlap only at lag 0, which the standard form's D carries.  Other systems: the
    Lyapunov solve of the Gramian.

    Examples
    --------
    >>> s = ModalSystem([-1.0], [[1.0]], [[1.0]])  # 1/(s+1)
    >>> round(h2_norm(s), 12)  # 1/sqrt(2)
    0.707106781187
    """
    # B and C are scaled by powers of 2 to unit size first and the scales multiplied back at
    # the end, so that ‖B‖², ‖C‖² (in the Gramian) neither under- nor overflow for gains far
    # from 1 (powers of 2: exact, and safe for subnormal entries).
    if isinstance(sys, ModalSystem):
        s = sys.standard_form()
        poles, B, C, Cb = s.expanded_modes()
        b_exp = _exponent(B)
        c_exp = _exponent(C if Cb is None else np.concatenate([C, Cb], axis=1))
        B, C = _ldexp(B, -b_exp), _ldexp(C, -c_exp)
        if s.isctime:
            kernel = -1.0 / (poles[:, None] + np.conj(poles)[None, :])
        else:
            logs = s.expanded_log_poles()
            kernel = -1.0 / np.expm1(logs[:, None] + np.conj(logs)[None, :])
        P = (B @ B.conj().T) * kernel
        total = np.sum(P * (C.conj().T @ C).T).real
        if Cb is not None:
            Cb = _ldexp(Cb, -c_exp)
            total += np.sum(P * (Cb.conj().T @ Cb).T).real
        D = s.D
        discrete = s.isdtime
    else:
        A, B, C, D, discrete = statespace_matrices(sys)
        b_exp, c_exp = _exponent(B), _exponent(C)
        B, C = _ldexp(B, -b_exp), _ldexp(C, -c_exp)
        if discrete:
            P = scipy.linalg.solve_discrete_lyapunov(A, B @ B.T)
        else:
            P = scipy.linalg.solve_continuous_lyapunov(A, -B @ B.T)
        total = float(np.trace(C @ P @ C.T))
    dynamic = float(np.ldexp(math.sqrt(max(total, 0.0)), b_exp + c_exp))
    if discrete:
        d_exp = _exponent(D)
        return math.hypot(dynamic, float(np.ldexp(np.linalg.norm(_ldexp(D, -d_exp)), d_exp)))
    if np.any(D != 0):
        warnings.warn("continuous-time system with D ≠ 0: H2 norm is infinite", stacklevel=2)
        return float("inf")
    return dynamic


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
    sys : ModalSystem or `StateSpace`
    tol : float
        Relative accuracy: the true norm lies in ``[value, value·(1 + tol)]``.
    method : {"modal", "slicot"}, optional
        ``"modal"`` (default for modal systems): the diagonal-structure level-set method
        of :mod:`mor._hinf_modal`, one Hamiltonian eigen-solve of size 2·nstates.
        ``"slicot"`` (default for ``StateSpace``): SLICOT AB13DD through slycot, the
        reference; it cannot handle a bidirectional (non-causal) layer.
    return_peak_frequency : bool
        Also return the frequency (rad per time unit) where the peak is attained.

    Returns
    -------
    float, or (float, float) with the peak frequency.

    Raises
    ------
    NormComputationError
        AB13DD failed, the level-set iteration did not converge, or (modal) the modes
        cancel so strongly that ``‖G‖∞`` is below 1e-100 of the modal triangle bound
        ``Σ‖C_i‖‖B_i‖/dist_i`` (e.g. a conjugate pair with a subnormal imaginary part),
        beyond what float64 resolves.  The modal method is invariant to the scale of the
        system (gains from 1e-250 to 1e250 are tested); where modes partly cancel, its
        frequency evaluations are accurate to about ``1e-16`` times the triangle bound.
    """
    if not (0 < tol < 1):
        raise StateDimensionError(f"tol = {tol!r}; expected 0 < tol < 1")
    if method is None:
        method = "modal" if isinstance(sys, ModalSystem) else "slicot"
    if method == "modal":
        modal = sys if isinstance(sys, ModalSystem) else ModalSystem.from_statespace(sys)
        value, peak = modal_hinf(modal, tol=tol)
    elif method == "slicot":
        value, peak = _hinf_slicot(sys, tol)
    else:
        raise StateDimensionError(f"unknown H∞ method {method!r}; use 'modal' or 'slicot'")
    return (value, peak) if return_peak_frequency else value


def _hinf_slicot(sys, tol: float) -> tuple[float, float]:
    from slycot import ab13dd

    if isinstance(sys, ModalSystem):
        sys = sys.to_statespace()
    A, B, C, D, discrete = statespace_matrices(sys)
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    try:
        gpeak, fpeak = ab13dd(
            "D" if discrete else "C", "I", "N", "D", n, m, p, A, np.eye(n), B, C, D, max(tol, 1e-14)
        )
    except Exception as err:  # slycot raises its own SlycotArithmeticError / ValueError
        raise NormComputationError(f"AB13DD failed: {err}") from err
    value, freq = float(gpeak), float(fpeak)
    if discrete and np.isfinite(freq):
        freq = freq / (1.0 if sys.dt is True else float(sys.dt))
    return value, freq


_NEGLIGIBLE_DT_A = 1e-100


def _cholesky_factor(A: np.ndarray, B: np.ndarray, discrete: bool) -> np.ndarray:
    """Upper-triangular U with U Uᵀ = P, the Gramian of (A, B) (SLICOT SB03OD, Hammarling)."""
    from slycot import sb03od

    n, m = B.shape
    if discrete and A.size and np.max(np.abs(A)) < _NEGLIGIBLE_DT_A:
        # SB03OD returns garbage for a DT A whose entries are all below ~1e-130 (a Hankel
        # singular value of 34 for 0.51 at 1e-140; found by the thorough run).  Then
        # P = A P Aᵀ + B Bᵀ = B Bᵀ to a relative 1e-200: solve it with A = 0.
        A = np.zeros_like(A)
    if m > n:  # P depends on B Bᵀ only: compress B to an n×n factor (SB03OD wants m ≤ n here)
        B = scipy.linalg.qr(B.T, mode="r")[0][:n].T
        m = n
    Bpad = np.zeros((n, n))
    Bpad[:, :m] = B
    try:
        U, scale, _ = sb03od(
            n, m, A.copy(), np.zeros((n, n)), Bpad, "D" if discrete else "C", fact="N", trans="T"
        )
    except Exception as err:
        raise NormComputationError(f"SB03OD (Lyapunov factor) failed: {err}") from err
    return np.triu(U[:n, :n]) / scale


def hankel_singular_values(sys: ModalSystem | control.StateSpace) -> np.ndarray:
    """Hankel singular values, descending, for continuous- and discrete-time systems.

    Square-root method: with Gramian factors P = L_c L_cᵀ and Q = L_o L_oᵀ (SLICOT SB03OD),
    the values are the singular values of L_oᵀ L_c.  Unlike eigenvalues of P·Q this keeps
    full relative accuracy down to the small values and never returns NaN.

    Returns
    -------
    ndarray, shape (nstates,)
    """
    if isinstance(sys, ModalSystem):
        sys = sys.to_statespace()
    A, B, C, _, discrete = statespace_matrices(sys)
    if A.shape[0] == 0:
        return np.zeros(0)
    Lc = _cholesky_factor(A, B, discrete)
    Lo = _cholesky_factor(A.T, C.T, discrete)
    return scipy.linalg.svd(Lo.T @ Lc, compute_uv=False)
