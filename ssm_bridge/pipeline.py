"""The main job: prune a trained checkpoint, compare every method, and the one-command demo.

Each function mirrors a command of the ``mor`` command line, which is a thin layer over it:

=============================== ==============================================================
Python                          command line
=============================== ==============================================================
:func:`prune_checkpoint`        ``mor prune CHECKPOINT --method aire --ratio 0.6 --out DIR``
:func:`compare_checkpoint`      ``mor compare CHECKPOINT --methods all --ratios 0:1:0.05
                                --out DIR``
:func:`run_demo`                ``mor demo``
=============================== ==============================================================

A CHECKPOINT is a bundled name (``ssm_bridge.bundled.BUNDLED``, e.g. ``"s5_digits"``), a path
to a checkpoint written by :func:`ssm_bridge.save_checkpoint` (``.msgpack`` file or Orbax
directory) with its task named by a metadata JSON beside it (or by ``task=``), or an already
loaded :class:`ssm_bridge.Checkpoint` together with ``data=``.

Every output directory is built under a temporary name next to its destination and renamed
at the end: an error (or Ctrl-C) leaves nothing half-written.  Each holds the marker file
``.mor-output.json``; an existing directory is replaced only with ``force=True`` and only if
it holds that marker (mor wrote it), and never when it is the current or home directory, the
filesystem root, or a folder holding the input (:mod:`ssm_bridge._staging`).  The output
location is checked before any work is done.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import mor
from mor.exceptions import MORError, RatioError, UnknownMethodError
from mor.plan import KeepPlan, atomic_write_text
from ssm_bridge._staging import check_output_dir, staged_directory
from ssm_bridge.checkpoint import Checkpoint, load_checkpoint, read_metadata, save_checkpoint
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import BridgeError, CheckpointError

__all__ = [
    "DEFAULT_DEMO_DIR",
    "DEFAULT_RATIOS",
    "MAX_BATCH_BYTES",
    "MAX_RATIOS",
    "CompareResult",
    "DemoResult",
    "OutputExistsError",
    "PipelineError",
    "PruneResult",
    "ResolvedCheckpoint",
    "compare_checkpoint",
    "prune_checkpoint",
    "resolve_checkpoint",
    "run_demo",
]

log = logging.getLogger(__name__)

DEFAULT_RATIOS: tuple[float, ...] = tuple(round(0.05 * i, 10) for i in range(21))
"""0, 0.05, ..., 1 (the fast sweep of ``mor compare``)."""

DEMO_RATIOS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(11))
"""The demo's coarser grid 0, 0.1, ..., 1."""

MAX_RATIOS = 1001
"""Most ratios in one sweep (a grid 0:1:0.001); each ratio is one more model per method."""

MAX_BATCH_BYTES = 16 * 1024**3
"""Limit on the estimated activation memory of one evaluation batch (16 GiB)."""

DEFAULT_DEMO_DIR = Path("reports") / "demo"
_DEMO_MARKER = ".mor-demo"
_NOT_APPLICABLE: dict[str, str] = {}
"""Methods that cannot reduce a network, with the reason (none since issue 12: balanced
truncation keeps the S5/S4D structure, :mod:`ssm_bridge.balanced`)."""
_RUN_FILE = "model.msgpack"
_RELEASED_METHODS = ("aire", "last")
"""Methods with a ``compat="released"`` form (the released LAST / AIRE-Prune code)."""


def _is_balanced(method: str) -> bool:
    """Whether ``method`` makes balanced plans (a change of basis, applied by removal)."""
    from mor.selection import get_method

    if method == "balanced_truncation_calibrated":
        return True
    if method == "aire_calibrated":
        return False
    return get_method(method).across == "balanced"


class PipelineError(BridgeError):
    """Invalid input to the main job (method, ratios, checkpoint kind, task)."""


class OutputExistsError(PipelineError):
    """The output directory exists and ``force`` was not given."""


# ---------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint ready for the main job: model, test data and where they came from.

    Attributes
    ----------
    label : str
        Bundled name or path, as given.
    checkpoint : Checkpoint
    x_test, y_test : ndarray
        The test set of the checkpoint's task (same seed and options as training).
    task : str or None
    metadata : dict
        The checkpoint's metadata (task, seed, options, recorded test accuracy, command).
    """

    label: str
    checkpoint: Checkpoint
    x_test: np.ndarray
    y_test: np.ndarray
    task: str | None
    metadata: dict = field(default_factory=dict)

    @property
    def config(self) -> StackConfig:
        return self.checkpoint.config

    @property
    def variables(self) -> dict:
        return self.checkpoint.variables

    def describe(self) -> str:
        cfg = self.config
        kind = "S4D" if isinstance(cfg, S4DConfig) else "S5"
        return (f"{kind}, {cfg.n_layers} layer(s), H = {cfg.d_model}, stored modes per layer "
                f"{list(cfg.state_sizes)}; task {self.task or 'given data'}, "
                f"{len(self.y_test)} test examples")


def _bundled_module():
    try:
        from ssm_bridge import bundled
    except ImportError:
        return None
    return bundled if hasattr(bundled, "BUNDLED") else None


def bundled_names() -> tuple[str, ...]:
    """Names of the bundled checkpoints (empty if the bundle is not installed)."""
    module = _bundled_module()
    return tuple(module.BUNDLED) if module is not None else ()


def available_bundled() -> tuple[str, ...]:
    """Bundled names whose checkpoint file is present."""
    module = _bundled_module()
    if module is None:
        return ()
    out = []
    for name in module.BUNDLED:
        try:
            if Path(module.bundled_checkpoint_path(name)).exists():
                out.append(name)
        except (MORError, FileNotFoundError):
            continue
    return tuple(out)


def _find_metadata(path: Path) -> dict:
    """The validated metadata beside a checkpoint ({} if none); see ``read_metadata``."""
    return read_metadata(path)


def _pruned_metadata(res: ResolvedCheckpoint, data: Any, method: str, ratio: float,
                     after: Any, batch_size: int) -> dict:
    """Metadata of a pruned checkpoint: where it came from and its recorded accuracy."""
    meta = {"format": "ssm_bridge.prune/1", "source": res.label, "method": method,
            "ratio": ratio, "test_accuracy": float(after.accuracy),
            "test_loss": float(after.loss), "n_test": int(after.count),
            "eval_batch_size": int(batch_size)}
    if data is None and res.task:  # the test set is the task's: record how to rebuild it
        source = res.metadata
        meta.update(task=res.task, task_options=_task_options(source),
                    data_seed=int(source.get("data_seed", source.get("seed", 0))))
    return meta


def _task_options(metadata: Mapping[str, Any]) -> dict:
    for key in ("task_options", "options", "data_options"):
        value = metadata.get(key)
        if isinstance(value, dict):
            return dict(value)
    return {}


def _test_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """A TaskData's test set as the model takes it (token tasks one-hot, as in training)."""
    x = np.asarray(data.x_test)
    if getattr(data, "vocab_size", None) is not None:
        x = np.eye(int(data.vocab_size), dtype=np.float32)[x]
    return x, np.asarray(data.y_test)


def _load_test_set(task: str, seed: int, options: Mapping[str, Any]):
    from ssm_bridge.data import load_task

    return _test_arrays(load_task(task, seed=seed, **dict(options)))


def resolve_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    *,
    data: Any = None,
    task: str | None = None,
    seed: int | None = None,
    verify: bool = True,
) -> ResolvedCheckpoint:
    """Load a checkpoint and the test set it is evaluated on.

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        A bundled name, a checkpoint path, or a loaded Checkpoint (then ``data`` or ``task``
        is required).
    data : TaskData or (x_test, y_test), optional
        Evaluate on these instead of the checkpoint's task.
    task : str, optional
        The task (``ssm_bridge.data.TASKS``) when the checkpoint has no metadata naming it.
    seed : int, optional
        Seed of the task's data (default: the metadata's, else 0).
    verify : bool
        Check the checkpoint against the checksums recorded in its metadata
        (:func:`ssm_bridge.load_checkpoint`); False: warn on a mismatch instead.

    Raises
    ------
    PipelineError
        Unknown bundled name, no task known, or data that does not fit the model.
    CheckpointError
        Not a checkpoint (missing, unreadable, no config beside it), invalid metadata, or
        (``ChecksumMismatchError``) files that differ from their recorded checksums.
    """
    metadata: dict = {}
    label: str
    if isinstance(checkpoint, Checkpoint):
        ckpt, label = checkpoint, "checkpoint"
    else:
        text = os.fspath(checkpoint)
        path = Path(text)
        module = _bundled_module()
        if module is not None and text in module.BUNDLED and not path.exists():
            # the test set comes from the metadata below, as in ``load_bundled``
            ckpt = load_checkpoint(module.bundled_checkpoint_path(text), verify=verify)
            metadata = dict(ckpt.metadata) or dict(module.bundled_metadata(text))
            label = text
        else:
            if not path.exists():
                names = ", ".join(bundled_names()) or "none installed"
                raise CheckpointError(
                    f"{text!r}: no such checkpoint file or directory, and not a bundled "
                    f"checkpoint (bundled: {names})"
                )
            if path.is_file() and path.suffix != ".msgpack":
                raise CheckpointError(
                    f"{text!r} is not a checkpoint: expected a .msgpack file (with "
                    f"<stem>.config.json beside it) or an Orbax checkpoint directory"
                )
            if path.is_dir() and not (path / "state").is_dir() and (path / _RUN_FILE).is_file():
                path = path / _RUN_FILE  # a run directory written by `mor train`
            ckpt = load_checkpoint(path, verify=verify)
            metadata = _find_metadata(path)
            label = text
    if data is not None:
        if hasattr(data, "x_test"):
            x, y = _test_arrays(data)
        else:
            try:
                x, y = data
            except (TypeError, ValueError):
                raise PipelineError(
                    "data must be a TaskData or a pair (x_test, y_test)"
                ) from None
        return ResolvedCheckpoint(label, ckpt, np.asarray(x), np.asarray(y),
                                  task or metadata.get("task"), metadata)
    task = task or metadata.get("task")
    if not task:
        raise PipelineError(
            f"{label}: no task is known for this checkpoint (no metadata JSON with a 'task' "
            "beside it); pass the task (--task digits|digits32|mnist1d|listops, or task=)"
        )
    if seed is None:
        seed = int(metadata.get("data_seed", metadata.get("seed", 0)))
    x, y = _load_test_set(task, seed, _task_options(metadata))
    return ResolvedCheckpoint(label, ckpt, x, y, task, metadata)


