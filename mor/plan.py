"""Plans as plain JSON-serialisable data: what a reduction of a stack of layers keeps.

Two kinds, each its own type with a class-level ``kind``:

- :class:`KeepPlan` (``kind = "modal"``): per layer, the indices of the kept units (modal
  truncation keeps them as they are);
- :class:`BalancedPlan` (``kind = "balanced"``): per layer, the order (real states) of a
  balanced truncation, a change of basis (applied by :func:`mor.balanced_selection.apply_plan`).

Both are written with the same JSON keys (a balanced plan stores its orders as
``keep[l] = [0, …, r−1]`` and its state counts as ``nunits``, as before the two types were
split); :func:`plan_from_dict`, :func:`plan_from_json` and :func:`load_plan` read either
kind by the JSON's ``"kind"``.  Nothing here runs a reduction.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np

from mor._files import MAX_JSON_BYTES, parse_json, read_regular_file
from mor.exceptions import InputTypeError, PlanMismatchError, PlanTypeError
from mor.io import atomic_write_text
from mor.systems import ModalSystem

__all__ = [
    "MAX_UNITS_PER_LAYER",
    "BalancedPlan",
    "KeepPlan",
    "load_plan",
    "modal_layers",
    "plan_from_dict",
    "plan_from_json",
]

PLAN_FORMAT_VERSION = 1
#: Most units (or states, for balanced plans) one layer of a plan may have.
MAX_UNITS_PER_LAYER = 1 << 22


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool | np.bool_)


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def _row(value: Any, name: str) -> list:
    """A list, tuple or 1-D array as a list; PlanTypeError otherwise."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return list(value)
    if not isinstance(value, list | tuple):
        raise PlanTypeError(
            f"KeepPlan.{name} is a {type(value).__name__}; expected a list or tuple"
        )
    return list(value)


def _rows(value: Any, name: str) -> list[list]:
    return [_row(row, f"{name}[{i}]") for i, row in enumerate(_row(value, name))]


def _int(x: Any, name: str) -> int:
    if not _is_int(x):
        raise PlanTypeError(f"KeepPlan.{name} = {x!r} ({type(x).__name__}); expected an int")
    return int(x)


def _real(x: Any, name: str) -> float:
    if not _is_real(x):
        raise PlanTypeError(f"KeepPlan.{name} = {x!r} ({type(x).__name__}); expected a number")
    return float(x)


def _optional(value: Any, name: str, cast) -> Any:
    return None if value is None else cast(value, name)


def _checked_nunits(value: Any, name: str = "nunits") -> tuple[int, ...]:
    nunits = tuple(_int(n, f"{name}[{i}]") for i, n in enumerate(_row(value, name)))
    for layer, n in enumerate(nunits):
        if n < 1:
            raise PlanMismatchError(f"layer {layer}: {name} = {n}; expected a positive integer")
        if n > MAX_UNITS_PER_LAYER:
            raise PlanMismatchError(
                f"layer {layer}: {name} = {n} is over the limit of {MAX_UNITS_PER_LAYER} units "
                "per layer (mor.plan.MAX_UNITS_PER_LAYER); is the plan for this model?"
            )
    return nunits


