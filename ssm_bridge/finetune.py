"""Recovery fine-tuning of a reduced model, and the reductions used during training.

Fine-tuning (``mor prune CKPT ... --finetune STEPS``, ``mor train TASK --from CKPT``)
continues training a dimension-reduced model with the optimiser of :mod:`ssm_bridge.train`
(the S5 parameter groups, warm-up then cosine decay over the fine-tuning steps, learning
rates scaled by ``lr_scale``) on the task's **training** split only; the test split is used
for the accuracy reported before and after, never for a gradient.  The result is an
ordinary run directory (``model.msgpack``, ``model.config.json``, ``model.meta.json``) that
loads like any other.

In-training compression (``mor train ... --reduce-every N --tol τ``) calls a *reducer*
``(variables, config) → (variables, config)`` every N steps (:func:`ssm_bridge.train.fit`).
:data:`REDUCTIONS` holds the reducers :func:`make_reducer` builds:

``energy``
    Modal truncation by energy: in each layer keep the smallest number of units whose
    discarded share of the layer's summed unit energies (AIRE-prune eq. 8, the squared H2
    norm of each unit, :func:`mor.scores.energy`) is at most τ; the units with the largest
    energy are kept and the others removed (:func:`ssm_bridge.apply`, ``mode="remove"``).
    A modal criterion, cheap and basis-preserving.
``balanced``
    CompreSSM's criterion: balanced truncation of each layer (the structure-preserving
    after-update form of :mod:`mor.after_update`, written back by
    :func:`ssm_bridge.balanced.apply_balanced`) to the smallest order whose discarded share
    of the Hankel energy ``Σ σ_i²`` is at most τ.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ssm_bridge._staging import check_output_dir
from ssm_bridge.checkpoint import Checkpoint
from ssm_bridge.config import StackConfig
from ssm_bridge.data import TaskData, input_encoding, input_width, load_task
from ssm_bridge.presets import Preset, get_preset
from ssm_bridge.train import (
    CHECKPOINT_NAME,
    METADATA_FORMAT,
    Reducer,
    TrainError,
    TrainResult,
    _check_seed,
    _task_options,
    _variables_of,
    _versions,
    model_inputs,
    optimize,
    save_run,
)

__all__ = [
    "DEFAULT_LR_SCALE",
    "REDUCTIONS",
    "FinetuneResult",
    "UnknownReductionError",
    "energy_keep_counts",
    "finetune",
    "finetune_checkpoint",
    "hankel_keep_orders",
    "load_with_metadata",
    "make_reducer",
    "reduce_by_balanced_truncation",
    "reduce_by_energy",
]

log = logging.getLogger(__name__)

#: Learning rates of fine-tuning = the preset's times this factor.
DEFAULT_LR_SCALE = 1.0
#: Size limit of the ``accuracy.json`` of a pruned directory read for its provenance.
_MAX_SUMMARY_BYTES = 16 * 1024**2


class UnknownReductionError(TrainError):
    """The reduction name is not one of :data:`REDUCTIONS` (the message lists them)."""


# --------------------------------------------------------------------------- reductions
def energy_keep_counts(systems: Sequence[Any], tol: float) -> list[int]:
    """Per layer, the fewest units whose discarded share of the unit energies is ≤ ``tol``.

    With the unit energies ``e`` of a layer (:func:`mor.scores.energy`) sorted in
    decreasing order, the count is the smallest ``k ≥ 1`` with
    ``Σ_{i>k} e_i ≤ tol · Σ_i e_i``.  A layer with a non-finite energy (a unit that is not
    strictly stable) keeps every unit.

    Parameters
    ----------
    systems : sequence of mor.ModalSystem
        The layers (:func:`ssm_bridge.extract`).
    tol : float
        The discarded share τ in [0, 1).

    Returns
    -------
    list of int

    Examples
    --------
    >>> from mor.systems import ModalSystem
    >>> s = ModalSystem([0.9, 0.5, 0.1], [[1.0], [1.0], [1.0]], [[1.0, 1.0, 1.0]], dt=1)
    >>> # unit energies 1/(1 − λ²) = 5.26, 1.33, 1.01: dropping the last two discards 31 %
    >>> energy_keep_counts([s], 0.3), energy_keep_counts([s], 0.31), energy_keep_counts([s], 0.0)
    ([2], [1], [3])
    """
    from mor import scores

    tol = _check_tol(tol)
    counts = []
    for sys in systems:
        e = np.asarray(scores.energy(sys), dtype=np.float64)
        if e.size == 0 or not np.all(np.isfinite(e)):
            counts.append(int(e.size))
            continue
        counts.append(_smallest_order(e, tol))
    return counts


def reduce_by_energy(variables: dict, config: StackConfig, *, tol: float) -> tuple[dict,
                                                                                   StackConfig]:
    """Modal truncation by energy (the ``energy`` reducer of :data:`REDUCTIONS`).

    Parameters
    ----------
    variables : dict
        ``{"params", "batch_stats"}`` of the model.
    config : S5Config or S4DConfig
    tol : float
        The discarded share of each layer's unit energies, in [0, 1).

    Returns
    -------
    (variables, config)
        The dimension-reduced model (unchanged when every unit is kept).  S4D layers keep
        a regular (H, N') shape: channels are padded with inert modes to the largest kept
        count (:func:`ssm_bridge.apply`).
    """
    import mor
    from ssm_bridge.apply import apply
    from ssm_bridge.extract import extract

    systems = extract(variables, config)
    counts = energy_keep_counts(systems, tol)
    if counts == [s.nunits for s in systems]:
        return variables, config
    plan = mor.prune(systems, "uniform_energy", budget=counts)
    return apply(variables, config, plan, mode="remove")


def _smallest_order(energies: np.ndarray, tol: float) -> int:
    """Smallest k ≥ 1 with ``Σ_{i>k} e_i ≤ tol · Σ e_i`` for ``e`` sorted descending."""
    e = np.sort(np.asarray(energies, dtype=np.float64))[::-1]
    if e.size == 0:
        return 0
    tail = np.append(np.cumsum(e[::-1])[::-1][1:], 0.0)  # summed from the small end
    return int(np.argmax(tail <= tol * float(e.sum()))) + 1


def hankel_keep_orders(systems: Sequence[Any], tol: float) -> list[int]:
    """Per layer, the smallest balanced order (real states) discarding ≤ ``tol`` of Σ σ².

    ``σ`` are the layer's Hankel singular values as a balanced plan ranks them
    (:func:`mor.balanced_selection.layer_hankel_singular_values`); states of an unstable
    part are kept on top.
    """
    from mor.balanced_selection import layer_hankel_singular_values

    tol = _check_tol(tol)
    orders = []
    for sys in systems:
        hsv = layer_hankel_singular_values(sys)
        unstable = sys.nstates - hsv.size
        orders.append(min(sys.nstates, max(1, unstable + _smallest_order(hsv**2, tol))))
    return orders


def reduce_by_balanced_truncation(variables: dict, config: StackConfig, *,
                                  tol: float) -> tuple[dict, StackConfig]:
    """Balanced truncation of every layer (the ``balanced`` reducer of :data:`REDUCTIONS`).

    Orders from :func:`hankel_keep_orders`; the reduced layers are written back in the
    model's own parameterisation by :func:`ssm_bridge.balanced.apply_balanced` (which
    raises :class:`~ssm_bridge.errors.UnrepresentableLayerError` for a pole the layer
    cannot hold).  Unchanged when every layer keeps its order.
    """
    from mor.balanced_selection import balanced_plan
    from ssm_bridge.balanced import apply_balanced
    from ssm_bridge.extract import extract

    systems = extract(variables, config)
    orders = hankel_keep_orders(systems, tol)
    if orders == [s.nstates for s in systems]:
        return variables, config
    return apply_balanced(variables, config, balanced_plan(systems, budget=orders))


#: Reducers for in-training compression: name → ``f(variables, config, *, tol)``.
REDUCTIONS: dict[str, Callable[..., tuple[dict, StackConfig]]] = {
    "energy": reduce_by_energy,
    "balanced": reduce_by_balanced_truncation,
}


def _check_tol(tol: Any) -> float:
    is_number = isinstance(tol, int | float | np.integer | np.floating)
    value = float(tol) if is_number and not isinstance(tol, bool) else math.nan
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise TrainError(
            f"tol = {tol!r}; expected the discarded share of each layer, a number in [0, 1) "
            "(e.g. 0.01)"
        )
    return value


def make_reducer(name: str = "energy", *, tol: float) -> Reducer:
    """The reducer ``name`` of :data:`REDUCTIONS` with tolerance ``tol``.

    Raises
    ------
    UnknownReductionError
        ``name`` is not in :data:`REDUCTIONS`.
    TrainError
        ``tol`` is not in [0, 1).
    """
    if name not in REDUCTIONS:
        raise UnknownReductionError(
            f"unknown reduction {name!r}; choose one of {', '.join(REDUCTIONS)}"
        )
    return functools.partial(REDUCTIONS[name], tol=_check_tol(tol))


# --------------------------------------------------------------------------- fine-tuning
@dataclass(frozen=True)
class FinetuneResult:
    """What :func:`finetune` / :func:`finetune_checkpoint` return.

    Attributes
    ----------
    result : TrainResult
        The fine-tuned model (variables, config, metadata, train state, ``path`` once saved).
    before, after : dict
        ``test_accuracy, test_loss, train_accuracy, train_loss`` of the model before and
        after fine-tuning (evaluation mode: BatchNorm running statistics, no dropout).
    steps : int
        Optimiser steps taken.
    time_s : float
        Wall time of the optimiser steps (evaluations excluded).
    """

    result: TrainResult
    before: dict
    after: dict
    steps: int
    time_s: float

    @property
    def path(self) -> Path | None:
        return self.result.path

    @property
    def accuracy_before(self) -> float:
        return float(self.before["test_accuracy"])

    @property
    def accuracy_after(self) -> float:
        return float(self.after["test_accuracy"])


def _measure(variables: dict, config: StackConfig, data: TaskData, batch: int) -> dict:
    from ssm_bridge.evaluate import evaluate

    test = evaluate(variables, config, model_inputs(data, "test"), data.y_test,
                    batch_size=batch)
    train = evaluate(variables, config, model_inputs(data, "train"), data.y_train,
                     batch_size=batch)
    return {"test_accuracy": float(test.accuracy), "test_loss": float(test.loss),
            "train_accuracy": float(train.accuracy), "train_loss": float(train.loss)}


def _check_steps(steps: Any) -> int | None:
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise TrainError(f"steps = {steps!r}; expected a positive number of optimiser steps")
    return int(steps)


def _check_fits(config: StackConfig, data: TaskData) -> None:
    width = input_width(data)
    if width != config.d_input or data.n_classes != config.n_classes:
        raise TrainError(
            f"the model takes d_input = {config.d_input} and has {config.n_classes} classes, "
            f"but task {data.name!r} has {width} input features and {data.n_classes} classes; "
            "fine-tune on the task the model was trained for"
        )


def finetune(
    variables: Mapping[str, Any],
    config: StackConfig,
    data: TaskData,
    *,
    steps: int | None = None,
    preset: Preset | None = None,
    seed: int = 0,
    lr_scale: float = DEFAULT_LR_SCALE,
    progress: bool | None = None,
) -> FinetuneResult:
    """Fine-tune a (reduced) model on ``data``'s training split for ``steps`` steps.

    Parameters
    ----------
    variables : dict
        ``{"params", "batch_stats"}`` of the model (e.g. ``Checkpoint.variables``).
    config : S5Config or S4DConfig
        Its config (the reduced state sizes).
    data : TaskData
        The task it was trained on: training split for the gradients, test split for the
        accuracy reported before and after.
    steps : int, optional
        Optimiser steps (batches of ``preset.batch_size``, reshuffled every epoch);
        default: one epoch.
    preset : Preset, optional
        Optimiser settings (default: the task's ``cpu`` preset for the model family).
    seed : int
        Seed of the batch order and dropout.
    lr_scale : float
        Factor on the preset's ``lr`` and ``ssm_lr`` (default :data:`DEFAULT_LR_SCALE`).
    progress : bool, optional
        tqdm progress bar (default: on a terminal).

    Returns
    -------
    FinetuneResult
        Not saved; :func:`ssm_bridge.train.save_run` writes ``result.result``.

    Raises
    ------
    TrainError
        ``steps < 1``, a bad ``lr_scale``, a model that does not fit the task, or fewer
        training examples than one batch.
    """
    import jax

    steps = _check_steps(steps)
    scale = float(lr_scale) if isinstance(lr_scale, int | float) else math.nan
    if isinstance(lr_scale, bool) or not (math.isfinite(scale) and scale > 0):
        raise TrainError(f"lr_scale = {lr_scale!r}; expected a positive number")
    seed = _check_seed(seed)
    _check_fits(config, data)
    if preset is None:
        preset = get_preset(data.name, "cpu", model=config.model)
    p = preset.with_overrides(lr=preset.lr * scale, ssm_lr=preset.ssm_lr * scale)
    x_train = model_inputs(data, "train")
    y_train = np.asarray(data.y_train, np.int32)
    if x_train.shape[0] < p.batch_size:
        raise TrainError(
            f"{x_train.shape[0]} training examples are fewer than one batch of "
            f"{p.batch_size}; use a preset with a smaller batch_size"
        )
    if steps is None:
        steps = x_train.shape[0] // p.batch_size
    variables = {k: v for k, v in dict(variables).items() if k in ("params", "batch_stats")}
    before = _measure(variables, config, data, p.eval_batch_size)
    dropout_key = jax.random.split(jax.random.PRNGKey(seed))[1]
    loop = optimize(p, config, variables, x_train, y_train, seed=seed, total=steps,
                    dropout_key=dropout_key, progress=progress, desc=f"fine-tune {data.name}")
    out_vars = _variables_of(loop.state, loop.state.batch_stats is not None)
    after = _measure(out_vars, config, data, p.eval_batch_size)
    log.info("fine-tuned %d steps in %.1f s: test accuracy %.4f → %.4f", loop.steps,
             loop.train_time, before["test_accuracy"], after["test_accuracy"])
    from flax import serialization

    metadata = {
        "format": METADATA_FORMAT,
        "model": config.model,
        "task": data.name,
        "task_options": _task_options(data),
        "seed": seed,
        "data_seed": int(data.seed),
        "preset": preset.name,
        "preset_fields": p.to_dict(),
        "input_encoding": input_encoding(data),
        "epochs": len(loop.history),
        "steps": loop.steps,
        "test_accuracy": after["test_accuracy"],
        "test_loss": after["test_loss"],
        "n_test": int(data.n_test),
        "n_train": int(data.n_train),
        "eval_batch_size": int(p.eval_batch_size),
        "train_time_s": round(loop.train_time, 2),
        "history": loop.history,
        "state_sizes": list(config.state_sizes),
        "finetune": {"steps": loop.steps, "lr_scale": scale, "before": before,
                     "after": after, "time_s": round(loop.train_time, 2)},
        "data": data.metadata(),
        "versions": _versions(),
    }
    result = TrainResult(variables=out_vars, config=config, metadata=metadata,
                         state=serialization.to_state_dict(loop.state))
    return FinetuneResult(result, before, after, loop.steps, loop.train_time)


# --------------------------------------------------------------------------- checkpoints
def _pruned_summary(path: Path) -> dict:
    """Task and training metadata from the ``accuracy.json`` that ``mor prune`` writes."""
    from mor._files import parse_json, read_regular_file

    summary = path.parent / "accuracy.json"
    if not summary.is_file():
        return {}
    try:
        value = parse_json(read_regular_file(summary, max_bytes=_MAX_SUMMARY_BYTES,
                                             what="pruning summary", error=TrainError),
                           what=f"pruning summary {str(summary)!r}", error=TrainError)
    except TrainError as err:  # supplementary only: the checkpoint's own metadata rules
        log.warning("ignoring %s: %s", summary, err)
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("task"), str):
        return {}
    inner = value.get("metadata")
    return {**(inner if isinstance(inner, dict) else {}), "task": value["task"]}


def load_with_metadata(checkpoint: str | os.PathLike | Checkpoint) -> tuple[Checkpoint, dict,
                                                                            str]:
    """A checkpoint, the metadata naming its task and data, and its label.

    ``checkpoint`` is a bundled name, a ``.msgpack`` file, a run directory or a loaded
    :class:`~ssm_bridge.Checkpoint`.  The metadata is the JSON beside the checkpoint; in a
    directory written by ``mor prune``, the ``accuracy.json`` there adds what that JSON
    lacks: the task and the training metadata (preset, data seed) of the model it pruned.

    Raises
    ------
    TrainError
        No such checkpoint.
    CheckpointError
        Not a readable checkpoint.
    """
    from ssm_bridge.checkpoint import load_checkpoint

    if isinstance(checkpoint, Checkpoint):
        return checkpoint, dict(checkpoint.metadata), "checkpoint"
    text = os.fspath(checkpoint)
    path = Path(text)
    if not path.exists():
        try:
            from ssm_bridge import bundled
        except ImportError:  # pragma: no cover - the bundle is part of the package
            bundled = None
        if bundled is not None and text in bundled.BUNDLED:
            ckpt = load_checkpoint(bundled.bundled_checkpoint_path(text))
            return ckpt, dict(bundled.bundled_metadata(text)), text
        raise TrainError(f"{text!r}: no such checkpoint file or directory, and not a bundled "
                         "checkpoint")
    if path.is_dir() and (path / CHECKPOINT_NAME).is_file():
        path = path / CHECKPOINT_NAME
    ckpt = load_checkpoint(path)
    meta = dict(ckpt.metadata)
    if path.is_file():  # a prune directory: the pruned model's training provenance
        meta = {**_pruned_summary(path), **meta}
    return ckpt, meta, text


def _preset_from(meta: Mapping[str, Any], task: str, model: str) -> Preset:
    recorded = meta.get("preset_fields")
    if isinstance(recorded, dict) and recorded.get("task") == task:
        names = {f.name for f in fields(Preset)}
        try:
            return Preset(**{k: v for k, v in recorded.items() if k in names})
        except TypeError:
            pass
    return get_preset(task, "cpu", model=model)


def finetune_checkpoint(
    checkpoint: str | os.PathLike | Checkpoint,
    steps: int | None = None,
    out: str | os.PathLike | None = None,
    *,
    source: str | os.PathLike | Checkpoint | None = None,
    task: str | None = None,
    preset: Preset | str | None = None,
    seed: int = 0,
    lr_scale: float = DEFAULT_LR_SCALE,
    force: bool = False,
    progress: bool | None = None,
    command: str | None = None,
) -> FinetuneResult:
    """Fine-tune a checkpoint on its task's training split and optionally save a run dir.

    The Python side of ``mor prune CKPT ... --finetune STEPS`` and ``mor train TASK --from
    CKPT``.  The task, its options and the data seed come from the metadata of
    ``source`` (default: the checkpoint itself; :func:`load_with_metadata`), so the test set
    is the one the model was evaluated on and no test example enters training.

    Parameters
    ----------
    checkpoint : str, path-like or Checkpoint
        The model to fine-tune (bundled name, ``.msgpack`` file, run or prune directory).
    steps : int, optional
        Optimiser steps (default: one epoch).
    out : path-like, optional
        Run directory to write (``model.msgpack``, ``model.config.json``,
        ``model.meta.json``), atomically; checked before any training.
    source : str, path-like or Checkpoint, optional
        The checkpoint whose metadata names the task and data (e.g. the unpruned one).
    task : str, optional
        The task, when no metadata names it (must agree with it otherwise).
    preset : Preset or str, optional
        Optimiser settings or a preset name of the task (default: the preset recorded in
        the metadata, else ``cpu``).
    seed, lr_scale, progress
        As in :func:`finetune`.
    force : bool
        Replace an existing ``out`` (only one mor wrote).
    command : str, optional
        The command line recorded in the metadata.

    Returns
    -------
    FinetuneResult

    Raises
    ------
    TrainError
        No task known or a task that contradicts the metadata, bad ``steps``.
    FileExistsError
        ``out`` exists and ``force`` is False (before any training).
    """
    steps = _check_steps(steps)
    if out is not None:
        check_output_dir(Path(out).absolute(), force=force)
    ckpt, meta, label = load_with_metadata(checkpoint)
    if source is not None:  # its task, data seed and preset take precedence
        meta = {**meta, **load_with_metadata(source)[1]}
    named = meta.get("task") if isinstance(meta.get("task"), str) else None
    if task is not None and named is not None and task != named:
        raise TrainError(f"{label} was trained on task {named!r}, not {task!r}")
    task = task or named
    if task is None:
        raise TrainError(
            f"{label}: no metadata names its task; pass the task (mor train TASK --from ..., "
            "mor prune ... --task TASK)"
        )
    options = meta.get("task_options") if isinstance(meta.get("task_options"), dict) else {}
    data_seed = meta.get("data_seed", meta.get("seed", 0)) if named else seed
    data = load_task(task, seed=int(data_seed), **options)
    if isinstance(preset, str):
        preset = get_preset(task, preset, model=ckpt.config.model)
    elif preset is None:
        preset = _preset_from(meta, task, ckpt.config.model)
    res = finetune(ckpt.variables, ckpt.config, data, steps=steps, preset=preset, seed=seed,
                   lr_scale=lr_scale, progress=progress)
    res.result.metadata["finetune"]["source"] = label
    if command is not None:
        res.result.metadata["command"] = command
    if out is not None:
        save_run(res.result, out, force=force)
    return res
