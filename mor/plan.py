"""KeepPlan: which units of which layer a reduction keeps, as plain JSON-serialisable data."""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mor._files import MAX_JSON_BYTES, parse_json, read_regular_file
from mor.exceptions import InputTypeError, PlanMismatchError, PlanTypeError
from mor.systems import ModalSystem
from mor.truncation import balanced_truncation

__all__ = [
    "MAX_UNITS_PER_LAYER",
    "KeepPlan",
    "atomic_write_bytes",
    "atomic_write_text",
    "match_umask",
    "modal_layers",
    "write_temporary",
]

PLAN_FORMAT_VERSION = 1
#: Most units (or states, for balanced plans) one layer of a plan may have.
MAX_UNITS_PER_LAYER = 1 << 22


def match_umask(path: str | os.PathLike) -> None:
    """Give a file made by ``tempfile.mkstemp`` (mode 0600) the mode the umask allows."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_temporary(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a synced temporary file beside ``path`` and return its path.

    The caller renames it onto ``path`` (``os.replace``) when every file of a write is ready;
    on error here nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        match_umask(tmp)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = write_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


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


def _checked_nunits(value: Any) -> tuple[int, ...]:
    nunits = tuple(_int(n, f"nunits[{i}]") for i, n in enumerate(_row(value, "nunits")))
    for layer, n in enumerate(nunits):
        if n < 1:
            raise PlanMismatchError(f"layer {layer}: nunits = {n}; expected a positive integer")
        if n > MAX_UNITS_PER_LAYER:
            raise PlanMismatchError(
                f"layer {layer}: nunits = {n} is over the limit of {MAX_UNITS_PER_LAYER} units "
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


@dataclass(frozen=True)
class KeepPlan:
    """The outcome of a selection: per layer, the indices of the kept units.

    Attributes
    ----------
    method : str
        The selection method (``"aire"``, ``"last"``, ...).
    keep : tuple of tuple of int
        Per layer, the kept unit indices, ascending.  For ``kind == "balanced"`` the
        leading ``len(keep[l])`` balanced states are kept.
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
    kind : {"modal", "balanced"}
        ``"modal"``: modal truncation keeps units; ``"balanced"``: balanced truncation to
        ``len(keep[l])`` states per layer (a change of basis, not a state pruner).
    compat : {None, "released"}
        None: selected by the toolkit's rules; ``"released"``: by the released LAST /
        AIRE-Prune code's rules (``mor.prune(..., compat="released")``).  Plans written
        before this field existed load with None.
    """

    method: str
    keep: tuple[tuple[int, ...], ...]
    nunits: tuple[int, ...]
    ratio: float | None = None
    threshold: float | None = None
    scores: tuple[tuple[float, ...], ...] | None = None
    normalized_scores: tuple[tuple[float, ...], ...] | None = None
    seed: int | None = None
    kind: Literal["modal", "balanced"] = "modal"
    compat: str | None = None
    version: int = field(default=PLAN_FORMAT_VERSION)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method:
            raise PlanTypeError(f"KeepPlan.method = {self.method!r}; expected a non-empty str")
        version = _int(self.version, "version")
        if version != PLAN_FORMAT_VERSION:
            raise PlanMismatchError(
                f"KeepPlan format version {version}; this toolkit reads {PLAN_FORMAT_VERSION}"
            )
        if not isinstance(self.kind, str) or self.kind not in ("modal", "balanced"):
            raise PlanMismatchError(f"plan kind {self.kind!r}; expected 'modal' or 'balanced'")
        if self.compat is not None and self.compat != "released":
            raise PlanMismatchError(f"KeepPlan.compat = {self.compat!r}; expected null or "
                                    "'released'")
        nunits = _checked_nunits(self.nunits)
        object.__setattr__(self, "nunits", nunits)
        object.__setattr__(self, "keep", _checked_keep(self.keep, nunits))
        for attr in ("scores", "normalized_scores"):
            object.__setattr__(self, attr, _checked_scores(getattr(self, attr), attr, nunits))
        ratio = _optional(self.ratio, "ratio", _real)
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise PlanMismatchError(f"KeepPlan.ratio = {ratio!r}; expected a number in [0, 1]")
        threshold = _optional(self.threshold, "threshold", _real)
        if threshold is not None and not math.isfinite(threshold):
            raise PlanMismatchError(f"KeepPlan.threshold = {threshold!r}; expected a finite "
                                    "number")
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "seed", _optional(self.seed, "seed", _int))
        object.__setattr__(self, "version", version)

    # ------------------------------------------------------------------ facts
    @property
    def nlayers(self) -> int:
        return len(self.keep)

    @property
    def kept_counts(self) -> tuple[int, ...]:
        return tuple(len(k) for k in self.keep)

    @property
    def pruned(self) -> tuple[tuple[int, ...], ...]:
        """Per layer, the indices of the removed units."""
        pairs = zip(self.keep, self.nunits, strict=True)
        return tuple(tuple(sorted(set(range(n)) - set(k))) for k, n in pairs)

    @property
    def achieved_ratio(self) -> float:
        """Fraction of all units removed."""
        return 1.0 - sum(self.kept_counts) / sum(self.nunits)

    @property
    def kept_fraction(self) -> tuple[float, ...]:
        """Per layer, the fraction of units kept."""
        return tuple(k / n for k, n in zip(self.kept_counts, self.nunits, strict=True))

    # ------------------------------------------------------------------ apply
    def check_fits(self, systems: Sequence[ModalSystem]) -> None:
        """Raise :class:`PlanMismatchError` unless the plan was made for these systems.

        Raises
        ------
        mor.exceptions.InputTypeError
            ``systems`` is not a ModalSystem or a list/tuple of them.
        PlanMismatchError
            Another number of layers, or of units in a layer.
        """
        systems = modal_layers(systems)
        if len(systems) != self.nlayers:
            raise PlanMismatchError(
                f"the plan is for {self.nlayers} layers but {len(systems)} systems were given"
            )
        for layer, (sys, n) in enumerate(zip(systems, self.nunits, strict=True)):
            have = sys.nstates if self.kind == "balanced" else sys.nunits
            if have != n:
                what = "states" if self.kind == "balanced" else "units"
                raise PlanMismatchError(
                    f"layer {layer}: the plan is for {n} {what} but the system has {have}; "
                    "make the plan from these systems (mor.prune) or load the matching model"
                )

    def apply(self, systems: Sequence[ModalSystem]) -> list[ModalSystem]:
        """Reduce each layer by the plan.

        Modal plans keep the listed units (modal truncation: ``G_r = Σ_{i∈keep} G_i + D``).
        Balanced plans balance-truncate each layer to ``len(keep[l])`` states and return its
        modal form.  A layer that reads its output after the update (S5/S4D,
        ``output_after_update``) is reduced by
        :func:`mor.after_update.after_update_balanced_truncation`: the result is again such
        a layer, with the same D and direction(s).

        Returns
        -------
        list of ModalSystem, one per layer.
        """
        systems = modal_layers(systems)
        self.check_fits(systems)
        if self.kind == "modal":
            return [sys.subsystem(k) for sys, k in zip(systems, self.keep, strict=True)]
        if self.method == "balanced_truncation_calibrated":
            raise PlanMismatchError(
                "a balanced_truncation_calibrated plan is applied with its calibration "
                "moments: mor.calibrated.apply_plan(plan, systems, moments)"
            )
        if any(sys.output_after_update for sys in systems):
            from mor.after_update import after_update_balanced_truncation

            return [
                after_update_balanced_truncation(sys, len(k)).system
                if sys.output_after_update else self._standard_balanced(sys, len(k))
                for sys, k in zip(systems, self.keep, strict=True)
            ]
        return [self._standard_balanced(sys, len(k)) for sys, k in zip(systems, self.keep,
                                                                       strict=True)]

    @staticmethod
    def _standard_balanced(sys: ModalSystem, order: int) -> ModalSystem:
        return ModalSystem.from_statespace(
            balanced_truncation(sys if not sys.is_stable else sys.to_statespace(), order=order),
            name=sys.name, allow_unstable=not sys.is_stable,
        )

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["keep"] = [list(k) for k in self.keep]
        data["nunits"] = list(self.nunits)
        for attr in ("scores", "normalized_scores"):
            if data[attr] is not None:
                data[attr] = [[None if math.isinf(x) and x > 0 else x for x in row]
                              for row in data[attr]]
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """Strict JSON (no NaN/inf)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

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
            Missing or unknown fields, another format version, values out of range.
        """
        if not isinstance(data, dict):
            raise PlanTypeError(f"a KeepPlan is a JSON object; got {type(data).__name__}")
        missing = {"method", "keep", "nunits"} - set(data)
        if missing:
            raise PlanMismatchError(f"KeepPlan data lacks {sorted(missing)}")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise PlanMismatchError(f"KeepPlan data has unknown fields {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str | bytes) -> KeepPlan:
        """Parse strict JSON (UTF-8, no NaN, no duplicate keys) and :meth:`from_dict` it."""
        return cls.from_dict(parse_json(text, what="KeepPlan JSON", error=PlanMismatchError))

    def save(self, path: str | os.PathLike) -> None:
        """Write the plan as JSON, atomically."""
        atomic_write_text(path, self.to_json(indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> KeepPlan:
        """Read a plan written by :meth:`save`.

        Raises
        ------
        mor.exceptions.InputFileError
            Not a regular file (a directory, FIFO, device) or over the size limit.
        PlanMismatchError, PlanTypeError
            Not UTF-8, not valid JSON, or not a valid plan (see :meth:`from_dict`).
        """
        data = read_regular_file(path, max_bytes=MAX_JSON_BYTES, what="KeepPlan file")
        return cls.from_dict(parse_json(data, what=f"KeepPlan file {os.fspath(path)!r}",
                                        error=PlanMismatchError))

    def summary(self) -> str:
        """One line: method, requested and achieved ratio, kept per layer."""
        req = "" if self.ratio is None else f"ratio {self.ratio:g}, "
        kept = "/".join(str(k) for k in self.kept_counts)
        total = "/".join(str(n) for n in self.nunits)
        return (
            f"{self.method}: {req}removed {self.achieved_ratio:.1%}; kept {kept} of {total} "
            f"{'states' if self.kind == 'balanced' else 'units'}"
        )
