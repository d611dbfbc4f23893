"""The claims catalogue: every published inequality that bounds an error or an energy.

Each :class:`Claim` is stated exactly as published (paper, equation, assumptions), carries
the verdict reached by its property test in ``tests/verification/test_claims.py``, the
smallest counterexample hypothesis found when it is falsified (also a regression test),
a corrected statement that passes the same test, and the function that evaluates both
forms on that counterexample.  The catalogue's text and counterexamples are data
(``verification/claims.json``, package data); the evaluators are the code below.
Nothing published is loosened silently: the published form and the corrected form are
both kept, side by side.

The ``sides_*`` functions evaluate both sides of a claim on a given system (and input);
they return ``(lhs, rhs)`` with the claim being ``lhs ≤ rhs`` (or ``≈`` for eq. 9).

Verdicts: ``"holds"``, ``"holds only under stated conditions"``, ``"falsified"``,
``"approximation"`` (an ``≈`` statement: we report its error and the conditions under
which it is exact).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from typing import Any

import numpy as np

from mor.norms import h2_norm, hinf_norm
from mor.systems import ModalSystem
from mor.truncation import error_system
from verification import bounds as _b
from verification import network as _net

__all__ = [
    "CLAIMS",
    "Claim",
    "claim",
    "evaluate_counterexample",
    "sides_energy_additivity",
    "sides_energy_drop",
    "sides_hinf_io",
    "sides_last_eq4",
    "sides_last_eq8",
    "sides_single_mode",
    "sides_truncation",
]

Sides = tuple[float, float, float | None, float | None]
"""(lhs, rhs) of the published form, then (lhs, rhs) of the corrected one."""


@dataclass(frozen=True)
class Claim:
    """One published inequality and what testing it found.

    ``evaluate`` maps the recorded counterexample to :data:`Sides` (see
    :func:`evaluate_counterexample`); None for a claim without one.
    """

    id: str
    paper: str
    equation: str
    statement: str
    assumptions: str
    verdict: str
    conditions: str = ""
    counterexample: dict[str, Any] | None = None
    corrected_statement: str = ""
    tests: tuple[str, ...] = field(default=())
    evaluate: Callable[[dict[str, Any]], Sides] | None = field(
        default=None, compare=False, repr=False)


# ---------------------------------------------------------------------- evaluators
def sides_single_mode(pole: complex, b: np.ndarray, c: np.ndarray, *, npoints: int = 4096):
    """One complex mode ``G(z) = c b/(z − λ)``: (sup over a grid ∪ {arg λ} of σ_max, α/(1 − |λ|)).

    last eq. 5 / aire-prune eq. 13 claim ``‖G‖∞ = α/(1 − |λ|)`` (≤ and attained at arg λ).
    """
    b = np.atleast_1d(np.asarray(b, dtype=np.complex128))
    c = np.atleast_1d(np.asarray(c, dtype=np.complex128))
    alpha = float(np.linalg.norm(c) * np.linalg.norm(b))
    omega = np.concatenate([np.linspace(-np.pi, np.pi, npoints), [np.angle(pole)]])
    # σ_max of the rank-one c b / (z − λ) is α/|z − λ|.
    sup = float(np.max(alpha / np.abs(np.exp(1j * omega) - pole)))
    return sup, alpha / (1.0 - abs(pole))


def sides_truncation(err: ModalSystem, form: str) -> tuple[float, float]:
    """(‖G_T‖∞ exact, bound) for the H∞ truncation claims on the error system ``err``.

    ``form``: ``"eq12_published"`` (Σ_T α_i/(1 − |λ_i|) per stored mode, papers' α),
    ``"eq12_real"`` (:func:`verification.bounds.modal_triangle`), ``"eq19_published"``,
    ``"eq19_real"``, ``"eq16_published"`` (κ Σ √E_i), ``"eq17_published"``
    (κ √|T| √ΣE_i).
    """
    exact = float(hinf_norm(err))
    energies = _b.mode_energies_published(err)
    kappa = _b.aire_kappa(err)
    alpha = np.sqrt(energies * err.energy_gap())
    rhs = {
        "eq12_published": lambda: float(np.sum(alpha / err.decay_gap())),
        "eq12_real": lambda: _b.modal_triangle(err),
        "eq16_published": lambda: kappa * float(np.sum(np.sqrt(energies))),
        "eq17_published": lambda: kappa * float(np.sqrt(energies.size * np.sum(energies))),
        "eq19_published": lambda: _b.aire_certificate_published(err),
        "eq19_real": lambda: _b.aire_certificate(err),
    }[form]()
    return exact, rhs


def sides_energy_additivity(sys: ModalSystem) -> tuple[float, float]:
    """(‖Σ‖²_energy exact, Σ_i E_i per stored mode): aire-prune B.2 writes them equal."""
    return float(h2_norm(error_system(sys, range(sys.nunits)))) ** 2, float(
        np.sum(_b.mode_energies_published(sys))
    )


def sides_energy_drop(sys: ModalSystem, pruned: Sequence[int]) -> tuple[float, float]:
    """(‖Σ‖² − ‖Σ_{−P}‖², Σ_{i∈P} E_i): aire-prune eq. 9 says ≈ (D excluded)."""
    full = float(h2_norm(error_system(sys, range(sys.nunits)))) ** 2
    kept = sorted(set(range(sys.nunits)) - set(pruned))
    rest = float(h2_norm(error_system(sys, kept))) ** 2 if kept else 0.0
    if not list(pruned):
        return full - rest, 0.0
    return full - rest, float(np.sum(_b.mode_energies_published(error_system(sys, pruned))))


def sides_hinf_io(sys: ModalSystem, u: np.ndarray) -> tuple[float, float]:
    """(‖y‖₂², ‖G‖∞²‖u‖₂²) on a finite input: last eq. 2."""
    y = sys.simulate(u)
    return float(np.sum(y**2)), float(hinf_norm(sys)) ** 2 * float(np.sum(u**2))


def sides_last_eq4(
    sys: ModalSystem, pruned: Sequence[int], u: np.ndarray, activation: str, form: str
) -> tuple[float, float]:
    """(‖σ(Σu) − σ(Σ_{−P}u)‖², bound) for last eq. 4.

    ``form``: ``"published"``: ``Σ_{i∈P} ‖G_i‖∞² ‖u‖²`` with ‖G_i‖∞ = α_i/(1 − |λ_i|) per
    stored mode (last eq. 5); ``"corrected"``: ``L_σ² ‖G_P‖∞² ‖u‖²`` with the real
    Lipschitz constant and the exact H∞ norm of the pruned part.
    """
    sigma = _net.ACTIVATIONS[activation]
    kept = [i for i in range(sys.nunits) if i not in set(pruned)]
    y_full = sigma(sys.simulate(u))
    reduced = sys.subsystem(kept) if kept else None
    y_red = sigma(reduced.simulate(u) if reduced is not None else u @ sys.D.T)
    lhs = float(np.sum((y_full - y_red) ** 2))
    unorm2 = float(np.sum(u**2))
    err = error_system(sys, pruned)
    if form == "published":
        gains = _b.mode_energies_published(err) * err.energy_gap()  # α²
        return lhs, float(np.sum(gains / err.decay_gap() ** 2)) * unorm2
    return lhs, _net.LIPSCHITZ[activation] ** 2 * float(hinf_norm(err)) ** 2 * unorm2


def sides_last_eq8(
    systems: Sequence[ModalSystem],
    layer: int,
    unit: int,
    u: np.ndarray,
    activation: str,
    form: str,
) -> tuple[float, float]:
    """(J_l(i), bound) for last eq. 8: prune unit ``unit`` of layer ``layer`` of a stack.

    ``form``: ``"published"``: ``‖G_i‖∞²/‖G_S^(l)‖∞² Π_k ‖G_S^(k)‖∞² ‖u‖²`` with ‖G_i‖∞
    per stored mode (last eq. 5); ``"corrected"``: the same with ‖G_i‖∞ the exact norm of
    the real unit (a pair's two members) and the factor ``L_σ^{2L}``.
    """
    sys = systems[layer]
    kept = [i for i in range(sys.nunits) if i != unit]
    pruned_stack = list(systems)
    pruned_stack[layer] = sys.subsystem(kept)
    lhs = float(np.sum((_net.paper_stack(systems, u, activation)
                        - _net.paper_stack(pruned_stack, u, activation)) ** 2))
    norms = [float(hinf_norm(s)) for s in systems]
    err = error_system(sys, [unit])
    if form == "published":
        gi = float(np.sqrt(_b.mode_energies_published(err) * err.energy_gap())[0]
                   / err.decay_gap()[0])
        factor = 1.0
    else:
        gi = float(hinf_norm(err))
        factor = _net.LIPSCHITZ[activation] ** (2 * len(systems))
    # ‖G_S^(l)‖∞² cancels against its factor in the product (as in the proof of B.3).
    others = float(np.prod(np.square([n for k, n in enumerate(norms) if k != layer])))
    return lhs, factor * gi**2 * others * float(np.sum(u**2))


# ---------------------------------------------------------------------- counterexamples
# The smallest counterexamples hypothesis found (``hypothesis.find`` with the ci profile,
# tests/verification/test_claims.py), recorded in claims.json.  Where the shrunk example
# carried units with zero gains (which do not change either side), they are removed there;
# the numbers are exact.  Complex entries are written as Python complex literals ("1j").
def _complex(value):
    if isinstance(value, list):
        return [_complex(v) for v in value]
    return complex(value) if isinstance(value, str) else value


def _system(data: dict[str, Any]) -> ModalSystem:
    return ModalSystem(np.array(_complex(data["poles"]), dtype=complex), _complex(data["B"]),
                       _complex(data["C"]), data.get("D"), data["dt"], pair=data["pair"],
                       C_backward=data.get("C_backward"))


def _truncation_counterexample(published: str, corrected: str, cex: dict[str, Any]) -> Sides:
    """:func:`sides_truncation` in the published and the real-layer form."""
    sys = _system(cex["system"])
    exact, pub = sides_truncation(sys, published)
    return exact, pub, exact, sides_truncation(sys, corrected)[1]


def _additivity_counterexample(cex: dict[str, Any]) -> Sides:
    """B.2: published equality violated (exact > additive); corrected: the exact Gramian."""
    sys = _system(cex["system"])
    exact, additive = sides_energy_additivity(sys)
    return exact, additive, exact, float(h2_norm(error_system(sys, range(sys.nunits)))) ** 2


def _energy_drop_counterexample(cex: dict[str, Any]) -> Sides:
    """eq. 9: "estimate ≤ drop" violated (wrong sign); corrected: the exact identity
    ``drop = ‖G_P‖₂² + 2 Re⟨G_P, G_−P⟩``, returned as (|identity residual|, tolerance)."""
    sys, pruned = _system(cex["system"]), cex["pruned"]
    drop, estimate = sides_energy_drop(sys, pruned)
    kept = [i for i in range(sys.nunits) if i not in pruned]
    pruned_energy = float(h2_norm(error_system(sys, pruned))) ** 2
    cross = (float(h2_norm(error_system(sys, range(sys.nunits)))) ** 2 - pruned_energy
             - float(h2_norm(error_system(sys, kept))) ** 2)
    return estimate, drop, abs(pruned_energy + cross - drop), 1e-12 * max(1.0, abs(drop))


def _last_eq4_counterexample(cex: dict[str, Any]) -> Sides:
    sys, u = _system(cex["system"]), np.asarray(cex["input"], dtype=np.float64)
    lhs, pub = sides_last_eq4(sys, cex["pruned"], u, cex["activation"], "published")
    return lhs, pub, *sides_last_eq4(sys, cex["pruned"], u, cex["activation"], "corrected")


def _last_eq8_counterexample(cex: dict[str, Any]) -> Sides:
    sys, u = _system(cex["system"]), np.asarray(cex["input"], dtype=np.float64)
    args = ([sys], cex["layer"], cex["unit"], u, cex["activation"])
    lhs, pub = sides_last_eq8(*args, "published")
    return lhs, pub, *sides_last_eq8(*args, "corrected")


def _s5_block_counterexample(cex: dict[str, Any]) -> Sides:
    """The half_glu1 gate alone: the bound of eq. 8 against the local Lipschitz constant
    ``L_σ (1 + ‖g‖∞ ‖W₂‖₂/4)`` of the gate on the signals it sees."""
    sys, u = _system(cex["system"]), np.asarray(cex["input"], dtype=np.float64)
    W2 = np.asarray(cex["W2"], dtype=np.float64)
    reduced = sys.subsystem([i for i in range(sys.nunits) if i != cex["unit"]])
    full, red = (_net.s5_block(s, u, variant="half_glu1", W2=W2, norm=False, residual=False)
                 for s in (sys, reduced))
    lhs = float(np.sum((full - red) ** 2))
    gi = float(hinf_norm(error_system(sys, [cex["unit"]])))
    unorm2 = float(np.sum(u**2))
    g = np.concatenate([_net.gelu_tanh(sys.simulate(u)), _net.gelu_tanh(reduced.simulate(u))])
    local = _net.LIPSCHITZ["gelu_tanh"] * (1 + np.max(np.abs(g)) * np.linalg.norm(W2, 2) / 4)
    return lhs, gi**2 * unorm2, lhs, local**2 * gi**2 * unorm2


_EVALUATORS: dict[str, Callable[[dict[str, Any]], Sides]] = {
    "aire-eq12": partial(_truncation_counterexample, "eq12_published", "eq12_real"),
    "aire-eq16-17": partial(_truncation_counterexample, "eq19_published", "eq19_real"),
    "aire-eq19": partial(_truncation_counterexample, "eq19_published", "eq19_real"),
    "aire-eq19-bidirectional": partial(_truncation_counterexample, "eq19_published",
                                       "eq19_real"),
    "aire-B2-additivity": _additivity_counterexample,
    "aire-eq9": _energy_drop_counterexample,
    "last-eq4": _last_eq4_counterexample,
    "last-eq8": _last_eq8_counterexample,
    "last-eq8-s5-block": _s5_block_counterexample,
}
"""Each claim's counterexample evaluator, attached to its :class:`Claim` when loading."""


def _load_catalogue() -> tuple[Claim, ...]:
    text = resources.files("verification").joinpath("claims.json").read_text(encoding="utf-8")
    return tuple(Claim(**{**entry, "tests": tuple(entry["tests"])},
                       evaluate=_EVALUATORS.get(entry["id"]))
                 for entry in json.loads(text))


CLAIMS: tuple[Claim, ...] = _load_catalogue()
"""The catalogue, in the order of verification/claims.json."""


def claim(claim_id: str) -> Claim:
    """The catalogue entry with this id."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(f"no claim {claim_id!r}; ids: {[c.id for c in CLAIMS]}")


def evaluate_counterexample(c: Claim) -> Sides:
    """(lhs, rhs) of the published form and (lhs, rhs) of the corrected one on the recorded
    counterexample of claim ``c`` (``c.evaluate``; the corrected pair is None when no
    corrected inequality applies).  For the equality claims B.2 and eq. 9, rhs is the
    published value and the violation is reported as lhs > rhs or lhs < rhs through
    ``max``/``min`` ordering.

    Raises
    ------
    ValueError
        The claim has no counterexample, or no evaluator for it.
    """
    if c.counterexample is None:
        raise ValueError(f"claim {c.id} has no counterexample")
    if c.evaluate is None:
        raise ValueError(f"no evaluator for the counterexample of {c.id}: add one to "
                         "verification.claims._EVALUATORS")
    return c.evaluate(c.counterexample)
