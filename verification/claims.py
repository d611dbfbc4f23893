"""The claims catalogue: every published inequality that bounds an error or an energy.

Each :class:`Claim` is stated exactly as published (paper, equation, assumptions), carries
the verdict reached by its property test in ``tests/verification/test_claims.py``, the
smallest counterexample hypothesis found when it is falsified (also a regression test),
and a corrected statement that passes the same test.  Nothing published is loosened
silently: the published form and the corrected form are both kept, side by side.

The ``sides_*`` functions evaluate both sides of a claim on a given system (and input);
they return ``(lhs, rhs)`` with the claim being ``lhs ≤ rhs`` (or ``≈`` for eq. 9).

Verdicts: ``"holds"``, ``"holds only under stated conditions"``, ``"falsified"``,
``"approximation"`` (an ``≈`` statement: we report its error and the conditions under
which it is exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mor.exceptions import NormComputationError
from mor.norms import h2_norm, hinf_norm
from mor.systems import ModalSystem
from verification import bounds as _b
from verification import network as _net
from verification.certificates import error_system

__all__ = [
    "CLAIMS",
    "Claim",
    "claim",
    "sides_energy_additivity",
    "sides_energy_drop",
    "sides_hinf_io",
    "sides_last_eq4",
    "sides_last_eq8",
    "sides_single_mode",
    "sides_truncation",
]


@dataclass(frozen=True)
class Claim:
    """One published inequality and what testing it found."""

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


# ---------------------------------------------------------------------- evaluators
def _hinf(sys: ModalSystem) -> float:
    """Exact H∞ norm; ‖D‖₂ when every C_i B_i = 0 (mor.hinf_norm fails on G ≡ D)."""
    if _b.modal_triangle(sys) == 0.0:
        return float(np.linalg.norm(sys.standard_form().D, 2))
    live = _b.drop_zero_units(sys)
    try:
        return float(hinf_norm(live))
    except (NormComputationError, np.linalg.LinAlgError):
        # mor's modal level-set method failed (reported); AB13DD is the reference for
        # causal systems.
        if live.bidirectional:
            raise
        return float(hinf_norm(live, method="slicot"))


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
    exact = _hinf(err)
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
    y = _net.simulate(sys, u)
    return float(np.sum(y**2)), float(_hinf(sys)) ** 2 * float(np.sum(u**2))


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
    y_full = sigma(_net.simulate(sys, u))
    reduced = sys.subsystem(kept) if kept else None
    y_red = sigma(_net.simulate(reduced, u) if reduced is not None else u @ sys.D.T)
    lhs = float(np.sum((y_full - y_red) ** 2))
    unorm2 = float(np.sum(u**2))
    err = error_system(sys, pruned)
    if form == "published":
        gains = _b.mode_energies_published(err) * err.energy_gap()  # α²
        return lhs, float(np.sum(gains / err.decay_gap() ** 2)) * unorm2
    return lhs, _net.LIPSCHITZ[activation] ** 2 * float(_hinf(err)) ** 2 * unorm2


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
    norms = [float(_hinf(s)) for s in systems]
    err = error_system(sys, [unit])
    if form == "published":
        gi = float(np.sqrt(_b.mode_energies_published(err) * err.energy_gap())[0]
                   / err.decay_gap()[0])
        factor = 1.0
    else:
        gi = float(_hinf(err))
        factor = _net.LIPSCHITZ[activation] ** (2 * len(systems))
    # ‖G_S^(l)‖∞² cancels against its factor in the product (as in the proof of B.3).
    others = float(np.prod(np.square([n for k, n in enumerate(norms) if k != layer])))
    return lhs, factor * gi**2 * others * float(np.sum(u**2))


# ---------------------------------------------------------------------- catalogue
_PAIR = ("S5 stores one member of each conjugate pair (conj_sym) and outputs 2·Re(C x); "
         "the real layer's unit is the pair")

CLAIMS: tuple[Claim, ...] = (
    Claim(
        id="aire-eq13", paper="aire-prune", equation="13 (= last eq. 5)",
        statement="‖G_i‖∞ ≤ α_i/(1 − |λ_i|) for G_i(e^{jω}) = C_i B_i/(1 − λ_i e^{−jω}), "
                  "α_i = ‖C_i‖‖B_i‖",
        assumptions="one complex mode, |λ_i| < 1",
        verdict="holds",
        conditions="with equality (attained at ω = arg λ_i); per complex mode",
        tests=("test_single_mode_hinf_is_attained",),
    ),
    Claim(
        id="last-eq5", paper="last", equation="5",
        statement="‖G_i‖∞ = ‖C_i B̄_i‖/(1 − |λ̄_i|)",
        assumptions="one complex mode of a diagonal DT system",
        verdict="holds",
        conditions="per complex mode; a real pair unit has ‖G_pair‖∞ ≤ 2‖C_i B̄_i‖/(1 − |λ̄_i|)",
        tests=("test_single_mode_hinf_is_attained",),
    ),
    Claim(
        id="aire-eq14", paper="aire-prune", equation="14",
        statement="‖G_i‖∞ ≤ √E_i √((1 + |λ_i|)/(1 − |λ_i|)),  E_i = α_i²/(1 − |λ_i|²)",
        assumptions="one complex mode",
        verdict="holds",
        conditions="an identity given eq. 13 (equality)",
        tests=("test_eq14_identity",),
    ),
    Claim(
        id="aire-eq12", paper="aire-prune", equation="12 (= last eq. 18 in B.6)",
        statement="‖G − G̃‖∞ ≤ Σ_{i∈T} ‖G_i‖∞ (with ‖G_i‖∞ = α_i/(1 − |λ_i|))",
        assumptions="diagonal layer; T the pruned modes",
        verdict="holds only under stated conditions",
        conditions="T must list every complex mode: both members of a conjugate pair. "
                   f"Applied to stored modes ({_PAIR}) it is falsified.",
        corrected_statement="‖G − G̃‖∞ ≤ Σ_{i∈T} m_i (α_f,i + α_b,i)/(1 − |λ_i|), m_i = 2 for a "
                            "pair unit (verification.bounds.modal_triangle)",
        tests=("test_eq12_real_form_holds", "test_eq12_published_form_falsified_on_pairs",
               "test_regression_counterexamples"),
    ),
    Claim(
        id="aire-eq16-17", paper="aire-prune", equation="15-17",
        statement="ε ≤ κ(ρ) Σ_{i∈T} √E_i (16) and ε ≤ κ(ρ) √|T| √(Σ_{i∈T} E_i) (17), "
                  "κ(ρ) = √((1+ρ)/(1−ρ)), ρ = max_T |λ_i|",
        assumptions="diagonal DT layer, unidirectional",
        verdict="holds only under stated conditions",
        conditions="T must list every complex mode (pairs twice); falsified on S5 stored pairs",
        corrected_statement="the same with each pair counted twice: κ Σ m_i √E_i and "
                            "κ √(Σ m_i) √(Σ m_i E_i)",
        tests=("test_eq19_real_form_holds", "test_eq19_published_form_falsified_on_pairs"),
    ),
    Claim(
        id="aire-eq19", paper="aire-prune", equation="19 (B.5 final certificate)",
        statement="‖G − G̃‖∞ ≤ κ(ρ) min{ Σ_T √E_i , √|T| √(Σ_T E_i) }",
        assumptions="diagonal DT layer; E_i = α_i²/(1 − |λ_i|²) per mode",
        verdict="holds only under stated conditions",
        conditions="unidirectional layers, T listing every complex mode; falsified when a "
                   "conjugate pair is counted once (S5 conj_sym)",
        corrected_statement="κ(ρ) min{ Σ m_i √E_i , √(Σ m_i) √(Σ m_i E_i) } with "
                            "E_i = (α_f,i + α_b,i)²/(1 − |λ_i|²) "
                            "(verification.bounds.aire_certificate)",
        tests=("test_eq19_real_form_holds", "test_eq19_published_form_falsified_on_pairs",
               "test_regression_counterexamples"),
    ),
    Claim(
        id="aire-eq19-bidirectional", paper="aire-prune", equation="19, B.5 special cases",
        statement="for bidirectional layers, sum (or average) the forward/backward ‖C_i‖² "
                  "when forming E_i; eq. 19 unchanged",
        assumptions="bidirectional layer y = C_f x_fwd + C_b x_bwd",
        verdict="falsified",
        conditions="forward and backward kernels of a mode can peak at the same frequency; "
                   "the per-mode gain is (‖C_f‖ + ‖C_b‖)‖B‖/(1 − |λ|), up to 2× (average) "
                   "or √2× (sum) the published value",
        corrected_statement="E_i = (‖C_f,i‖ + ‖C_b,i‖)² ‖B_i‖²/(1 − |λ_i|²)",
        tests=("test_eq19_bidirectional_falsified", "test_eq19_real_form_holds",
               "test_regression_counterexamples"),
    ),
    Claim(
        id="aire-B2-additivity", paper="aire-prune", equation="B.2 (and the ≈ above eq. 9)",
        statement="‖Σ‖²_energy = Σ_{i=1}^n E_i",
        assumptions="diagonal stable DT layer",
        verdict="falsified",
        conditions="exact only when the cross terms (C_iᴴC_j)(B_j B_iᴴ)/(1 − λ_i conj λ_j), "
                   "i ≠ j, vanish — e.g. pairwise orthogonal C columns or B rows over all "
                   "complex modes, a pair's two members included",
        corrected_statement="‖Σ‖²_energy = Σ_{i,j} (C_iᴴ C_j)(B_j B_iᴴ)/(1 − λ_i conj λ_j) "
                            "over all complex modes (mor.h2_norm)",
        tests=("test_energy_additivity_falsified", "test_energy_additivity_exact_when_orthogonal"),
    ),
    Claim(
        id="aire-eq9", paper="aire-prune", equation="9",
        statement="‖Σ‖²_energy − ‖Σ_{−P}‖²_energy ≈ Σ_{i∈P} E_i",
        assumptions="diagonal layer; an approximation",
        verdict="approximation",
        conditions="exact under the orthogonality of B.2's condition (over P×P and P×kept); "
                   "otherwise arbitrarily off, including the wrong sign: pruning can increase "
                   "the energy.  With S5 stored pairs, Σ E_i counts each pair once: ≈ half the "
                   "pair's energy",
        corrected_statement="‖Σ‖² − ‖Σ_{−P}‖² = ‖G_P‖₂² + 2 Re⟨G_P, G_{−P}⟩ (exact); the "
                            "certificate reports Σ_T E_i next to the exact ‖G − G_r‖₂²",
        tests=("test_energy_drop_identity", "test_energy_drop_wrong_sign"),
    ),
    Claim(
        id="last-eq2", paper="last", equation="2 (B.1)",
        statement="‖y‖₂² ≤ ‖G‖∞² ‖u‖₂²",
        assumptions="stable LTI system, finite-energy input",
        verdict="holds",
        conditions="also on finite windows (zero initial state) and for bidirectional layers",
        tests=("test_last_eq2_holds",),
    ),
    Claim(
        id="last-eq4", paper="last", equation="4 (B.2)",
        statement="‖f_σ(u; Σ) − f_σ(u; Σ_{−P})‖₂² ≤ Σ_{i∈P} ‖G_i‖∞² ‖u‖₂²",
        assumptions="f_σ = σ∘Σ with σ 1-Lipschitz (GELU claimed 1-Lipschitz)",
        verdict="falsified",
        conditions="(a) the proof's step ‖Σ G_i U‖² ≤ Σ ‖G_i U‖² is not the triangle "
                   "inequality: it fails whenever two pruned kernels add in phase, even with "
                   "σ = identity; (b) GELU is 1.1289-Lipschitz, not 1-Lipschitz; (c) a stored "
                   "S5 pair is two complex modes",
        corrected_statement="‖σ(Σu) − σ(Σ_{−P}u)‖² ≤ L_σ² ‖G_P‖∞² ‖u‖² ≤ L_σ² (Σ_{i∈P} m_i "
                            "‖G_i‖∞)² ‖u‖², L_σ = 1.128904 (GELU), 1.128993 (tanh GELU)",
        tests=("test_last_eq4_published_falsified", "test_last_eq4_corrected_holds",
               "test_regression_counterexamples"),
    ),
    Claim(
        id="last-eq8", paper="last", equation="8 (B.3)",
        statement="J_l(i) ≤ ‖G_i^(l)‖∞²/‖G_S^(l)‖∞² Π_{k=1}^L ‖G_S^(k)‖∞² ‖u‖₂²",
        assumptions="f = σ∘Σ^(L)∘…∘σ∘Σ^(1), σ 1-Lipschitz with σ(0) = 0 (GELU claimed)",
        verdict="holds only under stated conditions",
        conditions="holds for a 1-Lipschitz σ with σ(0) = 0 (identity, ReLU) and G_i the real "
                   "unit's transfer function; falsified for GELU (constant 1.1289 per layer) "
                   "and for S5 stored pairs counted once; not applicable to the S5 block "
                   "(GLU gating is not globally Lipschitz; see last-eq8-s5-block)",
        corrected_statement="J_l(i) ≤ L_σ^{2L} ‖G_i^(l)‖∞²/‖G_S^(l)‖∞² Π_k ‖G_S^(k)‖∞² ‖u‖² "
                            "with ‖G_i‖∞ of the real unit",
        tests=("test_last_eq8_relu_holds", "test_last_eq8_corrected_holds",
               "test_last_eq8_gelu_falsified"),
    ),
    Claim(
        id="last-eq8-s5-block", paper="last", equation="8 (B.3) applied to S5 layers",
        statement="the model-level bound of eq. 8 for the S5 network the papers prune",
        assumptions="S5 SequenceLayer: prenorm LayerNorm, SSM, GELU, GLU gate, residual",
        verdict="falsified",
        conditions="x ⊙ sigmoid(Wx) (half_glu1/2, full_glu) is not globally Lipschitz: its "
                   "Jacobian grows like ‖x‖∞‖W‖/4, so a pruned unit feeding the gate of a "
                   "large channel is amplified by that channel's amplitude; J_l/bound grows "
                   "without limit with the kept gain; LayerNorm is not Lipschitz near zero "
                   "variance; the residual path adds the identity (Lipschitz ≥ 1 + …) and "
                   "LayerNorm's bias breaks σ(0) = 0",
        corrected_statement="no input-independent constant exists; on inputs with "
                            "‖x‖∞ ≤ R the half_glu1 gate is (1 + R‖W‖₂/4)·1.129-Lipschitz",
        tests=("test_s5_block_ratio_grows_with_kept_gain", "test_half_glu_local_lipschitz",
               "test_regression_counterexamples"),
    ),
)


def claim(claim_id: str) -> Claim:
    """The catalogue entry with this id."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(f"no claim {claim_id!r}; ids: {[c.id for c in CLAIMS]}")


