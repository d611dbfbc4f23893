"""What a job runs on: a bundled name, a checkpoint path or a loaded checkpoint, resolved.

A CHECKPOINT is a bundled name (``ssm_bridge.bundled.BUNDLED``, e.g. ``"s5_digits"``), a path
to a checkpoint written by :func:`ssm_bridge.save_checkpoint` (``.msgpack`` file, Orbax
directory or a run directory of ``mor train``) with its task named by a metadata JSON beside
it (or by ``task=``), or an already loaded :class:`ssm_bridge.Checkpoint` together with
``data=``.  :func:`resolve_checkpoint` loads it with the test set it is evaluated on; the
checks here say, before any work, whether those data fit the model and one evaluation batch
fits in memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from mor.exceptions import MORError
from ssm_bridge.checkpoint import Checkpoint, load_checkpoint, read_metadata
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import CheckpointError, JobError

__all__ = [
    "MAX_BATCH_BYTES",
    "ResolvedCheckpoint",
    "available_bundled",
    "bundled_module",
    "bundled_names",
    "check_batch_memory",
    "check_data_fits",
    "evaluation_arrays",
    "input_paths",
    "resolve_checkpoint",
    "task_options",
]

MAX_BATCH_BYTES = 16 * 1024**3
"""Limit on the estimated activation memory of one evaluation batch (16 GiB)."""

RUN_FILE = "model.msgpack"
"""The checkpoint inside a run directory written by ``mor train``."""


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint ready for a job: model, test data and where they came from.

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
        """One line: kind, layers, width, stored modes, task and test-set size."""
        cfg = self.config
        kind = "S4D" if isinstance(cfg, S4DConfig) else "S5"
        return (f"{kind}, {cfg.n_layers} layer(s), H = {cfg.d_model}, stored modes per layer "
                f"{list(cfg.state_sizes)}; task {self.task or 'given data'}, "
                f"{len(self.y_test)} test examples")


# ---------------------------------------------------------------------- bundled checkpoints
def bundled_module() -> ModuleType | None:
    """:mod:`ssm_bridge.bundled`, or None when it is not installed."""
    try:
        from ssm_bridge import bundled
    except ImportError:
        return None
    return bundled if hasattr(bundled, "BUNDLED") else None


def bundled_names() -> tuple[str, ...]:
    """Names of the bundled checkpoints (empty if the bundle is not installed)."""
    module = bundled_module()
    return tuple(module.BUNDLED) if module is not None else ()


def available_bundled() -> tuple[str, ...]:
    """Bundled names whose checkpoint file is present."""
    module = bundled_module()
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


# ---------------------------------------------------------------------- data
def task_options(metadata: Mapping[str, Any]) -> dict:
    """The task options a checkpoint's metadata records (``{}`` when none)."""
    for key in ("task_options", "options", "data_options"):
        value = metadata.get(key)
        if isinstance(value, dict):
            return dict(value)
    return {}


def evaluation_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """A TaskData's test set as the model takes it (token tasks one-hot, as in training)."""
    from ssm_bridge.data.inputs import encode_inputs

    return encode_inputs(data.x_test, getattr(data, "vocab_size", None)), np.asarray(data.y_test)


def _given_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """``data=`` as test arrays: a TaskData or a pair (x_test, y_test)."""
    if hasattr(data, "x_test"):
        return evaluation_arrays(data)
    try:
        x, y = data
    except (TypeError, ValueError):
        raise JobError("data must be a TaskData or a pair (x_test, y_test)") from None
    return np.asarray(x), np.asarray(y)