def _check_data_fits(res: ResolvedCheckpoint) -> None:
    cfg = res.config
    x = res.x_test
    if x.ndim == 3 and x.shape[-1] != cfg.d_input:
        raise PipelineError(
            f"{res.label}: the test inputs have {x.shape[-1]} features per step but the model "
            f"takes d_input = {cfg.d_input}; is this the checkpoint's task?"
        )
    if res.y_test.size and int(np.max(res.y_test)) >= cfg.n_classes:
        raise PipelineError(
            f"{res.label}: labels go up to {int(np.max(res.y_test))} but the model has "
            f"{cfg.n_classes} classes; is this the checkpoint's task?"
        )


def check_methods(methods: str | Sequence[str]) -> list[str]:
    """``"all"`` or method names → list, validated against :data:`mor.METHODS`."""
    if isinstance(methods, str):
        methods = list(mor.METHODS) if methods == "all" else [
            m.strip() for m in methods.split(",") if m.strip()]
    from mor.calibrated import CALIBRATED_METHODS

    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in mor.METHODS and m not in CALIBRATED_METHODS]
    if unknown or not methods:
        raise UnknownMethodError(
            f"unknown method(s) {unknown or methods}; choose from {', '.join(mor.METHODS)}, "
            f"{', '.join(CALIBRATED_METHODS)} (need training data) or 'all'"
        )
    return methods


def check_compat(compat: str | None, methods: Sequence[str]) -> str | None:
    """``compat`` validated: None, or ``"released"`` with at least one of aire / last."""
    if compat is None:
        return None
    if compat not in mor.selection.COMPAT_MODES:
        raise UnknownMethodError(
            f"compat = {compat!r}; expected None (the toolkit's rules) or one of "
            f"{', '.join(repr(c) for c in mor.selection.COMPAT_MODES)}"
        )
    if not any(m in _RELEASED_METHODS for m in methods):
        raise UnknownMethodError(
            f"compat={compat!r} reproduces the released LAST and AIRE-Prune code: choose "
            f"method aire or last (got {', '.join(methods)})"
        )
    return compat


def check_ratios(ratios: Sequence[float]) -> list[float]:
    """Sorted distinct ratios, each in [0, 1], at most :data:`MAX_RATIOS` of them."""
    try:
        values = [float(r) for r in ratios]
    except (TypeError, ValueError, OverflowError):
        raise RatioError(f"ratios must be numbers in [0, 1]; got {ratios!r}") from None
    if len(values) > MAX_RATIOS:
        raise RatioError(
            f"{len(values)} pruning ratios; at most MAX_RATIOS = {MAX_RATIOS} (a grid "
            "0:1:0.001) are evaluated in one sweep: use a coarser grid"
        )
    bad = [r for r in values if not (math.isfinite(r) and 0.0 <= r <= 1.0)]
    if bad or not values:
        raise RatioError(
            f"pruning ratios must lie in [0, 1]; got {bad or values} "
            "(e.g. 0.1,0.5,0.9 or 0:1:0.05)"
        )
    return sorted(set(values))


def check_reference_ratio(ratio: float) -> float:
    """The ratio of the pole, energy and certificate figures: a number in (0, 1]."""
    (value,) = check_ratios([ratio])
    if value == 0.0:
        raise RatioError(
            "reference ratio 0 prunes nothing, so there are no pruned poles and no certificate "
            "to show; choose a ratio in (0, 1], e.g. 0.5"
        )
    return value


def _check_int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise PipelineError(f"{name} = {value!r}; expected an integer >= {minimum}")
    return int(value)


def _check_points(points: Any) -> float:
    try:
        value = float(points)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise PipelineError(
            f"points = {points!r}: the accuracy tolerance must be a number >= 0 (percentage "
            "points)"
        )
    return value


def _batch_bytes(res: ResolvedCheckpoint, batch_size: int) -> int:
    """Estimated activation memory (bytes, float32) of one evaluation batch of the model.

    Per example and time step: the input features, four d_model-wide activations and the
    complex state of the widest layer.  Batches are padded to ``batch_size`` examples.
    """
    cfg = res.config
    x = np.asarray(res.x_test)
    steps = int(x.shape[1]) if x.ndim >= 2 else 1
    per_step = int(cfg.d_input) + 4 * int(cfg.d_model) + 2 * max(int(s) for s in cfg.state_sizes)
    return batch_size * steps * per_step * 4


def _check_batch_memory(res: ResolvedCheckpoint, batch_size: int) -> None:
    need = _batch_bytes(res, batch_size)
    if need > MAX_BATCH_BYTES:
        per_example = max(_batch_bytes(res, 1), 1)
        raise PipelineError(
            f"batch size {batch_size} needs about {need / 1024**3:.3g} GiB for one batch of "
            f"{res.label}, over the batch memory limit MAX_BATCH_BYTES = "
            f"{MAX_BATCH_BYTES / 1024**3:g} GiB; use --batch-size "
            f"{max(MAX_BATCH_BYTES // per_example, 1)} or less"
        )


# ---------------------------------------------------------------------- output directories
def _input_paths(checkpoint: Any) -> list[Path]:
    """The files or folders a job reads for ``checkpoint`` (the output must not hold them)."""
    if isinstance(checkpoint, Checkpoint):
        return []
    try:
        text = os.fspath(checkpoint)
    except TypeError:
        return []
    if not isinstance(text, str) or not text:
        return []
    path = Path(text)
    if os.path.lexists(path):
        return [path]
    module = _bundled_module()
    if module is not None and text in module.BUNDLED:
        try:
            return [Path(module.bundled_checkpoint_path(text))]
        except (MORError, OSError):
            return []
    return []


def _check_out(out_dir: str | os.PathLike, force: bool, inputs: Sequence[Path] = ()) -> Path:
    """``out_dir`` as an absolute path if it may be written (see :mod:`ssm_bridge._staging`)."""
    return check_output_dir(out_dir, force=force, inputs=inputs, error=OutputExistsError)


@contextmanager
def _staged(out: Path, force: bool, inputs: Sequence[Path] = (),
            command: str | None = None) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; rename it to ``out`` when the block ends.

    The directory holds the marker ``.mor-output.json`` recording ``command``.
    """
    # the output may have appeared meanwhile: check again just before the rename
    with staged_directory(out, before_replace=lambda: _check_out(out, force, inputs),
                          command=command) as tmp:
        yield tmp


# ---------------------------------------------------------------------- small helpers
def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(_clean(data), indent=1, allow_nan=False) + "\n")


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (numbers right-aligned; floats to 4 significant digits)."""

    def fmt(v: Any) -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _count_params(tree: Any) -> int:
    import jax

    return int(sum(np.size(a) for a in jax.tree_util.tree_leaves(tree.get("params", tree))))


