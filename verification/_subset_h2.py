"""H2 norms of many unit subsets of one modal layer, from two Cholesky factors of its Gramian.

``‖G_T‖₂² = tr(C_T P_TT C_Tᴴ)`` for the units T of a layer, with P the controllability
Gramian of the whole layer in a fixed unit order.  When T is a *leading* set in that order,
``P_TT = L_TT L_TTᴴ`` with L the Cholesky factor of P: the leading block of one factor serves
every leading set, and the reversed order every trailing set.  The pruned sets of one method
at increasing ratios are nested, so with the units ordered by when they are pruned, each
error system is a leading set and each kept part a trailing one: two factorisations per layer
instead of two H2 computations per plan (:func:`verification.certify_many`).

The factor comes from the generalized Schur algorithm on the Cauchy-like Gramian
``P_ij = B_i B_jᴴ / g_ij`` (as ``mor.norms`` computes ``‖C L‖_F``: only differences of the
data enter, and ``‖C L‖_F²`` is a sum of squares, accurate to about eps times the size of
the modes), with each mode balanced and B, C scaled by powers of two first (exact).  A value
not resolved above its round-off estimate is not returned (the caller then uses
:func:`mor.h2_norm`, which decides between an exact 0 and an error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mor.systems import ModalSystem

_EPS = float(np.finfo(np.float64).eps)
_RESOLVED = 1e3  # as mor.norms: a value must exceed this many times its round-off estimate


class SubsetH2:
    """The H2 norm of ``Σ_{u∈T} G_u`` (the system :func:`mor.truncation.error_system` builds for
    the units T of a layer: feedthrough 0 before the standard form) for unit sets T that are
    leading or trailing in a fixed order.

    Parameters
    ----------
    sys : ModalSystem
        The layer.
    order : sequence of int
        A permutation of the layer's units.
    """

    def __init__(self, sys: ModalSystem, order: Sequence[int]) -> None:
        self._sys = sys
        self._order = [int(u) for u in order]
        self._position = {u: k for k, u in enumerate(self._order)}
        s = sys.standard_form() if sys.output_after_update else sys
        units = np.asarray(self._order, dtype=np.int64)
        # expanded modes, unit by unit: a unit, then (for a pair) its conjugate
        self._sizes = np.where(sys.pair[units], 2, 1)
        index = np.repeat(units, self._sizes)
        conj = np.zeros(index.size, dtype=bool)
        conj[np.cumsum(self._sizes)[self._sizes == 2] - 1] = True
        poles = np.where(conj, np.conj(s.poles[index]), s.poles[index])
        logs = None
        if s.isdtime:
            logs = np.where(conj, np.conj(s.log_poles[index]), s.log_poles[index])
        B = np.where(conj[:, None], np.conj(s.B[index]), s.B[index])
        outputs = s.C if s.C_backward is None else np.concatenate([s.C, s.C_backward])
        C = np.where(conj[None, :], np.conj(outputs[:, index]), outputs[:, index])
        shift = (_exponents(C, axis=0) - _exponents(B, axis=1)) // 2
        B, C = _ldexp(B, shift[:, None]), _ldexp(C, -shift[None, :])
        self._b_exp, self._c_exp = _exponent(B), _exponent(C)
        self._poles, self._logs = poles, logs
        self._B, self._C = _ldexp(B, -self._b_exp), _ldexp(C, -self._c_exp)
        self._factors: dict[bool, np.ndarray] = {}

    def value(self, units: Sequence[int], exponent: int = 0) -> float | None:
        """``‖Σ_{u∈units} G_u‖₂ · 2^exponent``, or None when ``units`` is neither a leading nor a
        trailing set of the order, or the value is not resolved above round-off."""
        units = sorted(int(u) for u in units)
        k = len(units)
        if k == 0:
            return 0.0
        leading = sorted(self._order[:k]) == units
        trailing = sorted(self._order[len(self._order) - k:]) == units
        if not (leading or trailing):
            return None
        reverse = not leading
        modes = int(np.sum(self._sizes[len(self._order) - k:] if reverse else self._sizes[:k]))
        L = self._factor(reverse)[:modes, :modes]
        C = self._C[:, ::-1] if reverse else self._C
        C = C[:, :modes]
        value = float(np.linalg.norm(C @ L))
        bound = float(np.linalg.norm(np.abs(C) @ np.abs(L)))
        error = (modes + C.shape[0] + self._B.shape[1]) * _EPS * bound
        if not value > _RESOLVED * error:
            return None
        dynamic = float(np.ldexp(value, self._b_exp + self._c_exp + exponent))
        if not (self._sys.isdtime and self._sys.output_after_update):
            return dynamic
        lag0 = self._sys.subsystem(units).lag0_feedthrough()  # D of the error system's
        d_exp = _exponent(lag0)                                 # standard form
        d_norm = float(np.ldexp(np.linalg.norm(np.ldexp(lag0, -d_exp)), d_exp + exponent))
        return math.hypot(dynamic, d_norm)

    def _factor(self, reverse: bool) -> np.ndarray:
        if reverse not in self._factors:
            step = slice(None, None, -1) if reverse else slice(None)
            logs = None if self._logs is None else self._logs[step]
            self._factors[reverse] = _schur_factor(self._poles[step], logs, self._B[step])
        return self._factors[reverse]


def _schur_factor(poles: np.ndarray, logs: np.ndarray | None, B: np.ndarray) -> np.ndarray:
    """Lower-triangular L with ``L Lᴴ = P``, ``P_ij = B_i B_jᴴ / g_ij``, by the generalized
    Schur algorithm on the generator B (as ``mor.norms._schur_h2``, keeping L).

    ``g_ij = 1 − λ_i conj(λ_j) = −expm1(μ_i + conj μ_j)`` (DT, from the logs) or
    ``−(λ_i + conj λ_j)`` (CT).  Eliminating mode k leaves generator rows
    ``G_i + (φ_i − 1) x_i b̂`` (i > k) with ``b̂ = G_k/‖G_k‖``, ``x_i = G_i b̂ᴴ`` and
    ``φ_i = (λ_i − λ_k)/g_ik``; column k of L is ``‖G_k‖/√g_kk`` on the diagonal and
    ``x_i √g_kk / g_ik`` below.
    """
    n = poles.size
    G = np.array(B, dtype=np.complex128)
    L = np.zeros((n, n), dtype=np.complex128)
    for k in range(n):
        big = float(np.max(np.abs(G[k]))) if G.shape[1] else 0.0
        nb = big * float(np.linalg.norm(G[k] / big)) if big > 0 else 0.0
        if nb == 0.0:  # P's row k is zero: eliminating k changes nothing else
            continue
        rest = slice(k + 1, n)
        if logs is None:
            gaps = -(poles + np.conj(poles[k]))
            diff = poles[rest] - poles[k]
        else:
            gaps = -np.expm1(logs + np.conj(logs[k]))
            diff = (poles[rest] - poles[k] if poles[k] == 0
                    else poles[k] * np.expm1(logs[rest] - logs[k]))
        g_kk, g_col = float(gaps[k].real), gaps[rest]
        direction = G[k] / nb
        x = G[rest] @ direction.conj()
        root = math.sqrt(g_kk)
        L[k, k] = nb / root
        L[rest, k] = x * root / g_col
        G[rest] += ((diff / g_col - 1.0) * x)[:, None] * direction[None, :]
    return L


def _exponents(x: np.ndarray, axis: int) -> np.ndarray:
    return np.frexp(np.max(np.abs(x), axis=axis))[1].astype(np.int64)


def _exponent(x: np.ndarray) -> int:
    big = float(np.max(np.abs(x))) if x.size else 0.0
    return math.frexp(big)[1] if big > 0 else 0


def _ldexp(x: np.ndarray, e) -> np.ndarray:
    if np.iscomplexobj(x):
        return np.ldexp(x.real, e) + 1j * np.ldexp(x.imag, e)
    return np.ldexp(x, e)
