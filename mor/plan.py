"""KeepPlan: which units of which layer a reduction keeps, as plain JSON-serialisable data."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mor.exceptions import PlanMismatchError
from mor.systems import ModalSystem
from mor.truncation import balanced_truncation

__all__ = ["KeepPlan", "atomic_write_bytes", "atomic_write_text", "match_umask", "write_temporary"]

PLAN_FORMAT_VERSION = 1


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


def _tuple_of_tuples(rows, cast) -> tuple[tuple, ...]:
    return tuple(tuple(cast(x) for x in row) for row in rows)


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
        Per layer, the local scores the method ranked by.
    normalized_scores : tuple of tuple of float, or None
        Per layer, the scores compared across layers (prefix-normalised for aire/last).
    seed : int or None
        Seed of the random method.
    kind : {"modal", "balanced"}
        ``"modal"``: modal truncation keeps units; ``"balanced"``: balanced truncation to
        ``len(keep[l])`` states per layer (a change of basis, not a state pruner).
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
    version: int = field(default=PLAN_FORMAT_VERSION)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep", _tuple_of_tuples(self.keep, int))
        object.__setattr__(self, "nunits", tuple(int(n) for n in self.nunits))
        for attr in ("scores", "normalized_scores"):
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, _tuple_of_tuples(value, float))
        if len(self.keep) != len(self.nunits):
            raise PlanMismatchError(
                f"plan has {len(self.keep)} kept-index lists for {len(self.nunits)} layers"
            )
        if self.kind not in ("modal", "balanced"):
            raise PlanMismatchError(f"plan kind {self.kind!r}; expected 'modal' or 'balanced'")
        for layer, (kept, n) in enumerate(zip(self.keep, self.nunits, strict=True)):
            if len(kept) == 0:
                raise PlanMismatchError(f"layer {layer}: the plan keeps no unit; keep at least one")
            if list(kept) != sorted(set(kept)) or kept[0] < 0 or kept[-1] >= n:
                raise PlanMismatchError(
                    f"layer {layer}: kept indices must be ascending, unique and in 0..{n - 1}"
                )

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
        """Raise :class:`PlanMismatchError` unless the plan was made for these systems."""
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
        modal form.

        Returns
        -------
        list of ModalSystem, one per layer.
        """
        systems = list(systems)
        self.check_fits(systems)
        if self.kind == "modal":
            return [sys.subsystem(k) for sys, k in zip(systems, self.keep, strict=True)]
        return [
            ModalSystem.from_statespace(
                balanced_truncation(sys.to_statespace(), order=len(k)), name=sys.name
            )
            for sys, k in zip(systems, self.keep, strict=True)
        ]

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["keep"] = [list(k) for k in self.keep]
        data["nunits"] = list(self.nunits)
        for attr in ("scores", "normalized_scores"):
            if data[attr] is not None:
                data[attr] = [list(row) for row in data[attr]]
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """Strict JSON (no NaN/inf)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeepPlan:
        if not isinstance(data, dict):
            raise PlanMismatchError(f"a KeepPlan is a JSON object; got {type(data).__name__}")
        missing = {"method", "keep", "nunits"} - set(data)
        if missing:
            raise PlanMismatchError(f"KeepPlan data lacks {sorted(missing)}")
        version = data.get("version", PLAN_FORMAT_VERSION)
        if version != PLAN_FORMAT_VERSION:
            raise PlanMismatchError(
                f"KeepPlan format version {version}; this toolkit reads {PLAN_FORMAT_VERSION}"
            )
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise PlanMismatchError(f"KeepPlan data has unknown fields {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> KeepPlan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise PlanMismatchError(f"not a KeepPlan: invalid JSON ({err})") from err
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> None:
        """Write the plan as JSON, atomically."""
        atomic_write_text(path, self.to_json(indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> KeepPlan:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def summary(self) -> str:
        """One line: method, requested and achieved ratio, kept per layer."""
        req = "" if self.ratio is None else f"ratio {self.ratio:g}, "
        kept = "/".join(str(k) for k in self.kept_counts)
        total = "/".join(str(n) for n in self.nunits)
        return (
            f"{self.method}: {req}removed {self.achieved_ratio:.1%}; kept {kept} of {total} "
            f"{'states' if self.kind == 'balanced' else 'units'}"
        )