def _expanded(sys: mor.ModalSystem, keep: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Poles with conjugates written out, and whether each is kept."""
    kept = np.zeros(sys.nunits, dtype=bool)
    kept[list(keep)] = True
    poles, flags = [], []
    for p, is_pair, k in zip(sys.poles, sys.pair, kept, strict=True):
        poles.append(p)
        flags.append(k)
        if is_pair:
            poles.append(np.conj(p))
            flags.append(k)
    return np.asarray(poles), np.asarray(flags, dtype=bool)


# ---------------------------------------------------------------------- prune
@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune_checkpoint` wrote and measured.

    Attributes
    ----------
    out_dir : Path
    checkpoint_path : Path
        The dimension-reduced checkpoint (``model.msgpack``; the KeepPlan is
        ``model.plan.json`` beside it, the config ``model.config.json``).
    plan : KeepPlan
    accuracy_before, accuracy_after : float
        Test accuracy (fraction) of the full and of the reduced model.
    loss_before, loss_after : float
    state_sizes_before, state_sizes_after : tuple of int
    certificate : verification.CertificateReport
    files : tuple of str
        Every file written, relative to ``out_dir``.
    """

    out_dir: Path
    checkpoint_path: Path
    plan: KeepPlan
    accuracy_before: float
    accuracy_after: float
    loss_before: float
    loss_after: float
    state_sizes_before: tuple[int, ...]
    state_sizes_after: tuple[int, ...]
    certificate: Any
    files: tuple[str, ...]
    selection: dict = field(default_factory=dict)
    advice: dict = field(default_factory=dict)
    """The accuracy check against ``points``: ``drop_points``, ``over_budget``, and when over
    it ``suggested_ratio`` (largest within ``points`` on validation data) and ``commands``."""


def certificate_markdown(report: Any) -> str:
    """A certificate report as Markdown: one row per (layer, bound), exact norms beside it."""
    rows = []
    for lc in report.layers:
        for b in lc.bounds:
            exact = lc.exact_hinf if b.norm == "hinf" else lc.exact_h2
            holds = "n/a" if b.value is None else {True: "yes", False: "**NO**",
                                                   None: "unknown"}[b.holds]
            rows.append([lc.layer, f"{lc.npruned}/{lc.nunits}", b.name, b.norm, b.value, exact,
                         None if not b.value or exact is None else exact / b.value,
                         "yes" if b.valid else "no (published form)", holds])
    header = ["layer", "pruned units", "bound", "norm", "bound value", "exact error",
              "exact / bound", "proved here", "holds"]
    summary = report.summary()
    verdict = {True: "every proved bound holds", False: "a proved bound FAILS",
               None: "unknown (a norm computation failed)"}[summary["all_valid_bounds_hold"]]
    return (f"Certificate of `{report.method}` at ratio {report.ratio} (achieved "
            f"{report.achieved_ratio:.3f}): {verdict}. Bounds marked 'no' are the papers' "
            "published forms, which are not proved for these layers; they are shown for "
            "comparison.\n\n" + md_table(header, rows))


def prune_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    method: str = "aire",
    ratio: float | None = None,
    out_dir: str | os.PathLike = "pruned",
    *,
    force: bool = False,
    data: Any = None,
    task: str | None = None,
    seed: int = 0,
    batch_size: int = 256,
    verify: bool = True,
    compat: str | None = None,
    command: str | None = None,
    max_drop: float | None = None,
    tol: float | None = None,
    points: float | None = 1.0,
) -> PruneResult:
    """Prune a checkpoint's states by ``method`` at ``ratio`` and write the smaller model.

    Writes into ``out_dir``: ``model.msgpack`` (the dimension-reduced checkpoint, with
    ``model.config.json`` and its KeepPlan ``model.plan.json``), ``certificates.json`` and
    ``certificates.md`` (per layer: every bound next to the exact H∞ / H2 error of the
    truncation, :func:`verification.certify`), ``accuracy.json`` (test accuracy and loss
    before and after) and ``report.md``.

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        Bundled name or checkpoint path (see :func:`resolve_checkpoint`).
    method : str
        A method of ``mor.METHODS``.  ``"balanced_truncation"`` balances each layer's
        after-update triple and writes the re-diagonalised layers back (same D;
        :mod:`ssm_bridge.balanced`); its certificate is ``2 Σ σ`` per layer.
    ratio : float, optional
        Pruning ratio in [0, 1]: the fraction of state units removed (MATH.md §3).
        Default 0.6 when neither ``max_drop`` nor ``tol`` is given; give at most one of the
        three.
    out_dir : path-like
        Created; an existing directory is replaced only with ``force=True`` and only if mor
        wrote it (it holds ``.mor-output.json``).  Checked before any work.
    data, task : optional
        See :func:`resolve_checkpoint`.
    seed : int
        Seed of the ``random`` method (>= 0).
    batch_size : int
        Evaluation batch (>= 1; its estimated memory is limited by :data:`MAX_BATCH_BYTES`).
    verify : bool
        Refuse a checkpoint whose files differ from the checksums in its metadata (False:
        warn and go on).  The pruned checkpoint's ``model.meta.json`` records its own
        checksums, its test accuracy and the task to rebuild the test set.
    compat : {None, "released"}
        ``"released"``: select as the released LAST / AIRE-Prune code does
        (``mor.prune(..., compat="released")``; method ``aire`` or ``last``), recorded in
        the KeepPlan and the report.  Default: the toolkit's rules.
    command : str, optional
        The command line recorded in the output's ``.mor-output.json`` (default
        ``sys.argv``).
    max_drop : float, optional
        Accuracy budget in points: the ratio is the largest of :data:`DEFAULT_RATIOS` whose
        accuracy on a validation split carved from the **training** data stays within
        ``max_drop`` of the full model's (:mod:`ssm_bridge.budgets`); the test set is
        evaluated once, on the chosen model.  Needs the checkpoint's task (or ``data`` with
        a training set).
    tol : float, optional
        Error budget: per layer, remove as much as keeps the layer's certified H∞ error
        ≤ ``tol`` (``mor.prune(..., tol=tol)``).
    points : float or None
        Accuracy budget of the check after pruning (default 1): when the test accuracy falls
        by more, ``PruneResult.advice`` and the report's last section name the largest
        ratio within ``points`` (on a validation split of the training data: one more sweep)
        and the commands that get it.  None: no check.

    Returns
    -------
    PruneResult
        ``selection`` records how the ratio was chosen (and the validation curve).

    Raises
    ------
    OutputExistsError, PipelineError, mor.UnknownMethodError, mor.RatioError, CheckpointError
        Nothing is written.
    ssm_bridge._staging.OutputNotWritableError
        The output location cannot be written (checked first, nothing is computed).
    """
    from ssm_bridge.apply import apply
    from ssm_bridge.calibration import make_plan
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.extract import extract
    from verification import certify

    if method == "all":
        raise UnknownMethodError(
            "method 'all': prune writes one model, so it takes one method; to evaluate every "
            "method use compare_checkpoint(methods='all') (`mor compare CHECKPOINT --methods "
            "all --out DIR`)")
    (method,) = check_methods([method])
    if method in _NOT_APPLICABLE:
        raise PipelineError(f"{method} {_NOT_APPLICABLE[method]}; choose a modal method")
    ratio, max_drop, tol = _check_budgets(ratio, max_drop, tol, compat)
    points = None if points is None else _check_points(points)
    compat = check_compat(compat, [method])
    seed = _check_int(seed, "seed", minimum=0)
    batch_size = _check_int(batch_size, "batch_size", minimum=1)
    inputs = _input_paths(checkpoint)
    out = _check_out(out_dir, force, inputs)
    res = resolve_checkpoint(checkpoint, data=data, task=task, verify=verify)
    _check_data_fits(res)
    _check_batch_memory(res, batch_size)
    systems = extract(res.variables, res.config)
    calibration = _calibration_for(res, data, [method], batch_size)
    selection: dict[str, Any] = {"by": "ratio"}
    if max_drop is not None:
        ratio, selection = _ratio_within_drop(res, data, systems, method, max_drop, seed,
                                              batch_size, compat, calibration)
    plan = make_plan(systems, method, ratio=None if tol is not None else ratio, tol=tol,
                     seed=seed, compat=compat, calibration=calibration)
    if tol is not None:
        ratio = plan.achieved_ratio
        selection = {"by": "tol", "tol": tol}
    small, small_cfg = apply(res.variables, res.config, plan, mode="remove",
                             calibration=calibration)
    before = evaluate(res.variables, res.config, res.x_test, res.y_test, batch_size=batch_size)
    after = evaluate(small, small_cfg, res.x_test, res.y_test, batch_size=batch_size)
    advice = _accuracy_advice(res, data, systems, method, before.accuracy, after.accuracy,
                              points, selection, seed, batch_size, compat, calibration)
    report = certify(systems, plan,
                     calibration=None if calibration is None else calibration.layers)
    params_before, params_after = _count_params(res.variables), _count_params(small)
    summary = {
        "checkpoint": res.label,
        "task": res.task,
        "method": method,
        "ratio": ratio,
        "compat": compat,
        "achieved_ratio": plan.achieved_ratio,
        "test_examples": before.count,
        "before": {"accuracy": before.accuracy, "loss": before.loss,
                   "state_sizes": list(res.config.state_sizes), "params": params_before},
        "after": {"accuracy": after.accuracy, "loss": after.loss,
                  "state_sizes": list(small_cfg.state_sizes), "params": params_after},
        "kept_units": list(plan.kept_counts),
        "units": list(plan.nunits),
        "certificates_hold": report.all_valid_bounds_hold,
        "selection": selection,
        "advice": advice,
        "metadata": res.metadata,
    }
    if tol is not None:
        selection["certified_hinf_error_per_layer"] = _certified_errors(report)
    with _staged(out, force, inputs, command) as tmp:
        ckpt_path = save_checkpoint(
            tmp / "model.msgpack", small, small_cfg, plan=plan,
            metadata=_pruned_metadata(res, data, method, ratio, after, batch_size))
        atomic_write_text(tmp / "certificates.json", report.to_json() + "\n")
        atomic_write_text(tmp / "certificates.md", certificate_markdown(report) + "\n")
        if calibration is not None:  # beside the plan: the calibrated plan is reproducible
            calibration.save(tmp / "model.calibration.npz")
        _write_json(tmp / "accuracy.json", summary)
        rows = [["full", f"{before.accuracy * 100:.2f}", f"{before.loss:.4f}",
                 str(list(res.config.state_sizes)), params_before],
                [f"{method} @ {ratio:g}", f"{after.accuracy * 100:.2f}", f"{after.loss:.4f}",
                 str(list(small_cfg.state_sizes)), params_after]]
        text = [
            f"# Pruned checkpoint: {res.label}, {method} at ratio {ratio:g}"
            + ("" if compat is None else f" (compat={compat}: the released code's rules)"),
            "",
            f"Model: {res.describe()}.",
            f"Kept {sum(plan.kept_counts)} of {sum(plan.nunits)} "
            f"{'real states (balanced truncation)' if plan.kind == 'balanced' else 'state units'}"
            f" (achieved ratio {plan.achieved_ratio:.3f}); kept per layer "
            f"{list(plan.kept_counts)}.",
            *_selection_lines(selection),
            "",
            md_table(["model", "test accuracy (%)", "test loss", "stored modes per layer",
                      "parameters"], rows),
            "",
            "## Certificates per layer",
            "",
            certificate_markdown(report),
            "",
            "## Files",
            "",
            "- `model.msgpack`, `model.config.json`: the dimension-reduced checkpoint "
            "(`ssm_bridge.load_checkpoint`)",
            "- `model.plan.json`: its KeepPlan (`mor.KeepPlan.load`)",
            "- `certificates.json`, `certificates.md`: the certificate report",
            "- `accuracy.json`: accuracy and loss before and after",
            "",
            *_advice_markdown(advice),
        ]
        atomic_write_text(tmp / "report.md", "\n".join(text) + "\n")
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        ckpt_name = ckpt_path.name
    return PruneResult(out, out / ckpt_name, plan, before.accuracy, after.accuracy, before.loss,
                       after.loss, tuple(res.config.state_sizes),
                       tuple(small_cfg.state_sizes), report, files, selection, advice)


def _check_budgets(ratio, max_drop, tol, compat) -> tuple[float | None, float | None,
                                                          float | None]:
    """At most one of ratio, max_drop, tol (ratio 0.6 when none), each checked."""
    import math

    given = [name for name, v in (("ratio", ratio), ("max_drop", max_drop), ("tol", tol))
             if v is not None]
    if len(given) > 1:
        raise PipelineError(f"give one of ratio, max_drop or tol, not {' and '.join(given)}")
    if not given:
        ratio = 0.6
    if ratio is not None:
        (ratio,) = check_ratios([ratio])
    if max_drop is not None and (isinstance(max_drop, bool) or not isinstance(
            max_drop, int | float) or not (math.isfinite(max_drop) and max_drop >= 0)):
        raise PipelineError(f"max_drop = {max_drop!r}; expected accuracy points >= 0 (e.g. 1.0)")
    if tol is not None:
        from mor.budgets import check_tolerance

        tol = check_tolerance(tol)
        if compat is not None:
            raise PipelineError("compat='released' selects by ratio; it has no tol form")
    return ratio, None if max_drop is None else float(max_drop), tol