def _checked_keep(value: Any, nunits: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    rows = _rows(value, "keep")
    if len(rows) != len(nunits):
        raise PlanMismatchError(
            f"plan has {len(rows)} kept-index lists for {len(nunits)} layers"
        )
    keep = []
    for layer, (row, n) in enumerate(zip(rows, nunits, strict=True)):
        kept = tuple(_int(k, f"keep[{layer}][{j}]") for j, k in enumerate(row))
        if len(kept) == 0:
            raise PlanMismatchError(f"layer {layer}: the plan keeps no unit; keep at least one")
        ascending = all(a < b for a, b in pairwise(kept))
        if not ascending or kept[0] < 0 or kept[-1] >= n:
            raise PlanMismatchError(
                f"layer {layer}: kept indices must be ascending, unique and in 0..{n - 1}"
            )
        keep.append(kept)
    return tuple(keep)


def _checked_scores(value: Any, name: str, nunits: tuple[int, ...]) -> tuple | None:
    if value is None:
        return None
    rows = _rows(value, name)
    if len(rows) != len(nunits):
        raise PlanMismatchError(f"KeepPlan.{name} has {len(rows)} rows for {len(nunits)} layers")
    # JSON null stands for +inf (a unit that is not strictly stable: no finite score)
    return tuple(
        tuple(math.inf if x is None else _real(x, f"{name}[{layer}][{j}]")
              for j, x in enumerate(row))
        for layer, row in enumerate(rows)
    )


def modal_layers(systems: Any, name: str = "systems") -> list[ModalSystem]:
    """``systems`` (one ModalSystem, or a list, tuple or other iterable of them) as a list.

    Raises
    ------
    mor.exceptions.InputTypeError
        Anything else; the message names the argument (and the offending layer).
    """
    if isinstance(systems, ModalSystem):
        return [systems]
    if isinstance(systems, str | bytes | Mapping) or not isinstance(systems, Iterable):
        raise InputTypeError(
            f"{name} is a {type(systems).__name__}; expected a ModalSystem or a list of "
            "ModalSystem layers"
        )
    systems = list(systems)
    for i, sys in enumerate(systems):
        if not isinstance(sys, ModalSystem):
            raise InputTypeError(
                f"{name}[{i}] is a {type(sys).__name__}; expected a ModalSystem (convert a "
                "state-space system with ModalSystem.from_statespace)"
            )
    return systems


class _Plan:
    """What both kinds of plan share: sizes, kept counts, checks and serialisation.

    A subclass is a frozen dataclass with ``method``, ``ratio``, ``threshold``, ``scores``,
    ``normalized_scores`` and ``version`` fields, a class-level ``kind`` and ``_unit``
    (what a layer is counted in), and the properties ``sizes`` and ``kept_counts``.
    """

    kind: ClassVar[str]
    _unit: ClassVar[str]

    def _check_common(self, sizes: tuple[int, ...]) -> None:
        """Validate and normalise the shared fields (``sizes``: per layer, units or states)."""
        name = type(self).__name__
        if not isinstance(self.method, str) or not self.method:
            raise PlanTypeError(f"{name}.method = {self.method!r}; expected a non-empty str")
        version = _int(self.version, "version")
        if version != PLAN_FORMAT_VERSION:
            raise PlanMismatchError(
                f"{name} format version {version}; this toolkit reads {PLAN_FORMAT_VERSION}"
            )
        for attr in ("scores", "normalized_scores"):
            object.__setattr__(self, attr, _checked_scores(getattr(self, attr), attr, sizes))
        ratio = _optional(self.ratio, "ratio", _real)
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise PlanMismatchError(f"{name}.ratio = {ratio!r}; expected a number in [0, 1]")
        threshold = _optional(self.threshold, "threshold", _real)
        if threshold is not None and not math.isfinite(threshold):
            raise PlanMismatchError(f"{name}.threshold = {threshold!r}; expected a finite "
                                    "number")
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "version", version)

    # ------------------------------------------------------------------ facts
    @property
    def nlayers(self) -> int:
        return len(self.sizes)

    @property
    def achieved_ratio(self) -> float:
        """Fraction of all units (balanced plans: real states) removed."""
        return 1.0 - sum(self.kept_counts) / sum(self.sizes)

    @property
    def kept_fraction(self) -> tuple[float, ...]:
        """Per layer, the fraction of units (balanced plans: real states) kept."""
        return tuple(k / n for k, n in zip(self.kept_counts, self.sizes, strict=True))

    def check_fits(self, systems: Sequence[ModalSystem]) -> None:
        """Raise :class:`PlanMismatchError` unless the plan was made for these systems.

        Raises
        ------
        mor.exceptions.InputTypeError
            ``systems`` is not a ModalSystem or a list/tuple of them.
        PlanMismatchError
            Another number of layers, or of units (balanced plans: real states) in a layer.
        """
        systems = modal_layers(systems)
        if len(systems) != self.nlayers:
            raise PlanMismatchError(
                f"the plan is for {self.nlayers} layers but {len(systems)} systems were given"
            )
        for layer, (sys, n) in enumerate(zip(systems, self.sizes, strict=True)):
            have = getattr(sys, f"n{self._unit}")
            if have != n:
                raise PlanMismatchError(
                    f"layer {layer}: the plan is for {n} {self._unit} but the system has "
                    f"{have}; make the plan from these systems (mor.prune) or load the "
                    "matching model"
                )

    def summary(self) -> str:
        """One line: method, requested and achieved ratio, kept per layer."""
        req = "" if self.ratio is None else f"ratio {self.ratio:g}, "
        kept = "/".join(str(k) for k in self.kept_counts)
        total = "/".join(str(n) for n in self.sizes)
        return (f"{self.method}: {req}removed {self.achieved_ratio:.1%}; kept {kept} of "
                f"{total} {self._unit}")

    # ------------------------------------------------------------------ serialisation
    def to_json(self, *, indent: int | None = None) -> str:
        """Strict JSON (no NaN/inf)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike) -> None:
        """Write the plan as JSON, atomically."""
        atomic_write_text(path, self.to_json(indent=1))

    @classmethod
    def from_json(cls, text: str | bytes):
        """Parse strict JSON (UTF-8, no NaN, no duplicate keys) and :meth:`from_dict` it."""
        return cls.from_dict(parse_json(text, what=f"{cls.__name__} JSON",
                                        error=PlanMismatchError))

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a plan written by :meth:`save`.

        Raises
        ------
        mor.exceptions.InputFileError
            Not a regular file (a directory, FIFO, device) or over the size limit.
        PlanMismatchError, PlanTypeError
            Not UTF-8, not valid JSON, or not a valid plan (see :meth:`from_dict`).
        """
        return cls.from_dict(_read_plan_file(path))

    @classmethod
    def _checked_data(cls, data: Any) -> dict[str, Any]:
        """A copy of ``data`` without ``kind``, after checking its keys and kind."""
        name = cls.__name__
        if not isinstance(data, dict):
            raise PlanTypeError(f"a {name} is a JSON object; got {type(data).__name__}")
        missing = {"method", "keep", "nunits"} - set(data)
        if missing:
            raise PlanMismatchError(f"{name} data lacks {sorted(missing)}")
        unknown = set(data) - set(_JSON_KEYS)
        if unknown:
            raise PlanMismatchError(f"{name} data has unknown fields {sorted(unknown)}")
        data = dict(data)
        kind = data.pop("kind", "modal")
        if kind != cls.kind:
            raise PlanMismatchError(
                f"plan kind {kind!r}; a {name} is of kind {cls.kind!r} (read a plan of "
                "either kind with mor.plan.plan_from_dict / load_plan)"
            )
        return data


