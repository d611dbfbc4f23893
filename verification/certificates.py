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

Layers with units that are not strictly stable (``allow_unstable=True``, e.g. a network
trained without ``clip_eigs``): selection keeps those units, so the truncation error
``Σ_{i∈T} G_i`` of a modal plan is stable and certified as usual, with a note that the
layer's own norm (and the energy drop) is infinite.  When a plan prunes such a unit (e.g.
``compat="released"``, which scores it finitely as the released code does), the error has no
finite norm and every bound of that layer reports ``holds = None`` with the reason.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from mor.exceptions import MORError
from mor.io import json_safe
from mor.norms import h2_norm, hinf_norm
from mor.plan import BalancedPlan, KeepPlan
from mor.systems import ModalSystem
from mor.truncation import error_system
from verification import bounds as _b

__all__ = ["BoundResult", "CertificateError", "CertificateReport", "EnergyEstimate",
           "LayerCertificate", "certify", "certify_many"]


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
        return json_safe(
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
                # an estimate proves nothing: "holds" is n/a; exact/estimate sits where the
                # bounds show exact/bound (its relative error is in the JSON report)
                ratio = ("" if not e.value or e.exact_error_energy is None
                         else f"{e.exact_error_energy / e.value:.3g}")
                lines.append(
                    f"{lc.layer:>5} {pruned:>9} {e.name:<26} {'h2²':<4} {_fmt(e.value):>12} "
                    f"{_fmt(e.exact_error_energy):>12} {ratio:>11} {'est.':<5} {'n/a':<7}"
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
class CertificateError(MORError):
    """The inputs of :func:`certify` are not a stack of ModalSystem layers and a KeepPlan."""


def _strictly_proper(sys: ModalSystem) -> ModalSystem:
    """``G − D``: the error of keeping no unit (:func:`mor.truncation.error_system`)."""
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


def _unconditional(value, holds, margin, reason) -> tuple[BoundResult, ...]:
    """The registry's unconditional modal bounds, all with the same outcome."""
    return tuple(BoundResult(b.name, b.source, b.norm, value, True, holds, margin, reason)
                 for b in _b.bounds_for("modal") if b.unconditional)


def _unstable_pruned_layer(layer, ratio, sys, pruned) -> LayerCertificate:
    """A layer whose plan prunes a unit that is not strictly stable: no finite error norm."""
    bad = [i for i in pruned if sys.unstable[i]]
    reason = (f"the plan prunes unit(s) {bad[:8]} that are not strictly stable (e.g. pole "
              f"{sys.poles[bad[0]]:.6g}): the truncation error has no finite H∞ or H2 norm, "
              "so no bound can hold; keep those units (the toolkit's default selection does)")
    return LayerCertificate(layer, ratio, sys.nunits, len(pruned), None, None,
                            _unconditional(None, None, None, reason),
                            hinf_reason=reason, h2_reason=reason)


def _silent_units(sys: ModalSystem) -> np.ndarray:
    """Per unit, True when it contributes exactly nothing to G (an exact test, no norms).

    That is ``B_i = 0``, or ``C_i = 0`` (and ``C_b,i = 0``), or a pair unit on the real
    axis whose residues have zero real part (``2·Re(C_i B_i)/(z − λ_i)`` vanishes).  The real
    part is tested as ``Re c·Re b == Im c·Im b`` on the rounded products (equal whenever the
    exact ones are): ``np.real`` of a complex product may come from a fused multiply-add and
    leave 1e-17 of an exact zero, depending on the CPU (as in ``mor._hinf_modal``).
    """
    outputs = sys.C if sys.C_backward is None else np.concatenate([sys.C, sys.C_backward])
    silent = ~np.any(sys.B != 0, axis=1) | ~np.any(outputs != 0, axis=0)
    for i in np.flatnonzero(sys.pair & (sys.poles.imag == 0) & ~silent):
        c, b = outputs[:, i], sys.B[i]
        silent[i] = not np.any(np.outer(c.real, b.real) != np.outer(c.imag, b.imag))
    return silent


def _unit_scaled(err: ModalSystem) -> tuple[ModalSystem, int]:
    """``(G_u, e)`` with ``G = 2^e·G_u`` and every unit of ``G_u`` of unit size.

    Each unit is balanced (``B_i·2^t``, ``C_i·2^−t``: the same transfer function and the
    same ``‖C_i‖‖B_i‖``), then B and C are scaled by powers of two to entries below 1.
    Every norm and bound here is homogeneous of degree one in that scale, so they are
    computed on ``G_u`` and multiplied back: ``‖C_i‖·‖B_i‖`` of 1e-170 × 1e20 (true error
    1e-150) underflowed to 0 in ``np.linalg.norm``, and the error was reported as exactly 0
    with every bound holding.
    """
    outputs = err.C if err.C_backward is None else np.concatenate([err.C, err.C_backward])
    e_b = np.frexp(np.max(np.abs(err.B), axis=1))[1]
    e_c = np.frexp(np.max(np.abs(outputs), axis=0))[1]
    shift = ((e_c - e_b) // 2).astype(np.int64)
    B, C = _ldexp(err.B, shift[:, None]), _ldexp(err.C, -shift[None, :])
    Cb = None if err.C_backward is None else _ldexp(err.C_backward, -shift[None, :])
    b_exp = _exponent(B)
    c_exp = _exponent(C if Cb is None else np.concatenate([C, Cb]))
    unit = ModalSystem(
        err.poles, _ldexp(B, -b_exp), _ldexp(C, -c_exp), None, err.dt, pair=err.pair,
        C_backward=None if Cb is None else _ldexp(Cb, -c_exp), log_poles=err.log_poles,
        output_after_update=err.output_after_update, name=err.name,
    )
    return unit, b_exp + c_exp


def _exponent(x: np.ndarray) -> int:
    big = float(np.max(np.abs(x))) if x.size else 0.0
    return math.frexp(big)[1] if big > 0 else 0


def _ldexp(x: np.ndarray, e) -> np.ndarray:
    """x · 2^e exactly, real and imaginary parts separately (e an int or an int array)."""
    return np.ldexp(x.real, e) + 1j * np.ldexp(x.imag, e)


def _scaled(x: float | None, e: int, degree: int = 1) -> float | None:
    """``x·2^(degree·e)``; ±inf or 0 beyond float64's range (then noted in the report)."""
    if x is None:
        return None
    with np.errstate(over="ignore", under="ignore"):
        return float(np.ldexp(x, degree * e))


def _rescaled_bound(b: BoundResult, e: int) -> BoundResult:
    return replace(b, value=_scaled(b.value, e), margin=_scaled(b.margin, e))


def _computed_or_none(value, reason, label):
    """A norm computed as exactly 0 for a system that is not identically 0 was not computed."""
    if value == 0.0:
        return None, (f"{label} computed as 0 for an error system that is not identically zero "
                      "(its modes cancel below float64's resolution)")
    return value, reason


def _unrepresentable(b: BoundResult) -> BoundResult:
    """A bound whose value is 0 or not finite for a non-zero error was not computed."""
    if b.value is None or (math.isfinite(b.value) and b.value > 0.0):
        return b
    return replace(b, holds=None, margin=None,
                   reason=f"the bound evaluated to {b.value!r} for a non-zero error system "
                          "(outside float64's range); not checked")


def _modal_layer(layer, ratio, sys, pruned, *, tol, rtol, norms=None) -> LayerCertificate:
    """The certificate of a modal plan's layer: every registry bound next to the exact error."""
    n = sys.nunits
    if any(sys.unstable[i] for i in pruned):
        return _unstable_pruned_layer(layer, ratio, sys, pruned)
    if not pruned:
        return LayerCertificate(layer, ratio, n, 0, 0.0, 0.0, _unconditional(0.0, True, 0.0, None),
                                notes=("nothing pruned: the error is zero",))
    # Everything below is computed on the error scaled to unit size (G = 2^e·G_u) and
    # multiplied back, so that no norm of it under- or overflows (_unit_scaled).
    err, e = _unit_scaled(error_system(sys, pruned))
    silent = _silent_units(err)
    exact, reasons, notes = _exact_error_norms(err, silent, pruned, e, tol=tol, norms=norms)
    if not sys.is_stable:
        notes.insert(0, f"unit(s) {sys.unstable_units.tolist()[:8]} of this layer are not "
                     "strictly stable and are kept: the error of the pruned (stable) units is "
                     "certified, but the layer's own H∞ / H2 norm and the energy drop are "
                     "infinite")
    results = [_modal_bound(b, err, exact, reasons, rtol) for b in _b.bounds_for("modal")]
    if not bool(np.all(silent)):
        results = [_unrepresentable(b) for b in results]
    results = [_rescaled_bound(b, e) for b in results]
    estimate = _energy_estimate(sys, err, pruned, exact["h2"], e, norms)
    return LayerCertificate(layer, ratio, n, len(pruned), _scaled(exact["hinf"], e),
                            _scaled(exact["h2"], e), tuple(results), (estimate,),
                            reasons["hinf"], reasons["h2"], tuple(notes))


def _modal_bound(bound: _b.Bound, err: ModalSystem, exact: dict, reasons: dict,
                 rtol: float) -> BoundResult:
    """One registry bound on the (unit-scaled) error system ``err``."""
    source = bound.source_for(err)
    why_not = bound.inapplicable(err)
    if why_not is not None:
        return BoundResult(bound.name, source, bound.norm, None, False, None, None, why_not)
    unproved = bound.unproved(err)
    return _result(bound.name, source, bound.norm, bound.evaluate(err), exact[bound.norm],
                   reasons[bound.norm], valid=unproved is None, rtol=rtol, reason=unproved)


def _exact_error_norms(err, silent, pruned, e, *, tol, norms):
    """({"hinf", "h2"} → exact norm of the unit-scaled error or None, the same → reason,
    notes): both 0 when every pruned unit is silent (exact)."""
    notes: list[str] = []
    if np.all(silent):
        # Every pruned unit has C_i B_i = 0 (an exact test): the error is identically zero.
        return {"hinf": 0.0, "h2": 0.0}, {"hinf": None, "h2": None}, notes
    live = err.subsystem(np.flatnonzero(~silent))  # exact: the others contribute nothing
    # mor.hinf_norm falls back to AB13DD where the modal method fails
    exact_hinf, hinf_reason = _checked(hinf_norm if norms is None else norms.hinf, live,
                                       tol=tol)
    exact_hinf, hinf_reason = _computed_or_none(exact_hinf, hinf_reason, "the H∞ norm")
    if norms is None:
        exact_h2, h2_reason = _checked(h2_norm, live)
    else:  # the units of live, and its scale 2^−e
        exact_h2, h2_reason = norms.h2(live, np.asarray(pruned)[~silent], -e)
    exact_h2, h2_reason = _computed_or_none(exact_h2, h2_reason, "the H2 norm")
    if e:
        where = f" (values for the error scaled by 2^{-e})"
        hinf_reason = hinf_reason and hinf_reason + where
        h2_reason = h2_reason and h2_reason + where
    for label, x in (("H∞", exact_hinf), ("H2", exact_h2)):
        if x is not None and not (0.0 < _scaled(x, e) < math.inf):
            notes.append(f"the exact {label} error {x!r}·2^{e} is outside float64's range; "
                         "the bounds were checked on the error scaled by 2^-e")
    return {"hinf": exact_hinf, "h2": exact_h2}, {"hinf": hinf_reason, "h2": h2_reason}, notes


def _energy_estimate(sys, err, pruned, exact_h2, e, norms) -> EnergyEstimate:
    """Σ_T E_i (aire-prune eq. 9) next to the exact ‖G − G_r‖₂² and energy drop."""
    n = sys.nunits
    estimate = _b.energy_estimate_published(err)
    exact_energy = None if exact_h2 is None else exact_h2**2
    full_h2, _ = _checked(h2_norm, _strictly_proper(sys)) if norms is None else norms.full_h2()
    kept = sorted(set(range(n)) - set(pruned))
    drop = None
    if kept:
        # the kept units' G_r − D: error_system of a set of units is that set's part
        if norms is None:
            kept_h2, _ = _checked(h2_norm, error_system(sys, kept))
        else:
            kept_h2, _ = norms.h2(lambda: error_system(sys, kept), kept, 0)
        if full_h2 is not None and kept_h2 is not None:
            drop = full_h2**2 - kept_h2**2
    elif full_h2 is not None:
        drop = full_h2**2
    rel = None if not exact_energy else (estimate - exact_energy) / exact_energy
    return EnergyEstimate("aire_eq9_energy", _b.ENERGY_ESTIMATE_SOURCE, _scaled(estimate, e, 2),
                          _scaled(exact_energy, e, 2), drop, rel)


def certify(
    systems: ModalSystem | Sequence[ModalSystem],
    plan: KeepPlan | BalancedPlan,
    *,
    tol: float = 1e-10,
    rtol: float = 1e-8,
    calibration: Sequence[Any] | None = None,
) -> CertificateReport:
    """Certify a reduction: every applicable bound next to the exact error, per layer.

    Modal plans (aire, last, ...): the error of layer l is exactly the pruned units
    ``G − G_r = Σ_{i∈T} G_i`` (last eq. 15–17); its H∞ norm comes from
    :func:`mor.hinf_norm` (modal method) and its H2 norm from :func:`mor.h2_norm`.  Bounds
    reported: the modal triangle bound, AIRE's certificate (aire-prune eq. 19) for the real
    layer and as published, LAST's eq. 4 with σ = identity as published, and an H2
    triangle bound; the additive energy estimate Σ_T E_i (aire-prune eq. 9) is reported next
    to the exact ``‖G − G_r‖₂²`` and the exact energy drop ``‖G‖₂² − ‖G_r‖₂²``.

    Each modal bound comes from the registry :data:`verification.bounds.BOUNDS`.

    Balanced plans (:class:`mor.plan.BalancedPlan`): the error is ``G − G_bt`` of the real
    realisation and its balanced truncation (SLICOT AB09AD), H∞ by SLICOT AB13DD; the bound
    is ``2 Σ_{i>r} σ_i``.  S5/S4D layers (``output_after_update``, one or two directions)
    are reduced as ``KeepPlan.apply`` reduces them, keeping the diagonal structure
    (:mod:`verification.balanced_layers`): bound ``2 Σ σ`` of the after-update triple, or
    the bidirectional certificate.

    Parameters
    ----------
    systems : ModalSystem or sequence of ModalSystem
        The full layers the plan was made for.
    plan : KeepPlan or BalancedPlan
    tol : float
        Relative accuracy of the exact H∞ computations.
    rtol : float
        A bound holds when ``value·(1 + rtol) ≥ exact`` (floating-point slack for bounds
        that are attained, e.g. a single pruned real mode).
    calibration : sequence of mor.calibrated.LayerMoments, optional
        Needed by ``balanced_truncation_calibrated`` plans (their reduction depends on it):
        the exact error is reported; calibrated balancing has no a-priori bound.

    Returns
    -------
    CertificateReport

    Raises
    ------
    CertificateError
        When ``systems`` are not ModalSystem layers or ``plan`` is not a plan.
    PlanMismatchError
        When the plan does not fit the systems (layer count, unit or state counts), or a
        balanced plan is given for a bidirectional layer in standard form (S5/S4D layers,
        ``output_after_update``, are certified in both directions).

    Warns
    -----
    UserWarning
        The warnings of a balanced reduction (e.g. an order above the minimal one) are
        passed on, and kept in the layer's ``notes``.

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
    if not isinstance(plan, KeepPlan | BalancedPlan):
        raise CertificateError(f"plan is a {type(plan).__name__}; expected mor.KeepPlan or "
                               "mor.plan.BalancedPlan")
    _check_arguments(systems, tol, rtol)
    plan.check_fits(systems)
    calibrated = plan.kind == "balanced" and plan.method == "balanced_truncation_calibrated"
    if calibrated and (calibration is None or len(calibration) != len(systems)):
        raise CertificateError(
            "a balanced_truncation_calibrated plan is certified with its calibration: pass "
            "calibration= (one mor.calibrated.LayerMoments per layer)"
        )
    layers = [_layer_certificate(plan, layer, sys, tol=tol, rtol=rtol,
                                 moments=calibration[layer] if calibrated else None)
              for layer, sys in enumerate(systems)]
    return CertificateReport(plan.method, plan.kind, plan.ratio, plan.achieved_ratio,
                             tuple(layers), rtol)


def _layer_certificate(plan, layer: int, sys: ModalSystem, *, tol: float, rtol: float,
                       moments=None) -> LayerCertificate:
    """Layer ``layer``'s certificate under ``plan`` (``moments``: a calibrated plan's)."""
    if plan.kind == "modal":
        return _modal_layer(layer, plan.ratio, sys, list(plan.pruned[layer]), tol=tol,
                            rtol=rtol)
    from verification.balanced_layers import balanced_layer, calibrated_balanced_layer

    order = plan.kept_counts[layer]
    if moments is not None:
        return calibrated_balanced_layer(layer, plan.ratio, sys, order, moments, tol=tol)
    return balanced_layer(layer, plan.ratio, sys, order, tol=tol, rtol=rtol)


# ---------------------------------------------------------------------- many plans at once
class _LayerNorms:
    """What the certificates of one layer share across plans (:func:`certify_many`).

    H2: the units are ordered by when the plans prune them (smallest pruned set first), so
    that nested pruned sets are leading sets and their kept parts trailing ones; every such
    H2 norm (error, kept part, whole layer) comes from two Cholesky factors of the layer's
    Gramian (:mod:`verification._subset_h2`), anything else (or a value not resolved above
    round-off) from :func:`mor.h2_norm`.  H∞: each exact error is computed with the peak
    frequencies of the layer's earlier error systems as extra screening candidates: over
    nested ratios the peaks often stay (a warm start; the value is certified by the
    level-set test either way, so it does not depend on the hints).
    """

    def __init__(self, sys: ModalSystem, pruned_sets: Sequence[Sequence[int]] = ()) -> None:
        self._sys = sys
        self._full_h2: tuple[float | None, str | None] | None = None
        self._peaks: list[float] = []
        first = {}
        for rank, pruned in enumerate(sorted(pruned_sets, key=len)):
            for u in pruned:
                first.setdefault(int(u), rank)
        order = sorted(range(sys.nunits), key=lambda u: (first.get(u, len(pruned_sets)), u))
        # a layer holding units that are not strictly stable has no Gramian: mor.h2_norm
        self._subsets = order if sys.is_stable else None

    def h2(self, system, units, exponent: int) -> tuple[float | None, str | None]:
        """(H2 norm of the units' error system · 2^exponent, reason); ``system`` (or a
        callable making it) is what :func:`mor.h2_norm` gets when the factors cannot serve."""
        if isinstance(self._subsets, list):
            from verification._subset_h2 import SubsetH2

            self._subsets = SubsetH2(self._sys, self._subsets)
        value = None if self._subsets is None else self._subsets.value(units, exponent)
        if value is not None and math.isfinite(value):
            return value, None
        return _checked(h2_norm, system() if callable(system) else system)

    def full_h2(self) -> tuple[float | None, str | None]:
        if self._full_h2 is None:
            self._full_h2 = self.h2(lambda: _strictly_proper(self._sys),
                                    range(self._sys.nunits), 0)
        return self._full_h2

    def hinf(self, live: ModalSystem, *, tol: float) -> float:
        if not live.is_stable:
            return hinf_norm(live, tol=tol)  # raises the norm's own error
        from mor.norms import modal_hinf_with_fallback

        value, peak = modal_hinf_with_fallback(live, tol=tol, hints=self._peaks[-2:])
        if math.isfinite(peak):
            self._peaks.append(peak)
        return value


def _modal_layer_across_plans(layer: int, sys: ModalSystem, cases, tol: float,
                              rtol: float) -> list[tuple[int, LayerCertificate]]:
    """One layer's certificates for several modal plans, smallest pruned set first."""
    norms = _LayerNorms(sys, [pruned for _, _, pruned in cases])
    order = sorted(range(len(cases)), key=lambda k: len(cases[k][2]))
    return [(cases[k][0], _modal_layer(layer, cases[k][1], sys, list(cases[k][2]), tol=tol,
                                       rtol=rtol, norms=norms))
            for k in order]


def certify_many(
    systems: ModalSystem | Sequence[ModalSystem],
    plans: Sequence[KeepPlan],
    *,
    tol: float = 1e-10,
    rtol: float = 1e-8,
    processes: int = 1,
) -> list[CertificateReport]:
    """:func:`certify` for several plans of the same layers (e.g. one method at many ratios).

    The result equals ``[certify(systems, plan, tol=tol, rtol=rtol) for plan in plans]`` up
    to round-off, but modal plans share per-layer work: the layer's own H2 norm is computed
    once, and each exact H∞ error is warm-started from the peaks of the same layer's other
    error systems.  With ``processes > 1`` the layers are certified in that many worker
    processes (started by a fork server, or spawned: never forked from a process that may
    run JAX's threads).  Balanced plans
    are certified one by one, as :func:`certify` does (a calibrated one needs
    :func:`certify`'s ``calibration=`` and is refused here).

    Parameters
    ----------
    systems : ModalSystem or sequence of ModalSystem
    plans : sequence of KeepPlan
    tol, rtol : float
        As for :func:`certify`.
    processes : int
        Worker processes for the layers (default 1: none).

    Returns
    -------
    list of CertificateReport, one per plan, in order.

    Raises
    ------
    CertificateError, PlanMismatchError
        As :func:`certify`, for any of the plans; also for ``processes < 1``.
    """
    if isinstance(systems, ModalSystem):
        systems = [systems]
    systems = list(systems)
    plans = list(plans)
    if not isinstance(processes, int) or processes < 1:
        raise CertificateError(f"processes = {processes!r}; expected a positive integer")
    modal = [k for k, plan in enumerate(plans)
             if isinstance(plan, KeepPlan) and plan.kind != "balanced"]
    reports: dict[int, CertificateReport] = {}
    for k, plan in enumerate(plans):  # balanced plans (and anything certify refuses)
        if k not in modal:
            reports[k] = certify(systems, plan, tol=tol, rtol=rtol)
    if modal:
        _check_many(systems, [plans[k] for k in modal], tol, rtol)
        jobs = [(layer, sys, [(k, plans[k].ratio, plans[k].pruned[layer]) for k in modal], tol,
                 rtol) for layer, sys in enumerate(systems)]
        per_layer = _run_layers(jobs, processes)
        for k in modal:
            layers = tuple(dict(done)[k] for done in per_layer)
            reports[k] = CertificateReport(plans[k].method, plans[k].kind, plans[k].ratio,
                                           plans[k].achieved_ratio, layers, rtol)
    return [reports[k] for k in range(len(plans))]


def _check_arguments(systems: list, tol: float, rtol: float) -> None:
    """Layers that are modal systems, and tolerances in range (:func:`certify`'s checks)."""
    if not systems:
        raise CertificateError("no systems given; pass a ModalSystem or a list of them")
    for i, s in enumerate(systems):
        if not isinstance(s, ModalSystem):
            raise CertificateError(
                f"layer {i} is a {type(s).__name__}; expected mor.ModalSystem (convert a "
                "StateSpace with ModalSystem.from_statespace)"
            )
    if not (0 < tol < 1) or not (0 <= rtol < 1):
        raise CertificateError(
            f"tol = {tol!r}, rtol = {rtol!r}; expected 0 < tol < 1 and 0 ≤ rtol < 1"
        )


def _check_many(systems: list, plans: list[KeepPlan], tol: float, rtol: float) -> None:
    """The checks of :func:`certify`, for every plan."""
    _check_arguments(systems, tol, rtol)
    for plan in plans:
        plan.check_fits(systems)


def _run_layers(jobs: list, processes: int) -> list:
    """``_modal_layer_across_plans`` for each job, in worker processes when asked to."""
    import multiprocessing

    workers = min(processes, len(jobs))
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        # Not "fork": a forked child of a process running JAX's (or BLAS's) threads can
        # deadlock; the fork server starts workers from a clean, single-threaded process.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods
                                              else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(_modal_layer_across_plans, *zip(*jobs, strict=True)))
    return [_modal_layer_across_plans(*job) for job in jobs]