def _accuracy_advice(res, data, systems, method, acc_before, acc_after, points, selection,
                     seed, batch_size, compat, calibration) -> dict[str, Any]:
    """The accuracy drop against ``points``; when over it, the ratio and commands that fit.

    The suggested ratio is chosen on a validation split of the training data (never the
    test set), as ``max_drop`` chooses it.
    """
    import shlex

    from ssm_bridge.budgets import NoTrainingDataError

    if points is None:
        return {}
    drop = 100.0 * (acc_before - acc_after)
    advice: dict[str, Any] = {"method": method, "points": points, "drop_points": drop,
                              "over_budget": drop > points}
    if not advice["over_budget"]:
        return advice
    base = f"mor prune {shlex.quote(res.label)} --method {method}"
    commands = []
    if selection.get("by") == "max_drop":
        advice["reason"] = (
            "the ratio was chosen on validation data and the test set drops further; ask for "
            "a smaller --max-drop, or fine-tune the pruned model (--finetune STEPS)")
        commands.append(f"{base} --max-drop {points / 2:g} --out DIR")
    else:
        try:
            ratio, sel = _ratio_within_drop(res, data, systems, method, points, seed,
                                            batch_size, compat, calibration)
        except NoTrainingDataError as err:
            advice["reason"] = str(err).rstrip(".")
        else:
            advice["suggested_ratio"] = ratio
            advice["validation_examples"] = sel.get("validation_examples")
            commands.append(f"{base} --ratio {ratio:g} --out DIR")
        commands.append(f"{base} --max-drop {points:g} --out DIR")
    advice["commands"] = commands
    return advice


def _advice_markdown(advice: Mapping[str, Any]) -> list[str]:
    """The report's closing section: whether the budget holds, and what to run next."""
    if not advice:
        return []
    lines = ["## What to do next", ""]
    if not advice["over_budget"]:
        return [*lines,
                f"The test accuracy fell by {advice['drop_points']:.2f} points, within the "
                f"{advice['points']:g} point(s) allowed: this model is ready to use.", ""]
    lines.append(
        f"**The test accuracy fell by {advice['drop_points']:.2f} points, more than the "
        f"{advice['points']:g} point(s) allowed.** The certificates bound each layer's error, "
        "not the accuracy.")
    if advice.get("suggested_ratio") is not None:
        lines.append(
            f"The largest ratio within {advice['points']:g} point(s) for {advice['method']} is "
            f"{advice['suggested_ratio']:g} (chosen on {advice['validation_examples']} "
            "validation examples of the training data).")
    elif advice.get("reason"):
        lines.append(f"No ratio could be suggested: {advice['reason']}.")
    lines += ["", "```bash", *advice.get("commands", []), "```", ""]
    return lines


def _ratio_within_drop(res, data, systems, method, max_drop, seed, batch_size, compat,
                       calibration=None):
    """(ratio, selection record) chosen on the validation split of the training data."""
    from ssm_bridge.budgets import choose_ratio, training_splits
    from ssm_bridge.calibration import make_plan

    val, _ = training_splits(res.metadata, res.task, data)
    plans = None
    if compat is not None or calibration is not None:
        plans = {(method, r): make_plan(systems, method, ratio=r, seed=seed, compat=compat,
                                        calibration=calibration)
                 for r in DEFAULT_RATIOS}
    choice = choose_ratio(res.variables, res.config, val, [method], max_drop=max_drop,
                          ratios=DEFAULT_RATIOS, seed=seed, batch_size=batch_size,
                          plans=plans, calibration=calibration)[method]
    return choice.ratio, {"by": "max_drop", **choice.to_dict()}


def _calibration_for(res, data, methods, batch_size):
    """The calibration of ``res`` on its training data's calibration split, if a method
    needs one (else None)."""
    from ssm_bridge.budgets import training_splits
    from ssm_bridge.calibration import calibrate, is_calibrated

    if not any(is_calibrated(m) for m in methods):
        return None
    _, split = training_splits(res.metadata, res.task, data)
    return calibrate(res.variables, res.config, split.x, batch_size=min(batch_size, 64),
                     info={"source": split.source, "indices": split.indices.tolist(),
                           "n_train": split.n_train})


def _certified_errors(report) -> list[float | None]:
    """Per layer, the smallest proved H∞ bound of the report (None if there is none)."""
    out = []
    for lc in report.layers:
        values = [b.value for b in lc.bounds if b.valid and b.norm == "hinf"
                  and b.value is not None]
        out.append(min(values) if values else None)
    return out


def _selection_lines(selection: Mapping[str, Any]) -> list[str]:
    if selection.get("by") == "max_drop":
        return ["", f"Ratio chosen on a validation split of the training data "
                f"({selection['validation_examples']} examples, "
                f"{selection['validation_source']}): the largest ratio whose validation "
                f"accuracy is within {selection['max_drop_points']:g} point(s) of the full "
                f"model's ({100 * selection['validation_full_accuracy']:.2f} %). The test set "
                "was evaluated once, on the chosen model."]
    if selection.get("by") == "tol":
        errs = selection.get("certified_hinf_error_per_layer", [])
        shown = ", ".join("n/a" if e is None else f"{e:.3g}" for e in errs)
        return ["", f"Error budget: per layer, pruned while the certified H∞ error stays ≤ "
                f"{selection['tol']:g}; certified errors per layer: {shown}."]
    return []