def _scores_json(rows: tuple | None) -> list | None:
    """Scores as JSON rows: +inf (a unit that is not strictly stable) as null."""
    if rows is None:
        return None
    return [[None if math.isinf(x) and x > 0 else x for x in row] for row in rows]


_JSON_KEYS = ("method", "keep", "nunits", "ratio", "threshold", "scores",
              "normalized_scores", "seed", "kind", "compat", "version")
"""The keys of a plan's JSON, in the order written (both kinds)."""


@dataclass(frozen=True)
class KeepPlan(_Plan):
    """A modal plan: per layer, the indices of the kept units.

    Attributes
    ----------
    method : str
        The selection method (``"aire"``, ``"last"``, ...).
    keep : tuple of tuple of int
        Per layer, the kept unit indices, ascending.
    nunits : tuple of int
        Per layer, the number of units the plan was made for (checked on apply).
    ratio : float or None
        The requested pruning ratio, if selection was by ratio.
    threshold : float or None
        The global threshold, if selection was by threshold.
    scores : tuple of tuple of float, or None
        Per layer, the local scores the method ranked by; +inf for a unit that is not
        strictly stable (always kept; ``null`` in JSON).
    normalized_scores : tuple of tuple of float, or None
        Per layer, the scores compared across layers (prefix-normalised for aire/last).
    seed : int or None
        Seed of the random method.
    compat : {None, "released"}
        None: selected by the toolkit's rules; ``"released"``: by the released LAST /
        AIRE-Prune code's rules (``mor.prune(..., compat="released")``).  Plans written
        before this field existed load with None.
    kind : str
        Class-level ``"modal"``.
    """

    kind = "modal"  # class-level, not a field (an unannotated dataclass attribute)
    _unit = "units"

    method: str
    keep: tuple[tuple[int, ...], ...]
    nunits: tuple[int, ...]
    ratio: float | None = None
    threshold: float | None = None
    scores: tuple[tuple[float, ...], ...] | None = None
    normalized_scores: tuple[tuple[float, ...], ...] | None = None
    seed: int | None = None
    compat: str | None = None
    version: int = field(default=PLAN_FORMAT_VERSION)

    def __post_init__(self) -> None:
        if self.compat is not None and self.compat != "released":
            raise PlanMismatchError(f"KeepPlan.compat = {self.compat!r}; expected null or "
                                    "'released'")
        nunits = _checked_nunits(self.nunits)
        object.__setattr__(self, "nunits", nunits)
        object.__setattr__(self, "keep", _checked_keep(self.keep, nunits))
        self._check_common(nunits)
        object.__setattr__(self, "seed", _optional(self.seed, "seed", _int))

    @property
    def sizes(self) -> tuple[int, ...]:
        """Per layer, the units the plan was made for (:attr:`nunits`)."""
        return self.nunits

    @property
    def kept_counts(self) -> tuple[int, ...]:
        return tuple(len(k) for k in self.keep)

    @property
    def pruned(self) -> tuple[tuple[int, ...], ...]:
        """Per layer, the indices of the removed units."""
        pairs = zip(self.keep, self.nunits, strict=True)
        return tuple(tuple(sorted(set(range(n)) - set(k))) for k, n in pairs)

    def apply(self, systems: Sequence[ModalSystem]) -> list[ModalSystem]:
        """Keep the listed units of each layer (modal truncation ``G_r = Σ_{i∈keep} G_i + D``).

        Returns
        -------
        list of ModalSystem, one per layer.
        """
        systems = modal_layers(systems)
        self.check_fits(systems)
        return [sys.subsystem(k) for sys, k in zip(systems, self.keep, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["keep"] = [list(k) for k in self.keep]
        data["nunits"] = list(self.nunits)
        data["kind"] = self.kind
        for attr in ("scores", "normalized_scores"):
            data[attr] = _scores_json(getattr(self, attr))
        return {key: data[key] for key in _JSON_KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeepPlan:
        """Rebuild a plan from :meth:`to_dict` output, validating every field strictly.

        Indices and unit counts must be JSON integers (``1.7``, ``2.0`` and ``"12"`` are
        refused, never rounded), kept indices ascending, unique and in range.

        Raises
        ------
        PlanTypeError
            A field has the wrong type (also a ``TypeError`` and a ``PlanMismatchError``).
        PlanMismatchError
            Missing or unknown fields, another format version or kind, values out of range.
        """
        return cls(**cls._checked_data(data))


@dataclass(frozen=True)
class BalancedPlan(_Plan):
    """A balanced plan: per layer, the order (real states) of its balanced truncation.

    Balanced truncation changes each layer's state basis: the plan keeps the leading
    ``orders[l]`` balanced states of layer l, not a subset of its modes.  Reduce the layers
    with :func:`mor.balanced_selection.apply_plan` (a network:
    ``ssm_bridge.apply(..., mode="remove")``).

    Attributes
    ----------
    method : str
        ``"balanced_truncation"`` or ``"balanced_truncation_calibrated"``.
    orders : tuple of int
        Per layer, the real states kept (1..nstates).
    nstates : tuple of int
        Per layer, the real states the plan was made for (checked on apply).
    ratio, threshold : float or None
        As :class:`KeepPlan`.
    scores : tuple of tuple of float, or None
        Per layer, the Hankel singular values ranked by (descending).
    normalized_scores : tuple of tuple of float, or None
        Per layer, their prefix normalisation (selection by threshold).
    kind : str
        Class-level ``"balanced"``.
    """

    kind = "balanced"  # class-level, not a field
    _unit = "states"

    method: str
    orders: tuple[int, ...]
    nstates: tuple[int, ...]
    ratio: float | None = None
    threshold: float | None = None
    scores: tuple[tuple[float, ...], ...] | None = None
    normalized_scores: tuple[tuple[float, ...], ...] | None = None
    version: int = field(default=PLAN_FORMAT_VERSION)

    def __post_init__(self) -> None:
        nstates = _checked_nunits(self.nstates, "nstates")
        orders = tuple(_int(r, f"orders[{i}]") for i, r in enumerate(_row(self.orders,
                                                                          "orders")))
        if len(orders) != len(nstates):
            raise PlanMismatchError(f"plan has {len(orders)} orders for {len(nstates)} layers")
        for layer, (r, n) in enumerate(zip(orders, nstates, strict=True)):
            if not 1 <= r <= n:
                raise PlanMismatchError(f"layer {layer}: order {r} is outside 1..{n} (states)")
        object.__setattr__(self, "nstates", nstates)
        object.__setattr__(self, "orders", orders)
        self._check_common(nstates)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Per layer, the real states the plan was made for (:attr:`nstates`)."""
        return self.nstates

    @property
    def kept_counts(self) -> tuple[int, ...]:
        """Per layer, the real states kept (:attr:`orders`)."""
        return self.orders

    @property
    def nunits(self) -> tuple[int, ...]:
        """:attr:`nstates` under its JSON key (a report can read the sizes of either kind)."""
        return self.nstates

    @property
    def keep(self) -> tuple[tuple[int, ...], ...]:
        """Per layer, the kept balanced states ``0 … r−1`` (the JSON form of :attr:`orders`)."""
        return tuple(tuple(range(r)) for r in self.orders)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "keep": [list(k) for k in self.keep],
            "nunits": list(self.nstates), "ratio": self.ratio, "threshold": self.threshold,
            "scores": _scores_json(self.scores),
            "normalized_scores": _scores_json(self.normalized_scores),
            "seed": None, "kind": self.kind, "compat": None, "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BalancedPlan:
        """Rebuild a plan from :meth:`to_dict` output (the JSON of a balanced plan).

        ``keep[l]`` must be ``[0, …, r−1]`` (the leading r balanced states); ``seed`` and
        ``compat`` null.

        Raises
        ------
        PlanTypeError, PlanMismatchError
            As :meth:`KeepPlan.from_dict`.
        """
        data = cls._checked_data(data)
        for key in ("seed", "compat"):
            value = data.pop(key, None)
            if value is not None:
                raise PlanMismatchError(f"a balanced plan has no {key}; got {value!r}")
        nstates = _checked_nunits(data.pop("nunits"))
        orders = []
        for layer, row in enumerate(_checked_keep(data.pop("keep"), nstates)):
            if row != tuple(range(len(row))):
                raise PlanMismatchError(
                    f"layer {layer}: a balanced plan keeps the leading states 0..r-1; got "
                    f"{list(row)[:8]}")
            orders.append(len(row))
        return cls(orders=tuple(orders), nstates=nstates, **data)


_PLAN_TYPES: dict[str, type[_Plan]] = {t.kind: t for t in (KeepPlan, BalancedPlan)}


def plan_from_dict(data: dict[str, Any]) -> KeepPlan | BalancedPlan:
    """A plan of either kind from its JSON data, by its ``"kind"`` (default ``"modal"``).

    Parameters
    ----------
    data : dict
        :meth:`KeepPlan.to_dict` or :meth:`BalancedPlan.to_dict` output.

    Returns
    -------
    KeepPlan or BalancedPlan

    Raises
    ------
    PlanTypeError, PlanMismatchError
        Not a JSON object, an unknown kind, or an invalid plan of its kind.
    """
    if not isinstance(data, dict):
        raise PlanTypeError(f"a plan is a JSON object; got {type(data).__name__}")
    kind = data.get("kind", "modal")
    if not isinstance(kind, str) or kind not in _PLAN_TYPES:
        raise PlanMismatchError(f"plan kind {kind!r}; expected 'modal' or 'balanced'")
    return _PLAN_TYPES[kind].from_dict(data)


def plan_from_json(text: str | bytes) -> KeepPlan | BalancedPlan:
    """:func:`plan_from_dict` of strict JSON text.

    Parameters
    ----------
    text : str or bytes

    Returns
    -------
    KeepPlan or BalancedPlan
    """
    return plan_from_dict(parse_json(text, what="plan JSON", error=PlanMismatchError))


def _read_plan_file(path: str | os.PathLike) -> Any:
    data = read_regular_file(path, max_bytes=MAX_JSON_BYTES, what="KeepPlan file")
    return parse_json(data, what=f"KeepPlan file {os.fspath(path)!r}", error=PlanMismatchError)


def load_plan(path: str | os.PathLike) -> KeepPlan | BalancedPlan:
    """Read a plan file of either kind (:meth:`KeepPlan.save`, :meth:`BalancedPlan.save`).

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    KeepPlan or BalancedPlan
        By the file's ``"kind"`` (``"modal"`` when absent).

    Raises
    ------
    mor.exceptions.InputFileError
        Not a regular file or over the size limit.
    PlanMismatchError, PlanTypeError
        Not UTF-8, not valid JSON, or not a valid plan.
    """
    return plan_from_dict(_read_plan_file(path))
