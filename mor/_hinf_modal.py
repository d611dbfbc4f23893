"""Exact H∞ norm of a modal system, exploiting the diagonal structure.

Algorithm (a level-set method in the spirit of Boyd–Balakrishnan and
Bruinsma–Steinbuch, 1990, seeded by the modal structure):

1. A discrete-time system is mapped to continuous time by the Cayley transform
   ``z = (1 + s)/(1 − s)``, which maps the unit circle onto the imaginary axis and keeps
   the system diagonal: ``λ_c = (λ̄ − 1)/(λ̄ + 1)``, ``B_c = √2 (λ̄ + 1)⁻¹ B``,
   ``C_c = √2 C (λ̄ + 1)⁻¹``, ``D_c = D − C (λ̄ + 1)⁻¹ B``; ``λ̄ − 1 = expm1(μ)`` is
   evaluated from the pole's log for accuracy.  A bidirectional layer's backward part,
   evaluated at 1/z, becomes a mirrored (anti-stable) diagonal part with poles −λ_c.
2. Lower bound: σ_max(G(jω)) on cheap candidates — ω = 0, ∞, the resonance of the modes
   with the largest single-mode gains, a logarithmic grid — each one O(p·n·m) by the
   diagonal form; the best few are refined by bounded Brent search.
3. Certificate: the Hamiltonian matrix H(γ) of the real block form at
   γ = γ_lo (1 + tol) has an eigenvalue jω exactly when γ is a singular value of G(jω).
   No imaginary eigenvalue: ‖G‖∞ ≤ γ.  Otherwise the crossings bound intervals where
   σ_max > γ; their midpoints raise γ_lo and the step repeats (quadratic convergence).
   Within 1e-4 above ‖D‖₂, where H needs the inverse of the nearly singular DᵀD − γ²I,
   the crossings come from the extended pencil instead (QZ, as AB13DD).

The cost is one real eigenvalue solve of size 2·nstates (usually exactly one) plus a
few dozen frequency evaluations, against the repeated generalized (QZ) solves of AB13DD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import brentq, minimize_scalar

from mor.exceptions import NormComputationError
from mor.systems import ModalSystem, real_block_form

_MAX_LEVEL_SET_STEPS = 30
_MAX_CANDIDATES = 16  # per kind (mode resonances, grid points)
_MIN_CANDIDATES = 3
_REFINED_CANDIDATES = 1
_PENCIL_MARGIN = 1e-4  # levels this close above ‖D‖₂ use the pencil, not the Hamiltonian
_SMALLEST_RELATIVE_GAIN = 1e-100  # ‖G‖∞ / triangle bound below which H would overflow


@dataclass(frozen=True)
class _CTModal:
    """A CT system in unit form: Σ C_u B_u/(s − p_u) (+ conj for pair units) + D."""

    poles: np.ndarray
    B: np.ndarray
    C: np.ndarray
    pair: np.ndarray
    D: np.ndarray

    def expanded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.flatnonzero(self.pair)
        poles = np.concatenate([self.poles, np.conj(self.poles[idx])])
        B = np.concatenate([self.B, np.conj(self.B[idx])], axis=0)
        C = np.concatenate([self.C, np.conj(self.C[:, idx])], axis=1)
        return poles, B, C


def _cayley_parts(sys: ModalSystem) -> _CTModal:
    """The CT equivalent (causal forward part plus mirrored backward part) of ``sys``."""
    s = sys.standard_form()
    if s.isctime:
        lam_c = s.poles
        B, C, Cb = s.B, s.C, s.C_backward
        D = np.array(s.D)
    else:
        em1 = np.expm1(s.log_poles)  # λ̄ − 1
        inv = 1.0 / (em1 + 2.0)  # (λ̄ + 1)⁻¹
        lam_c = em1 * inv
        B = math.sqrt(2.0) * inv[:, None] * s.B
        C = math.sqrt(2.0) * s.C * inv[None, :]
        weight = np.where(s.pair, 2.0, 1.0)
        total_c = s.C if s.C_backward is None else s.C + s.C_backward
        D = s.D - np.real((total_c * (weight * inv)[None, :]) @ s.B)
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


class _Evaluator:
    """σ_max(G(jω)) of a CT unit-form system, batched over frequencies.

    A pair unit (pole λ = a + jb, residue R = C_u B_uᵀ) is evaluated in the pair-stable form

        R/(s − λ) + R̄/(s − λ̄) = [2(s − a)·Re R − 2b·Im R] / ((s − λ)(s − λ̄)),

    never as the sum of its two conjugate terms: when the pair nearly cancels (a small b
    with a nearly imaginary R) those terms are O(1) each and their sum would be pure
    round-off, whose size depends on the BLAS kernel's summation order.  With
    ``Re R = C_r B_rᵀ − C_i B_iᵀ`` and ``Im R = C_r B_iᵀ + C_i B_rᵀ`` this is one matrix
    product ``[C_real | C_r | C_i] · (weighted rows)`` per batch of frequencies.
    """

    def __init__(self, ct: _CTModal) -> None:
        self.poles, self.B, self.C = ct.expanded()  # the slope uses the expanded form
        self.D = ct.D
        real, pair = ~ct.pair, ct.pair
        self._real_poles = ct.poles[real]
        self._pair_poles = ct.poles[pair]
        self._B_real = ct.B[real]
        self._B_r, self._B_i = ct.B[pair].real, ct.B[pair].imag
        self._left = np.concatenate(
            [ct.C[:, real], ct.C[:, pair].real, ct.C[:, pair].imag], axis=1
        )
        self.count = 0

    def response(self, omega: np.ndarray) -> np.ndarray:
        """G(jω) for each ω, shape (K, p, m), as one matrix product (BLAS-3)."""
        s = 1j * omega[:, None]  # (K, 1)
        w_real = 1.0 / (s - self._real_poles[None, :])  # (K, n_real)
        lam = self._pair_poles[None, :]
        denom = (s - lam) * (s - np.conj(lam))  # (s − λ)(s − λ̄), normwise accurate
        alpha = 2.0 * (s - lam.real) / denom
        beta = 2.0 * lam.imag / denom
        rows = np.concatenate(
            [
                w_real[:, :, None] * self._B_real[None],
                alpha[:, :, None] * self._B_r[None] - beta[:, :, None] * self._B_i[None],
                -(alpha[:, :, None] * self._B_i[None] + beta[:, :, None] * self._B_r[None]),
            ],
            axis=1,
        )  # (K, N, m)
        K, N, m = rows.shape
        G = self._left @ rows.transpose(1, 0, 2).reshape(N, K * m)
        G = G.reshape(self._left.shape[0], K, m).transpose(1, 0, 2)
        return G + self.D[None]

    def sigma_max(self, omega) -> np.ndarray:
        omega = np.atleast_1d(np.asarray(omega, dtype=np.float64))
        self.count += omega.size
        out = np.empty(omega.size)
        for start in range(0, omega.size, 32):
            G = self.response(omega[start : start + 32])
            out[start : start + 32] = np.sqrt(np.maximum(_top_gram_eigenvalues(G), 0.0))
        return out

    def value_and_slope(self, omega: float) -> tuple[float, float]:
        """σ_max(G(jω)) and its derivative in ω (for a simple top singular value).

        dσ/dω = Re(uᴴ G'(jω) v) with G'(jω) = −j C diag((jω − λ)⁻²) B.
        """
        self.count += 1
        w = 1.0 / (1j * omega - self.poles)
        G = self.response(np.array([omega]))[0]
        p, m = G.shape
        if m <= p:
            lam, vecs = scipy.linalg.eigh(G.conj().T @ G, subset_by_index=[m - 1, m - 1])
            sigma = math.sqrt(max(lam[0], 0.0))
            v = vecs[:, 0]
            u = G @ v / sigma if sigma > 0 else np.zeros(p)
        else:
            lam, vecs = scipy.linalg.eigh(G @ G.conj().T, subset_by_index=[p - 1, p - 1])
            sigma = math.sqrt(max(lam[0], 0.0))
            u = vecs[:, 0]
            v = G.conj().T @ u / sigma if sigma > 0 else np.zeros(m)
        dG_v = self.C @ (-1j * w**2 * (self.B @ v))
        return sigma, float(np.real(np.vdot(u, dG_v)))


def _top_gram_eigenvalues(G: np.ndarray) -> np.ndarray:
    """Largest eigenvalue of Gᴴ G (or G Gᴴ, the smaller) per batch entry: σ_max²."""
    m, p = G.shape[2], G.shape[1]
    gram = G.conj().transpose(0, 2, 1) @ G if m <= p else G @ G.conj().transpose(0, 2, 1)
    return np.linalg.eigvalsh(gram)[:, -1]


def _candidate_count(ct: _CTModal) -> int:
    """Candidates per kind, so that screening costs about one Hamiltonian eigen-solve.

    One frequency costs about p·n·m complex multiply-adds; the eigen-solve about
    10·(2·nstates)³ flops.  Wide layers (many channels) get fewer candidates and rely on
    the level-set steps instead.
    """
    nstates = int(np.count_nonzero(ct.pair)) * 2 + int(np.count_nonzero(~ct.pair))
    per_eval = 8.0 * ct.C.shape[0] * (ct.poles.size + np.count_nonzero(ct.pair)) * ct.B.shape[1]
    budget = 10.0 * (2 * nstates) ** 3 / max(per_eval, 1.0)
    return int(np.clip(budget / 2, _MIN_CANDIDATES, _MAX_CANDIDATES))


def _candidate_frequencies(ct: _CTModal) -> np.ndarray:
    count = _candidate_count(ct)
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


def _refine(evaluator: _Evaluator, lo: float, hi: float, start: float, value: float):
    """Local maximisation of σ_max on [lo, hi] around ``start``.

    The root of dσ/dω is bracketed (Brent's method on the slope, superlinear); where the
    slope does not change sign in the bracket, bounded Brent search on σ itself.
    """
    if hi <= lo:
        return start, value
    best = (start, value)

    def slope(w: float) -> float:
        nonlocal best
        v, d = evaluator.value_and_slope(w)
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
        lambda w: -evaluator.sigma_max(w)[0],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-9 * max(hi - lo, 1e-300), "maxiter": 60},
    )
    if -res.fun > best[1]:
        best = (float(res.x), float(-res.fun))
    return best


def _hamiltonian_crossings(
    A: np.ndarray, B: np.ndarray, C: np.ndarray, D: np.ndarray, gamma: float
) -> np.ndarray:
    """Non-negative ω at which γ is (numerically) a singular value of G(jω)."""
    m, p = B.shape[1], C.shape[0]
    R = D.T @ D - gamma**2 * np.eye(m)
    S = D @ D.T - gamma**2 * np.eye(p)
    Rinv_Bt = np.linalg.solve(R, B.T)
    Rinv_DtC = np.linalg.solve(R, D.T @ C)
    H = np.block(
        [
            [A - B @ Rinv_DtC, -gamma * B @ Rinv_Bt],
            [gamma * C.T @ np.linalg.solve(S, C), -A.T + C.T @ D @ Rinv_Bt],
        ]
    )
    eig = np.linalg.eigvals(H)
    scale = max(1.0, float(np.max(np.abs(eig))))
    near_axis = np.abs(eig.real) <= 1e-7 * scale
    return np.unique(np.abs(eig.imag[near_axis]))


def _norms(x: np.ndarray, axis: int) -> np.ndarray:
    """2-norms along ``axis`` without over/underflow (``np.linalg.norm`` squares first)."""
    mag = np.abs(x)  # real: dividing by a subnormal real is exact, a complex division is not
    big = np.max(mag, axis=axis, keepdims=True)
    safe = np.where(big > 0, big, 1.0)
    return np.squeeze(big, axis) * np.sqrt(np.sum((mag / safe) ** 2, axis=axis))


def _normalised(ct: _CTModal) -> tuple[_CTModal, float]:
    """``(G/g, g)`` with every unit balanced: ``‖B_u‖ = ‖C_u‖``, and ``g`` the modal
    triangle bound ``‖D‖₂ + Σ_u w_u ‖C_u‖ ‖B_u‖ / |Re p_u|`` (w = 2 for pair units) ≥ ‖G‖∞.

    Scaling ``B_u`` by t and ``C_u`` by 1/t leaves G unchanged; dividing by g puts ‖G‖∞ in
    (0, 1], so neither the Gram matrices of G(jω) nor the Hamiltonian over- or underflow
    when the gain is far from 1 (a gain of 1e-160 squared is below float64's range).
    """
    b_norm = _norms(ct.B, axis=1)
    c_norm = _norms(ct.C, axis=0)
    weight = np.where(ct.pair, 2.0, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        g = float(np.linalg.norm(ct.D, 2) if ct.D.size else 0.0) + float(
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
    N = np.zeros_like(M)
    N[: 2 * n, : 2 * n] = np.eye(2 * n)
    eig = scipy.linalg.eigvals(M, N)
    eig = eig[np.isfinite(eig)]
    if eig.size == 0:
        return np.empty(0)
    scale = max(1.0, float(np.max(np.abs(eig))))
    near_axis = np.abs(eig.real) <= 1e-7 * scale
    return np.unique(np.abs(eig.imag[near_axis]))


def _drop_silent_units(ct: _CTModal) -> _CTModal:
    """Remove units whose residue is zero: they do not change G (and would only enlarge H).

    A unit's residue is ``C_u B_uᵀ`` (zero when C_u or B_u is); a pair unit on the real
    axis (b = 0) contributes ``2·Re(C_u B_uᵀ)/(s − a)``, zero when that real part is.
    """
    keep = np.any(ct.C != 0, axis=0) & np.any(ct.B != 0, axis=1)
    on_axis = ct.pair & (ct.poles.imag == 0) & keep
    for u in np.flatnonzero(on_axis):
        keep[u] = np.any(np.real(np.outer(ct.C[:, u], ct.B[u])) != 0)
    return _CTModal(ct.poles[keep], ct.B[keep], ct.C[:, keep], ct.pair[keep], ct.D)


def _to_system_frequency(sys: ModalSystem, omega_c: float) -> float:
    """Map a CT-equivalent frequency back to the system's own (ω = 2·atan(ω_c)/dt in DT)."""
    if sys.isctime:
        return omega_c
    if math.isfinite(omega_c):
        return 2.0 * math.atan(omega_c) / sys.sampling_time
    return math.pi / sys.sampling_time


def modal_hinf(sys: ModalSystem, *, tol: float = 1e-10) -> tuple[float, float]:
    """(‖G‖∞, peak frequency) of a modal system; the frequency in the system's units."""
    ct = _drop_silent_units(_cayley_parts(sys))
    if ct.poles.size == 0:  # G is the constant D
        d_norm = float(np.linalg.norm(ct.D, 2)) if ct.D.size else 0.0
        return d_norm, _to_system_frequency(sys, math.inf)
    ct, gain = _normalised(ct)
    value, peak = _normalised_hinf(ct, tol)
    return value * gain, _to_system_frequency(sys, peak)


def _normalised_hinf(ct: _CTModal, tol: float) -> tuple[float, float]:
    """(‖G‖∞, CT peak frequency) of a unit-form system with ‖G‖∞ ≤ 1 (:func:`_normalised`)."""
    d_norm = float(np.linalg.norm(ct.D, 2)) if ct.D.size else 0.0
    evaluator = _Evaluator(ct)
    candidates = _candidate_frequencies(ct)
    values = evaluator.sigma_max(candidates)
    best = int(np.argmax(values))
    gamma, peak = float(values[best]), float(candidates[best])
    if d_norm > gamma:
        gamma, peak = d_norm, math.inf
    for k in np.argsort(-values)[:_REFINED_CANDIDATES]:
        lo, hi = _local_bracket(ct.poles, candidates, int(k))
        w, v = _refine(evaluator, lo, hi, float(candidates[k]), float(values[k]))
        if v > gamma:
            gamma, peak = v, w
    if gamma < _SMALLEST_RELATIVE_GAIN:  # 0 included: units with residues cancelled
        raise NormComputationError(
            f"the modes cancel: ‖G‖∞ ≈ {gamma:.3g} × their triangle bound, below "
            f"{_SMALLEST_RELATIVE_GAIN:g}; float64 cannot resolve the norm to relative "
            "accuracy (e.g. a conjugate pair whose imaginary part is subnormal)"
        )

    # The level-set test on a system scaled to norm ≈ 1 (no over/underflow in H).
    A, B, C = real_block_form(ct.poles, ct.B, ct.C, ct.pair)
    scale = gamma
    C, D = C / scale, ct.D / scale
    for _ in range(_MAX_LEVEL_SET_STEPS):
        level = max(gamma, d_norm) * (1.0 + tol)
        if level <= d_norm * (1.0 + _PENCIL_MARGIN):  # DᵀD − γ²I (nearly) singular
            crossings = _pencil_crossings(A, B, C, D, level / scale)
        else:
            crossings = _hamiltonian_crossings(A, B, C, D, level / scale)
        if crossings.size == 0:
            break
        edges = np.concatenate([[0.0], crossings, [crossings[-1] * 2.0 + 1.0]])
        probes = np.unique(np.concatenate([crossings, 0.5 * (edges[:-1] + edges[1:])]))
        vals = evaluator.sigma_max(probes)
        k = int(np.argmax(vals))
        if vals[k] <= level:
            break  # the crossings were round-off: nothing exceeds the level
        lo, hi = _local_bracket(ct.poles, probes, k)
        peak, gamma = _refine(evaluator, lo, hi, float(probes[k]), float(vals[k]))
    else:
        raise NormComputationError(
            f"H∞ level-set iteration did not converge in {_MAX_LEVEL_SET_STEPS} steps"
        )
    return gamma, peak