# ---------------------------------------------------------------------- compare
@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare_checkpoint` wrote and measured.

    Attributes
    ----------
    out_dir : Path
    report_path : Path
        ``report.md``.
    label, task : str
    full_accuracy, full_loss : float
        The unpruned model on the test set (:func:`ssm_bridge.evaluate`).
    methods : tuple of str
        Methods swept (the modal ones among those asked for).
    ratios : tuple of float
        The ratios evaluated: those asked for, plus 0 (the full model, the reference of the
        "largest ratio" table) and the reference ratio, ascending.
    accuracy, loss : ndarray, shape (len(methods), len(ratios))
    plans : tuple of KeepPlan
        Method-major, as the grid.
    largest_ratio : dict method → float
        Largest ratio within ``points`` of the full model (the papers' Table 1).
    speedup : list of dict
        Per measured ratio: state sizes, times (s) and speed-up of the removed model.
    skipped : dict method → reason
    files : tuple of str
    """

    out_dir: Path
    report_path: Path
    label: str
    task: str | None
    full_accuracy: float
    full_loss: float
    methods: tuple[str, ...]
    ratios: tuple[float, ...]
    accuracy: np.ndarray
    loss: np.ndarray
    plans: tuple[KeepPlan, ...]
    largest_ratio: dict[str, float]
    speedup: list[dict]
    skipped: dict[str, str]
    files: tuple[str, ...]
    validation: dict = field(default_factory=dict)
    recommendation: dict = field(default_factory=dict)
    """The method, ratio and ``mor prune`` command the report ends with (:func:`recommend`)."""

    def plan(self, method: str, ratio: float) -> KeepPlan:
        """The plan evaluated for (method, ratio)."""
        i = self.methods.index(method)
        j = int(np.argmin(np.abs(np.asarray(self.ratios) - ratio)))
        if abs(self.ratios[j] - ratio) > 1e-9:
            raise PipelineError(f"ratio {ratio} was not swept; swept: {list(self.ratios)}")
        return self.plans[i * len(self.ratios) + j]


def _time_forwards(models: Sequence[tuple[dict, StackConfig]], x: np.ndarray,
                   repeats: int) -> list[float]:
    """Median wall time (s) of each model's jitted forward pass on ``x``, compile excluded.

    The models are timed in turn within each repetition, so a change of load on a shared
    machine affects all of them alike.
    """
    return [float(statistics.median(t)) for t in _time_forward_runs(models, x, repeats)]


def _time_forward_runs(models: Sequence[tuple[dict, StackConfig]], x: np.ndarray,
                       repeats: int) -> list[list[float]]:
    """Every timed run (s) of each model's jitted forward pass (see :func:`_time_forwards`)."""
    import jax
    import jax.numpy as jnp

    from ssm_bridge.models import make_model

    xb = jnp.asarray(x)
    calls = []
    for variables, config in models:
        model = make_model(config)
        fn = jax.jit(lambda v, xb, model=model: model.apply(v, xb))
        v = jax.device_put(variables)
        fn(v, xb).block_until_ready()
        calls.append((fn, v))
    times: list[list[float]] = [[] for _ in models]
    for _ in range(max(int(repeats), 1)):
        for k, (fn, v) in enumerate(calls):
            start = time.perf_counter()
            fn(v, xb).block_until_ready()
            times[k].append(time.perf_counter() - start)
    return times


def computed_state_sizes(config: StackConfig) -> list[int]:
    """Per layer, the state count the forward pass actually computes.

    S5 pads each layer's stored modes with inert ones to a multiple of the scan's
    ``pad_multiple`` (:func:`ssm_bridge.scan.s5_state_features`, 8 by default), so removing
    5 of 16 modes still computes 16; S4D computes ``d_model × N`` (every channel is padded to
    the layer's largest kept count, :mod:`ssm_bridge.apply`).
    """
    import inspect

    from ssm_bridge import scan

    if isinstance(config, S4DConfig):
        return [config.d_model * n for n in config.state_sizes]
    pad = inspect.signature(scan.s5_state_features).parameters["pad_multiple"].default
    return [pad * -(-n // pad) for n in config.state_sizes]


def _nearest(ratios: Sequence[float], target: float) -> float:
    return float(min(ratios, key=lambda r: (abs(r - target), r)))


def compare_grid(ratios: Sequence[float], reference_ratio: float) -> list[float]:
    """The ratios a compare evaluates: ``ratios`` plus 0 (the full model) and the reference.

    Ratio 0 is the reference of the "largest ratio within" table (which is 0 when no ratio
    stays within the tolerance); the reference ratio is where the pole, energy and
    certificate figures are drawn.  Both are evaluated, never replaced by a nearby ratio.
    """
    return check_ratios([*ratios, 0.0, check_reference_ratio(reference_ratio)])


def _write_compare(
    res: ResolvedCheckpoint,
    target: Path,
    *,
    methods: list[str],
    ratios: list[float],
    reference_ratio: float,
    speedup_ratios: Sequence[float],
    points: float,
    seed: int,
    batch_size: int,
    repeats: int,
    progress: bool | None,
    compat: str | None = None,
    data: Any = None,
    figure_format: str = "png",
) -> CompareResult:
    """The compare report of ``res`` written into the existing directory ``target``."""
    from ssm_bridge import plots
    from ssm_bridge.apply import apply
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.extract import extract
    from ssm_bridge.metrics import largest_ratio_within
    from ssm_bridge.sweep import sweep
    from verification import certify

    _check_data_fits(res)
    skipped = {m: _NOT_APPLICABLE[m] for m in methods if m in _NOT_APPLICABLE}
    if compat is not None:
        skipped.update({m: f"has no compat={compat!r} form (only aire and last do)"
                        for m in methods if m not in _RELEASED_METHODS and m not in skipped})
    swept = [m for m in methods if m not in skipped]
    if not swept:
        raise PipelineError(
            f"no method to sweep: {', '.join(skipped)} cannot be applied to a network; add a "
            f"modal method ({', '.join(m for m in mor.METHODS if m not in _NOT_APPLICABLE)})"
        )
    # balanced plans change the basis: no kept poles, energies or per-unit figures
    modal_swept = [m for m in swept if not _is_balanced(m)]
    if not modal_swept:
        raise PipelineError(
            f"{', '.join(swept)} alone: the report's per-unit figures (poles, energies, kept "
            "fraction) need a modal method; add one, e.g. methods=['aire', 'balanced_truncation']"
        )
    ratios = compare_grid(ratios, reference_ratio)
    cfg, variables = res.config, res.variables
    t0 = time.perf_counter()
    full = evaluate(variables, cfg, res.x_test, res.y_test, batch_size=batch_size)
    systems = extract(variables, cfg)
    calibration = _calibration_for(res, data, swept, batch_size)
    if compat is None and calibration is None:
        result = sweep(variables, cfg, res.x_test, res.y_test, methods=swept, ratios=ratios,
                       seed=seed, batch_size=batch_size, progress=progress)
    else:
        from ssm_bridge.calibration import make_plan

        plans = [make_plan(systems, m, ratio=r, seed=seed, compat=compat,
                           calibration=calibration) for m in swept for r in ratios]
        from dataclasses import replace

        result = replace(
            sweep(variables, cfg, res.x_test, res.y_test, plans=plans, batch_size=batch_size,
                  progress=progress, calibration=calibration),
            methods=tuple(swept), ratios=tuple(ratios))
    acc, loss = result.grid("accuracy"), result.grid("loss")
    sweep_seconds = time.perf_counter() - t0
    largest = {m: largest_ratio_within(ratios, acc[i], full.accuracy, points=points)
               for i, m in enumerate(swept)}
    validation = _compare_validation(res, data, swept, ratios, acc, points, seed, batch_size,
                                     compat, systems, calibration)

    def plan_at(method: str, ratio: float) -> KeepPlan:
        return result.plans[swept.index(method) * len(ratios) + ratios.index(ratio)]

    files: dict[str, str] = {}
    ext = figure_format
    title = f"{res.label} ({res.task or 'given data'})"
    # Figure 1: accuracy vs ratio; Table 1.
    plots.accuracy_vs_ratio(target / f"accuracy_vs_ratio.{ext}", ratios,
                            {m: acc[i] for i, m in enumerate(swept)}, full.accuracy,
                            title=f"Accuracy against pruning ratio: {title}", points=points,
                            largest=largest, fmt=ext)
    files[f"accuracy_vs_ratio.{ext}"] = "accuracy against pruning ratio per method"
    # Figure 2: kept fraction per layer (aire and last, or what was swept).
    frac_methods = [m for m in ("aire", "last") if m in swept] or modal_swept[:2]
    fractions = {m: np.array([plan_at(m, r).kept_fraction for r in ratios]) for m in frac_methods}
    plots.kept_fraction(target / f"kept_fraction.{ext}", ratios, fractions,
                        title=f"Kept fraction per layer: {title}", fmt=ext)
    files[f"kept_fraction.{ext}"] = "kept fraction per layer against the global ratio"
    # Figures 3-4: poles and energies at the reference ratio; certificates there.
    ref = float(reference_ratio)  # on the grid (compare_grid)
    cert_methods = frac_methods
    pole_files = []
    for m in cert_methods:
        plan = plan_at(m, ref)
        name = f"poles_{m}.{ext}"
        plots.poles(target / name, [_expanded(s, k) for s, k in zip(systems, plan.keep,
                                                                    strict=True)],
                    title=f"Poles λ̄ kept and pruned by {m} at ratio {ref:g}: {title}",
                    units=list(zip(plan.kept_counts, plan.nunits, strict=True)), fmt=ext)
        files[name] = f"kept and pruned poles, {m} at ratio {ref:g}"
        pole_files.append(name)
    energy_method = "aire" if "aire" in swept else modal_swept[0]
    energy_plan = plan_at(energy_method, ref)
    energies = [mor.scores.energy(s) for s in systems]
    plots.sorted_energies(target / f"energies.{ext}", energies, energy_plan.kept_counts,
                          title=f"Sorted unit energies and the {energy_method} cut at ratio "
                                f"{ref:g}: {title}", fmt=ext)
    files[f"energies.{ext}"] = f"per-layer sorted energies with the {energy_method} cut"
    t1 = time.perf_counter()
    certs = {m: certify(systems, plan_at(m, ref),
                        calibration=None if calibration is None else calibration.layers)
             for m in [*cert_methods, *(m for m in swept if _is_balanced(m))]}
    cert_seconds = time.perf_counter() - t1
    panels = {}
    for m, rep in certs.items():
        if rep.kind == "balanced":  # one bound (2 Σ σ), in the Markdown table only
            continue
        series: dict[str, list] = {"exact H∞ error": [lc.exact_hinf for lc in rep.layers]}
        for bname in ("modal_triangle", "aire_eq19", "last_eq4_published"):
            label = bname + ("" if all(lc.bound(bname).valid for lc in rep.layers
                                       if lc.npruned) else " (published form)")
            # a layer with nothing pruned has no bound (its error is 0): left out
            series[label] = [lc.bound(bname).value if lc.npruned else None
                             for lc in rep.layers]
        panels[f"{m} at ratio {ref:g}"] = series
    layer_norms = [_layer_hinf(s) for s in systems]
    plots.certificates(target / f"certificates.{ext}", panels,
                       title=f"Certificate bounds against exact errors per layer: {title}",
                       scales={name: layer_norms for name in panels}, fmt=ext)
    files[f"certificates.{ext}"] = ("proved bounds (filled) and published, unproved forms "
                                    "(hollow) against exact H∞ errors per layer, absolute "
                                    "and relative to the layer's ‖G‖∞")
    # Speed-up of dimension-reduced models.
    speed_method = "aire" if "aire" in swept else modal_swept[0]
    x_batch = res.x_test[: min(len(res.x_test), batch_size)]
    speed_rows, speed_extra, speed_note = _speed_rows(
        variables, cfg, speed_method, ratios, acc[swept.index(speed_method)], full.accuracy,
        points, speedup_ratios, largest[speed_method], plan_at, x_batch, repeats, apply)
    shown = sorted([s for s in [*speed_rows, *speed_extra] if s["within_budget"]],
                   key=lambda s: s["ratio"])
    plots.speedup(target / f"speedup.{ext}", [s["ratio"] for s in shown],
                  [s["speedup"] for s in shown],
                  labels=[str(s["state_sizes"]) for s in shown],
                  spread=([s["speedup_min"] for s in shown], [s["speedup_max"] for s in shown]),
                  unchanged=[s["padding_swallows_saving"] for s in shown],
                  title=f"Forward-pass speed-up ({speed_method}, batch {len(x_batch)}, "
                        f"within {points:g} point): {res.label}", fmt=ext,
                  empty_note=speed_note)
    files[f"speedup.{ext}"] = ("inference speed-up of dimension-reduced models at ratios "
                               "within the accuracy budget, with the run-to-run range")
    recommendation = recommend(res.label, swept, largest, validation, points)
    # Tables.
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["method", "ratio", "achieved_ratio", "kept_units", "total_units",
                     "accuracy", "loss"])
    for i, m in enumerate(swept):
        for j, r in enumerate(ratios):
            p = result.plans[i * len(ratios) + j]
            writer.writerow([m, repr(r), repr(p.achieved_ratio), sum(p.kept_counts),
                             sum(p.nunits), repr(float(acc[i, j])), repr(float(loss[i, j]))])
    atomic_write_text(target / "accuracy.csv", buf.getvalue())
    files["accuracy.csv"] = "accuracy and loss of every (method, ratio)"
    results_json = {
        "checkpoint": res.label,
        "task": res.task,
        "model": json.loads(cfg.to_json()),
        "test_examples": full.count,
        "full": {"accuracy": full.accuracy, "loss": full.loss},
        "methods": swept,
        "compat": compat,
        "skipped_methods": skipped,
        "ratios": ratios,
        "accuracy": {m: acc[i] for i, m in enumerate(swept)},
        "loss": {m: loss[i] for i, m in enumerate(swept)},
        "achieved_ratio": {m: [plan_at(m, r).achieved_ratio for r in ratios] for m in swept},
        "points": points,
        "largest_ratio_within": largest,
        "validation": validation,
        "kept_fraction": {m: fractions[m] for m in frac_methods},
        "reference_ratio": ref,
        "kept_per_layer_at_reference": {m: list(plan_at(m, ref).kept_counts) for m in swept},
        "certificates": {m: rep.to_dict() for m, rep in certs.items()},
        "speedup": speed_rows,
        "speedup_largest_within_budget": speed_extra,
        "speedup_note": speed_note,
        "recommendation": recommendation,
        "seconds": {"evaluate_and_sweep": sweep_seconds, "certify": cert_seconds},
        "metadata": res.metadata,
    }
    _write_json(target / "results.json", results_json)
    files["results.json"] = "every number of this report"
    for m, rep in certs.items():
        atomic_write_text(target / f"certificates_{m}.json", rep.to_json() + "\n")
        files[f"certificates_{m}.json"] = f"certificate report of {m} at ratio {ref:g}"
    files["report.md"] = "this report"
    report = _compare_markdown(res, full, swept, ratios, acc, largest, skipped, points,
                               fractions, ref, pole_files, energy_method, certs, shown,
                               x_batch.shape[0], files, plan_at, ext=ext,
                               speed_note=speed_note, recommendation=recommendation)
    report = report.replace("\n## Files\n", "\n" + _validation_markdown(validation, points)
                            + "\n## Files\n", 1)
    atomic_write_text(target / "report.md", report)
    return CompareResult(
        out_dir=target, report_path=target / "report.md", label=res.label, task=res.task,
        full_accuracy=full.accuracy, full_loss=full.loss, methods=tuple(swept),
        ratios=tuple(ratios), accuracy=acc, loss=loss, plans=tuple(result.plans),
        largest_ratio=largest, speedup=speed_rows, skipped=skipped,
        files=tuple(sorted(files)), validation=validation, recommendation=recommendation,
    )


def _compare_validation(res, data, swept, ratios, acc, points, seed, batch_size, compat,
                        systems, calibration=None) -> dict[str, Any]:
    """Per method, the ratio chosen on the validation split of the training data.

    The test-set accuracy at that ratio is read from the test grid already evaluated: the
    choice itself never looks at the test set.
    """
    from ssm_bridge.budgets import NoTrainingDataError, choose_ratio, training_splits

    try:
        val, _ = training_splits(res.metadata, res.task, data)
    except NoTrainingDataError as err:
        return {"skipped": str(err)}
    plans = None
    if compat is not None or calibration is not None:
        from ssm_bridge.calibration import make_plan

        plans = {(m, r): make_plan(systems, m, ratio=r, seed=seed, compat=compat,
                                   calibration=calibration)
                 for m in swept for r in ratios}
    choices = choose_ratio(res.variables, res.config, val, swept, max_drop=points,
                           ratios=ratios, seed=seed, batch_size=batch_size, plans=plans,
                           calibration=calibration)
    first = next(iter(choices.values()))
    return {
        "examples": first.examples, "source": first.source, "points": points,
        "full_accuracy": first.full_accuracy,
        "chosen_ratio": {m: c.ratio for m, c in choices.items()},
        "validation_accuracy": {m: list(c.accuracy) for m, c in choices.items()},
        "test_accuracy_at_chosen": {
            m: float(acc[i, ratios.index(choices[m].ratio)]) for i, m in enumerate(swept)},
    }


def _validation_markdown(validation: Mapping[str, Any], points: float) -> str:
    if not validation:
        return ""
    if "skipped" in validation:
        return (f"## Ratio chosen on validation data\n\nNot computed: "
                f"{validation['skipped']}\n")
    rows = [[m, f"{r:g}", f"{100 * validation['test_accuracy_at_chosen'][m]:.2f}"]
            for m, r in sorted(validation["chosen_ratio"].items(), key=lambda kv: -kv[1])]
    return "\n".join([
        "## Ratio chosen on validation data (what `mor prune --max-drop` would pick)",
        "",
        f"Per method, the largest ratio whose accuracy on a validation split of the TRAINING "
        f"data ({validation['examples']} examples, {validation['source']}) stays within "
        f"{points:g} point(s) of the full model's ({100 * validation['full_accuracy']:.2f} %), "
        "and the test accuracy there (from the test curve above; the choice never looks at "
        "the test set).",
        "",
        md_table(["method", "validation-chosen ratio", "test accuracy there (%)"], rows),
        "",
    ])


def _compare_markdown(res, full, swept, ratios, acc, largest, skipped, points, fractions, ref,
                      pole_files, energy_method, certs, speed_rows, nbatch, files,
                      plan_at, *, ext: str = "png", speed_note: str = "",
                      recommendation: Mapping[str, Any] | None = None) -> str:
    lines = [
        f"# Pruning report: {res.label}",
        "",
        f"Model: {res.describe()}. Full model: test accuracy **{_pct(full.accuracy)}**, "
        f"loss {full.loss:.4f}. Every (method, ratio) below was evaluated on the whole test set "
        "by the fast sweep (`ssm_bridge.sweep`: masked states, one pass over the data); the "
        "pruning ratio is the fraction of state units (conjugate pairs) removed from the "
        "stack, at least one unit per layer kept (MATH.md §3).",
        "",
        "## Accuracy against pruning ratio (aire-prune Fig. 4, last Fig. 2)",
        "",
        f"![accuracy against pruning ratio](accuracy_vs_ratio.{ext})",
        "",
        "Left: the whole range; right: a zoom on the band within "
        f"{points:g} point of the full model (shaded), where the choice is made, with each "
        "method's largest ratio in it (★). Methods whose curves coincide are drawn once and "
        "named together (`a = b`).",
        "",
        md_table(["method"] + [f"{r:g}" for r in ratios],
                 [[m] + [f"{100 * a:.1f}" for a in acc[i]] for i, m in enumerate(swept)]),
        "",
        "Test accuracy (%) per method (rows) and pruning ratio (columns); ratio 0 (nothing "
        "pruned) and the reference ratio of the figures below are always evaluated.",
        "",
        f"## Largest ratio within {points:g} point of the full model (Table 1 of both papers)",
        "",
    ]
    rows = []
    for i, m in enumerate(swept):
        r = largest[m]
        plan = plan_at(m, r)
        rows.append([m, f"{r:g}", f"{plan.achieved_ratio:.3f}",
                     f"{100 * acc[i, ratios.index(r)]:.2f}", str(list(plan.kept_counts))])
    order = sorted(range(len(rows)), key=lambda k: -largest[swept[k]])
    lines += [md_table(["method", "largest ratio", "achieved ratio", "accuracy there (%)",
                        "kept units per layer"], [rows[k] for k in order]), ""]
    for m, why in skipped.items():
        lines += [f"- `{m}` is not in this sweep: it {why}.", ""]
    if "aire" in largest and "last" in largest:
        a, b = largest["aire"], largest["last"]
        verdict = ("AIRE prunes more than LAST" if a > b else
                   "LAST prunes more than AIRE" if b > a else "AIRE and LAST tie")
        lines += [f"On this model at this grid, {verdict} within {points:g} point "
                  f"({a:g} vs {b:g}).", ""]
    lines += [
        "## Kept fraction per layer (aire-prune Fig. 5)",
        "",
        f"![kept fraction per layer](kept_fraction.{ext})",
        "",
    ]
    for m, frac in fractions.items():
        empty = [ratios[j] for j in range(len(ratios))
                 if any(plan_at(m, ratios[j]).kept_counts[layer] == 1
                        and plan_at(m, ratios[j]).nunits[layer] > 1
                        for layer in range(frac.shape[1]))]
        first = f"from ratio {min(empty):g} on" if empty else "at no ratio of the grid"
        lines.append(f"- `{m}`: some layer is cut down to its last unit {first} (a layer is "
                     "never emptied: one unit per layer is always kept).")
    lines += [
        "",
        f"## Kept and pruned poles at ratio {ref:g} (last Fig. 4)",
        "",
        *[f"![poles {name}]({name})" for name in pole_files],
        "",
        "Discrete-time poles λ̄ = exp(λΔ) of each layer (conjugates drawn), with the unit "
        "circle; o kept, x pruned. Titles count units (a conjugate pair is one unit, as in the "
        "tables) and, in brackets, the poles drawn.",
        "",
        f"## Sorted energies and the {energy_method} cut at ratio {ref:g}",
        "",
        f"![sorted energies](energies.{ext})",
        "",
        "Energy of each unit (H2² of the mode, aire-prune eq. 8) sorted per layer; the dashed "
        f"line is where {energy_method} cuts (it keeps each layer's highest-energy prefix).",
        "",
        f"## Certificates at ratio {ref:g}",
        "",
        f"![certificates](certificates.{ext})",
        "",
        "Filled markers are bounds proved for these layers; hollow grey markers are the "
        "papers' published forms, which are not proved here (estimates, not guarantees); "
        "black stars are the exact errors. The lower row divides everything by the layer's "
        "own ‖G‖∞.",
        "",
    ]
    for rep in certs.values():
        lines += [certificate_markdown(rep), ""]
    lines += ["## Inference speed-up of the dimension-reduced models", ""]
    if speed_rows:
        lines += [
            f"![speed-up](speedup.{ext})",
            "",
            md_table(["method", "ratio", "stored modes per layer", "computed per layer",
                      "parameters", "full (ms)", "reduced (ms)", "speed-up (median)",
                      "run-to-run range", "accuracy (%)"],
                     [_speed_cells(s) for s in speed_rows]),
            "",
            f"Wall time of the jitted forward pass on a batch of {nbatch} test examples "
            "(compilation excluded) of the model with the pruned states removed "
            "(`ssm_bridge.apply(mode='remove')`), against the full model, timed in turn in each "
            "of the repeats on this machine: the median speed-up and its range over the "
            "repeats. Only ratios whose accuracy is within the budget are shown. The scan "
            "computes padded state sizes (`computed per layer`); where they do not change, the "
            "computation is the same and there is no saving, whatever the clock says.",
            "",
        ]
    if speed_note:
        lines += [speed_note, ""]
    lines += ["## Files", ""] + [f"- `{name}`: {what}" for name, what in sorted(files.items())]
    lines += ["", *recommendation_markdown(recommendation)]
    return "\n".join(lines) + "\n"


def _speed_cells(s: Mapping[str, Any]) -> list[Any]:
    speed = f"{s['speedup']:.2f}×"
    if s["padding_swallows_saving"]:
        speed = f"none: padding (clock {speed})"
    timed = [f"{1e3 * s['seconds_full']:.2f}", f"{1e3 * s['seconds_reduced']:.2f}", speed,
             f"{s['speedup_min']:.2f}–{s['speedup_max']:.2f}×"]
    return [s["method"], f"{s['ratio']:g}", str(s["state_sizes"]),
            str(s["computed_sizes"]), s["params"], *timed,
            f"{100 * s['accuracy_masked']:.2f}"]


def _speed_rows(variables, cfg, method, ratios, accuracy, full_accuracy, points,
                speedup_ratios, largest, plan_at, x_batch, repeats, apply):
    """Timed removal models: the requested ratios, and the largest ratio within the budget.

    Every model is timed in turn with the full one in each repeat (paired runs), so each
    row has the median speed-up and its run-to-run range.  Each row says whether its
    accuracy is within ``points`` of the full model (``within_budget``: only those are
    shown in the report) and whether padding leaves the computed state sizes unchanged
    (``padding_swallows_saving``: the same computation, shown as no saving whatever the
    clock says).

    Returns
    -------
    rows : list of dict
        One per ratio of ``speedup_ratios`` (nearest on the grid), as requested.
    extra : list of dict
        The method's largest ratio within ``points`` when it is above 0 and not requested.
    note : str
        What the report should say about the ratios not shown (empty when nothing).
    """
    budget = full_accuracy - points / 100.0
    requested = sorted({_nearest(ratios, s) for s in speedup_ratios})
    extra = [largest] if largest > 0 and largest not in requested else []
    wanted = [*requested, *extra]
    full_sizes = computed_state_sizes(cfg)
    plans = [plan_at(method, r) for r in wanted]
    reduced = [apply(variables, cfg, plan, mode="remove") for plan in plans]
    runs = _time_forward_runs([(variables, cfg), *reduced], x_batch, repeats) if wanted \
        else [[]]
    full_runs = np.asarray(runs[0], dtype=float)
    rows = []
    for k, (r, plan, (small, small_cfg)) in enumerate(zip(wanted, plans, reduced, strict=True)):
        red = np.asarray(runs[1 + k], dtype=float)
        per_run = full_runs / red  # paired: timed in turn within each repeat
        computed = computed_state_sizes(small_cfg)
        rows.append({
            "method": method, "ratio": r, "achieved_ratio": plan.achieved_ratio,
            "state_sizes": list(small_cfg.state_sizes), "computed_sizes": computed,
            "computed_sizes_full": full_sizes, "params": _count_params(small),
            "seconds_full": float(np.median(full_runs)), "seconds_reduced": float(np.median(red)),
            "speedup": float(np.median(full_runs) / np.median(red)),
            "speedup_min": float(per_run.min()), "speedup_max": float(per_run.max()),
            "repeats": int(red.size),
            "accuracy_masked": float(accuracy[ratios.index(r)]),
            "within_budget": bool(accuracy[ratios.index(r)] >= budget - 1e-12),
            "padding_swallows_saving": computed == full_sizes,
        })
    notes = []
    dropped = [f"{s['ratio']:g}" for s in rows if not s["within_budget"]]
    if dropped:
        notes.append(f"Not shown: ratio {', '.join(dropped)} of {method}, whose accuracy is "
                     f"more than {points:g} point below the full model's (a speed-up there is "
                     "not one to use; the timings are in results.json).")
    if not any(s["within_budget"] for s in rows):
        notes.append(f"No ratio above 0 keeps {method} within {points:g} point, so there is no "
                     "speed-up to show.")
    same = [f"{s['ratio']:g}" for s in rows if s["within_budget"] and
            s["padding_swallows_saving"]]
    if same:
        notes.append(f"At ratio {', '.join(same)} the removed model computes the same padded "
                     f"state sizes as the full one ({full_sizes} per layer): padding swallows "
                     "the saving, so whatever the clock says is noise.")
    return rows[:len(requested)], rows[len(requested):], " ".join(notes)


def _layer_hinf(system: mor.ModalSystem) -> float | None:
    """‖G‖∞ of one layer (None when it cannot be computed, e.g. an unstable layer)."""
    try:
        return float(mor.hinf_norm(system))
    except MORError:
        return None


def recommend(label: str, methods: Sequence[str], largest: Mapping[str, float],
              validation: Mapping[str, Any], points: float) -> dict[str, Any]:
    """The method and ratio to use next, and the command that makes that model.

    The method with the largest ratio within ``points`` on validation data of the training
    set when there is some (then on the test set; ties: aire, then last, then the order
    given; ``random`` only if nothing else prunes), and its validation-chosen ratio (the
    test-set choice is optimistic).

    Returns
    -------
    dict
        ``method``, ``ratio``, ``test_ratio``, ``ratio_source``, ``commands``, ``text``.
    """
    import shlex

    prefer = {"aire": 0, "last": 1}
    candidates = [m for m in methods if m != "random"] or list(methods)
    on_validation = (validation or {}).get("chosen_ratio", {})
    best = max(candidates, key=lambda m: (on_validation.get(m, 0.0), largest[m],
                                          -prefer.get(m, 2), -list(methods).index(m)))
    test_ratio = float(largest[best])
    chosen = on_validation.get(best)
    ratio, source = (float(chosen), "validation") if chosen is not None else (test_ratio, "test")
    base = f"mor prune {shlex.quote(label)} --method {best}"
    if test_ratio <= 0:
        return {"method": best, "ratio": 0.0, "test_ratio": 0.0, "ratio_source": source,
                "commands": [f"{base} --ratio 0.1 --finetune 200 --out pruned/",
                             f"mor compare {shlex.quote(label)} --points {2 * points:g} "
                             "--out report/"],
                "text": f"No method prunes this model within {points:g} point. Prune a little "
                        "and fine-tune, or allow more points:"}
    text = (f"Use **{best}**: it prunes the most within {points:g} point (ratio "
            f"{test_ratio:g} on the test set")
    text += (f"; {ratio:g} chosen on validation data of the training set, which is what "
             "`--max-drop` picks and what to trust)." if source == "validation"
             else "; no validation data to confirm it, so the ratio is optimistic).")
    commands = [f"{base} --ratio {ratio:g} --out pruned/"]
    if source == "validation":
        commands.append(f"{base} --max-drop {points:g} --out pruned/")
    return {"method": best, "ratio": ratio, "test_ratio": test_ratio, "ratio_source": source,
            "commands": commands, "text": text}


def recommendation_markdown(recommendation: Mapping[str, Any] | None) -> list[str]:
    """The report's last section: the recommended command."""
    if not recommendation:
        return []
    return ["## What to do next", "", recommendation["text"], "", "```bash",
            *recommendation["commands"], "```"]


