"""Exact H∞ norm of a modal system, exploiting the diagonal structure.

Algorithm (a level-set method in the spirit of Boyd–Balakrishnan and
Bruinsma–Steinbuch, 1990, seeded by the modal structure):

1. A discrete-time system is mapped to continuous time by the Cayley transform
   ``z = (1 + s)/(1 − s)``, which maps the unit circle onto the imaginary axis and keeps
   the system diagonal: ``λ_c = (λ̄ − 1)/(λ̄ + 1)``, ``B_c = √2 (λ̄ + 1)⁻¹ B``,
   ``C_c = √2 C (λ̄ + 1)⁻¹``, ``D_c = D − C (λ̄ + 1)⁻¹ B``; ``λ_c = tanh(μ/2)`` is
   evaluated from the pole's log μ without cancellation (:func:`_cayley_poles`).  A
   bidirectional layer's backward part, evaluated at 1/z, becomes a mirrored (anti-stable)
   diagonal part with poles −λ_c.
2. Lower bound: σ_max(G(jω)) on a bounded set of cheap candidates — ω = 0, ∞, the
   resonances of the modes with the largest single-mode gains, a logarithmic grid, any
   caller's hints — then the best one refined.  Narrow layers (min(p, m) ≤ 24) form G(jω)
   and refine by Brent's method on dσ/dω.  Wide layers never form G(jω): σ_max comes from
   Golub–Kahan–Lanczos bidiagonalisation (products with the diagonal form, O((p + m)·n)
   each, batched over frequencies), whose Ritz value is a lower bound of σ_max by
   construction; the peak is refined by a subspace method (the two-sided projection onto
   the Lanczos bases, maximised, expanded at its maximiser), whose values are lower
   bounds too.  An unconverged value is never an overestimate.
3. Certificate: the Hamiltonian matrix H(γ) of the real block form at
   γ = γ_lo (1 + tol) has an eigenvalue jω exactly when γ is a singular value of G(jω).
   No imaginary eigenvalue: ‖G‖∞ ≤ γ.  Otherwise the crossings bound intervals where
   σ_max > γ; their midpoints raise γ_lo and the step repeats (quadratic convergence).
   The eigenvalues come from SLICOT MB03XD (Benner–Mehrmann–Xu 1998: symplectic URV plus
   periodic Schur), which preserves the Hamiltonian eigenvalue pairing in floating point,
   so a crossing is an eigenvalue with real part exactly 0 and an eigenvalue near a
   lightly damped pole is never mistaken for one; where that routine is not available or
   does not converge, LAPACK's eigenvalues with a near-axis test that rejects any
   eigenvalue whose mirror image −λ̄ is also present (an off-axis Hamiltonian pair).
   Within 1e-4 above ‖D‖₂, where H needs the inverse of the nearly singular DᵀD − γ²I,
   the crossings come from the extended pencil instead (as AB13DD), compressed to a
   2n × 2n QZ problem.

The cost is usually exactly one structured eigenvalue solve of size 2·nstates (about half
a LAPACK eigenvalue solve of that size) plus a bounded number of frequency evaluations,
against the repeated generalized (QZ) solves of AB13DD.
"""

from __future__ import annotations

import ctypes
import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.sparse.linalg
from scipy.optimize import brentq, minimize_scalar

from mor.exceptions import NormComputationError
from mor.systems import ModalSystem, real_block_form

_MAX_LEVEL_SET_STEPS = 30
_MAX_CANDIDATES = 16  # per kind (mode resonances, grid points)
_MIN_CANDIDATES = 3
_REFINED_CANDIDATES = 1
_PENCIL_MARGIN = 1e-4  # levels this close above ‖D‖₂ use the pencil, not the Hamiltonian
_SMALLEST_RELATIVE_GAIN = 1e-100  # ‖G‖∞ / triangle bound below which H would overflow
_NEAR_AXIS = 1e-7  # |Re λ| / max|λ| of a candidate crossing (LAPACK path only)
_DENSE_MAX_DIM = 24  # min(p, m) up to which G(jω) is formed and its Gram matrix solved
_SCREEN_STEPS = 12  # Lanczos steps when ranking candidates and probes
_FINE_RTOL = 1e-13  # Lanczos accuracy at a peak being refined
_MAX_LANCZOS_STEPS = 96
_BATCH = 32  # frequencies per batched evaluation
_DENSE_NORM_DIM = 128  # ‖D‖₂ by a full SVD up to this min(p, m)
_PROJECTED_GRID = 33  # grid of the projected σ_max over a refinement bracket
_MAX_SUBSPACE_STEPS = 6
_SUBSPACE_RTOL = 1e-12  # projected gain below which a refinement has converged
_MAX_SUBSPACE_DIM = 192


@dataclass(frozen=True)
class _CTModal:
    """A CT system in unit form: Σ C_u B_u/(s − p_u) (+ conj for pair units) + D."""

    poles: np.ndarray
    B: np.ndarray
    C: np.ndarray
    pair: np.ndarray
    D: np.ndarray


@dataclass(frozen=True)
class HinfOutcome:
    """The result of :func:`modal_hinf_stats`: the norm, where, and what it cost."""

    value: float
    peak: float  # in the system's own frequency units
    solves: int  # Hamiltonian (or pencil) eigenvalue solves
    evaluations: int  # frequencies at which σ_max(G(jω)) was evaluated
    structured: bool  # whether the solves used the structure-preserving MB03XD


