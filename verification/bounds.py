"""Bounds on the truncation error of a modal layer, each tied to its published source.

Pruning the units ``T`` of a modal layer leaves the error system ``G − G_r = Σ_{i∈T} G_i``
(exact by diagonality, last eq. 15–17).  Every function here takes that error system (a
:class:`mor.ModalSystem` made of the pruned units, D = 0) and returns the value of one
bound on its H∞ or H2 norm.

The papers state their bounds per *complex mode* ``G_i(z) = C_i B_i / (z − λ_i)``.  A real
layer (S5 with ``conj_sym``) stores one member of each conjugate pair and outputs
``2·Re(C x)``; a bidirectional layer adds ``C_b`` on the time-reversed scan.  Two families
of bounds are therefore provided:

* ``*_published``: the formula exactly as printed, evaluated on the *stored* units
  (a pair counted once, a bidirectional ‖C‖² averaged as both papers prescribe).  These
  are what the papers' released code would report.  They are proved only when every
  pruned unit is a real mode of a unidirectional layer; :func:`published_form_is_proved`
  says when.
* the *real-layer* forms (:func:`modal_triangle`, :func:`aire_certificate`,
  :func:`h2_triangle`): the same proofs applied to what the layer computes — each pair
  written out as its two complex modes, and ``‖C_f,i‖ + ‖C_b,i‖`` for a bidirectional
  mode (forward and backward kernels can peak at the same frequency).  These are always
  valid upper bounds.

The per-mode facts used (DT, ``|z| = 1``): ``|z − λ| = |1 − λ z⁻¹| ≥ 1 − |λ|``, so one
complex mode has ``‖G_i‖∞ = α_i/(1 − |λ_i|)`` (last eq. 5, aire-prune eq. 13), whether the
output is read before (``C B/(z − λ)``) or after (``z C B/(z − λ)``, S5) the update: the
factor ``z`` has modulus one and the lag-0 term is part of the same kernel.  CT:
``‖G_i‖∞ = α_i/|Re λ_i|`` and ``‖G_i‖₂² = α_i²/(2|Re λ_i|)``.
"""

from __future__ import annotations

import math

import numpy as np

from mor.systems import ModalSystem

__all__ = [
    "GELU_LIPSCHITZ",
    "GELU_TANH_LIPSCHITZ",
    "aire_certificate",
    "aire_certificate_published",
    "aire_kappa",
    "directional_gains",
    "drop_zero_units",
    "energy_estimate_published",
    "h2_triangle",
    "last_eq4_published",
    "modal_triangle",
    "mode_energies_published",
    "published_form_is_proved",
]

# Lipschitz constant of GELU x·Φ(x): max of Φ(x) + x φ(x), attained at x = √2
# (GELU'' = φ(x)(2 − x²)).  Φ(√2) + √2·φ(√2) = ½(1 + erf(1)) + e⁻¹/√π.
GELU_LIPSCHITZ: float = 0.5 * (1.0 + math.erf(1.0)) + math.exp(-1.0) / math.sqrt(math.pi)
"""Lipschitz constant of the exact (erf) GELU, ≈ 1.128904 (not 1, as last B.2 assumes)."""

GELU_TANH_LIPSCHITZ: float = 1.1289930686616572
"""Lipschitz constant of the tanh approximation of GELU (``jax.nn.gelu``'s default,
used by S5 through ``flax.linen.gelu``), ≈ 1.128993; computed numerically
(max of the derivative on a 6e-6 grid, refined) and checked in the tests."""


def drop_zero_units(sys: ModalSystem) -> ModalSystem:
    """The same transfer function without the units whose ``C_i B_i`` (and ``C_b,i B_i``) vanish.

    Such units contribute nothing to G; removing them is exact and sidesteps
    mor.hinf_norm failures on systems padded with zero units.  Keeps at least one unit.
    """
    forward, backward = directional_gains(sys)
    live = np.flatnonzero((forward + backward) > 0)
    if live.size == sys.nunits:
        return sys
    return sys.subsystem(live if live.size else [0])


def _multiplicity(sys: ModalSystem) -> np.ndarray:
    return np.where(sys.pair, 2.0, 1.0)


def directional_gains(sys: ModalSystem) -> tuple[np.ndarray, np.ndarray]:
    """(α_f, α_b) per unit: ``‖C_{:,i}‖₂‖B_{i,:}‖₂`` and ``‖C_b,{:,i}‖₂‖B_{i,:}‖₂``.

    α_b is 0 for a unidirectional layer.
    """
    b = np.linalg.norm(sys.B, axis=1)
    forward = np.linalg.norm(sys.C, axis=0) * b
    backward = (
        np.zeros_like(forward)
        if sys.C_backward is None
        else np.linalg.norm(sys.C_backward, axis=0) * b
    )
    return forward, backward


def _paper_alpha(sys: ModalSystem) -> np.ndarray:
    """α_i as both papers define it: bidirectional ‖C_i‖² = (‖C_f,i‖² + ‖C_b,i‖²)/2."""
    forward, backward = directional_gains(sys)
    if sys.C_backward is None:
        return forward
    return np.sqrt(0.5 * (forward**2 + backward**2))


def published_form_is_proved(sys: ModalSystem) -> bool:
    """True when the published per-stored-mode formulas are proved for this error system.

    That is the case when every unit is a real mode (no conjugate pair counted once) and
    the layer is unidirectional (no averaged ‖C‖²).
    """
    return not bool(np.any(sys.pair)) and sys.C_backward is None


