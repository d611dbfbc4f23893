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
at the end: an error leaves nothing half-written, and an existing directory is replaced only
with ``force=True``.
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
from ssm_bridge._staging import staged_directory
from ssm_bridge.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import BridgeError, CheckpointError

__all__ = [
    "DEFAULT_DEMO_DIR",
    "DEFAULT_RATIOS",
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

DEFAULT_DEMO_DIR = Path("reports") / "demo"
_DEMO_MARKER = ".mor-demo"
_NOT_APPLICABLE = {
    "balanced_truncation": "changes the state basis (balanced realisation) of each layer, so "
    "it is not a selection of the network's states and cannot be applied to the network; "
    "see `mor verify` / `mor reduce` for it on linear systems",
}
_RUN_FILE = "model.msgpack"
_METADATA_NAMES = ("{stem}.meta.json", "{stem}.metadata.json", "metadata.json", "meta.json")


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
    stem = path.with_suffix("").name if path.is_file() else path.name
    folder = path.parent if path.is_file() else path
    for pattern in _METADATA_NAMES:
        candidate = folder / pattern.format(stem=stem)
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise CheckpointError(
                    f"the metadata {str(candidate)!r} beside the checkpoint is not valid JSON: "
                    f"{err}"
                ) from err
            if not isinstance(data, dict):
                raise CheckpointError(f"the metadata {str(candidate)!r} is not a JSON object")
            return data
    return {}


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

    Raises
    ------
    PipelineError
        Unknown bundled name, no task known, or data that does not fit the model.
    CheckpointError
        Not a checkpoint (missing, unreadable, no config beside it).
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
            if data is None and task is None:
                ckpt, task_data = module.load_bundled(text)
                metadata = dict(module.bundled_metadata(text))
                x, y = _test_arrays(task_data)
                return ResolvedCheckpoint(text, ckpt, x, y, metadata.get("task"), metadata)
            ckpt = load_checkpoint(module.bundled_checkpoint_path(text))
            metadata = dict(module.bundled_metadata(text))
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
            ckpt = load_checkpoint(path)
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
    methods = list(dict.fromkeys(methods))
    unknown = [m for m in methods if m not in mor.METHODS]
    if unknown or not methods:
        raise UnknownMethodError(
            f"unknown method(s) {unknown or methods}; choose from {', '.join(mor.METHODS)} "
            "or 'all'"
        )
    return methods


def check_ratios(ratios: Sequence[float]) -> list[float]:
    """Sorted distinct ratios, each in [0, 1]."""
    try:
        values = [float(r) for r in ratios]
    except (TypeError, ValueError):
        raise RatioError(f"ratios must be numbers in [0, 1]; got {ratios!r}") from None
    bad = [r for r in values if not (math.isfinite(r) and 0.0 <= r <= 1.0)]
    if bad or not values:
        raise RatioError(
            f"pruning ratios must lie in [0, 1]; got {bad or values} "
            "(e.g. 0.1,0.5,0.9 or 0:1:0.05)"
        )
    return sorted(set(values))


# ---------------------------------------------------------------------- output directories
def _check_out(out_dir: str | os.PathLike, force: bool) -> Path:
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a directory; choose another --out")
    if out.exists() and not force:
        raise OutputExistsError(
            f"output directory {out} exists; pass --force (force=True) to replace it, or "
            "choose another --out"
        )
    return out


@contextmanager
def _staged(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; rename it to ``out`` when the block ends."""
    # the output may have appeared meanwhile: check again just before the rename
    with staged_directory(out, before_replace=lambda: _check_out(out, force)) as tmp:
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
    ratio: float = 0.6,
    out_dir: str | os.PathLike = "pruned",
    *,
    force: bool = False,
    data: Any = None,
    task: str | None = None,
    seed: int = 0,
    batch_size: int = 256,
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
        A modal method of ``mor.METHODS`` (balanced truncation changes the basis: refused).
    ratio : float
        Pruning ratio in [0, 1]: the fraction of state units removed (MATH.md §3).
    out_dir : path-like
        Created; an existing directory is replaced only with ``force=True``.
    data, task : optional
        See :func:`resolve_checkpoint`.
    seed : int
        Seed of the ``random`` method.
    batch_size : int

    Returns
    -------
    PruneResult

    Raises
    ------
    OutputExistsError, PipelineError, mor.UnknownMethodError, mor.RatioError, CheckpointError
        Nothing is written.
    """
    from ssm_bridge.apply import apply
    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.extract import extract
    from verification import certify

    (method,) = check_methods([method])
    if method in _NOT_APPLICABLE:
        raise PipelineError(f"{method} {_NOT_APPLICABLE[method]}; choose a modal method")
    (ratio,) = check_ratios([ratio])
    out = _check_out(out_dir, force)
    res = resolve_checkpoint(checkpoint, data=data, task=task)
    _check_data_fits(res)
    systems = extract(res.variables, res.config)
    plan = mor.prune(systems, method, ratio=ratio, seed=seed)
    small, small_cfg = apply(res.variables, res.config, plan, mode="remove")
    before = evaluate(res.variables, res.config, res.x_test, res.y_test, batch_size=batch_size)
    after = evaluate(small, small_cfg, res.x_test, res.y_test, batch_size=batch_size)
    report = certify(systems, plan)
    params_before, params_after = _count_params(res.variables), _count_params(small)
    summary = {
        "checkpoint": res.label,
        "task": res.task,
        "method": method,
        "ratio": ratio,
        "achieved_ratio": plan.achieved_ratio,
        "test_examples": before.count,
        "before": {"accuracy": before.accuracy, "loss": before.loss,
                   "state_sizes": list(res.config.state_sizes), "params": params_before},
        "after": {"accuracy": after.accuracy, "loss": after.loss,
                  "state_sizes": list(small_cfg.state_sizes), "params": params_after},
        "kept_units": list(plan.kept_counts),
        "units": list(plan.nunits),
        "certificates_hold": report.all_valid_bounds_hold,
        "metadata": res.metadata,
    }
    with _staged(out, force) as tmp:
        ckpt_path = save_checkpoint(tmp / "model.msgpack", small, small_cfg, plan=plan)
        atomic_write_text(tmp / "certificates.json", report.to_json() + "\n")
        atomic_write_text(tmp / "certificates.md", certificate_markdown(report) + "\n")
        _write_json(tmp / "accuracy.json", summary)
        rows = [["full", f"{before.accuracy * 100:.2f}", f"{before.loss:.4f}",
                 str(list(res.config.state_sizes)), params_before],
                [f"{method} @ {ratio:g}", f"{after.accuracy * 100:.2f}", f"{after.loss:.4f}",
                 str(list(small_cfg.state_sizes)), params_after]]
        text = [
            f"# Pruned checkpoint: {res.label}, {method} at ratio {ratio:g}",
            "",
            f"Model: {res.describe()}.",
            f"Kept {sum(plan.kept_counts)} of {sum(plan.nunits)} state units (achieved ratio "
            f"{plan.achieved_ratio:.3f}); kept per layer {list(plan.kept_counts)}.",
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
        ]
        atomic_write_text(tmp / "report.md", "\n".join(text) + "\n")
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        ckpt_name = ckpt_path.name
    return PruneResult(out, out / ckpt_name, plan, before.accuracy, after.accuracy, before.loss,
                       after.loss, tuple(res.config.state_sizes),
                       tuple(small_cfg.state_sizes), report, files)


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
    return [float(statistics.median(t)) for t in times]


def _nearest(ratios: Sequence[float], target: float) -> float:
    return float(min(ratios, key=lambda r: (abs(r - target), r)))


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
    swept = [m for m in methods if m not in _NOT_APPLICABLE]
    if not swept:
        raise PipelineError(
            f"no method to sweep: {', '.join(skipped)} cannot be applied to a network; add a "
            f"modal method ({', '.join(m for m in mor.METHODS if m not in _NOT_APPLICABLE)})"
        )
    cfg, variables = res.config, res.variables
    t0 = time.perf_counter()
    full = evaluate(variables, cfg, res.x_test, res.y_test, batch_size=batch_size)
    systems = extract(variables, cfg)
    result = sweep(variables, cfg, res.x_test, res.y_test, methods=swept, ratios=ratios,
                   seed=seed, batch_size=batch_size, progress=progress)
    acc, loss = result.grid("accuracy"), result.grid("loss")
    sweep_seconds = time.perf_counter() - t0
    largest = {m: largest_ratio_within(ratios, acc[i], full.accuracy, points=points)
               for i, m in enumerate(swept)}

    def plan_at(method: str, ratio: float) -> KeepPlan:
        return result.plans[swept.index(method) * len(ratios) + ratios.index(ratio)]

    files: dict[str, str] = {}
    title = f"{res.label} ({res.task or 'given data'})"
    # Figure 1: accuracy vs ratio; Table 1.
    plots.accuracy_vs_ratio(target / "accuracy_vs_ratio.png", ratios,
                            {m: acc[i] for i, m in enumerate(swept)}, full.accuracy,
                            title=f"Accuracy against pruning ratio: {title}", points=points)
    files["accuracy_vs_ratio.png"] = "accuracy against pruning ratio per method"
    # Figure 2: kept fraction per layer (aire and last, or what was swept).
    frac_methods = [m for m in ("aire", "last") if m in swept] or swept[:2]
    fractions = {m: np.array([plan_at(m, r).kept_fraction for r in ratios]) for m in frac_methods}
    plots.kept_fraction(target / "kept_fraction.png", ratios, fractions,
                        title=f"Kept fraction per layer: {title}")
    files["kept_fraction.png"] = "kept fraction per layer against the global ratio"
    # Figures 3-4: poles and energies at the reference ratio; certificates there.
    ref = _nearest(ratios, reference_ratio)
    cert_methods = frac_methods
    pole_files = []
    for m in cert_methods:
        plan = plan_at(m, ref)
        name = f"poles_{m}.png"
        plots.poles(target / name, [_expanded(s, k) for s, k in zip(systems, plan.keep,
                                                                    strict=True)],
                    title=f"Poles λ̄ kept and pruned by {m} at ratio {ref:g}: {title}")
        files[name] = f"kept and pruned poles, {m} at ratio {ref:g}"
        pole_files.append(name)
    energy_method = "aire" if "aire" in swept else swept[0]
    energy_plan = plan_at(energy_method, ref)
    energies = [mor.scores.energy(s) for s in systems]
    plots.sorted_energies(target / "energies.png", energies, energy_plan.kept_counts,
                          title=f"Sorted unit energies and the {energy_method} cut at ratio "
                                f"{ref:g}: {title}")
    files["energies.png"] = f"per-layer sorted energies with the {energy_method} cut"
    t1 = time.perf_counter()
    certs = {m: certify(systems, plan_at(m, ref)) for m in cert_methods}
    cert_seconds = time.perf_counter() - t1
    panels = {}
    for m, rep in certs.items():
        series: dict[str, list] = {"exact H∞ error": [lc.exact_hinf for lc in rep.layers]}
        for bname in ("modal_triangle", "aire_eq19", "last_eq4_published"):
            label = bname + ("" if all(lc.bound(bname).valid for lc in rep.layers
                                       if lc.npruned) else " (published form)")
            series[label] = [lc.bound(bname).value for lc in rep.layers]
        panels[f"{m} at ratio {ref:g}"] = series
    plots.certificates(target / "certificates.png", panels,
                       title=f"Certificate bounds against exact errors per layer: {title}")
    files["certificates.png"] = "certificate bounds against exact H∞ errors per layer"
    # Speed-up of dimension-reduced models.
    speed_method = "aire" if "aire" in swept else swept[0]
    x_batch = res.x_test[: min(len(res.x_test), batch_size)]
    speed_ratios = sorted({_nearest(ratios, s) for s in speedup_ratios})
    speed_plans = [plan_at(speed_method, r) for r in speed_ratios]
    reduced = [apply(variables, cfg, plan, mode="remove") for plan in speed_plans]
    seconds = _time_forwards([(variables, cfg), *reduced], x_batch, repeats)
    t_full = seconds[0]
    speed_rows = []
    for r, plan, (small, small_cfg), t_red in zip(speed_ratios, speed_plans, reduced,
                                                  seconds[1:], strict=True):
        speed_rows.append({
            "method": speed_method, "ratio": r, "achieved_ratio": plan.achieved_ratio,
            "state_sizes": list(small_cfg.state_sizes), "params": _count_params(small),
            "seconds_full": t_full, "seconds_reduced": t_red, "speedup": t_full / t_red,
            "accuracy_masked": float(acc[swept.index(speed_method), ratios.index(r)]),
        })
    if speed_rows:
        plots.speedup(target / "speedup.png", [s["ratio"] for s in speed_rows],
                      [s["speedup"] for s in speed_rows],
                      labels=[str(s["state_sizes"]) for s in speed_rows],
                      title=f"Forward-pass speed-up ({speed_method}, batch {len(x_batch)}): "
                            f"{res.label}")
        files["speedup.png"] = "inference speed-up of dimension-reduced models"
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
        "skipped_methods": skipped,
        "ratios": ratios,
        "accuracy": {m: acc[i] for i, m in enumerate(swept)},
        "loss": {m: loss[i] for i, m in enumerate(swept)},
        "achieved_ratio": {m: [plan_at(m, r).achieved_ratio for r in ratios] for m in swept},
        "points": points,
        "largest_ratio_within": largest,
        "kept_fraction": {m: fractions[m] for m in frac_methods},
        "reference_ratio": ref,
        "kept_per_layer_at_reference": {m: list(plan_at(m, ref).kept_counts) for m in swept},
        "certificates": {m: rep.to_dict() for m, rep in certs.items()},
        "speedup": speed_rows,
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
                               fractions, ref, pole_files, energy_method, certs, speed_rows,
                               x_batch.shape[0], files, plan_at)
    atomic_write_text(target / "report.md", report)
    return CompareResult(
        out_dir=target, report_path=target / "report.md", label=res.label, task=res.task,
        full_accuracy=full.accuracy, full_loss=full.loss, methods=tuple(swept),
        ratios=tuple(ratios), accuracy=acc, loss=loss, plans=tuple(result.plans),
        largest_ratio=largest, speedup=speed_rows, skipped=skipped,
        files=tuple(sorted(files)),
    )


def _compare_markdown(res, full, swept, ratios, acc, largest, skipped, points, fractions, ref,
                      pole_files, energy_method, certs, speed_rows, nbatch, files,
                      plan_at) -> str:
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
        "![accuracy against pruning ratio](accuracy_vs_ratio.png)",
        "",
        md_table(["method"] + [f"{r:g}" for r in ratios],
                 [[m] + [f"{100 * a:.1f}" for a in acc[i]] for i, m in enumerate(swept)]),
        "",
        "Test accuracy (%) per method (rows) and pruning ratio (columns).",
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
        "![kept fraction per layer](kept_fraction.png)",
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
        "circle; o kept, x pruned.",
        "",
        f"## Sorted energies and the {energy_method} cut at ratio {ref:g}",
        "",
        "![sorted energies](energies.png)",
        "",
        "Energy of each unit (H2² of the mode, aire-prune eq. 8) sorted per layer; the dashed "
        f"line is where {energy_method} cuts (it keeps each layer's highest-energy prefix).",
        "",
        f"## Certificates at ratio {ref:g}",
        "",
        "![certificates](certificates.png)",
        "",
    ]
    for rep in certs.values():
        lines += [certificate_markdown(rep), ""]
    lines += ["## Inference speed-up of the dimension-reduced models", ""]
    if speed_rows:
        lines += [
            "![speed-up](speedup.png)",
            "",
            md_table(["method", "ratio", "stored modes per layer", "parameters",
                      "full (ms)", "reduced (ms)", "speed-up", "accuracy (%)"],
                     [[s["method"], f"{s['ratio']:g}", str(s["state_sizes"]), s["params"],
                       f"{1e3 * s['seconds_full']:.2f}", f"{1e3 * s['seconds_reduced']:.2f}",
                       f"{s['speedup']:.2f}×", f"{100 * s['accuracy_masked']:.2f}"]
                      for s in speed_rows]),
            "",
            f"Median wall time of the jitted forward pass on a batch of {nbatch} test examples "
            "(compilation excluded) of the model with the pruned states removed "
            "(`ssm_bridge.apply(mode='remove')`), against the full model, on this machine "
            "(CPU timings on a shared machine are noisy).",
            "",
        ]
    lines += ["## Files", ""] + [f"- `{name}`: {what}" for name, what in sorted(files.items())]
    return "\n".join(lines) + "\n"


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
) -> CompareResult:
    """Evaluate every method at every ratio and write the report (Markdown, PNG, CSV, JSON).

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        Bundled name or checkpoint path (see :func:`resolve_checkpoint`).
    out_dir : path-like
        Created; an existing directory is replaced only with ``force=True``.
    methods : "all" or sequence of str
        Methods of ``mor.METHODS``; balanced truncation is listed in the report as not
        applicable to a network and not swept.
    ratios : sequence of float
        Pruning ratios in [0, 1].
    reference_ratio : float
        Ratio (nearest on the grid) of the pole, energy and certificate figures.
    speedup_ratios : sequence of float
        Ratios (nearest on the grid) at which the removed model is timed.
    points : float
        Tolerance of the "largest ratio within" table, in accuracy points.
    seed, batch_size, repeats, progress
        ``random`` method seed; evaluation batch; timed calls per model; progress bar.

    Returns
    -------
    CompareResult
    """
    methods = check_methods(methods)
    ratios = check_ratios(ratios)
    (reference_ratio,) = check_ratios([reference_ratio])
    speedup_ratios = check_ratios(speedup_ratios) if len(speedup_ratios) else []
    out = _check_out(out_dir, force)
    res = resolve_checkpoint(checkpoint, data=data, task=task)
    with _staged(out, force) as tmp:
        result = _write_compare(res, tmp, methods=methods, ratios=ratios,
                                reference_ratio=reference_ratio, speedup_ratios=speedup_ratios,
                                points=points, seed=seed, batch_size=batch_size,
                                repeats=repeats, progress=progress)
    return _moved(result, out)


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
) -> DemoResult:
    """The main job on the bundled defaults: compare on every bundled checkpoint, verify a
    SLICOT benchmark, and write one report.

    Writes ``out_dir/report.md`` (summary and links), ``out_dir/<name>/`` (the full
    :func:`compare_checkpoint` report of each bundled checkpoint) and
    ``out_dir/verify_<benchmark>.json`` / ``.md`` (certificates of the benchmark's
    reductions).  ``out_dir`` is the demo's own folder: a previous demo report there is
    replaced; any other existing directory is refused unless ``force=True``.

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
    if benchmark not in mor.BENCHMARKS:
        raise PipelineError(
            f"unknown benchmark {benchmark!r}; choose from {', '.join(mor.BENCHMARKS)}")
    out = Path(out_dir).absolute()
    is_demo = (out / _DEMO_MARKER).is_file()
    _check_out(out, force or is_demo)
    compares: dict[str, CompareResult] = {}
    with _staged(out, force or is_demo) as tmp:
        (tmp / _DEMO_MARKER).write_text("written by `mor demo`; replaced by the next run\n")
        for name in present:
            log.info("demo: compare on %s", name)
            res = resolve_checkpoint(name)
            (tmp / name).mkdir()
            compares[name] = _write_compare(
                res, tmp / name, methods=list(mor.METHODS), ratios=ratios,
                reference_ratio=0.5, speedup_ratios=(0.5, 0.8), points=1.0, seed=0,
                batch_size=256, repeats=repeats, progress=progress)
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
        f"Full certificates: `verify_{benchmark}.md`, `verify_{benchmark}.json` (the same as "
        f"`mor verify {benchmark} --method METHOD --ratios ...`).",
        "",
    ]
    return "\n".join(lines)
