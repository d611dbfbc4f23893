"""Error certificates for a reduction: every applicable bound next to the exact error.

:func:`certify` takes a stack of :class:`mor.ModalSystem` layers and a :class:`mor.KeepPlan`
and returns a :class:`CertificateReport`: per layer, the exact ``‖G − G_r‖∞`` and
``‖G − G_r‖₂``, each bound with its source, margin and whether it holds, and the papers'
additive energy estimate next to the exact H2 error; then a stack-level summary.

A bound is marked ``valid`` when it is proved for what the layer computes (conjugate
pairs, the factor 2 of ``2·Re(C x)``, bidirectional C); published forms that are not
proved for the layer at hand are still reported, marked ``valid = False``, so a reader can
see how far off they are.  ``holds`` is ``None`` (with a reason) whenever an exact norm
could not be computed: a certificate is never reported as holding without its check.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mor.exceptions import MORError, PlanMismatchError
from mor.norms import h2_norm, hankel_singular_values, hinf_norm
from mor.plan import KeepPlan
from mor.systems import ModalSystem
from verification import bounds as _b

__all__ = [
    "BoundResult",
    "CertificateError",
    "CertificateReport",
    "EnergyEstimate",
    "LayerCertificate",
    "certify",
    "error_system",
]


class CertificateError(MORError):
    """The inputs of :func:`certify` are not a stack of ModalSystem layers and a KeepPlan."""


@dataclass(frozen=True)
class BoundResult:
    """One bound on one layer's truncation error.

    Attributes
    ----------
    name, source : str
        Identifier and where it comes from (paper, equation).
    norm : {"hinf", "h2"}
        Which norm of ``G − G_r`` it bounds.
    value : float or None
        The bound's value (None when not applicable, see ``reason``).
    valid : bool
        Proved for what this layer computes.  Published forms that are not are still
        reported with ``valid = False``.
    holds : bool or None
        ``value ≥ exact`` up to ``rtol``; None when the exact norm is unknown.
    margin : float or None
        ``value − exact``.
    reason : str or None
        Why ``value`` or ``holds`` is None, or why the bound is not valid here.
    """

    name: str
    source: str
    norm: str
    value: float | None
    valid: bool
    holds: bool | None
    margin: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EnergyEstimate:
    """The additive energy estimate Σ_T E_i (aire-prune eq. 9) next to the exact values."""

    name: str
    source: str
    value: float
    exact_error_energy: float | None  # ‖G − G_r‖₂²
    exact_energy_drop: float | None  # ‖G‖₂² − ‖G_r‖₂² (strictly proper parts)
    relative_error: float | None  # (value − ‖G − G_r‖₂²)/‖G − G_r‖₂²


@dataclass(frozen=True)
class LayerCertificate:
    """Everything certified about one layer."""

    layer: int
    ratio: float | None
    nunits: int
    npruned: int
    exact_hinf: float | None
    exact_h2: float | None
    bounds: tuple[BoundResult, ...]
    estimates: tuple[EnergyEstimate, ...] = ()
    hinf_reason: str | None = None
    h2_reason: str | None = None
    notes: tuple[str, ...] = ()

    def bound(self, name: str) -> BoundResult:
        for b in self.bounds:
            if b.name == name:
                return b
        raise KeyError(f"layer {self.layer} has no bound {name!r}")


def _finite_or_none(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.floating | np.integer | np.bool_):
        obj = obj.item()
    return _finite_or_none(obj)


@dataclass(frozen=True)
class CertificateReport:
    """Per-layer certificates and a stack-level summary (see :func:`certify`)."""

    method: str
    kind: str
    ratio: float | None
    achieved_ratio: float
    layers: tuple[LayerCertificate, ...]
    rtol: float
    notes: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, Any]:
        """Stack-level facts: per bound, the layers where it is valid, fails, or is unknown."""
        per_bound: dict[str, dict[str, Any]] = {}
        for lc in self.layers:
            for b in lc.bounds:
                s = per_bound.setdefault(
                    b.name,
                    {"source": b.source, "norm": b.norm, "valid_layers": [], "failed_layers": [],
                     "unknown_layers": [], "worst_tightness": None},
                )
                if b.valid:
                    s["valid_layers"].append(lc.layer)
                if b.holds is False:
                    s["failed_layers"].append(lc.layer)
                elif b.holds is None and b.value is not None:
                    s["unknown_layers"].append(lc.layer)
                exact = lc.exact_hinf if b.norm == "hinf" else lc.exact_h2
                if b.value and exact is not None:
                    t = exact / b.value
                    if s["worst_tightness"] is None or t > s["worst_tightness"]:
                        s["worst_tightness"] = t
        hinf = [lc.exact_hinf for lc in self.layers if lc.exact_hinf is not None]
        return {
            "method": self.method,
            "kind": self.kind,
            "ratio": self.ratio,
            "achieved_ratio": self.achieved_ratio,
            "nlayers": len(self.layers),
            "nunits": sum(lc.nunits for lc in self.layers),
            "npruned": sum(lc.npruned for lc in self.layers),
            "max_exact_hinf": max(hinf) if hinf else None,
            "unknown_layers": [
                lc.layer for lc in self.layers if lc.exact_hinf is None or lc.exact_h2 is None
            ],
            "all_valid_bounds_hold": self.all_valid_bounds_hold,
            "bounds": per_bound,
        }

    @property
    def all_valid_bounds_hold(self) -> bool | None:
        """True if every valid bound holds; False if one fails; None if one is unknown."""
        states = [b.holds for lc in self.layers for b in lc.bounds if b.valid]
        if any(s is False for s in states):
            return False
        if any(s is None for s in states):
            return None
        return True

    def assert_valid_bounds_hold(self) -> None:
        """Raise AssertionError naming each valid bound that fails or is unknown (for tests)."""
        bad = [
            f"layer {lc.layer}: {b.name} = {b.value!r} vs exact "
            f"{lc.exact_hinf if b.norm == 'hinf' else lc.exact_h2!r} (holds={b.holds}, "
            f"{b.reason or ''})"
            for lc in self.layers
            for b in lc.bounds
            if b.valid and b.holds is not True
        ]
        if bad:
            raise AssertionError("valid bounds that do not hold:\n" + "\n".join(bad))

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"method", "kind", "ratio", ..., "layers": [...], "summary": {...}}``.

        Non-finite numbers become None (strict JSON).
        """
        layers = []
        for lc in self.layers:
            d = asdict(lc)
            d["bounds"] = [asdict(b) for b in lc.bounds]
            d["estimates"] = [asdict(e) for e in lc.estimates]
            layers.append(d)
        return _clean(
            {
                "method": self.method,
                "kind": self.kind,
                "ratio": self.ratio,
                "achieved_ratio": self.achieved_ratio,
                "rtol": self.rtol,
                "notes": list(self.notes),
                "layers": layers,
                "summary": self.summary(),
            }
        )

    def to_json(self, *, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    # ------------------------------------------------------------------ table
    def render(self) -> str:
        """The certificate as a plain-text table, one row per (layer, bound)."""
        head = (
            f"{'layer':>5} {'pruned':>9} {'bound':<26} {'norm':<4} {'bound value':>12} "
            f"{'exact':>12} {'exact/bound':>11} {'valid':<5} {'holds':<7}"
        )
        lines = [
            f"certificate: {self.method} ({self.kind}), ratio {self.ratio}, "
            f"achieved {self.achieved_ratio:.3f}",
            head,
            "-" * len(head),
        ]
        for lc in self.layers:
            pruned = f"{lc.npruned}/{lc.nunits}"
            for b in lc.bounds:
                exact = lc.exact_hinf if b.norm == "hinf" else lc.exact_h2
                tight = "" if not b.value or exact is None else f"{exact / b.value:.3g}"
                holds = "n/a" if b.value is None else {True: "yes", False: "NO",
                                                        None: "unknown"}[b.holds]
                lines.append(
                    f"{lc.layer:>5} {pruned:>9} {b.name:<26} {b.norm:<4} {_fmt(b.value):>12} "
                    f"{_fmt(exact):>12} {tight:>11} {'yes' if b.valid else 'no':<5} {holds:<7}"
                )
            for e in lc.estimates:
                lines.append(
                    f"{lc.layer:>5} {pruned:>9} {e.name:<26} {'h2²':<4} {_fmt(e.value):>12} "
                    f"{_fmt(e.exact_error_energy):>12} {'':>11} {'est.':<5} "
                    f"{'' if e.relative_error is None else f'{e.relative_error:+.2g}':<7}"
                )
            for reason in (lc.hinf_reason, lc.h2_reason):
                if reason:
                    lines.append(f"{'':>5} note: {reason}")
        s = self.summary()
        verdict = {True: "every valid bound holds", False: "A VALID BOUND FAILS",
                   None: "unknown (a norm computation failed)"}[s["all_valid_bounds_hold"]]
        lines.append(
            f"stack: {s['nlayers']} layer(s), pruned {s['npruned']}/{s['nunits']} units, "
            f"max exact H∞ error {_fmt(s['max_exact_hinf'])}; {verdict}"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.4e}"


# ---------------------------------------------------------------------- certify
def error_system(sys: ModalSystem, pruned: Sequence[int]) -> ModalSystem:
    """The exact truncation error ``G − G_r = Σ_{i∈pruned} G_i`` (last eq. 15–17), D = 0.

    Keeps the layer's pairing, time domain, backward C, pole logs and output convention.
    """
    idx = np.asarray(pruned, dtype=np.int64)
    return ModalSystem(
        sys.poles[idx],
        sys.B[idx],
        sys.C[:, idx],
        None,
        sys.dt,
        pair=sys.pair[idx],
        C_backward=None if sys.C_backward is None else sys.C_backward[:, idx],
        log_poles=None if sys.log_poles is None else sys.log_poles[idx],
        output_after_update=sys.output_after_update,
        name=f"{sys.name or 'layer'} (truncation error)",
    )


def _strictly_proper(sys: ModalSystem) -> ModalSystem:
    return error_system(sys, range(sys.nunits))


def _checked(fn, *args, **kwargs) -> tuple[float | None, str | None]:
    """Run a norm computation; (value, None) or (None, reason) when it fails or is not finite."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            value = float(fn(*args, **kwargs))
    except (MORError, np.linalg.LinAlgError, FloatingPointError, RuntimeWarning,
            ArithmeticError, RuntimeError) as err:  # RuntimeError: scipy non-convergence
        return None, f"{getattr(fn, '__name__', 'norm')} failed: {err}"
    if not math.isfinite(value):
        return None, f"{getattr(fn, '__name__', 'norm')} returned {value}"
    return value, None


def _result(name, source, norm, value, exact, exact_reason, *, valid, rtol, reason=None,
            atol=0.0):
    if value is None:
        return BoundResult(name, source, norm, None, valid, None, None, reason)
    if exact is None:
        return BoundResult(name, source, norm, value, valid, None, None,
                           f"exact {norm} norm unknown: {exact_reason}")
    holds = bool(value * (1.0 + rtol) + atol >= exact)
    return BoundResult(name, source, norm, value, valid, holds, value - exact, reason)


_SRC = {
    "modal_triangle": "aire-prune eq. 12-13; last eq. 5, 18 (each conjugate counted)",
    "aire_eq19": "aire-prune eq. 19 (B.5), per complex mode of the real layer",
    "aire_eq19_published": "aire-prune eq. 19 as published, per stored mode",
    "last_eq4_published": "last eq. 4 with sigma = identity, as published",
    "h2_triangle": "H2 triangle / Cauchy-Schwarz over complex modes (aire-prune eq. 8)",
    "balanced_2sigma": "Enns 1984; Al-Saggaf & Franklin 1987 (DT): 2 sum of tail HSVs",
    "aire_eq9": "aire-prune eq. 9 (additive energy, per stored mode)",
}


def _modal_layer(layer, ratio, sys, pruned, *, tol, rtol) -> LayerCertificate:
    n = sys.nunits
    if not pruned:
        zero = [
            BoundResult(name, _SRC[name], norm, 0.0, True, True, 0.0, None)
            for name, norm in (("modal_triangle", "hinf"), ("aire_eq19", "hinf"),
                               ("h2_triangle", "h2"))
        ]
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, tuple(zero),
                                notes=("nothing pruned: the error is zero",))
    err = error_system(sys, pruned)
    if _b.modal_triangle(err) == 0.0:
        # Every pruned unit has C_i B_i = 0: the error system is identically zero.
        exact_hinf, hinf_reason, exact_h2, h2_reason = 0.0, None, 0.0, None
    else:
        live = _b.drop_zero_units(err)  # exact: those units contribute nothing
        exact_hinf, hinf_reason = _checked(hinf_norm, live, tol=tol)
        if exact_hinf is None and not live.bidirectional:
            # the modal method did not converge: fall back to the reference, AB13DD
            exact_hinf, slicot_reason = _checked(hinf_norm, live, tol=tol, method="slicot")
            hinf_reason = None if exact_hinf is not None else f"{hinf_reason}; {slicot_reason}"
        exact_h2, h2_reason = _checked(h2_norm, live)
    proved = _b.published_form_is_proved(err)
    why_not = None if proved else (
        "as published this counts a conjugate pair once"
        + (" and averages the forward/backward |C|^2" if err.bidirectional else "")
        + "; not proved for this layer (see the claims catalogue)"
    )
    results = [
        _result("modal_triangle", _SRC["modal_triangle"], "hinf", _b.modal_triangle(err),
                exact_hinf, hinf_reason, valid=True, rtol=rtol),
        _result("aire_eq19", _SRC["aire_eq19"]
                + (" (CT analogue: kappa = max sqrt(2/|Re lambda|))" if err.isctime else ""),
                "hinf", _b.aire_certificate(err), exact_hinf, hinf_reason, valid=True, rtol=rtol),
    ]
    if err.isdtime:
        results.append(
            _result("aire_eq19_published", _SRC["aire_eq19_published"], "hinf",
                    _b.aire_certificate_published(err), exact_hinf, hinf_reason,
                    valid=proved, rtol=rtol, reason=why_not)
        )
    else:
        results.append(
            BoundResult("aire_eq19_published", _SRC["aire_eq19_published"], "hinf", None,
                        False, None, None,
                        "a discrete-time certificate; this layer is continuous time "
                        "(aire_eq19 reports the CT analogue)")
        )
    single = len(pruned) == 1 and proved
    results.append(
        _result("last_eq4_published", _SRC["last_eq4_published"], "hinf",
                _b.last_eq4_published(err), exact_hinf, hinf_reason, valid=single, rtol=rtol,
                reason=None if single else
                "sum of squared per-mode gains: not a bound once two pruned kernels add in "
                "phase (last B.2 squares the triangle inequality wrongly)")
    )
    results.append(
        _result("h2_triangle", _SRC["h2_triangle"], "h2", _b.h2_triangle(err), exact_h2,
                h2_reason, valid=True, rtol=rtol)
    )
    estimate = _b.energy_estimate_published(err)
    exact_energy = None if exact_h2 is None else exact_h2**2
    full_h2, _ = _checked(h2_norm, _strictly_proper(sys))
    kept = sorted(set(range(n)) - set(pruned))
    drop = None
    if kept:
        kept_h2, _ = _checked(h2_norm, error_system(sys, kept))
        if full_h2 is not None and kept_h2 is not None:
            drop = full_h2**2 - kept_h2**2
    elif full_h2 is not None:
        drop = full_h2**2
    rel = None if not exact_energy else (estimate - exact_energy) / exact_energy
    est = EnergyEstimate("aire_eq9_energy", _SRC["aire_eq9"], estimate, exact_energy, drop, rel)
    return LayerCertificate(layer, ratio, n, len(pruned), exact_hinf, exact_h2, tuple(results),
                            (est,), hinf_reason, h2_reason)


_BT_ROUND_OFF = 1e3  # multiples of eps·(2 Σ σ_i) below which a BT error is round-off


def _balanced_layer(layer, ratio, sys, order, *, tol, rtol) -> LayerCertificate:
    from mor.truncation import balanced_truncation

    if sys.bidirectional:
        raise PlanMismatchError(
            f"layer {layer}: balanced truncation needs a causal layer; this one is "
            "bidirectional (use a modal plan such as aire or last)"
        )
    full = sys.to_statespace()
    n = full.nstates
    notes: list[str] = []
    hsv, hsv_reason = None, None
    try:
        hsv = hankel_singular_values(full)
    except (MORError, np.linalg.LinAlgError) as err:
        hsv_reason = f"Hankel singular values failed: {err}"
    if order >= n:
        bound = BoundResult("balanced_2sigma", _SRC["balanced_2sigma"], "hinf", 0.0, True, True,
                            0.0, None)
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, (bound,),
                                notes=("nothing truncated: the error is zero",))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reduced = balanced_truncation(full, order)
        notes.extend(str(w.message) for w in caught)
    except MORError as err:
        reason = f"balanced truncation failed: {err}"
        bound = BoundResult("balanced_2sigma", _SRC["balanced_2sigma"], "hinf", None, True, None,
                            None, reason)
        return LayerCertificate(layer, ratio, n, n - order, None, None, (bound,),
                                hinf_reason=reason, h2_reason=reason)
    r = reduced.nstates
    err_ss = full - reduced
    exact_hinf, hinf_reason = _checked(hinf_norm, err_ss, tol=tol, method="slicot")
    exact_h2, h2_reason = _checked(h2_norm, err_ss)
    value = None if hsv is None else float(2.0 * np.sum(hsv[r:]))
    # G − G_r is a difference of two realisations: its norm is accurate only to about
    # eps·‖G‖∞ times a modest factor.  2 Σ σ_i ≥ ‖G − D‖∞ gives the scale.
    atol = 0.0 if hsv is None else _BT_ROUND_OFF * np.finfo(float).eps * 2.0 * float(np.sum(hsv))
    if exact_hinf is not None and exact_hinf <= atol:
        notes.append(f"exact H∞ error {exact_hinf:.3g} is at the round-off level {atol:.3g} of "
                     "the difference of two realisations")
    if exact_h2 is not None:
        notes.append("the exact H2 error of a difference of realisations is accurate to about "
                     "sqrt(eps)·‖G‖₂ (cancellation in the Gramian)")
    bound = _result("balanced_2sigma", _SRC["balanced_2sigma"], "hinf", value, exact_hinf,
                    hinf_reason, valid=True, rtol=rtol, reason=hsv_reason, atol=atol)
    return LayerCertificate(layer, ratio, n, n - r, exact_hinf, exact_h2, (bound,), (),
                            hinf_reason, h2_reason, tuple(notes))


def certify(
    systems: ModalSystem | Sequence[ModalSystem],
    plan: KeepPlan,
    *,
    tol: float = 1e-10,
    rtol: float = 1e-8,
) -> CertificateReport:
    """Certify a reduction: every applicable bound next to the exact error, per layer.

    Modal plans (aire, last, ...): the error of layer l is exactly the pruned units
    ``G − G_r = Σ_{i∈T} G_i`` (last eq. 15–17); its H∞ norm comes from
    :func:`mor.hinf_norm` (modal method) and its H2 norm from :func:`mor.h2_norm`.  Bounds
    reported: the modal triangle bound, AIRE's certificate (aire-prune eq. 19) for the real
    layer and as published, LAST's eq. 4 with σ = identity as published, and an H2
    triangle bound; the additive energy estimate Σ_T E_i (aire-prune eq. 9) is reported next
    to the exact ``‖G − G_r‖₂²`` and the exact energy drop ``‖G‖₂² − ‖G_r‖₂²``.

    Balanced plans (``plan.kind == "balanced"``): the error is ``G − G_bt`` of the real
    realisation and its balanced truncation (SLICOT AB09AD), H∞ by SLICOT AB13DD; the bound
    is ``2 Σ_{i>r} σ_i``.

    Parameters
    ----------
    systems : ModalSystem or sequence of ModalSystem
        The full layers the plan was made for.
    plan : KeepPlan
    tol : float
        Relative accuracy of the exact H∞ computations.
    rtol : float
        A bound holds when ``value·(1 + rtol) ≥ exact`` (floating-point slack for bounds
        that are attained, e.g. a single pruned real mode).

    Returns
    -------
    CertificateReport

    Raises
    ------
    CertificateError
        When ``systems`` are not ModalSystem layers or ``plan`` is not a KeepPlan.
    PlanMismatchError
        When the plan does not fit the systems (layer count, unit or state counts), or a
        balanced plan is given for a bidirectional layer.

    Examples
    --------
    >>> import mor
    >>> s = mor.ModalSystem([0.5, -0.9], [[1.0], [1.0]], [[1.0, 0.1]], dt=1)
    >>> report = certify(s, mor.prune([s], "aire", ratio=0.5))
    >>> report.all_valid_bounds_hold
    True
    """
    if isinstance(systems, ModalSystem):
        systems = [systems]
    systems = list(systems)
    if not systems:
        raise CertificateError("no systems given; pass a ModalSystem or a list of them")
    for i, s in enumerate(systems):
        if not isinstance(s, ModalSystem):
            raise CertificateError(
                f"layer {i} is a {type(s).__name__}; expected mor.ModalSystem (convert a "
                "StateSpace with ModalSystem.from_statespace)"
            )
    if not isinstance(plan, KeepPlan):
        raise CertificateError(f"plan is a {type(plan).__name__}; expected mor.KeepPlan")
    if not (0 < tol < 1) or not (0 <= rtol < 1):
        raise CertificateError(
            f"tol = {tol!r}, rtol = {rtol!r}; expected 0 < tol < 1 and 0 ≤ rtol < 1"
        )
    plan.check_fits(systems)
    layers = []
    for layer, (sys, keep, pruned) in enumerate(zip(systems, plan.keep, plan.pruned, strict=True)):
        if plan.kind == "balanced":
            layers.append(_balanced_layer(layer, plan.ratio, sys, len(keep), tol=tol, rtol=rtol))
        else:
            layers.append(_modal_layer(layer, plan.ratio, sys, list(pruned), tol=tol, rtol=rtol))
    return CertificateReport(plan.method, plan.kind, plan.ratio, plan.achieved_ratio,
                             tuple(layers), rtol)