def compare_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    out_dir: str | os.PathLike = "compare",
    *,
    methods: str | Sequence[str] = "all",
    ratios: Sequence[float] = DEFAULT_RATIOS,
    force: bool = False,
    data: Any = None,
    task: str | None = None,
    reference_ratio: float = 0.5,
    speedup_ratios: Sequence[float] = (0.25, 0.5, 0.75),
    points: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
    repeats: int = 5,
    progress: bool | None = None,
    verify: bool = True,
    compat: str | None = None,
    command: str | None = None,
    figure_format: str = "png",
) -> CompareResult:
    """Evaluate every method at every ratio and write the report (Markdown, PNG, CSV, JSON).

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        Bundled name or checkpoint path (see :func:`resolve_checkpoint`).
    out_dir : path-like
        Created; an existing directory is replaced only with ``force=True`` and only if mor
        wrote it (it holds ``.mor-output.json``).  Checked before any work.
    methods : "all" or sequence of str
        Methods of ``mor.METHODS``; balanced truncation is listed in the report as not
        applicable to a network and not swept.
    ratios : sequence of float
        Pruning ratios in [0, 1] (at most :data:`MAX_RATIOS`).  Ratio 0 (the full model)
        and ``reference_ratio`` are always evaluated too.
    reference_ratio : float
        Ratio, in (0, 1], of the pole, energy and certificate figures; evaluated exactly
        (added to the grid if missing).
    speedup_ratios : sequence of float
        Ratios (nearest on the grid) at which the removed model is timed.
    points : float
        Tolerance of the "largest ratio within" table, in accuracy points (>= 0).
    seed, batch_size, repeats, progress
        ``random`` method seed (>= 0); evaluation batch (>= 1, memory limited by
        :data:`MAX_BATCH_BYTES`); timed calls per model (>= 1); progress bar.
    verify : bool
        Refuse a checkpoint whose files differ from the checksums in its metadata (False:
        warn and go on).
    compat : {None, "released"}
        ``"released"``: aire and last select as the released LAST / AIRE-Prune code does
        (``mor.prune(..., compat="released")``); the other methods, which have no released
        form, are listed as not swept.  Default: the toolkit's rules.
    command : str, optional
        The command line recorded in the output's ``.mor-output.json`` (default
        ``sys.argv``).
    figure_format : {"png", "pdf", "svg"}
        File format of the figures (PNG at 200 dpi; PDF and SVG are vector graphics for
        papers); the report links them.

    Returns
    -------
    CompareResult

    Raises
    ------
    OutputExistsError, PipelineError, mor.UnknownMethodError, mor.RatioError, CheckpointError
        Raised before any work; nothing is written.
    ssm_bridge._staging.OutputNotWritableError
        The output location cannot be written (checked first).
    """
    methods = check_methods(methods)
    compat = check_compat(compat, methods)
    ratios = check_ratios(ratios)
    reference_ratio = check_reference_ratio(reference_ratio)
    speedup_ratios = check_ratios(speedup_ratios) if len(speedup_ratios) else []
    points = _check_points(points)
    seed = _check_int(seed, "seed", minimum=0)
    batch_size = _check_int(batch_size, "batch_size", minimum=1)
    repeats = _check_int(repeats, "repeats", minimum=1)
    figure_format = _check_figure_format(figure_format)
    inputs = _input_paths(checkpoint)
    out = _check_out(out_dir, force, inputs)
    res = resolve_checkpoint(checkpoint, data=data, task=task, verify=verify)
    _check_data_fits(res)
    _check_batch_memory(res, batch_size)
    with _staged(out, force, inputs, command) as tmp:
        result = _write_compare(res, tmp, methods=methods, ratios=ratios,
                                reference_ratio=reference_ratio, speedup_ratios=speedup_ratios,
                                points=points, seed=seed, batch_size=batch_size,
                                repeats=repeats, progress=progress, compat=compat, data=data,
                                figure_format=figure_format)
    return _moved(result, out)