def _task_test_set(label: str, metadata: Mapping[str, Any], task: str | None,
                   seed: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The test set of the checkpoint's task (``task`` or the metadata's)."""
    from ssm_bridge.data import load_task

    task = task or metadata.get("task")
    if not task:
        raise JobError(
            f"{label}: no task is known for this checkpoint (no metadata JSON with a 'task' "
            "beside it); pass the task (--task digits|digits32|mnist1d|listops, or task=)"
        )
    if seed is None:
        seed = int(metadata.get("data_seed", metadata.get("seed", 0)))
    x, y = evaluation_arrays(load_task(task, seed=seed, **task_options(metadata)))
    return x, y, task


# ---------------------------------------------------------------------- checkpoints
def _checkpoint_path(text: str) -> Path:
    """The checkpoint file or directory ``text`` names (refused clearly if it is none)."""
    path = Path(text)
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
    if path.is_dir() and not (path / "state").is_dir() and (path / RUN_FILE).is_file():
        path = path / RUN_FILE  # a run directory written by `mor train`
    return path


def _load(checkpoint: str | os.PathLike | Checkpoint, verify: bool
          ) -> tuple[Checkpoint, dict, str]:
    """(checkpoint, metadata, label) of a bundled name, a path or a loaded checkpoint."""
    if isinstance(checkpoint, Checkpoint):
        return checkpoint, {}, "checkpoint"
    text = os.fspath(checkpoint)
    module = bundled_module()
    if module is not None and text in module.BUNDLED and not Path(text).exists():
        # the test set comes from the metadata, as in ``load_bundled``
        ckpt = load_checkpoint(module.bundled_checkpoint_path(text), verify=verify)
        return ckpt, dict(ckpt.metadata) or dict(module.bundled_metadata(text)), text
    path = _checkpoint_path(text)
    return load_checkpoint(path, verify=verify), read_metadata(path), text


def resolve_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    *,
    data: Any = None,
    task: str | None = None,
    seed: int | None = None,
    verify: bool = True,
) -> ResolvedCheckpoint:
    """Load a checkpoint (a bundled name, a path or a loaded one) and the test set it is
    evaluated on.

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

    Returns
    -------
    ResolvedCheckpoint

    Raises
    ------
    JobError
        No task known, or ``data`` that is neither a TaskData nor a pair.
    CheckpointError
        Not a checkpoint (missing, unreadable, no config beside it, not a bundled name),
        invalid metadata, or (``ChecksumMismatchError``) files that differ from their
        recorded checksums.
    """
    ckpt, metadata, label = _load(checkpoint, verify)
    if data is not None:
        x, y = _given_arrays(data)
        return ResolvedCheckpoint(label, ckpt, x, y, task or metadata.get("task"), metadata)
    x, y, task = _task_test_set(label, metadata, task, seed)
    return ResolvedCheckpoint(label, ckpt, x, y, task, metadata)


# ---------------------------------------------------------------------- checks before work
def check_data_fits(res: ResolvedCheckpoint) -> None:
    """Refuse test inputs or labels that the model cannot take (a wrong task)."""
    cfg = res.config
    x = res.x_test
    if x.ndim == 3 and x.shape[-1] != cfg.d_input:
        raise JobError(
            f"{res.label}: the test inputs have {x.shape[-1]} features per step but the model "
            f"takes d_input = {cfg.d_input}; is this the checkpoint's task?"
        )
    if res.y_test.size and int(np.max(res.y_test)) >= cfg.n_classes:
        raise JobError(
            f"{res.label}: labels go up to {int(np.max(res.y_test))} but the model has "
            f"{cfg.n_classes} classes; is this the checkpoint's task?"
        )


def batch_bytes(res: ResolvedCheckpoint, batch_size: int) -> int:
    """Estimated activation memory (bytes, float32) of one evaluation batch of the model.

    Per example and time step: the input features, four d_model-wide activations and the
    complex state of the widest layer.  Batches are padded to ``batch_size`` examples.
    """
    cfg = res.config
    x = np.asarray(res.x_test)
    steps = int(x.shape[1]) if x.ndim >= 2 else 1
    per_step = int(cfg.d_input) + 4 * int(cfg.d_model) + 2 * max(int(s) for s in cfg.state_sizes)
    return batch_size * steps * per_step * 4


def check_batch_memory(res: ResolvedCheckpoint, batch_size: int) -> None:
    """Refuse a batch size whose estimated memory exceeds :data:`MAX_BATCH_BYTES`."""
    need = batch_bytes(res, batch_size)
    if need > MAX_BATCH_BYTES:
        per_example = max(batch_bytes(res, 1), 1)
        raise JobError(
            f"batch size {batch_size} needs about {need / 1024**3:.3g} GiB for one batch of "
            f"{res.label}, over the batch memory limit MAX_BATCH_BYTES = "
            f"{MAX_BATCH_BYTES / 1024**3:g} GiB; use --batch-size "
            f"{max(MAX_BATCH_BYTES // per_example, 1)} or less"
        )


def input_paths(checkpoint: Any) -> list[Path]:
    """The files or folders a job reads for ``checkpoint`` (its output must not hold them)."""
    if isinstance(checkpoint, Checkpoint):
        return []
    try:
        text = os.fspath(checkpoint)
    except TypeError:
        return []
    if not isinstance(text, str) or not text:
        return []
    if os.path.lexists(text):
        return [Path(text)]
    module = bundled_module()
    if module is not None and text in module.BUNDLED:
        try:
            return [Path(module.bundled_checkpoint_path(text))]
        except (MORError, OSError):
            return []
    return []