# ---------------------------------------------------------------------- counterexamples
# The smallest counterexamples hypothesis found (``hypothesis.find`` with the ci profile,
# tests/verification/test_claims.py).  Where the shrunk example carried units with zero
# gains (which do not change either side), they are removed here; the numbers are exact.
_ONE_PAIR = {"poles": [0j], "B": [[1j]], "C": [[1j]], "pair": [True], "dt": 1.0}
_COUNTEREXAMPLES: dict[str, dict[str, Any]] = {
    "aire-eq12": {"system": _ONE_PAIR, "pruned": [0], "lhs": 2.0, "rhs": 1.0,
                  "note": "one conjugate pair at λ̄ = 0: G(z) = 2Re(c b)/z = −2/z"},
    "aire-eq16-17": {"system": _ONE_PAIR, "pruned": [0], "lhs": 2.0, "rhs": 1.0},
    "aire-eq19": {"system": _ONE_PAIR, "pruned": [0], "lhs": 2.0, "rhs": 1.0},
    "aire-eq19-bidirectional": {
        "system": {"poles": [0j], "B": [[1.0]], "C": [[0.0]], "C_backward": [[1.0]],
                   "pair": [False], "dt": 1.0},
        "pruned": [0], "lhs": 1.0, "rhs": 0.7071067811865476,
        "note": "a purely backward mode: averaging ‖C_f‖² and ‖C_b‖² halves its energy"},
    "aire-B2-additivity": {
        "system": {"poles": [0j, 0j], "B": [[1.0], [1.0]], "C": [[1.0, 1.0]],
                   "pair": [False, False], "dt": 1.0},
        "lhs": 4.0, "rhs": 2.0, "note": "two identical real modes: energy 4, Σ E_i = 2"},
    "aire-eq9": {
        "system": {"poles": [0j, 0j], "B": [[1.0], [1.0]], "C": [[1.0, -1.0]],
                   "pair": [False, False], "dt": 1.0},
        "pruned": [1], "lhs": -1.0, "rhs": 1.0,
        "note": "two cancelling modes: pruning one raises the energy from 0 to 1"},
    "last-eq4": {
        "system": {"poles": [0j, 0j, 0j], "B": [[1.0], [1.0], [0.0]], "C": [[1.0, 1.0, 0.0]],
                   "pair": [False, False, False], "dt": 1.0},
        "pruned": [0, 1], "input": [[1.0], [1.0], [1.0]], "activation": "identity",
        "lhs": 8.0, "rhs": 6.0,
        "note": "two pruned kernels in phase: ‖G_1U + G_2U‖² = 8 > ‖G_1U‖² + ‖G_2U‖² = 4"},
    "last-eq8": {
        "system": {"poles": [0j, 0j], "B": [[1.0], [0.0]], "C": [[1.0, 0.0]], "D": [[1.0]],
                   "pair": [False, False], "dt": 1.0},
        "layer": 0, "unit": 0, "input": [[1.0]] * 8, "activation": "gelu",
        "lhs": 8.673798222880283, "rhs": 8.0,
        "note": "one layer, σ = GELU: the feed-through puts the operating point near x = √2 "
                "where GELU' ≈ 1.129 > 1"},
    "last-eq8-s5-block": {
        "system": {"poles": [0j, 0j], "B": [[1.0, 0.0], [0.0, 1.0]],
                   "C": [[0.1, 0.0], [0.0, 100.0]], "pair": [False, False], "dt": 1.0},
        "unit": 0, "input": [[1.0, 1.0]] * 6, "activation": "half_glu1",
        "W2": [[0.0, 1.0], [1.0, 0.0]],
        "note": "constructed (not found by search): S5 half_glu1 gate without norm/residual; "
                "the pruned unit (gain 0.1) feeds the gate of a channel of amplitude 100, so "
                "J is multiplied by about (100/4)² relative to the bound"},
}


