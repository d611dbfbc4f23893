"""Selection over a stack of layers: method name + ratio / threshold / budget → KeepPlan.

Methods (MATH.md §3), all with unit (mode or conjugate pair) granularity:

==================== ================ ===================================================
method               local score      across layers
==================== ================ ===================================================
aire                 energy           prefix-normalised, one global threshold (aire-prune eq. 11)
last                 hinf             prefix-normalised, one global threshold (last eq. 9)
global_hinf          hinf             raw, one global threshold
uniform_hinf         hinf             the same ratio in every layer
global_energy        energy           raw, one global threshold
uniform_energy       energy           the same ratio in every layer
global_magnitude     magnitude        raw, one global threshold
uniform_magnitude    magnitude        the same ratio in every layer
lamp                 magnitude²       prefix-normalised (Lee et al. 2021, last D.2)
random               seeded uniform   one global draw
balanced_truncation  Hankel s.v.      the same ratio of states in every layer (a baseline
                                      that changes the basis)
==================== ================ ===================================================

Ratio p keeps ``K = N − round(p·N)`` of the N units of the stack, and never fewer than one
unit per layer (so p = 1 keeps one unit per layer, as in both papers).  Exactly K units
are kept: ties are broken by rank within the layer (index order), then by layer (the
papers' "score ≥ τ" rule keeps extra units on ties).

Units that are not strictly stable (layers built with ``allow_unstable=True``) have no
finite energy or H∞ score: every method scores them +∞ and keeps them, beyond K if need
be, and an :class:`~mor.exceptions.UnstableModeWarning` names the layer and the units.
Balanced truncation reduces the stable part of such a layer only.

``compat="released"`` reproduces the kept sets of the released LAST and AIRE-Prune code
instead (:func:`prune`, Notes).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mor import scores as _scores
from mor.balanced_selection import balanced_plan
from mor.budgets import tolerance_keep
from mor.calibrated import CALIBRATED_METHODS
from mor.exceptions import EmptySystemError, RatioError, UnknownMethodError, UnstableModeWarning
from mor.plan import KeepPlan, modal_layers
from mor.systems import ModalSystem

__all__ = [
    "COMPAT_MODES",
    "MAX_RATIOS",
    "METHODS",
    "METHOD_KINDS",
    "MODAL_METHODS",
    "SelectionMethod",
    "check_methods",
    "check_ratio",
    "check_ratios",
    "keep_plan",
    "kept_count",
    "method_kind",
    "prune",
]

COMPAT_MODES: tuple[str, ...] = ("released",)
"""Values of ``prune(..., compat=...)`` besides None (the toolkit's own rules)."""

MAX_RATIOS = 1001
"""Most ratios in one sweep (a grid 0:1:0.001); each ratio is one more model per method."""


@dataclass(frozen=True)
class SelectionMethod:
    """How a method scores units and compares them across layers.

    ``kind`` is ``"modal"`` (the plan keeps a subset of the modes: a :class:`KeepPlan`) or
    ``"balanced"`` (the plan keeps an order of a change of basis: a ``BalancedPlan``).
    """

    name: str
    score: Callable[[ModalSystem], np.ndarray] | None
    across: str  # "prefix" | "global" | "uniform" | "random" | "balanced" (orders per layer)
    description: str
    kind: str = "modal"


def _magnitude_squared(sys: ModalSystem) -> np.ndarray:
    return _scores.magnitude(sys) ** 2


_REGISTRY: dict[str, SelectionMethod] = {
    m.name: m
    for m in [
        SelectionMethod("aire", _scores.energy, "prefix", "AIRE-Prune: prefix-normalised energy"),
        SelectionMethod("last", _scores.hinf, "prefix", "LAST: prefix-normalised H∞ score"),
        SelectionMethod("global_hinf", _scores.hinf, "global", "raw H∞ score, global"),
        SelectionMethod("uniform_hinf", _scores.hinf, "uniform", "H∞ score, same ratio per layer"),
        SelectionMethod("global_energy", _scores.energy, "global", "raw energy, global"),
        SelectionMethod(
            "uniform_energy", _scores.energy, "uniform", "energy, same ratio per layer"
        ),
        SelectionMethod("global_magnitude", _scores.magnitude, "global", "raw magnitude, global"),
        SelectionMethod(
            "uniform_magnitude", _scores.magnitude, "uniform", "magnitude, same ratio per layer"
        ),
        SelectionMethod("lamp", _magnitude_squared, "prefix", "LAMP: prefix-normalised magnitude²"),
        SelectionMethod("random", None, "random", "seeded uniformly random units"),
        SelectionMethod(
            "balanced_truncation", None, "balanced", "balanced truncation per layer (baseline)",
            kind="balanced",
        ),
    ]
}

METHODS: tuple[str, ...] = tuple(_REGISTRY)
"""Names of every selection method, in the order of MATH.md §3."""

METHOD_KINDS: dict[str, str] = {
    **{m.name: m.kind for m in _REGISTRY.values()},
    # a calibrated method is its base method with scores or Gramians measured on data
    **{name: _REGISTRY[name.removesuffix("_calibrated")].kind for name in CALIBRATED_METHODS},
}
"""Every method name, the calibrated ones included → ``"modal"`` or ``"balanced"``.

The one source of which methods keep modes (a :class:`KeepPlan`) and which change the
basis (a ``BalancedPlan``)."""

MODAL_METHODS: tuple[str, ...] = tuple(n for n, k in METHOD_KINDS.items() if k == "modal")
"""Names of the methods whose plans keep a subset of the modes (calibrated ones included)."""


def get_method(name: str) -> SelectionMethod:
    """The registered :class:`SelectionMethod` called ``name`` (UnknownMethodError if none)."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownMethodError(
            f"unknown method {name!r}; choose one of {', '.join(METHODS)}"
        ) from None


def method_kind(name: str) -> str:
    """``"modal"`` or ``"balanced"``: the kind of plan method ``name`` makes.

    Parameters
    ----------
    name : str
        A key of :data:`METHOD_KINDS` (calibrated methods included).

    Returns
    -------
    str

    Raises
    ------
    UnknownMethodError
        (an :class:`~mor.exceptions.ArgumentError`) for any other name, listing the valid ones.
    """
    try:
        return METHOD_KINDS[name]
    except (KeyError, TypeError):
        raise UnknownMethodError(
            f"unknown method {name!r}; choose from {', '.join(METHOD_KINDS)}") from None


def check_methods(
    methods: str | Sequence[str], *, kinds: Sequence[str] | None = None
) -> list[str]:
    """Method names validated, in the order given, without repeats.

    Parameters
    ----------
    methods : str or sequence of str
        ``"all"`` (every method of :data:`METHODS` of the allowed kinds; the calibrated
        ones need data and are named explicitly), ``"a,b"`` or a sequence of names.
    kinds : sequence of {"modal", "balanced"}, optional
        The kinds of method accepted (default: both).

    Returns
    -------
    list of str

    Raises
    ------
    UnknownMethodError
        (an :class:`~mor.exceptions.ArgumentError`) for no name, an unknown name or a name
        of another kind; the message lists the valid names.
    """
    allowed = tuple(kinds) if kinds is not None else ("modal", "balanced")
    valid = [m for m, k in METHOD_KINDS.items() if k in allowed]
    if isinstance(methods, str):
        methods = [m for m in METHODS if m in valid] if methods == "all" else [
            m.strip() for m in methods.split(",") if m.strip()]
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in valid]
    if unknown or not methods:
        plain = [m for m in valid if m not in CALIBRATED_METHODS]
        calibrated = [m for m in valid if m in CALIBRATED_METHODS]
        raise UnknownMethodError(
            f"unknown method(s) {unknown or methods}; choose from {', '.join(plain)}, "
            f"{', '.join(calibrated)} (need training data) or 'all'"
        )
    return methods


def _is_ratio(value: object) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and 0.0 <= value <= 1.0)


def check_ratio(ratio: float, *, name: str = "ratio") -> float:
    """One ratio: a real number in [0, 1] (finite, not a bool), as a float.

    Parameters
    ----------
    ratio : float
    name : str
        What the message calls it.

    Returns
    -------
    float

    Raises
    ------
    RatioError
        (an :class:`~mor.exceptions.ArgumentError`) naming the value and the range.
    """
    if not _is_ratio(ratio):
        raise RatioError(f"{name} = {ratio!r}; expected a number in [0, 1] (0 keeps everything)")
    return float(ratio)


def check_ratios(ratios: Sequence[float]) -> list[float]:
    """Sorted distinct ratios, each in [0, 1], at least one and at most :data:`MAX_RATIOS`.

    Parameters
    ----------
    ratios : sequence of float

    Returns
    -------
    list of float

    Raises
    ------
    RatioError
        (an :class:`~mor.exceptions.ArgumentError`) naming the bad values or the count.
    """
    if isinstance(ratios, str | bytes):
        raise RatioError(f"ratios must be a sequence of numbers in [0, 1]; got {ratios!r}")
    try:
        values = list(ratios)
    except TypeError:
        raise RatioError(f"ratios must be numbers in [0, 1]; got {ratios!r}") from None
    if len(values) > MAX_RATIOS:
        raise RatioError(
            f"{len(values)} pruning ratios; at most MAX_RATIOS = {MAX_RATIOS} (a grid "
            "0:1:0.001) are evaluated in one sweep: use a coarser grid"
        )
    bad = [r for r in values if not _is_ratio(r)]
    if bad or not values:
        raise RatioError(
            f"pruning ratios must lie in [0, 1]; got {bad or values} "
            "(e.g. 0.1,0.5,0.9 or 0:1:0.05)"
        )
    return sorted({float(r) for r in values})


def kept_count(nunits: Sequence[int], ratio: float, *, compat: str | None = None) -> int:
    """Units kept at pruning ratio ``ratio``: ``max(N − round(ratio·N), nlayers)``.

    With ``compat="released"``: ``max(floor(N·(1 − ratio)), 1)``, the released code's
    ``max(int(N * (100 - ratio%) / 100), 1)``, evaluated exactly on the decimal value of
    ``ratio`` (0.29 is 29/100, so 100 units keep 71, not 70).

    Parameters
    ----------
    nunits : sequence of int
        Units per layer.
    ratio : float
        Pruning ratio in [0, 1].
    compat : {None, "released"}
        The released code's rounding (above).

    Returns
    -------
    int
    """
    check_ratio(ratio)
    total = int(sum(nunits))
    if _check_compat(compat) == "released":
        return max(math.floor(total * (1 - Fraction(str(float(ratio))))), 1)
    return max(total - math.floor(ratio * total + 0.5), len(nunits))


def _check_compat(compat: str | None) -> str | None:
    if compat is not None and compat not in COMPAT_MODES:
        raise UnknownMethodError(
            f"compat = {compat!r}; expected None (the toolkit's rules) or one of "
            f"{', '.join(repr(c) for c in COMPAT_MODES)}"
        )
    return compat


def _layer_order(values: np.ndarray) -> np.ndarray:
    """Indices sorted by descending value, ties by ascending index."""
    return np.lexsort((np.arange(values.size), -values))


def _global_top(keys: list[np.ndarray], local: list[np.ndarray], count: int) -> list[np.ndarray]:
    """Keep ``count`` units in all: each layer's best, then the largest keys overall.

    Ties are broken by the unit's rank in its layer's local order, then by layer.
    """
    ranks, layers = [], []
    for layer, loc in enumerate(local):
        order = _layer_order(loc)
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        ranks.append(rank)
        layers.append(np.full(order.size, layer))
    key, rank, layer = np.concatenate(keys), np.concatenate(ranks), np.concatenate(layers)
    index = np.concatenate([np.arange(k.size) for k in keys])
    # forced (each layer's best) first, then key descending, then rank, then layer
    chosen = np.lexsort((layer, rank, -key, rank != 0))[:count]
    return [np.sort(index[chosen[layer[chosen] == i]]) for i in range(len(keys))]


def _uniform_counts(nunits: Sequence[int], count: int) -> list[int]:
    """Split ``count`` over layers proportionally to their size (largest remainder), ≥ 1 each."""
    total = sum(nunits)
    quotas = [n * count / total for n in nunits]
    counts = [max(1, min(n, math.floor(q))) for n, q in zip(nunits, quotas, strict=True)]
    remainders = sorted(
        range(len(nunits)), key=lambda i: (-(quotas[i] - math.floor(quotas[i])), i)
    )
    k = 0
    while sum(counts) < count:
        i = remainders[k % len(nunits)]
        if counts[i] < nunits[i]:
            counts[i] += 1
        k += 1
    while sum(counts) > count:
        i = max(range(len(nunits)), key=lambda j: (counts[j] - quotas[j], j))
        counts[i] -= 1
    return counts


def _top_per_layer(local: list[np.ndarray], counts: Sequence[int]) -> list[np.ndarray]:
    return [np.sort(_layer_order(v)[:k]) for v, k in zip(local, counts, strict=True)]


def prune(
    systems: Sequence[ModalSystem] | ModalSystem,
    method: str = "aire",
    ratio: float | None = None,
    *,
    threshold: float | None = None,
    budget: Sequence[int] | None = None,
    tol: float | None = None,
    seed: int = 0,
    eps: float = 0.0,
    compat: str | None = None,
) -> KeepPlan:
    """Choose which units of a stack of layers to keep.

    Give exactly one of ``ratio``, ``threshold``, ``budget`` or ``tol``
    (``compat="released"``: ``ratio`` or ``threshold``).

    Parameters
    ----------
    systems : sequence of ModalSystem (or one)
        The layers, in order.
    method : str
        One of :data:`METHODS`.
    ratio : float in [0, 1]
        Fraction of all units to remove (see module docstring for the count).
    threshold : float
        Keep units whose cross-layer score (prefix-normalised for aire/last/lamp, raw for
        global_*) is ≥ threshold, plus each layer's best unit.
    budget : sequence of int
        Per layer, the number of units to keep (the top ones by the local score).
        Balanced truncation: real states per layer.
    tol : float
        Error budget ε: per layer, remove the lowest-ranked units for as long as the
        certified H∞ error of the layer stays ≤ ε (modal methods: the modal triangle bound,
        :mod:`mor.budgets`; balanced truncation: its ``2 Σ σ`` certificate,
        :mod:`mor.balanced_selection`).  Each layer keeps at least one unit.
    seed : int
        Seed of the ``random`` method.
    eps : float
        Added to the prefix sums of the normalisation (the papers' ε; default 0).  The
        released code adds nothing to the prefix sums: it adds 1e-8 to the pole gap of the
        local score, which ``compat="released"`` reproduces.
    compat : {None, "released"}
        None: the toolkit's rules (module docstring).  ``"released"``: the rules of the
        released LAST / AIRE-Prune code, for ``method`` "last" or "aire" (see Notes).

    Returns
    -------
    KeepPlan
        With ``compat`` recorded.

    Warns
    -----
    UnstableModeWarning
        A layer holds units that are not strictly stable; the message names the layer and
        the units, which are kept (score +∞; ``compat="released"``: scored as the released
        code does).

    Notes
    -----
    ``compat="released"`` applies, in float64 to the given systems, the four rules in
    which the released code differs from the toolkit's default (ANCHORS.md):

    1. local scores with 1e-8 added to the pole gap: ``‖C_i‖²‖B̄_i‖² / ((1 − |λ̄_i|)² + 1e-8)``
       (last), ``‖C_i‖²‖B̄_i‖² / ((1 − |λ̄_i|²) + 1e-8)`` (aire)
       (:func:`mor.scores.released_score`), prefix-normalised as the released code does
       (:func:`mor.scores.released_prefix_normalize`);
    2. bidirectional layers: ``(‖C_f,i‖ + ‖C_b,i‖)/2**2`` in place of ``‖C_i‖²``;
    3. ``K = max(floor(N·(1 − ratio)), 1)`` over the whole stack (no per-layer minimum);
    4. every unit whose normalised score is ≥ the K-th largest normalised score of the
       stack is kept (more than K on ties).  With ``threshold``, the units whose
       normalised score is ≥ ``threshold``.

    Examples
    --------
    >>> s = ModalSystem([0.9, 0.5, 0.1], [[1.0], [1.0], [1.0]], [[1.0, 1.0, 1.0]], dt=1)
    >>> prune([s], "aire", ratio=0.3).keep
    ((0, 1),)
    >>> prune([s], "aire", ratio=0.3, compat="released").keep  # floor(3 · 0.7) = 2
    ((0, 1),)
    """
    layers = modal_layers(systems)  # InputTypeError (a TypeError) for anything else
    if not layers:
        raise EmptySystemError("no layers given; pass a list of ModalSystem")
    spec = get_method(method)
    given = [x is not None for x in (ratio, threshold, budget, tol)]
    if sum(given) != 1:
        raise RatioError("give exactly one of ratio, threshold, budget or tol")
    if _check_compat(compat) is not None:
        if tol is not None:
            raise RatioError("compat='released' selects by ratio or threshold, not tol")
        return _released_plan(layers, method, ratio, threshold, budget, eps)
    unstable = _unstable_units(layers, kept=True)
    if spec.kind == "balanced":
        return balanced_plan(layers, ratio=ratio, threshold=threshold, budget=budget, tol=tol,
                             method=method)
    return _modal_plan(layers, spec, unstable, ratio, threshold, budget, tol, seed, eps)


def _modal_plan(layers, spec, unstable, ratio, threshold, budget, tol, seed, eps) -> KeepPlan:
    """The KeepPlan of a modal method (:func:`prune` after its checks)."""
    method = spec.name
    nunits = [s.nunits for s in layers]
    if spec.across == "random":
        rng = np.random.default_rng(seed)
        local = [rng.random(n) for n in nunits]
    else:
        local = [spec.score(s) for s in layers]
    # an unstable unit has no finite score: always kept
    local = [np.where(u, np.inf, v) for v, u in zip(local, unstable, strict=True)]
    nforced = [int(u.sum()) for u in unstable]
    if spec.across == "prefix":
        keys = [_scores.prefix_normalize(v, eps=eps) for v in local]
    else:
        keys = local

    if tol is not None:
        keep = [tolerance_keep(s, v, tol) for s, v in zip(layers, local, strict=True)]
    elif budget is not None:
        counts = _check_budget(budget, nunits)
        keep = _top_per_layer(local, [max(b, f) for b, f in zip(counts, nforced, strict=True)])
    elif threshold is not None:
        if spec.across == "uniform":
            raise RatioError(f"{method} has no global score; select it by ratio or budget")
        if not np.isfinite(threshold):
            raise RatioError(f"threshold = {threshold!r}; expected a finite number")
        keep = _threshold_keep(keys, local, threshold)
    else:
        total = kept_count(nunits, ratio)
        if spec.across == "uniform":
            counts = _uniform_counts(nunits, total)
            keep = _top_per_layer(local, [max(c, f) for c, f in zip(counts, nforced,
                                                                    strict=True)])
        else:
            keep = _global_top(keys, local, max(total, sum(max(f, 1) for f in nforced)))

    return keep_plan(
        method, keep, nunits, ratio, threshold,
        scores=local if spec.across != "random" else None,
        normalized_scores=keys if spec.across == "prefix" else None,
        seed=seed if spec.across == "random" else None,
    )


def keep_plan(method: str, keep, nunits: Sequence[int], ratio: float | None,
              threshold: float | None, *, scores=None, normalized_scores=None,
              **fields) -> KeepPlan:
    """A KeepPlan from a selection's arrays (indices and scores as plain Python numbers).

    Parameters
    ----------
    method : str
    keep : sequence of sequence of int
        Per layer, the kept unit indices, ascending.
    nunits : sequence of int
    ratio, threshold : float or None
    scores, normalized_scores : sequence of ndarray, optional
    **fields
        Further :class:`KeepPlan` fields (``seed``, ``compat``).

    Returns
    -------
    KeepPlan
    """
    def rows(values):
        return None if values is None else [tuple(float(x) for x in v) for v in values]

    return KeepPlan(
        method=method,
        keep=[tuple(int(i) for i in k) for k in keep],
        nunits=list(nunits),
        ratio=None if ratio is None else float(ratio),
        threshold=None if threshold is None else float(threshold),
        scores=rows(scores),
        normalized_scores=rows(normalized_scores),
        **fields,
    )


def _unstable_units(
    layers: Sequence[ModalSystem], *, kept: bool, stacklevel: int = 3
) -> list[np.ndarray]:
    """Per layer, the boolean mask of units that are not strictly stable, with a warning."""
    masks = [s.unstable for s in layers]
    for layer, (sys, mask) in enumerate(zip(layers, masks, strict=True)):
        if mask.any():
            idx = np.flatnonzero(mask)
            name = sys.name or f"layer {layer}"
            rule = "Re λ ≥ 0" if sys.isctime else "|λ̄| ≥ 1"
            fate = ("no finite energy or H∞ score: always kept (score +inf)" if kept else
                    "scored as the released code does (compat='released'), not always kept")
            warnings.warn(
                f"{name}: unit(s) {idx.tolist()[:8]}{' ...' if idx.size > 8 else ''} "
                f"are not strictly stable ({rule}; pole {sys.poles[idx[0]]:.6g}); {fate}",
                UnstableModeWarning,
                stacklevel=stacklevel,
            )
    return masks


def _released_plan(
    layers: list[ModalSystem],
    method: str,
    ratio: float | None,
    threshold: float | None,
    budget: Sequence[int] | None,
    eps: float,
) -> KeepPlan:
    """The kept sets of the released LAST / AIRE-Prune code (:func:`prune`, Notes)."""
    if method not in ("last", "aire"):
        raise UnknownMethodError(
            f"compat='released' reproduces the released LAST and AIRE-Prune code: method "
            f"'last' or 'aire', not {method!r}"
        )
    if budget is not None:
        raise RatioError("compat='released' selects by ratio or threshold, not by budget")
    if eps != 0:
        raise RatioError(f"eps = {eps!r}: compat='released' adds nothing to the prefix sums "
                         "(the released 1e-8 is on the pole gap); leave eps at 0")
    _unstable_units(layers, kept=False, stacklevel=4)
    local = [_scores.released_score(s, method) for s in layers]
    keys = [_scores.released_prefix_normalize(v) for v in local]
    nunits = [s.nunits for s in layers]
    if threshold is None:
        count = kept_count(nunits, ratio, compat="released")
        threshold_used = float(np.sort(np.concatenate(keys))[-count])
    else:
        if not np.isfinite(threshold):
            raise RatioError(f"threshold = {threshold!r}; expected a finite number")
        threshold_used = float(threshold)
    keep = [np.flatnonzero(k >= threshold_used) for k in keys]
    empty = [layer for layer, k in enumerate(keep) if k.size == 0]
    if empty:
        raise RatioError(
            f"compat='released' keeps no unit of layer(s) {empty} (the released code would "
            "silence their SSM); a KeepPlan keeps at least one unit per layer: lower the "
            "ratio or threshold"
        )
    return keep_plan(method, keep, nunits, ratio, threshold, scores=local,
                     normalized_scores=keys, compat="released")


def _threshold_keep(
    keys: list[np.ndarray], local: list[np.ndarray], threshold: float
) -> list[np.ndarray]:
    keep = []
    for key, loc in zip(keys, local, strict=True):
        mask = key >= threshold
        mask[_layer_order(loc)[0]] = True
        keep.append(np.flatnonzero(mask))
    return keep


def _check_budget(budget: Sequence[int], nunits: Sequence[int]) -> list[int]:
    budget = [int(b) for b in budget]
    if len(budget) != len(nunits):
        raise RatioError(f"budget has {len(budget)} entries for {len(nunits)} layers")
    for layer, (b, n) in enumerate(zip(budget, nunits, strict=True)):
        if not 1 <= b <= n:
            raise RatioError(f"layer {layer}: budget {b} is outside 1..{n}")
    return budget
