"""The options of the jobs, checked in one place before any work is done.

:class:`JobOptions` holds what every job takes (output policy, data, seed, batch, checksum
check, compat mode, the recorded command); :class:`PruneOptions` and :class:`CompareOptions`
add their own.  ``checked()`` returns the options validated and normalised, raising
:class:`~ssm_bridge.errors.JobError` (or the ``mor`` argument errors) with a message that
names the value and the fix.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from mor.exceptions import RatioError, UnknownMethodError
from mor.selection import COMPAT_MODES, check_methods, check_ratio, check_ratios, method_kind
from ssm_bridge.errors import JobError

__all__ = [
    "DEFAULT_RATIOS",
    "RELEASED_METHODS",
    "CompareOptions",
    "JobOptions",
    "PruneOptions",
    "check_compat",
    "check_reference_ratio",
    "options_from",
]

DEFAULT_RATIOS: tuple[float, ...] = tuple(round(0.05 * i, 10) for i in range(21))
"""0, 0.05, ..., 1 (the fast sweep of ``mor compare``)."""

RELEASED_METHODS: tuple[str, ...] = ("aire", "last")
"""Methods with a ``compat="released"`` form (the released LAST / AIRE-Prune code)."""

_Options = TypeVar("_Options", bound="JobOptions")


def check_compat(compat: str | None, methods: Sequence[str]) -> str | None:
    """``compat`` validated: None, or ``"released"`` with at least one of aire / last."""
    if compat is None:
        return None
    if compat not in COMPAT_MODES:
        raise UnknownMethodError(
            f"compat = {compat!r}; expected None (the toolkit's rules) or one of "
            f"{', '.join(repr(c) for c in COMPAT_MODES)}"
        )
    if not any(m in RELEASED_METHODS for m in methods):
        raise UnknownMethodError(
            f"compat={compat!r} reproduces the released LAST and AIRE-Prune code: choose "
            f"method aire or last (got {', '.join(methods)})"
        )
    return compat


def check_reference_ratio(ratio: float) -> float:
    """The ratio of the pole, energy and certificate figures: a number in (0, 1]."""
    value = check_ratio(ratio, name="reference ratio")
    if value == 0.0:
        raise RatioError(
            "reference ratio 0 prunes nothing, so there are no pruned poles and no certificate "
            "to show; choose a ratio in (0, 1], e.g. 0.5"
        )
    return value


def _check_int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise JobError(f"{name} = {value!r}; expected an integer >= {minimum}")
    return int(value)


def _check_points(points: Any) -> float:
    try:
        value = float(points)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise JobError(
            f"points = {points!r}: the accuracy tolerance must be a number >= 0 (percentage "
            "points)"
        )
    return value


def _check_figure_format(fmt: Any) -> str:
    from mor.plots import FIGURE_FORMATS

    if fmt not in FIGURE_FORMATS:
        raise JobError(f"figure_format = {fmt!r}; choose one of {', '.join(FIGURE_FORMATS)}")
    return fmt


def options_from(cls: type[_Options], job: str, options: dict[str, Any]) -> _Options:
    """``cls(**options)``, refusing an unknown keyword with the list of valid ones."""
    valid = [f.name for f in fields(cls)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"{job}() got unknown keyword argument(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(valid)}")
    return cls(**options)


@dataclass(frozen=True)
class JobOptions:
    """What every job takes.

    Attributes
    ----------
    force : bool
        Replace an existing output directory that mor wrote (it holds ``.mor-output.json``).
    data : TaskData or (x_test, y_test), optional
        Evaluate on these instead of the checkpoint's task (:func:`resolve_checkpoint`).
    task : str, optional
        The checkpoint's task when no metadata names it.
    seed : int
        Seed of the ``random`` method (>= 0).
    batch_size : int
        Evaluation batch (>= 1; its estimated memory is limited by ``MAX_BATCH_BYTES``).
    verify : bool
        Refuse a checkpoint whose files differ from the checksums in its metadata (False:
        warn and go on).
    compat : {None, "released"}
        ``"released"``: aire and last select as the released LAST / AIRE-Prune code does.
    command : str, optional
        The command line recorded in the output's ``.mor-output.json`` (default ``sys.argv``).
    """

    force: bool = False
    data: Any = None
    task: str | None = None
    seed: int = 0
    batch_size: int = 256
    verify: bool = True
    compat: str | None = None
    command: str | None = None

    def _checked_common(self: _Options, methods: Sequence[str]) -> _Options:
        return replace(self, compat=check_compat(self.compat, methods),
                       seed=_check_int(self.seed, "seed", minimum=0),
                       batch_size=_check_int(self.batch_size, "batch_size", minimum=1))


@dataclass(frozen=True)
class PruneOptions(JobOptions):
    """Options of :func:`~ssm_bridge.jobs.prune.prune_checkpoint` beyond :class:`JobOptions`.

    Attributes
    ----------
    max_drop : float, optional
        Accuracy budget in points; the ratio is chosen on validation data.
    tol : float, optional
        Per-layer certified H∞ error budget.
    points : float or None
        Accuracy budget of the check after pruning (None: no check).
    """

    max_drop: float | None = None
    tol: float | None = None
    points: float | None = 1.0

    def checked(self, method: str, ratio: float | None) -> tuple[str, float | None,
                                                                 PruneOptions]:
        """(method, ratio, options) validated; ``ratio`` is 0.6 when no budget is given."""
        if method == "all":
            raise UnknownMethodError(
                "method 'all': prune writes one model, so it takes one method; to evaluate "
                "every method use compare_checkpoint(methods='all') (`mor compare CHECKPOINT "
                "--methods all --out DIR`)")
        (method,) = check_methods([method])
        ratio, max_drop, tol = self._budgets(ratio)
        points = None if self.points is None else _check_points(self.points)
        options = replace(self, max_drop=max_drop, tol=tol, points=points)
        return method, ratio, options._checked_common([method])

    def _budgets(self, ratio: float | None) -> tuple[float | None, float | None, float | None]:
        """At most one of ratio, max_drop, tol (ratio 0.6 when none), each checked."""
        given = [name for name, v in (("ratio", ratio), ("max_drop", self.max_drop),
                                      ("tol", self.tol)) if v is not None]
        if len(given) > 1:
            raise JobError(f"give one of ratio, max_drop or tol, not {' and '.join(given)}")
        if not given:
            ratio = 0.6
        if ratio is not None:
            ratio = check_ratio(ratio)
        max_drop, tol = self.max_drop, self.tol
        if max_drop is not None and (isinstance(max_drop, bool) or not isinstance(
                max_drop, int | float) or not (math.isfinite(max_drop) and max_drop >= 0)):
            raise JobError(f"max_drop = {max_drop!r}; expected accuracy points >= 0 (e.g. 1.0)")
        if tol is not None:
            from mor.budgets import check_tolerance

            tol = check_tolerance(tol)
            if self.compat is not None:
                raise JobError("compat='released' selects by ratio; it has no tol form")
        return ratio, None if max_drop is None else float(max_drop), tol


@dataclass(frozen=True)
class CompareOptions(JobOptions):
    """Options of :func:`~ssm_bridge.jobs.compare.compare_checkpoint` beyond :class:`JobOptions`.

    Attributes
    ----------
    methods : "all" or sequence of str
    ratios : sequence of float
        Pruning ratios in [0, 1] (at most ``mor.selection.MAX_RATIOS``).
    reference_ratio : float
        Ratio, in (0, 1], of the pole, energy and certificate figures.
    speedup_ratios : sequence of float
        Ratios (nearest on the grid) at which the removed model is timed.
    points : float
        Tolerance of the "largest ratio within" table, in accuracy points (>= 0).
    repeats : int
        Timed calls per model (>= 1).
    progress : bool or None
        Progress bar (None: only on a terminal).
    figure_format : {"png", "pdf", "svg"}
    """

    methods: str | Sequence[str] = "all"
    ratios: Sequence[float] = DEFAULT_RATIOS
    reference_ratio: float = 0.5
    speedup_ratios: Sequence[float] = (0.25, 0.5, 0.75)
    points: float = 1.0
    repeats: int = 5
    progress: bool | None = None
    figure_format: str = "png"

    def checked(self) -> CompareOptions:
        """The options validated; ``methods`` and the ratios as sorted lists."""
        methods = check_methods(self.methods)
        options = replace(
            self, methods=methods, ratios=check_ratios(self.ratios),
            reference_ratio=check_reference_ratio(self.reference_ratio),
            speedup_ratios=check_ratios(self.speedup_ratios) if len(self.speedup_ratios)
            else [],
            points=_check_points(self.points),
            figure_format=_check_figure_format(self.figure_format))
        options = options._checked_common(methods)
        options.swept_methods()  # a report needs a modal method: refused before any work
        return replace(options, repeats=_check_int(self.repeats, "repeats", minimum=1))

    def swept_methods(self) -> tuple[list[str], dict[str, str]]:
        """(methods swept, {method: why not swept}) of checked options."""
        skipped = {}
        if self.compat is not None:
            skipped = {m: f"has no compat={self.compat!r} form (only aire and last do)"
                       for m in self.methods if m not in RELEASED_METHODS}
        swept = [m for m in self.methods if m not in skipped]
        if not any(method_kind(m) == "modal" for m in swept):
            # balanced plans change the basis: no kept poles, energies or per-unit figures
            raise JobError(
                f"{', '.join(swept)} alone: the report's per-unit figures (poles, energies, "
                "kept fraction) need a modal method; add one, e.g. methods=['aire', "
                "'balanced_truncation']"
            )
        return swept, skipped