def _check_figure_format(fmt: Any) -> str:
    from mor.plots import FIGURE_FORMATS

    if fmt not in FIGURE_FORMATS:
        raise PipelineError(
            f"figure_format = {fmt!r}; choose one of {', '.join(FIGURE_FORMATS)}")
    return fmt


def _moved(result: CompareResult, out: Path) -> CompareResult:
    from dataclasses import replace

    return replace(result, out_dir=out, report_path=out / "report.md")


# ---------------------------------------------------------------------- demo
@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote.

    Attributes
    ----------
    out_dir, report_path : Path
    compares : dict name → CompareResult
        One compare report per bundled checkpoint, in ``out_dir/<name>/``.
    benchmark : str
        The SLICOT benchmark certified.
    verify_rows : list of dict
        Per (method, ratio): kept states, exact H∞/H2 errors, bounds, verdict.
    missing : tuple of str
        Bundled names whose checkpoint file is absent.
    """

    out_dir: Path
    report_path: Path
    compares: dict[str, CompareResult]
    benchmark: str
    verify_rows: list[dict]
    missing: tuple[str, ...]


def _verify_benchmark(name: str, methods: Sequence[str], ratios: Sequence[float]):
    from verification import certify

    ss = mor.load_benchmark(name)
    modal = mor.ModalSystem.from_statespace(ss, name=name)
    rows, reports = [], []
    for m in methods:
        for r in ratios:
            plan = mor.prune([modal], m, ratio=r)
            rep = certify([modal], plan)
            reports.append(rep)
            lc = rep.layers[0]
            valid = [b for b in lc.bounds if b.valid and b.norm == "hinf" and b.value is not None]
            best = min(valid, key=lambda b: b.value) if valid else None
            kept = plan.kept_counts[0] if plan.kind == "balanced" else sum(
                2 if modal.pair[i] else 1 for i in plan.keep[0])
            rows.append({
                "method": m, "ratio": r, "kept_states": kept, "states": modal.nstates,
                "exact_hinf": lc.exact_hinf, "exact_h2": lc.exact_h2,
                "best_bound": None if best is None else best.value,
                "best_bound_name": None if best is None else best.name,
                "all_proved_bounds_hold": rep.all_valid_bounds_hold,
            })
    return modal, rows, reports


def run_demo(
    out_dir: str | os.PathLike = DEFAULT_DEMO_DIR,
    *,
    names: Sequence[str] | None = None,
    ratios: Sequence[float] = DEMO_RATIOS,
    benchmark: str = "CDplayer",
    verify_methods: Sequence[str] = ("aire", "last", "balanced_truncation"),
    verify_ratios: Sequence[float] = (0.5, 0.75, 0.9),
    force: bool = False,
    progress: bool | None = None,
    repeats: int = 3,
    command: str | None = None,
    figure_format: str = "png",
) -> DemoResult:
    """The main job on the bundled defaults: compare on every bundled checkpoint, verify a
    SLICOT benchmark, and write one report.

    Writes ``out_dir/report.md`` (summary and links), ``out_dir/<name>/`` (the full
    :func:`compare_checkpoint` report of each bundled checkpoint) and
    ``out_dir/verify_<benchmark>.json`` / ``.md`` (certificates of the benchmark's
    reductions).  ``out_dir`` is the demo's own folder: a previous demo report there is
    replaced; any other existing directory is refused unless ``force=True`` and mor wrote
    it (it holds ``.mor-output.json``); the current or home directory, the filesystem root
    and folders holding the bundled checkpoints are always refused.  ``command`` is the
    command line recorded in its ``.mor-output.json`` (default ``sys.argv``);
    ``figure_format`` (``"png"``, ``"pdf"`` or ``"svg"``) that of the figures.

    Raises
    ------
    PipelineError
        No bundled checkpoint is installed (the message says how to make them).
    """
    module = _bundled_module()
    all_names = tuple(names) if names is not None else bundled_names()
    if module is None or not all_names:
        raise PipelineError(
            "no bundled checkpoints are installed (ssm_bridge.bundled); train them with "
            "`python scripts/train_bundled.py`, or run `mor compare CHECKPOINT` on your own"
        )
    unknown = [n for n in all_names if n not in module.BUNDLED]
    if unknown:
        raise PipelineError(
            f"unknown bundled checkpoint(s) {unknown}; bundled: {', '.join(module.BUNDLED)}"
        )
    present = [n for n in all_names if n in available_bundled()]
    missing = tuple(n for n in all_names if n not in present)
    if not present:
        raise PipelineError(
            f"none of the bundled checkpoint files ({', '.join(all_names)}) is present; make "
            "them with `python scripts/train_bundled.py`"
        )
    ratios = check_ratios(ratios)
    figure_format = _check_figure_format(figure_format)
    if benchmark not in mor.BENCHMARKS:
        raise PipelineError(
            f"unknown benchmark {benchmark!r}; choose from {', '.join(mor.BENCHMARKS)}")
    if not os.fspath(out_dir).strip():
        _check_out(out_dir, force)  # the clear error for an empty --out
    out = Path(out_dir).absolute()
    is_demo = (out / _DEMO_MARKER).is_file()
    inputs = [p for n in present for p in _input_paths(n)]
    _check_out(out, force or is_demo, inputs)
    compares: dict[str, CompareResult] = {}
    with _staged(out, force or is_demo, inputs, command) as tmp:
        (tmp / _DEMO_MARKER).write_text("written by `mor demo`; replaced by the next run\n")
        for name in present:
            log.info("demo: compare on %s", name)
            res = resolve_checkpoint(name)
            (tmp / name).mkdir()
            compares[name] = _write_compare(
                res, tmp / name, methods=list(mor.METHODS), ratios=ratios,
                reference_ratio=0.5, speedup_ratios=(0.5, 0.8), points=1.0, seed=0,
                batch_size=256, repeats=repeats, progress=progress,
                figure_format=figure_format)
        log.info("demo: verify on %s", benchmark)
        modal, verify_rows, reports = _verify_benchmark(benchmark, verify_methods,
                                                        verify_ratios)
        _write_json(tmp / f"verify_{benchmark}.json", {
            "benchmark": benchmark, "states": modal.nstates, "rows": verify_rows,
            "reports": [r.to_dict() for r in reports]})
        atomic_write_text(tmp / f"verify_{benchmark}.md", "\n\n".join(
            certificate_markdown(r) for r in reports) + "\n")
        text = _demo_markdown(compares, missing, benchmark, modal, verify_rows)
        atomic_write_text(tmp / "report.md", text)
    compares = {n: _moved(c, out / n) for n, c in compares.items()}
    return DemoResult(out, out / "report.md", compares, benchmark, verify_rows, missing)


def demo_summary_rows(result: DemoResult) -> tuple[list[str], list[list[Any]]]:
    """The demo's headline table: per checkpoint, full accuracy and AIRE/LAST Table 1 ratios."""
    header = ["checkpoint", "task", "full acc. (%)", "aire: max ratio", "last: max ratio",
              "best method", "its max ratio"]
    rows = []
    for name, c in result.compares.items():
        best = max(c.largest_ratio, key=lambda m: (c.largest_ratio[m], m == "aire"))
        rows.append([name, c.task, f"{100 * c.full_accuracy:.2f}",
                     c.largest_ratio.get("aire"), c.largest_ratio.get("last"), best,
                     c.largest_ratio[best]])
    return header, rows