def _cayley_poles(mu: np.ndarray, pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``λ_c = (λ̄ − 1)/(λ̄ + 1)`` and ``(λ̄ + 1)⁻¹`` from the log ``μ = a + jθ`` of λ̄.

    ``λ_c = tanh(μ/2) = (sinh a + j sin θ)/(2 sinh²(a/2) + 2 cos²(θ/2))`` and
    ``(λ̄ + 1)⁻¹ = e^{−μ/2}/(2 cosh(μ/2))``: no cancellation anywhere, so ``Re λ_c`` keeps
    full relative accuracy for a pole within 1e-7 of the unit circle (forming λ̄ − 1 and
    dividing, its real part ``(|λ̄|² − 1)/|λ̄ + 1|²`` came out of O(1) terms and lost up to
    nine digits, the peak value of a resonance with it).  Poles well inside the circle
    (|λ̄| < e⁻¹, including λ̄ = 0 with μ = −∞), where that subtraction is harmless and the
    hyperbolic functions would overflow, use ``expm1(μ)/(expm1(μ) + 2)``.  Real units stay
    real.
    """
    near = mu.real >= -1.0
    m = np.where(near, mu, 0.0)  # the hyperbolic form, on the poles near the circle only
    a, theta = m.real, m.imag
    denom = 2.0 * np.sinh(a / 2.0) ** 2 + 2.0 * np.cos(theta / 2.0) ** 2
    lam_near = (np.sinh(a) + 1j * np.sin(theta)) / denom
    inv_near = np.exp(-m / 2.0) / (2.0 * np.cosh(m / 2.0))
    em1 = np.expm1(np.where(near, -1.0, mu))  # λ̄ − 1 of the others (−1 at λ̄ = 0)
    inv_far = 1.0 / (em1 + 2.0)
    lam_c = np.where(near, lam_near, em1 * inv_far)
    inv = np.where(near, inv_near, inv_far)
    return np.where(pair, lam_c, lam_c.real), np.where(pair, inv, inv.real)


def _cayley_parts(sys: ModalSystem) -> _CTModal:
    """The CT equivalent (causal forward part plus mirrored backward part) of ``sys``."""
    s = sys.standard_form()
    if s.isctime:
        lam_c = s.poles
        B, C, Cb = s.B, s.C, s.C_backward
        D = np.array(s.D)
    else:
        lam_c, inv = _cayley_poles(s.log_poles, s.pair)
        B = math.sqrt(2.0) * inv[:, None] * s.B
        C = math.sqrt(2.0) * s.C * inv[None, :]
        weight = np.where(s.pair, 2.0, 1.0)
        total_c = s.C if s.C_backward is None else s.C + s.C_backward
        X = total_c * (weight * inv)[None, :]
        D = s.D - (X.real @ s.B.real - X.imag @ s.B.imag)  # Re(X B), two real products
        Cb = None if s.C_backward is None else math.sqrt(2.0) * s.C_backward * inv[None, :]
    if Cb is None:
        return _CTModal(lam_c, B, C, s.pair, D)
    # G_b(−s) = −C_b (sI + Λ_c)⁻¹ B: poles −λ_c, output columns −C_b.
    return _CTModal(
        np.concatenate([lam_c, -lam_c]),
        np.concatenate([B, B], axis=0),
        np.concatenate([C, -Cb], axis=1),
        np.concatenate([s.pair, s.pair]),
        D,
    )


def _real_times(M: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``M @ Z`` for real M and complex Z as one real product (no complex copy of M)."""
    Z = np.ascontiguousarray(Z)
    shape = Z.shape
    flat = Z.reshape(shape[0], -1).view(np.float64)  # (a, 2·K): re/im interleaved
    return (M @ flat).view(np.complex128).reshape((M.shape[0], *shape[1:]))


class _Evaluator:
    """σ_max(G(jω)) of a CT unit-form system, batched over frequencies.

    G(s) = L · M(s) · R + D with the real matrices ``L = [C_real | C_r | C_i]`` (p × N),
    ``R = [B_real; B_r; B_i]`` (N × m) and the block-diagonal weights ``M(s)``: ``1/(s − p)``
    for a real unit and, for a pair unit (pole λ = a + jb, residue C_u B_uᵀ),

        [[α, −β], [−β, −α]],   α = 2(s − a)/((s − λ)(s − λ̄)),   β = 2b/((s − λ)(s − λ̄)),

    i.e. the pair-stable form ``R/(s − λ) + R̄/(s − λ̄) = [2(s − a)·Re R − 2b·Im R] /
    ((s − λ)(s − λ̄))`` with ``Re R = C_r B_rᵀ − C_i B_iᵀ``, ``Im R = C_r B_iᵀ + C_i B_rᵀ``.
    A pair is never evaluated as the sum of its two conjugate terms: when it nearly
    cancels (a small b with a nearly imaginary residue) those terms are O(1) each and their
    sum would be pure round-off, whose size depends on the BLAS kernel's summation order.

    Narrow systems (min(p, m) ≤ 24) form G(jω) and take the top eigenvalue of its smaller
    Gram matrix.  Wider ones use Golub–Kahan–Lanczos with full reorthogonalisation on the
    products ``G v = L(M(R v)) + D v`` and ``Gᴴ u = Rᵀ(M̄(Lᵀ u)) + Dᵀ u``: the Ritz value is
    ``max ‖G x‖/‖x‖`` over a Krylov subspace, a lower bound of σ_max, stopped when the
    residual bound ``min(r, r²/gap) ≤ rtol·θ``.
    """

    def __init__(self, ct: _CTModal) -> None:
        real, pair = ~ct.pair, ct.pair
        self._real_poles = ct.poles[real]
        self._pair_poles = ct.poles[pair]
        self._nr, self._np = int(np.count_nonzero(real)), int(np.count_nonzero(pair))
        B_pair, C_pair = ct.B[pair], ct.C[:, pair]
        self._R = np.concatenate([ct.B[real].real, B_pair.real, B_pair.imag], axis=0)
        self._L = np.concatenate([ct.C[:, real].real, C_pair.real, C_pair.imag], axis=1)
        self.D = np.asarray(ct.D, dtype=np.float64)
        self.p, self.m = self.D.shape
        self.dense = min(self.p, self.m) <= _DENSE_MAX_DIM
        self._start = self._start_vector()
        self.count = 0

    # ------------------------------------------------------------------ the diagonal form
    def _weights(self, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(w, α, β) at s = jω, shapes (n_real, K), (n_pair, K), (n_pair, K)."""
        s = 1j * omega[None, :]
        w = 1.0 / (s - self._real_poles[:, None])
        lam = self._pair_poles[:, None]
        denom = (s - lam) * (s - np.conj(lam))  # (s − λ)(s − λ̄), normwise accurate
        return w, 2.0 * (s - lam.real) / denom, 2.0 * lam.imag / denom

    def _weight_slopes(self, omega: np.ndarray):
        """d/dω of the weights of :meth:`_weights` (d/ds times j)."""
        s = 1j * omega[None, :]
        w = 1.0 / (s - self._real_poles[:, None])
        lam = self._pair_poles[:, None]
        denom = (s - lam) * (s - np.conj(lam))
        alpha = 2.0 * (s - lam.real) / denom
        beta = 2.0 * lam.imag / denom
        # dα/ds = (2 − 2(s − a)α)/denom, dβ/ds = −2(s − a)β/denom
        d_alpha = (2.0 - 2.0 * (s - lam.real) * alpha) / denom
        d_beta = -2.0 * (s - lam.real) * beta / denom
        return -1j * w * w, 1j * d_alpha, 1j * d_beta

    def _middle(self, weights, X: np.ndarray, *, adjoint: bool = False) -> np.ndarray:
        """M(s)·X (or M(s)ᴴ·X) for X of shape (N, K), one frequency per column."""
        w, alpha, beta = weights
        if adjoint:
            w, alpha, beta = np.conj(w), np.conj(alpha), np.conj(beta)
        nr, npair = self._nr, self._np
        x1, x2, x3 = X[:nr], X[nr : nr + npair], X[nr + npair :]
        return np.concatenate(
            [w * x1, alpha * x2 - beta * x3, -(alpha * x3 + beta * x2)], axis=0
        )

    def _apply(self, weights, V: np.ndarray) -> np.ndarray:
        """G(jω_k) v_k for each column k of V (m, K)."""
        return _real_times(self._L, self._middle(weights, _real_times(self._R, V))) + \
            _real_times(self.D, V)

    def _apply_adjoint(self, weights, U: np.ndarray) -> np.ndarray:
        """G(jω_k)ᴴ u_k for each column k of U (p, K)."""
        inner = self._middle(weights, _real_times(self._L.T, U), adjoint=True)
        return _real_times(self._R.T, inner) + _real_times(self.D.T, U)

    def response(self, omega: np.ndarray) -> np.ndarray:
        """G(jω) for each ω, shape (K, p, m), as one real matrix product (BLAS-3)."""
        K, N, m = omega.size, self._R.shape[0], self.m
        weights = self._weights(omega)
        # rows[u, k, :] = (M(jω_k) R)[u, :]
        rows = self._middle(
            tuple(x[:, :, None] for x in weights), np.broadcast_to(self._R[:, None, :], (N, K, m))
        )
        G = _real_times(self._L, rows.reshape(N, K * m)).reshape(self.p, K, m)
        return G.transpose(1, 0, 2) + self.D[None]

    # ------------------------------------------------------------------ σ_max
    def _start_vector(self) -> np.ndarray:
        """A fixed, generic unit start vector for Lanczos (deterministic results)."""
        rng = np.random.default_rng(20240617)
        v = rng.standard_normal(self.m) + 1j * rng.standard_normal(self.m)
        return v / np.linalg.norm(v)

    def sigma_max(self, omega, *, fine: bool = False) -> np.ndarray:
        """σ_max(G(jω)) per ω.

        Dense: exact.  Lanczos: a lower bound, after ``_SCREEN_STEPS`` steps (enough to rank
        candidates) or, with ``fine``, converged to ``_FINE_RTOL``.
        """
        omega = np.atleast_1d(np.asarray(omega, dtype=np.float64))
        self.count += omega.size
        out = np.empty(omega.size)
        for start in range(0, omega.size, _BATCH):
            chunk = omega[start : start + _BATCH]
            if self.dense:
                out[start : start + _BATCH] = np.sqrt(
                    np.maximum(_top_gram_eigenvalues(self.response(chunk)), 0.0))
            else:
                V0 = np.repeat(self._start[:, None], chunk.size, axis=1)
                rtol = _FINE_RTOL if fine else None
                out[start : start + _BATCH] = self._lanczos(chunk, V0, rtol)[0]
        return out

    def value_and_slope(self, omega: float, start: np.ndarray | None = None):
        """(σ_max(G(jω)), dσ/dω, right singular vector) for a simple top singular value.

        dσ/dω = Re(uᴴ G'(jω) v), G' = L·M'(jω)·R.  ``start`` (a previous right singular
        vector at a nearby frequency) makes the Lanczos run short.
        """
        self.count += 1
        om = np.array([omega], dtype=np.float64)
        if self.dense:
            sigma, u, v = _top_triplet(self.response(om)[0])
        else:
            v0 = self._start if start is None else start
            theta, U, V = self._lanczos(om, v0[:, None], _FINE_RTOL, vectors=True)
            sigma, u, v = float(theta[0]), U[:, 0], V[:, 0]
        dG_v = _real_times(self._L, self._middle(self._weight_slopes(om),
                                                 _real_times(self._R, v[:, None])))[:, 0]
        return sigma, float(np.real(np.vdot(u, dG_v))), v

    def _lanczos(self, omega: np.ndarray, V0: np.ndarray, rtol: float | None, *,
                 vectors: bool | str = False):
        """Batched Golub–Kahan–Lanczos: (θ, U, V) with θ_k ≤ σ_max(G(jω_k)).

        ``G V_j = U_j B_j``, ``Gᴴ U_j = V_j B_jᵀ + β_j v_j e_jᵀ`` with B_j upper bidiagonal
        (α on the diagonal, β above); the top singular triplet (θ, p, q) of B_j gives the
        Ritz triplet (θ, U_j p, V_j q) with residual ``r = β_j |p_j|``.  With ``rtol`` None,
        exactly ``_SCREEN_STEPS`` steps; otherwise until the error bound is below
        ``rtol·θ`` for every column (checked every other step).
        """
        weights = self._weights(omega)
        K = omega.size
        limit = min(_MAX_LANCZOS_STEPS, self.m, self.p)
        kmax = min(limit, _SCREEN_STEPS) if rtol is None else limit
        Vb = np.zeros((kmax + 1, self.m, K), dtype=np.complex128)
        Ub = np.zeros((kmax, self.p, K), dtype=np.complex128)
        alpha = np.zeros((kmax, K))
        beta = np.zeros((kmax + 1, K))
        Vb[0] = V0 / np.linalg.norm(V0, axis=0)
        steps = kmax
        for j in range(kmax):
            u = self._apply(weights, Vb[j])
            if j:
                u -= beta[j] * Ub[j - 1]
            u = _orthogonalised(u, Ub[:j])
            alpha[j] = np.linalg.norm(u, axis=0)
            Ub[j] = u / np.where(alpha[j] > 0, alpha[j], 1.0)
            v = self._apply_adjoint(weights, Ub[j]) - alpha[j] * Vb[j]
            v = _orthogonalised(v, Vb[: j + 1])
            beta[j + 1] = np.linalg.norm(v, axis=0)
            Vb[j + 1] = v / np.where(beta[j + 1] > 0, beta[j + 1], 1.0)
            if rtol is not None and (j % 2 == 1 or j + 1 == kmax):
                theta, error, _, _ = _bidiagonal_top(alpha[: j + 1], beta[: j + 2])
                if np.all(error <= rtol * theta):
                    steps = j + 1
                    break
        theta, _, P, Q = _bidiagonal_top(alpha[:steps], beta[: steps + 1])
        if not vectors:
            return theta, None, None
        if vectors == "bases":  # one frequency: the orthonormal Krylov bases themselves
            return theta, Ub[:steps, :, 0].T, Vb[:steps, :, 0].T
        U = np.einsum("jpk,jk->pk", Ub[:steps], P)
        V = np.einsum("jmk,jk->mk", Vb[:steps], Q)
        return theta, U, V

    def krylov_bases(self, omega: float, start: np.ndarray | None = None, *,
                     fine: bool = True):
        """(σ_max lower bound, U (p × k), V (m × k)): Lanczos at one frequency, converged
        (``fine``) or ``_SCREEN_STEPS`` steps."""
        self.count += 1
        v0 = self._start if start is None else start
        return self._lanczos(np.array([omega]), v0[:, None], _FINE_RTOL if fine else None,
                             vectors="bases")


def _orthogonalised(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """x (d, K) minus its projection on the orthonormal ``basis`` (j, d, K), twice (CGS2)."""
    if basis.shape[0] == 0:
        return x
    for _ in range(2):
        coef = np.einsum("jdk,dk->jk", basis.conj(), x)
        x = x - np.einsum("jdk,jk->dk", basis, coef)
    return x


def _bidiagonal_top(alpha: np.ndarray, beta: np.ndarray):
    """Top singular triplet of the upper bidiagonal B_j per column, and its error bound.

    ``alpha`` (j, K) is the diagonal, ``beta[1:j]`` the superdiagonal and ``beta[j]`` the
    coupling to the next Lanczos vector.  The eigenvalues of BᵀB (tridiagonal: diagonal
    α_i² + β_i², off-diagonal α_i β_{i+1}) are θ²; the residual of the Ritz triplet is
    ``r = β_j |p_j|`` with ``p = B q/θ``; the error bound is ``min(r, r²/(θ − θ₂))``.
    Returns θ (K,), error (K,), p (j, K), q (j, K).
    """
    j = alpha.shape[0]
    diag = (alpha**2 + beta[:j] ** 2).T  # (K, j)
    off = (alpha[:-1] * beta[1:j]).T  # (K, j − 1)
    evals, evecs = scipy.linalg.eigh_tridiagonal(
        diag, off, select="i", select_range=(max(j - 2, 0), j - 1)
    )
    top2 = np.maximum(evals[:, -1], 0.0)
    theta = np.sqrt(top2)
    q = evecs[:, :, -1].T  # (j, K)
    safe = np.where(theta > 0, theta, 1.0)
    # p = B q / θ: (B q)_i = α_i q_i + β_{i+1} q_{i+1}
    Bq = alpha * q
    Bq[:-1] += beta[1:j] * q[1:]
    p = Bq / safe
    resid = np.abs(beta[j] * p[-1])
    if evals.shape[1] > 1:
        gap = theta - np.sqrt(np.maximum(evals[:, -2], 0.0))
        error = np.minimum(resid, resid**2 / np.where(gap > 0, gap, np.inf))
    else:
        error = resid
    return theta, np.where(theta > 0, error, 0.0), p, q


def _top_gram_eigenvalues(G: np.ndarray) -> np.ndarray:
    """Largest eigenvalue of Gᴴ G (or G Gᴴ, the smaller) per batch entry: σ_max²."""
    m, p = G.shape[2], G.shape[1]
    gram = G.conj().transpose(0, 2, 1) @ G if m <= p else G @ G.conj().transpose(0, 2, 1)
    return np.linalg.eigvalsh(gram)[:, -1]


def _top_triplet(G: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(σ_max, u, v) of one matrix from its smaller Gram matrix."""
    p, m = G.shape
    if m <= p:
        lam, vecs = scipy.linalg.eigh(G.conj().T @ G, subset_by_index=[m - 1, m - 1])
        sigma = math.sqrt(max(lam[0], 0.0))
        v = vecs[:, 0]
        u = G @ v / sigma if sigma > 0 else np.zeros(p, dtype=np.complex128)
    else:
        lam, vecs = scipy.linalg.eigh(G @ G.conj().T, subset_by_index=[p - 1, p - 1])
        sigma = math.sqrt(max(lam[0], 0.0))
        u = vecs[:, 0]
        v = G.conj().T @ u / sigma if sigma > 0 else np.zeros(m, dtype=np.complex128)
    return sigma, u, v


def _candidate_count(evaluator: _Evaluator, nstates: int) -> int:
    """Candidates per kind, so that screening costs a fraction of one Hamiltonian solve.

    One frequency costs about 8·p·N·m flops (dense) or 16·2·_SCREEN_STEPS·((p + m)·N + pm)
    (Lanczos: that many products with G and with Gᴴ); the eigen-solve about
    10·(2·nstates)³.  Dense screening gets about half of that, Lanczos screening a tenth
    (its subspace refinement does the rest).  Wide layers get fewer candidates and rely on
    the level-set steps instead.
    """
    p, m, N = evaluator.p, evaluator.m, evaluator._R.shape[0]
    if evaluator.dense:
        per_eval, share = 8.0 * p * N * m, 10.0
    else:
        per_eval, share = 32.0 * _SCREEN_STEPS * ((p + m) * N + p * m), 2.0
    budget = share * (2 * nstates) ** 3 / max(per_eval, 1.0)
    return int(np.clip(budget / 2, _MIN_CANDIDATES, _MAX_CANDIDATES))


def _candidate_frequencies(ct: _CTModal, count: int) -> np.ndarray:
    p = ct.poles
    gain = _norms(ct.C, axis=0) * _norms(ct.B, axis=1) / np.abs(p.real)
    top = np.argsort(-gain)[:count]
    resonances = np.abs(p.imag[top])
    mags = np.abs(p)
    lo, hi = max(mags.min(), 1e-12), mags.max()
    grid = np.geomspace(lo / 10.0, hi * 10.0, count)
    return np.unique(np.concatenate([[0.0], resonances, grid]))


def _local_bracket(poles: np.ndarray, points: np.ndarray, k: int) -> tuple[float, float]:
    """A bracket around ``points[k]`` of twice the distance from jω to the nearest pole.

    That distance is the scale on which G(jω) varies there (a resonance's half-width), so
    the bracket usually holds a single local maximum; it never passes the neighbours.
    """
    omega = float(points[k])
    width = 2.0 * float(np.min(np.abs(1j * omega - poles)))
    lo = max(omega - width, float(points[k - 1]) if k > 0 else 0.0, 0.0)
    hi = omega + width
    if k + 1 < points.size:
        hi = min(hi, float(points[k + 1]))
    return lo, hi


class _Projection:
    """σ_max(Uᴴ G(jω) V) for orthonormal U (p × k), V (m × k): a lower bound of σ_max(G(jω)).

    ``Uᴴ G V = (UᴴL) M(jω) (RV) + UᴴDV`` costs O(k²·N) per frequency once UᴴL and RV are
    formed.  When U and V hold the top singular vectors of G at some ω_i, the projection
    interpolates σ_max and its slope there (Hermite), so maximising it converges
    superlinearly to a local maximum of σ_max (the subspace method of Kangal, Meerbergen,
    Mengi and Michiels, 2018).
    """

    def __init__(self, evaluator: _Evaluator, U: np.ndarray, V: np.ndarray) -> None:
        self._ev = evaluator
        self._V = V
        self._UL = _real_times(evaluator._L.T, U).conj().T  # (k_u, N)
        self._RV = _real_times(evaluator._R, V)  # (N, k_v)
        self._UDV = U.conj().T @ _real_times(evaluator.D, V)

    def _matrices(self, omega: np.ndarray, weights=None) -> np.ndarray:
        weights = self._ev._weights(omega) if weights is None else weights
        N, kv = self._RV.shape
        X = self._ev._middle(tuple(w[:, :, None] for w in weights), self._RV[:, None, :])
        return (self._UL @ X.reshape(N, -1)).reshape(-1, omega.size, kv).transpose(1, 0, 2)

    def values(self, omega: np.ndarray) -> np.ndarray:
        P = self._matrices(omega) + self._UDV[None]
        return np.linalg.svd(P, compute_uv=False)[:, 0]

    def _value_slope(self, omega: float):
        """(value, slope, top right singular vector) of the projected σ_max at ω.

        slope = Re(aᴴ P'(ω) b) for the top singular pair (a, b) of P(ω); P and P' come
        from one product (their weights stacked as two columns).
        """
        om = np.array([omega])
        stacked = tuple(np.concatenate(pair, axis=1) for pair in
                        zip(self._ev._weights(om), self._ev._weight_slopes(om), strict=True))
        P, dP = self._matrices(np.array([omega, omega]), stacked)
        a, sv, bh = np.linalg.svd(P + self._UDV)
        b = bh[0].conj()
        return float(sv[0]), float(np.real(np.vdot(a[:, 0], dP @ b))), b

    def slope(self, omega: float) -> float:
        """d/dω of the projected σ_max."""
        return self._value_slope(omega)[1]

    def right_vector(self, omega: float) -> np.ndarray:
        """The lifted top right singular vector at ω (a Lanczos start vector)."""
        return self._V @ self._value_slope(omega)[2]

    def maximiser(self, lo: float, hi: float, points: int) -> tuple[float, float]:
        """(ω, value) maximising the projected σ_max on [lo, hi]: a grid, then the root of
        the slope (Brent; to the last bits of ω, unlike a search on the flat values)."""
        grid = np.linspace(lo, hi, points)
        values = self.values(grid)
        k = int(np.argmax(values))
        a, b = float(grid[max(k - 1, 0)]), float(grid[min(k + 1, grid.size - 1)])
        omega = float(grid[k])
        if a < omega < b and self.slope(a) > 0 > self.slope(b):
            root, info = brentq(self.slope, a, b, xtol=1e-7 * (b - a),
                                rtol=4 * np.finfo(float).eps, maxiter=100, full_output=True,
                                disp=False)
            if info.converged:
                omega = float(root)
        else:
            res = minimize_scalar(
                lambda w: -self.values(np.array([w]))[0], bounds=(a, b), method="bounded",
                options={"xatol": 1e-12 * max(hi - lo, 1e-300), "maxiter": 80},
            )
            omega = float(res.x)
        value = float(self.values(np.array([omega]))[0])
        if value >= values[k]:
            return omega, value
        return float(grid[k]), float(values[k])


def _refine_by_subspace(evaluator: _Evaluator, lo: float, hi: float, start: float,
                        value: float) -> tuple[float, float]:
    """Local maximisation of σ_max on [lo, hi] for wide layers (no G(jω) formed).

    Krylov bases U, V from a short Lanczos run at ``start``; the projected σ_max (a lower
    bound) is maximised on [lo, hi]; converged Lanczos at that maximiser adds its bases, and
    so on until the projected maximum gains less than 1e-12 over the best value: the
    projection then interpolates σ_max and its slope at the last (converged) iterate, which
    is a stationary point of σ_max to that accuracy.  Every value kept is a lower bound (a
    Lanczos or a projected value).
    """
    best = (start, value)
    if hi <= lo:
        return best
    theta, U, V = evaluator.krylov_bases(start, fine=False)
    if theta[0] > best[1]:
        best = (start, float(theta[0]))
    window = (lo, hi)
    for step in range(_MAX_SUBSPACE_STEPS):
        projection = _Projection(evaluator, U, V)
        omega, projected = projection.maximiser(*window, _PROJECTED_GRID if step == 0 else 9)
        converged = step > 0 and projected <= best[1] * (1.0 + _SUBSPACE_RTOL)
        if projected > best[1]:
            best = (omega, projected)
        if converged or U.shape[1] >= _MAX_SUBSPACE_DIM:
            break
        theta, U_new, V_new = evaluator.krylov_bases(omega, projection.right_vector(omega))
        if theta[0] > best[1]:
            best = (omega, float(theta[0]))
        U = np.linalg.qr(np.concatenate([U, U_new], axis=1))[0]
        V = np.linalg.qr(np.concatenate([V, V_new], axis=1))[0]
        # later steps only correct the maximiser locally: four grid steps around it
        width = 4.0 * (window[1] - window[0]) / (_PROJECTED_GRID - 1 if step == 0 else 8)
        window = (max(lo, omega - width), min(hi, omega + width))
    return best


def _refine_peak(evaluator: _Evaluator, lo: float, hi: float, start: float, value: float):
    """Local maximisation of σ_max on [lo, hi] around ``start`` (dense or Lanczos)."""
    if evaluator.dense:
        return _refine(evaluator, lo, hi, start, value)
    return _refine_by_subspace(evaluator, lo, hi, start, value)


def _refine(evaluator: _Evaluator, lo: float, hi: float, start: float, value: float):
    """Local maximisation of σ_max on [lo, hi] around ``start``.

    The root of dσ/dω is bracketed (Brent's method on the slope, superlinear); where the
    slope does not change sign in the bracket, bounded Brent search on σ itself.  Each
    Lanczos run starts from the previous right singular vector.
    """
    if hi <= lo:
        return start, value
    best = (start, value)
    vector = None

    def slope(w: float) -> float:
        nonlocal best, vector
        v, d, vector = evaluator.value_and_slope(w, vector)
        if v > best[1]:
            best = (w, v)
        return d

    s_lo, s_hi = slope(lo), slope(hi)
    if s_lo > 0 > s_hi:
        root, info = brentq(
            slope, lo, hi, xtol=1e-8 * (hi - lo), rtol=1e-15, maxiter=100,
            full_output=True, disp=False,
        )
        if info.converged:
            slope(root)
            return best
    res = minimize_scalar(
        lambda w: -evaluator.sigma_max(w, fine=True)[0],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-9 * max(hi - lo, 1e-300), "maxiter": 60},
    )
    if -res.fun > best[1]:
        best = (float(res.x), float(-res.fun))
    return best


# ---------------------------------------------------------------------- Hamiltonian eigenvalues
def _hamiltonian_blocks(A, B, C, D, gamma):
    """(F, G, Q) of H(γ) = [[F, G], [Q, −Fᵀ]], whose imaginary eigenvalues jω are the
    frequencies where γ is a singular value of G(jω) (γ > ‖D‖₂).

    With ``γ²I − DᵀD = L_R L_Rᵀ`` and ``γ²I − DDᵀ = L_S L_Sᵀ`` (Cholesky; positive
    definite above ‖D‖₂), ``X = B L_R⁻ᵀ``, ``Z = L_R⁻¹ DᵀC``, ``Y = L_S⁻¹ C``:
    ``F = A + X Z``, ``G = γ X Xᵀ``, ``Q = −γ YᵀY`` — the usual
    ``[[A − BR⁻¹DᵀC, −γBR⁻¹Bᵀ], [γCᵀS⁻¹C, −Aᵀ + CᵀDR⁻¹Bᵀ]]`` with ``R = DᵀD − γ²I``,
    ``S = DDᵀ − γ²I``, without an inverse or a general solve.
    """
    m, p = B.shape[1], C.shape[0]
    g2 = gamma * gamma
    L_R = scipy.linalg.cholesky(g2 * np.eye(m) - D.T @ D, lower=True)
    L_S = scipy.linalg.cholesky(g2 * np.eye(p) - D @ D.T, lower=True)
    Xt = scipy.linalg.solve_triangular(L_R, B.T, lower=True)  # Xᵀ
    Z = scipy.linalg.solve_triangular(L_R, D.T @ C, lower=True)
    Y = scipy.linalg.solve_triangular(L_S, C, lower=True)
    return A + Xt.T @ Z, _gram(Xt, gamma), _gram(Y, -gamma)


def _gram(X: np.ndarray, scale: float) -> np.ndarray:
    """``scale·XᵀX``, symmetric (BLAS syrk: half the work of a general product)."""
    upper = scipy.linalg.blas.dsyrk(scale, X, trans=1)
    return np.triu(upper) + np.triu(upper, 1).T


def _hamiltonian_crossings(A, B, C, D, gamma) -> tuple[np.ndarray, bool]:
    """Non-negative ω at which γ is (numerically) a singular value of G(jω).

    Returns the crossings and whether the structure-preserving solver was used.
    """
    F, G, Q = _hamiltonian_blocks(A, B, C, D, gamma)
    eig = _structured_eigenvalues(F, G, Q)
    if eig is not None:  # pairing preserved: a crossing has real part exactly 0
        return np.unique(np.abs(eig.imag[eig.real == 0])), True
    H = np.block([[F, G], [Q, -F.T]])
    return _axis_crossings(np.linalg.eigvals(H)), False


def _axis_crossings(eig: np.ndarray) -> np.ndarray:
    """|Im λ| of the eigenvalues of a Hamiltonian matrix (or pencil) that lie on jℝ.

    Without structure preservation an imaginary eigenvalue comes back with a round-off real
    part, and so does a pair ``±a + jb`` at a lightly damped pole.  A candidate is an
    eigenvalue with ``|Re λ| ≤ 1e-7·max|λ|``; it is rejected when its mirror image ``−λ̄``
    is also an eigenvalue (to within half its distance from the axis): off-axis
    eigenvalues of a Hamiltonian come in such pairs, a simple imaginary one has no partner.
    """
    eig = eig[np.isfinite(eig)]
    if eig.size == 0:
        return np.empty(0)
    scale = max(1.0, float(np.max(np.abs(eig))))
    near = np.flatnonzero(np.abs(eig.real) <= _NEAR_AXIS * scale)
    keep = []
    for i in near:
        x = abs(eig[i].real)
        if abs(eig[i]) <= _NEAR_AXIS * scale:
            keep.append(i)  # at the origin: cannot tell, keep (a probe decides)
            continue
        distance = np.abs(eig + np.conj(eig[i]))
        distance[i] = np.inf
        if not np.min(distance) <= 0.5 * x:
            keep.append(i)
    return np.unique(np.abs(eig.imag[keep]))


@functools.cache
def _mb03xd():
    """SLICOT MB03XD from slycot's compiled library, or None where it cannot be used.

    slycot compiles the whole SLICOT library but wraps only part of it; MB03XD is called
    through ctypes.  Integer arguments are passed as 64-bit little-endian values, which an
    LP64 build reads correctly from their low half; a self-test on a small Hamiltonian
    with known eigenvalues must pass before the routine is used.
    """
    try:
        import slycot._wrapper as wrapper

        routine = ctypes.CDLL(wrapper.__file__).mb03xd_
    except (ImportError, OSError, AttributeError):
        return None
    routine.restype = None
    if not _mb03xd_self_test(routine):
        return None
    return routine


def _call_mb03xd(routine, F: np.ndarray, G: np.ndarray, Q: np.ndarray):
    """(eigenvalues with Re ≤ 0, INFO) of [[F, G], [Q, −Fᵀ]] (n of the 2n)."""
    n = F.shape[0]
    a = np.array(F, dtype=np.float64, order="F")
    qg = np.zeros((n, n + 1), order="F")
    qg[:, :n] = np.tril(Q)
    qg[:, 1:] += np.triu(G)
    t = np.zeros((n, n), order="F")
    unused = np.zeros(1)
    wr, wi, scale = np.zeros(n), np.zeros(n), np.zeros(n)
    ldwork = 8 * n + n * n + 64
    dwork = np.zeros(ldwork)
    ints = np.array([n, max(n, 1), 1, ldwork, 0, 0], dtype="<i8")  # n, ld, 1, ldwork, ilo, info

    def ptr(x: np.ndarray, k: int = 0):
        return ctypes.c_void_p(x.ctypes.data + k * x.itemsize)

    char = ctypes.c_char_p
    routine(
        char(b"P"), char(b"E"), char(b"N"), char(b"N"), ptr(ints, 0), ptr(a), ptr(ints, 1),
        ptr(qg), ptr(ints, 1), ptr(t), ptr(ints, 1), ptr(unused), ptr(ints, 2), ptr(unused),
        ptr(ints, 2), ptr(unused), ptr(ints, 2), ptr(unused), ptr(ints, 2), ptr(wr), ptr(wi),
        ptr(ints, 4), ptr(scale), ptr(dwork), ptr(ints, 3), ptr(ints, 5),
        ctypes.c_size_t(1), ctypes.c_size_t(1), ctypes.c_size_t(1), ctypes.c_size_t(1),
    )
    info = int(ints[5:6].view("<i4")[0])  # the low half: INFO as LP64 or ILP64 wrote it
    return wr + 1j * wi, info


def _mb03xd_self_test(routine) -> bool:
    """MB03XD on a 4 × 4 Hamiltonian against LAPACK: the calling convention works."""
    F = np.array([[-1.0, 2.0], [0.5, -3.0]])
    G = np.array([[1.0, 0.2], [0.2, 2.0]])
    Q = np.array([[-0.5, 0.1], [0.1, -1.0]])
    try:
        eig, info = _call_mb03xd(routine, F, G, Q)
    except Exception:  # any failure disables the routine
        return False
    if info != 0 or not np.all(np.isfinite(eig)):
        return False
    reference = np.linalg.eigvals(np.block([[F, G], [Q, -F.T]]))
    full = np.concatenate([eig, -eig])
    return all(np.min(np.abs(full - r)) <= 1e-10 * (1 + abs(r)) for r in reference)


def _structured_eigenvalues(F, G, Q) -> np.ndarray | None:
    """Eigenvalues with Re ≤ 0 of the Hamiltonian [[F, G], [Q, −Fᵀ]] by MB03XD, or None."""
    routine = _mb03xd()
    if routine is None or not (np.all(np.isfinite(F)) and np.all(np.isfinite(G))
                               and np.all(np.isfinite(Q))):
        return None
    eig, info = _call_mb03xd(routine, F, G, Q)
    if info != 0 or not np.all(np.isfinite(eig)):
        return None
    return eig


def _norms(x: np.ndarray, axis: int) -> np.ndarray:
    """2-norms along ``axis`` without over/underflow (``np.linalg.norm`` squares first)."""
    mag = np.abs(x)  # real: dividing by a subnormal real is exact, a complex division is not
    big = np.max(mag, axis=axis, keepdims=True)
    safe = np.where(big > 0, big, 1.0)
    return np.squeeze(big, axis) * np.sqrt(np.sum((mag / safe) ** 2, axis=axis))


def _spectral_norm(D: np.ndarray) -> float:
    """‖D‖₂: an SVD for small D, ARPACK (Lanczos on DᵀD, fixed start) for large ones."""
    if D.size == 0:
        return 0.0
    if min(D.shape) <= _DENSE_NORM_DIM:
        return float(np.linalg.norm(D, 2))
    start = np.ones(min(D.shape))
    try:
        return float(scipy.sparse.linalg.svds(D, k=1, tol=1e-15, v0=start,
                                              return_singular_vectors=False)[0])
    except scipy.sparse.linalg.ArpackError:
        return float(np.linalg.norm(D, 2))


def _normalised(ct: _CTModal) -> tuple[_CTModal, float]:
    """``(G/g, g)`` with every unit balanced: ``‖B_u‖ = ‖C_u‖``, and ``g`` the modal
    triangle bound ``‖D‖_F + Σ_u w_u ‖C_u‖ ‖B_u‖ / |Re p_u|`` (w = 2 for pair units) ≥ ‖G‖∞
    (the Frobenius norm bounds ‖D‖₂ without an SVD).

    Scaling ``B_u`` by t and ``C_u`` by 1/t leaves G unchanged; dividing by g puts ‖G‖∞ in
    (0, 1], so neither the Gram matrices of G(jω) nor the Hamiltonian over- or underflow
    when the gain is far from 1 (a gain of 1e-160 squared is below float64's range).
    """
    b_norm = _norms(ct.B, axis=1)
    c_norm = _norms(ct.C, axis=0)
    weight = np.where(ct.pair, 2.0, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        g = float(_norms(ct.D.ravel(), axis=0) if ct.D.size else 0.0) + float(
            np.sum(weight * (c_norm * b_norm) / np.abs(ct.poles.real)))
        t = np.sqrt(c_norm) / np.sqrt(b_norm)  # B_u·t and C_u/t have equal norms
        if not (math.isfinite(g) and g > 0.0 and np.all(np.isfinite(t)) and np.all(t > 0)):
            return ct, 1.0
        root = math.sqrt(g)
        B = ct.B * (t / root)[:, None]
        C = ct.C / (t * root)[None, :]
    return _CTModal(ct.poles, B, C, ct.pair, ct.D / g), g


def _pencil_crossings(
    A: np.ndarray, B: np.ndarray, C: np.ndarray, D: np.ndarray, gamma: float
) -> np.ndarray:
    """As :func:`_hamiltonian_crossings`, from the extended pencil (no inverse of
    ``DᵀD − γ²I``, which is singular at ``γ = ‖D‖₂``).

    ``s = jω`` is a finite generalized eigenvalue of ``M − sN`` exactly when γ is a singular
    value of G(jω): with ``x = (sI − A)⁻¹Bv`` and ``z = (−sI − Aᵀ)⁻¹Cᵀu``, ``Gv = γu`` and
    ``Gᴴu = γv`` read ``sx = Ax + Bv``, ``sz = −Aᵀz − Cᵀu``, ``0 = Cx + Dv − γu``,
    ``0 = Bᵀz + Dᵀu − γv`` (the formulation of AB13DD, Bruinsma–Steinbuch 1990).
    """
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    M = np.block([
        [A, np.zeros((n, n)), B, np.zeros((n, p))],
        [np.zeros((n, n)), -A.T, np.zeros((n, m)), -C.T],
        [C, np.zeros((p, n)), D, -gamma * np.eye(p)],
        [np.zeros((m, n)), B.T, -gamma * np.eye(m), D.T],
    ])
    # Compress away the constant columns: with E = M[:, 2n:] = Q [R; 0] (QR), Qᵀ(M − sN) is
    # block triangular with the constant block R, so the finite eigenvalues are those of the
    # 2n × 2n pencil formed by the last 2n rows of QᵀM and QᵀN in the first 2n columns
    # (QZ of size 2n instead of 2n + p + m; R is invertible unless [B; Cᵀ; D − γ…] loses rank).
    Q, _ = scipy.linalg.qr(M[:, 2 * n :])
    tail = Q[:, m + p :].T  # rows of Qᵀ orthogonal to E's range
    return _axis_crossings(scipy.linalg.eigvals(tail @ M[:, : 2 * n], tail[:, : 2 * n]))


def _drop_silent_units(ct: _CTModal) -> _CTModal:
    """Remove units whose residue is zero: they do not change G (and would only enlarge H).

    A unit's residue is ``C_u B_uᵀ`` (zero when C_u or B_u is); a pair unit on the real
    axis (b = 0) contributes ``2·Re(C_u B_uᵀ)/(s − a)``, zero when that real part is.  The
    test compares the rounded products ``Re c·Re b`` and ``Im c·Im b`` (equal whenever the
    exact ones are): ``np.real`` of a complex product may come from a fused multiply-add and
    leave 1e-17 of an exact zero, depending on the CPU.
    """
    keep = np.any(ct.C != 0, axis=0) & np.any(ct.B != 0, axis=1)
    on_axis = ct.pair & (ct.poles.imag == 0) & keep
    for u in np.flatnonzero(on_axis):
        c, b = ct.C[:, u], ct.B[u]
        keep[u] = np.any(np.outer(c.real, b.real) != np.outer(c.imag, b.imag))
    return _CTModal(ct.poles[keep], ct.B[keep], ct.C[:, keep], ct.pair[keep], ct.D)


def _to_ct_frequency(sys: ModalSystem, omega: float) -> float:
    """The inverse of :func:`_to_system_frequency` (|ω|; ω_c = tan(ω·dt/2) in DT)."""
    omega = abs(omega)
    if sys.isctime:
        return omega
    half = omega * sys.sampling_time / 2.0
    return math.tan(half) if half < math.pi / 2.0 else math.inf


def _to_system_frequency(sys: ModalSystem, omega_c: float) -> float:
    """Map a CT-equivalent frequency back to the system's own (ω = 2·atan(ω_c)/dt in DT)."""
    if sys.isctime:
        return omega_c
    if math.isfinite(omega_c):
        return 2.0 * math.atan(omega_c) / sys.sampling_time
    return math.pi / sys.sampling_time


_NO_HINTS = np.empty(0)


def modal_hinf(sys: ModalSystem, *, tol: float = 1e-10, hints=()) -> tuple[float, float]:
    """(‖G‖∞, peak frequency) of a modal system; the frequency in the system's units.

    ``hints``: frequencies to screen as well (see :func:`modal_hinf_stats`).
    """
    outcome = modal_hinf_stats(sys, tol=tol, hints=hints)
    return outcome.value, outcome.peak


def modal_hinf_stats(sys: ModalSystem, *, tol: float = 1e-10, hints=()) -> HinfOutcome:
    """:func:`modal_hinf` with its cost: eigenvalue solves and frequency evaluations.

    ``hints``: frequencies (the system's units) to screen as well, e.g. the peak of a
    closely related system (a warm start; the result does not depend on them beyond
    round-off, since the certificate is the level-set test).
    """
    ct = _drop_silent_units(_cayley_parts(sys))
    if ct.poles.size == 0:  # G is the constant D
        d_norm = float(np.linalg.norm(ct.D, 2)) if ct.D.size else 0.0
        return HinfOutcome(d_norm, _to_system_frequency(sys, math.inf), 0, 0, False)
    ct, gain = _normalised(ct)
    extra = np.array([_to_ct_frequency(sys, float(w)) for w in hints], dtype=np.float64)
    value, peak, solves, evaluations, structured = _normalised_hinf(ct, tol,
                                                                    extra[np.isfinite(extra)])
    return HinfOutcome(value * gain, _to_system_frequency(sys, peak), solves, evaluations,
                       structured)


def _lower_bound(ct: _CTModal, evaluator: _Evaluator,
                 hints: np.ndarray) -> tuple[float, float, float]:
    """(γ_lo, its frequency, ‖D‖₂): screening of the candidates, then local refinement."""
    d_norm = _spectral_norm(ct.D)
    nstates = 2 * int(np.count_nonzero(ct.pair)) + int(np.count_nonzero(~ct.pair))
    candidates = _candidate_frequencies(ct, _candidate_count(evaluator, nstates))
    candidates = np.unique(np.concatenate([candidates, hints]))
    values = evaluator.sigma_max(candidates)
    best = int(np.argmax(values))
    gamma, peak = float(values[best]), float(candidates[best])
    if d_norm > gamma:
        gamma, peak = d_norm, math.inf
    for k in np.argsort(-values)[:_REFINED_CANDIDATES]:
        lo, hi = _local_bracket(ct.poles, candidates, int(k))
        w, v = _refine_peak(evaluator, lo, hi, float(candidates[k]), float(values[k]))
        if v > gamma:
            gamma, peak = v, w
    return gamma, peak, d_norm


def _normalised_hinf(ct: _CTModal, tol: float, hints: np.ndarray = _NO_HINTS):
    """(‖G‖∞, CT peak frequency, solves, evaluations, structured) of a unit-form system
    with ‖G‖∞ ≤ 1 (:func:`_normalised`); ``hints``: extra CT candidate frequencies."""
    evaluator = _Evaluator(ct)
    gamma, peak, d_norm = _lower_bound(ct, evaluator, hints)
    if gamma < _SMALLEST_RELATIVE_GAIN:  # 0 included: units with residues cancelled
        raise NormComputationError(
            f"the modes cancel: ‖G‖∞ ≈ {gamma:.3g} × their triangle bound, below "
            f"{_SMALLEST_RELATIVE_GAIN:g}; float64 cannot resolve the norm to relative "
            "accuracy (e.g. a conjugate pair whose imaginary part is subnormal)"
        )

    # The level-set test on a system scaled to norm ≈ 1 (no over/underflow in H).
    A, B, C = real_block_form(ct.poles, ct.B, ct.C, ct.pair)
    scale = gamma  # B and C each take √scale, so that H's off-diagonal blocks balance
    root = math.sqrt(scale)
    B, C, D = B / root, C / root, ct.D / scale
    solves, structured = 0, True
    for _ in range(_MAX_LEVEL_SET_STEPS):
        level = max(gamma, d_norm) * (1.0 + tol)
        solves += 1
        if level <= d_norm * (1.0 + _PENCIL_MARGIN):  # DᵀD − γ²I (nearly) singular
            crossings, structured = _pencil_crossings(A, B, C, D, level / scale), False
        else:
            crossings, used = _hamiltonian_crossings(A, B, C, D, level / scale)
            structured = structured and used
        if crossings.size == 0:
            break
        edges = np.concatenate([[0.0], crossings, [crossings[-1] * 2.0 + 1.0]])
        probes = np.unique(np.concatenate([crossings, 0.5 * (edges[:-1] + edges[1:])]))
        vals = evaluator.sigma_max(probes)
        k = int(np.argmax(vals))
        if vals[k] <= level:
            vals = evaluator.sigma_max(probes, fine=True)  # Lanczos: lower bounds
            k = int(np.argmax(vals))
            if vals[k] <= level:
                break  # the crossings were round-off: nothing exceeds the level
        lo, hi = _local_bracket(ct.poles, probes, k)
        peak, gamma = _refine_peak(evaluator, lo, hi, float(probes[k]), float(vals[k]))
    else:
        raise NormComputationError(
            f"H∞ level-set iteration did not converge in {_MAX_LEVEL_SET_STEPS} steps"
        )
    return gamma, peak, solves, evaluator.count, structured
