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

:data:`BOUNDS` is the registry :func:`verification.certify` reports from: one
:class:`Bound` per bound, with its source, norm, the kind of plan it certifies, the
function evaluating it and when it is proved or applicable.  A new bound is added there,
never wired into ``certify`` by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mor.systems import ModalSystem

__all__ = [
    "BOUNDS",
    "ENERGY_ESTIMATE_SOURCE",
    "GELU_LIPSCHITZ",
    "GELU_TANH_LIPSCHITZ",
    "Bound",
    "aire_certificate",
    "aire_certificate_published",
    "aire_kappa",
    "bound",
    "bounds_for",
    "directional_gains",
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


# ---------------------------------------------------------------------- the registry
def _valid(_subject: Any) -> None:
    return None


def _no_note(_subject: Any) -> str:
    return ""


@dataclass(frozen=True)
class Bound:
    """One bound of the registry: what it bounds, where it comes from, when it is proved.

    Attributes
    ----------
    name : str
        Identifier, the ``name`` of the :class:`~verification.certificates.BoundResult`
        reporting it.
    source : str
        Paper and equation.
    norm : {"hinf", "h2"}
        Which norm of ``G − G_r`` it bounds.
    plans : {"modal", "balanced"}
        The kind of plan whose error it bounds.
    evaluate : callable or None
        Modal bounds: the bound's value for the error system ``Σ_{i∈T} G_i`` (a
        :class:`mor.ModalSystem` of the pruned units).  None for balanced bounds, whose
        value is the reduction's own certificate (tail sums of its Hankel singular values).
    unproved : callable
        ``unproved(err)``: None when the bound is proved for what the layer computes,
        else why not (the bound is then reported with ``valid = False``).
    inapplicable : callable
        ``inapplicable(err)``: None when the bound can be evaluated, else why not (reported
        with ``value = None``).
    source_note : callable
        ``source_note(err)``: text appended to ``source`` for this layer (e.g. the CT
        analogue of a DT certificate).
    """

    name: str
    source: str
    norm: Literal["hinf", "h2"]
    plans: Literal["modal", "balanced"]
    evaluate: Callable[[ModalSystem], float] | None = None
    unproved: Callable[[Any], str | None] = _valid
    inapplicable: Callable[[Any], str | None] = _valid
    source_note: Callable[[Any], str] = _no_note

    @property
    def unconditional(self) -> bool:
        """Always applicable and always proved (reported even for a zero error)."""
        return self.unproved is _valid and self.inapplicable is _valid

    def source_for(self, subject: Any) -> str:
        """``source`` with this layer's note."""
        return self.source + self.source_note(subject)


def _ct_kappa_note(err: ModalSystem) -> str:
    return " (CT analogue: kappa = max sqrt(2/|Re lambda|))" if err.isctime else ""


def _published_unproved(err: ModalSystem) -> str | None:
    if published_form_is_proved(err):
        return None
    return ("as published this counts a conjugate pair once"
            + (" and averages the forward/backward |C|^2" if err.bidirectional else "")
            + "; not proved for this layer (see the claims catalogue)")


def _dt_only(err: ModalSystem) -> str | None:
    return None if err.isdtime else ("a discrete-time certificate; this layer is continuous "
                                     "time (aire_eq19 reports the CT analogue)")


def _last_eq4_unproved(err: ModalSystem) -> str | None:
    if err.nunits == 1 and published_form_is_proved(err):
        return None
    return ("sum of squared per-mode gains: not a bound once two pruned kernels add in "
            "phase (last B.2 squares the triangle inequality wrongly)")


def _after_update_note(sys: ModalSystem) -> str:
    return (" of H = C(zI - A)^-1 B (after-update layer z·H + D; |z| = 1)"
            if sys.output_after_update else "")


def _calibrated_unproved(_sys: ModalSystem) -> str:
    return ("calibrated balancing weights the controllability Gramian by the data; the "
            "2 Σ σ bound holds for the reweighted system, not for the layer: the exact error "
            "is the certificate")


BOUNDS: tuple[Bound, ...] = (
    Bound("modal_triangle",
          "aire-prune eq. 12-13; last eq. 5, 18 (each conjugate counted)",
          "hinf", "modal", modal_triangle),
    Bound("aire_eq19", "aire-prune eq. 19 (B.5), per complex mode of the real layer",
          "hinf", "modal", aire_certificate, source_note=_ct_kappa_note),
    Bound("aire_eq19_published", "aire-prune eq. 19 as published, per stored mode",
          "hinf", "modal", aire_certificate_published, unproved=_published_unproved,
          inapplicable=_dt_only),
    Bound("last_eq4_published", "last eq. 4 with sigma = identity, as published",
          "hinf", "modal", last_eq4_published, unproved=_last_eq4_unproved),
    Bound("h2_triangle",
          "H2 triangle / Cauchy-Schwarz over complex modes (aire-prune eq. 8)",
          "h2", "modal", h2_triangle),
    Bound("balanced_2sigma",
          "Enns 1984; Al-Saggaf & Franklin 1987 (DT): 2 sum of tail HSVs",
          "hinf", "balanced", source_note=_after_update_note),
    Bound("balanced_bidirectional",
          "2 sum of tail HSVs of the stacked [C; C_b] system, times 2 (sqrt(2) with one "
          "input): the two directions' errors add (docs/mor.md, after-update balanced "
          "truncation)",
          "hinf", "balanced"),
    Bound("calibrated_balanced", "no a-priori bound (data-weighted Gramian)",
          "hinf", "balanced", unproved=_calibrated_unproved),
)
"""Every bound :func:`verification.certify` reports, in report order."""

ENERGY_ESTIMATE_SOURCE = "aire-prune eq. 9 (additive energy, per stored mode)"
"""Source of the additive energy estimate reported next to the exact H2 error."""


def bound(name: str) -> Bound:
    """The registry entry called ``name``.

    Raises
    ------
    KeyError
        No such bound (the message lists the names).
    """
    for b in BOUNDS:
        if b.name == name:
            return b
    raise KeyError(f"no bound {name!r}; bounds: {[b.name for b in BOUNDS]}")


def bounds_for(plans: Literal["modal", "balanced"]) -> tuple[Bound, ...]:
    """The registry's bounds for one kind of plan, in report order."""
    return tuple(b for b in BOUNDS if b.plans == plans)