def _demo_markdown(compares, missing, benchmark, modal, verify_rows) -> str:
    header, rows = demo_summary_rows(DemoResult(Path("."), Path("."), compares, benchmark,
                                                verify_rows, missing))
    lines = [
        "# `mor demo`: the main job on the bundled checkpoints",
        "",
        "Every bundled checkpoint was pruned by every modal method at every ratio of the grid "
        "and evaluated on its whole test set; each has a full report (figures, tables, "
        "certificates, speed-up) in its own folder. The largest ratio is the largest pruning "
        "ratio whose accuracy stays within 1 point of the full model (the papers' Table 1).",
        "",
        md_table(header, rows),
        "",
        *[f"- [{name}]({name}/report.md)" for name in compares],
        "",
    ]
    if missing:
        lines += [f"Not run (checkpoint file absent): {', '.join(missing)}.", ""]
    lines += [
        f"## Certified reduction of the SLICOT benchmark `{benchmark}` "
        f"({modal.nstates} states, continuous time)",
        "",
        md_table(["method", "ratio", "kept states", "exact ‖G − G_r‖∞", "exact ‖G − G_r‖₂",
                  "tightest proved bound", "bound", "proved bounds hold"],
                 [[r["method"], r["ratio"], f"{r['kept_states']}/{r['states']}",
                   r["exact_hinf"], r["exact_h2"], r["best_bound"], r["best_bound_name"],
                   {True: "yes", False: "NO", None: "unknown"}[r["all_proved_bounds_hold"]]]
                  for r in verify_rows]),
        "",
        *linear_verdict(verify_rows),
        f"Full certificates: `verify_{benchmark}.md`, `verify_{benchmark}.json` (the same as "
        f"`mor verify {benchmark} --method METHOD --ratios ...`).",
        "",
        f"Next, for a linear system: `mor reduce {benchmark} --tol EPS --out model.mat --plots "
        "figs/` writes the smallest balanced-truncation model certified within EPS and its "
        "error plots (docs/tutorial_control.md).",
        "",
    ]
    return "\n".join(lines)


def linear_verdict(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Per ratio, which method has the smallest exact H∞ error, and whether balanced
    truncation beats the modal methods there (Markdown lines, empty when one method)."""
    by_ratio: dict[float, dict[str, float]] = {}
    for r in rows:
        if r.get("exact_hinf") is not None:
            by_ratio.setdefault(r["ratio"], {})[r["method"]] = r["exact_hinf"]
    lines = []
    for ratio, errors in by_ratio.items():
        modal = {m: e for m, e in errors.items() if m != "balanced_truncation"}
        if "balanced_truncation" not in errors or not modal:
            continue
        bt, best = errors["balanced_truncation"], min(modal, key=modal.get)
        if bt < modal[best]:
            lines.append(f"- ratio {ratio:g}: balanced truncation beats the best modal method "
                         f"({best}) by a factor {modal[best] / bt:.3g} in exact H∞ error.")
        else:
            lines.append(f"- ratio {ratio:g}: the modal method {best} beats balanced "
                         f"truncation by a factor {bt / modal[best]:.3g} (it keeps whole modes).")
    return [*lines, ""] if lines else []