def aire_kappa(sys: ModalSystem) -> float:
    """The uniform stability factor of the AIRE certificate over the units of ``sys``.

    DT: ``κ(ρ) = √((1 + ρ)/(1 − ρ))``, ρ = max |λ̄_i| (aire-prune B.5, step 4), evaluated as
    ``max_i √((1 + |λ̄_i|)/(1 − |λ̄_i|))`` with stable gaps.  CT analogue (this toolkit):
    ``‖G_i‖∞ = α_i/|Re λ_i| = √E_i · √(2/|Re λ_i|)``, so ``κ = max_i √(2/|Re λ_i|)``.
    """
    if sys.isctime:
        return float(np.max(np.sqrt(2.0 / -sys.poles.real)))
    gap = sys.decay_gap()  # 1 − |λ̄|
    return float(np.max(np.sqrt((2.0 - gap) / gap)))


def modal_triangle(sys: ModalSystem) -> float:
    """Modal triangle bound on ``‖G_T‖∞`` for the real layer.

    ``‖Σ_{i∈T} G_i‖∞ ≤ Σ_{i∈T} m_i (α_f,i + α_b,i)/(1 − |λ̄_i|)`` with m_i = 2 for a pair
    unit (aire-prune eq. 12–13, last eq. 5 and 18, each conjugate written out), α_b = 0 for a
    unidirectional layer; CT: ``(1 − |λ̄_i|)`` becomes ``|Re λ_i|``.
    """
    forward, backward = directional_gains(sys)
    return float(np.sum(_multiplicity(sys) * (forward + backward) / sys.decay_gap()))


def _real_mode_energies(sys: ModalSystem) -> np.ndarray:
    """Per complex mode, ``(α_f + α_b)²/(1 − |λ̄|²)`` (CT: ``/(2|Re λ|)``)."""
    forward, backward = directional_gains(sys)
    return (forward + backward) ** 2 / sys.energy_gap()


def mode_energies_published(sys: ModalSystem) -> np.ndarray:
    """E_i per *stored* unit exactly as aire-prune eq. 8/10 define it.

    ``E_i = α_i²/(1 − |λ̄_i|²)`` with the papers' bidirectional average; CT
    ``α_i²/(2|Re λ_i|)``.  A conjugate pair is counted once (unlike
    :func:`mor.scores.energy`, which sums both members).
    """
    return _paper_alpha(sys) ** 2 / sys.energy_gap()


def _aire_min(kappa: float, energies: np.ndarray, weights: np.ndarray) -> float:
    linear = float(np.sum(weights * np.sqrt(energies)))
    root = math.sqrt(float(np.sum(weights))) * math.sqrt(float(np.sum(weights * energies)))
    return kappa * min(linear, root)


def aire_certificate_published(sys: ModalSystem) -> float:
    """AIRE's H∞ certificate exactly as published (aire-prune eq. 19), per stored unit.

    ``κ(ρ) · min{ Σ_T √E_i , √|T| · √(Σ_T E_i) }`` with E_i from
    :func:`mode_energies_published` and |T| the number of stored units.  Proved only when
    :func:`published_form_is_proved`; S5's conjugate pairs and bidirectional layers can
    violate it (see the claims catalogue).
    """
    energies = mode_energies_published(sys)
    return _aire_min(aire_kappa(sys), energies, np.ones_like(energies))


def aire_certificate(sys: ModalSystem) -> float:
    """AIRE's H∞ certificate applied to the real layer (corrected eq. 19).

    ``κ(ρ) · min{ Σ_T m_i √E_i , √(Σ_T m_i) · √(Σ_T m_i E_i) }`` with one term per complex
    mode (m_i = 2 for a pair) and ``E_i = (α_f,i + α_b,i)²/(1 − |λ̄_i|²)``.  Each step of
    aire-prune B.5 (eq. 12–17) then applies verbatim.
    """
    return _aire_min(aire_kappa(sys), _real_mode_energies(sys), _multiplicity(sys))


def last_eq4_published(sys: ModalSystem) -> float:
    """LAST's layer bound (last eq. 4) with σ = identity, as published: ``√(Σ_P ‖G_i‖∞²)``.

    ‖G_i‖∞ per stored unit by last eq. 5 (bidirectional: averaged ‖C‖²).  The proof's step
    ``‖Σ G_i U‖² ≤ Σ ‖G_i U‖²`` is not the triangle inequality; the bound fails as soon as
    two pruned kernels add up in phase.  Proved only for a single real unidirectional unit.
    """
    return float(np.sqrt(np.sum((_paper_alpha(sys) / sys.decay_gap()) ** 2)))


def h2_triangle(sys: ModalSystem) -> float:
    """Triangle bound on ``‖G_T‖₂`` for the real layer (this toolkit).

    ``‖G_T‖₂ ≤ min{ Σ m_i √E_i , √(Σ m_i) √(Σ m_i E_i) }`` with
    ``√E_i = (α_f,i + α_b,i)/√(1 − |λ̄_i|²)``: the H2 norm of one complex mode is
    ``α_i/√(1 − |λ̄_i|²)`` (aire-prune eq. 8), then the triangle and Cauchy–Schwarz
    inequalities.
    """
    return _aire_min(1.0, _real_mode_energies(sys), _multiplicity(sys))


def energy_estimate_published(sys: ModalSystem) -> float:
    """The additive energy estimate ``Σ_T E_i`` of aire-prune eq. 9 (per stored unit)."""
    return float(np.sum(mode_energies_published(sys)))