def _system(data: dict[str, Any]) -> ModalSystem:
    return ModalSystem(np.array(data["poles"], dtype=complex), data["B"], data["C"],
                       data.get("D"), data["dt"], pair=data["pair"],
                       C_backward=data.get("C_backward"))


def evaluate_counterexample(c: Claim) -> tuple[float, float, float | None, float | None]:
    """(lhs, rhs) of the published form and (lhs, rhs) of the corrected one on the recorded
    counterexample of claim ``c`` (the corrected pair is None when no corrected inequality
    applies).  For the equality claims B.2 and eq. 9, rhs is the published value and the
    violation is reported as lhs > rhs or lhs < rhs through ``max``/``min`` ordering."""
    cex = c.counterexample
    if cex is None:
        raise ValueError(f"claim {c.id} has no counterexample")
    sys = _system(cex["system"])
    if c.id in ("aire-eq12",):
        exact, pub = sides_truncation(sys, "eq12_published")
        return exact, pub, exact, sides_truncation(sys, "eq12_real")[1]
    if c.id in ("aire-eq16-17", "aire-eq19", "aire-eq19-bidirectional"):
        exact, pub = sides_truncation(sys, "eq19_published")
        return exact, pub, exact, sides_truncation(sys, "eq19_real")[1]
    if c.id == "aire-B2-additivity":
        exact, additive = sides_energy_additivity(sys)
        # published: equality; violated since exact > additive.  Corrected: exact Gramian.
        return exact, additive, exact, float(h2_norm(error_system(sys, range(sys.nunits)))) ** 2
    if c.id == "aire-eq9":
        drop, estimate = sides_energy_drop(sys, cex["pruned"])
        # reported as "estimate ≤ drop" being violated (wrong sign); corrected: exact identity
        kept = [i for i in range(sys.nunits) if i not in cex["pruned"]]
        g_p = error_system(sys, cex["pruned"])
        cross = (float(h2_norm(sys.subsystem(range(sys.nunits)).__class__(
            sys.poles, sys.B, sys.C, None, sys.dt, pair=sys.pair))) ** 2
            - float(h2_norm(g_p)) ** 2 - float(h2_norm(error_system(sys, kept))) ** 2)
        exact_drop = float(h2_norm(g_p)) ** 2 + cross
        # corrected: the exact identity; returned as (|identity residual|, tolerance)
        return estimate, drop, abs(exact_drop - drop), 1e-12 * max(1.0, abs(drop))
    u = np.asarray(cex.get("input"), dtype=np.float64)
    if c.id == "last-eq4":
        lhs, pub = sides_last_eq4(sys, cex["pruned"], u, cex["activation"], "published")
        return lhs, pub, *sides_last_eq4(sys, cex["pruned"], u, cex["activation"], "corrected")
    if c.id == "last-eq8":
        lhs, pub = sides_last_eq8([sys], cex["layer"], cex["unit"], u, cex["activation"],
                                  "published")
        return lhs, pub, *sides_last_eq8([sys], cex["layer"], cex["unit"], u,
                                         cex["activation"], "corrected")
    if c.id == "last-eq8-s5-block":
        W2 = np.asarray(cex["W2"], dtype=np.float64)
        kept = [i for i in range(sys.nunits) if i != cex["unit"]]
        full = _net.s5_block(sys, u, variant="half_glu1", W2=W2, norm=False, residual=False)
        red = _net.s5_block(sys.subsystem(kept), u, variant="half_glu1", W2=W2, norm=False,
                            residual=False)
        lhs = float(np.sum((full - red) ** 2))
        gi = _hinf(error_system(sys, [cex["unit"]]))
        unorm2 = float(np.sum(u**2))
        g = np.concatenate([_net.gelu_tanh(_net.simulate(sys, u)),
                            _net.gelu_tanh(_net.simulate(sys.subsystem(kept), u))])
        local = _net.LIPSCHITZ["gelu_tanh"] * (1 + np.max(np.abs(g)) * np.linalg.norm(W2, 2) / 4)
        return lhs, gi**2 * unorm2, lhs, local**2 * gi**2 * unorm2
    raise ValueError(f"no evaluator for the counterexample of {c.id}")


CLAIMS = tuple(
    Claim(**{**c.__dict__, "counterexample": _COUNTEREXAMPLES.get(c.id)}) for c in CLAIMS
)
