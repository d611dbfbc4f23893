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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mor import scores as _scores
from mor.exceptions import EmptySystemError, RatioError, UnknownMethodError
from mor.norms import hankel_singular_values
from mor.plan import KeepPlan
from mor.systems import ModalSystem

__all__ = ["METHODS", "SelectionMethod", "kept_count", "prune"]


@dataclass(frozen=True)
class SelectionMethod:
    """How a method scores units and compares them across layers."""

    name: str
    score: Callable[[ModalSystem], np.ndarray] | None
    across: str  # "prefix" | "global" | "uniform" | "random" | "balanced"
    description: str


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
            "balanced_truncation", None, "balanced", "balanced truncation per layer (baseline)"
        ),
    ]
}

METHODS: tuple[str, ...] = tuple(_REGISTRY)
"""Names of every selection method, in the order of MATH.md §3."""


def get_method(name: str) -> SelectionMethod:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(
            f"unknown method {name!r}; choose one of {', '.join(METHODS)}"
        ) from None


def kept_count(nunits: Sequence[int], ratio: float) -> int:
    """Units kept at pruning ratio ``ratio``: ``max(N − round(ratio·N), nlayers)``."""
    _check_ratio(ratio)
    total = int(sum(nunits))
    return max(total - math.floor(ratio * total + 0.5), len(nunits))


def _check_ratio(ratio: float) -> None:
    if not isinstance(ratio, int | float) or not np.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
        raise RatioError(f"ratio = {ratio!r}; expected a number in [0, 1] (0 keeps everything)")


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
    seed: int = 0,
    eps: float = 0.0,
) -> KeepPlan:
    """Choose which units of a stack of layers to keep.

    Give exactly one of ``ratio``, ``threshold`` or ``budget``.

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
    seed : int
        Seed of the ``random`` method.
    eps : float
        Added to the prefix sums of the normalisation (the released code uses 1e-8).

    Returns
    -------
    KeepPlan

    Examples
    --------
    >>> s = ModalSystem([0.9, 0.5, 0.1], [[1.0], [1.0], [1.0]], [[1.0, 1.0, 1.0]], dt=1)
    >>> prune([s], "aire", ratio=0.5).keep
    ((0, 1),)
    """
    layers = [systems] if isinstance(systems, ModalSystem) else list(systems)
    if not layers:
        raise EmptySystemError("no layers given; pass a list of ModalSystem")
    for i, sys in enumerate(layers):
        if not isinstance(sys, ModalSystem):
            raise TypeError(
                f"layer {i} is a {type(sys).__name__}; convert it with ModalSystem.from_statespace"
            )
    spec = get_method(method)
    given = [x is not None for x in (ratio, threshold, budget)]
    if sum(given) != 1:
        raise RatioError("give exactly one of ratio, threshold or budget")
    if spec.across == "balanced":
        return _balanced_plan(layers, ratio, budget)

    nunits = [s.nunits for s in layers]
    if spec.across == "random":
        rng = np.random.default_rng(seed)
        local = [rng.random(n) for n in nunits]
    else:
        local = [spec.score(s) for s in layers]
    if spec.across == "prefix":
        keys = [_scores.prefix_normalize(v, eps=eps) for v in local]
    else:
        keys = local

    if budget is not None:
        keep = _top_per_layer(local, _check_budget(budget, nunits))
    elif threshold is not None:
        if spec.across == "uniform":
            raise RatioError(f"{method} has no global score; select it by ratio or budget")
        if not np.isfinite(threshold):
            raise RatioError(f"threshold = {threshold!r}; expected a finite number")
        keep = _threshold_keep(keys, local, threshold)
    else:
        total = kept_count(nunits, ratio)
        if spec.across == "uniform":
            keep = _top_per_layer(local, _uniform_counts(nunits, total))
        else:
            keep = _global_top(keys, local, total)

    return KeepPlan(
        method=method,
        keep=[tuple(int(i) for i in k) for k in keep],
        nunits=nunits,
        ratio=None if ratio is None else float(ratio),
        threshold=None if threshold is None else float(threshold),
        scores=[tuple(v) for v in local] if spec.across != "random" else None,
        normalized_scores=[tuple(k) for k in keys] if spec.across == "prefix" else None,
        seed=seed if spec.across == "random" else None,
    )


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


def _balanced_plan(
    layers: list[ModalSystem], ratio: float | None, budget: Sequence[int] | None
) -> KeepPlan:
    nstates = [s.nstates for s in layers]
    if budget is not None:
        orders = _check_budget(budget, nstates)
    elif ratio is not None:
        _check_ratio(ratio)
        orders = [max(1, n - math.floor(ratio * n + 0.5)) for n in nstates]
    else:
        raise RatioError("balanced_truncation is selected by ratio or budget, not threshold")
    hsv = [tuple(hankel_singular_values(s)) for s in layers]
    return KeepPlan(
        method="balanced_truncation",
        keep=[tuple(range(r)) for r in orders],
        nunits=nstates,
        ratio=None if ratio is None else float(ratio),
        scores=hsv,
        kind="balanced",
    )
