"""Training S5 and S4D stacks on the bundled tasks (optax AdamW, jitted step, seeded).

Conventions (as the official S5 training code, Smith et al. 2023, ``s5/train_helpers.py``):

- two parameter groups (``optax.multi_transform``): the SSM parameters
  ``Lambda_re, Lambda_im, B, log_step`` use Adam with the smaller ``ssm_lr`` and **no**
  weight decay; every other parameter uses AdamW with ``lr`` and ``weight_decay``;
- both learning rates follow a linear warm-up over ``warmup_fraction`` of the steps, then a
  cosine decay to 0;
- BatchNorm statistics are updated in training mode (``mutable=["batch_stats"]``); dropout
  draws from an explicit PRNG key folded with the step number;
- the loss is the mean negative log-likelihood of the model's log-probabilities.

Everything random derives from ``seed`` (parameter init, batch order, dropout), so the same
preset and seed give the same checkpoint on the same machine and software.

Token tasks (ListOps) are fed as one-hot vectors (``d_input = vocab_size``): the encoder
Dense on a one-hot vector is an embedding lookup, so the S5/S4D models need no change.
Use :func:`model_inputs` to turn a :class:`~ssm_bridge.data.TaskData` split into model inputs.

Library code logs (``logging``) and never prints; the ``mor train`` command prints.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ssm_bridge._staging import check_output_dir, staged_directory
from ssm_bridge.config import StackConfig
from ssm_bridge.data import TaskData, encode_inputs, input_encoding, input_width, load_task
from ssm_bridge.errors import BridgeError
from ssm_bridge.presets import Preset, get_preset

__all__ = [
    "METADATA_FORMAT",
    "SSM_PARAMETERS",
    "Reducer",
    "TrainError",
    "TrainResult",
    "check_epochs",
    "fit",
    "load_run_metadata",
    "make_optimizer",
    "model_inputs",
    "optimize",
    "save_run",
    "train",
]

log = logging.getLogger(__name__)

#: Leaf names trained with ``ssm_lr`` and no weight decay (S5 convention).
SSM_PARAMETERS: tuple[str, ...] = ("Lambda_re", "Lambda_im", "B", "log_step")
#: Version tag of the metadata JSON written beside a trained checkpoint.
METADATA_FORMAT = "ssm_bridge.train/1"
#: File names inside a run directory written by :func:`save_run`.
CHECKPOINT_NAME = "model.msgpack"
METADATA_NAME = "model.meta.json"


class TrainError(BridgeError):
    """Training cannot run as asked (bad epochs, too little data for one batch, ...)."""


@dataclass
class TrainResult:
    """What :func:`train` / :func:`fit` return.

    Attributes
    ----------
    variables : dict
        Trained ``{"params", "batch_stats"}`` (numpy).
    config : S5Config or S4DConfig
    metadata : dict
        Task, options, seed, preset, test accuracy/loss, wall time, history (JSON-ready).
    state : dict
        The train state's state dict (``step``, ``params``, ``opt_state``, ``batch_stats``).
    path : pathlib.Path or None
        The run directory, when saved.
    """

    variables: dict
    config: StackConfig
    metadata: dict
    state: dict = field(repr=False, default_factory=dict)
    path: Path | None = None

    @property
    def test_accuracy(self) -> float:
        return float(self.metadata["test_accuracy"])


# --------------------------------------------------------------------------- inputs
def model_inputs(data: TaskData, split: str = "test") -> np.ndarray:
    """The array a model trained by :func:`train` on ``data``'s task takes as input.

    Continuous tasks: ``x_<split>`` unchanged, float32 ``(n, L, d_input)``. Token tasks:
    one-hot float32 ``(n, L, vocab_size)`` (padding id 0 is its own one-hot vector).

    Parameters
    ----------
    data : TaskData
    split : {"train", "test"}
    """
    if split not in ("train", "test"):
        raise TrainError(f"split = {split!r}; expected 'train' or 'test'")
    x = data.x_train if split == "train" else data.x_test
    return encode_inputs(x, data.vocab_size)


# --------------------------------------------------------------------------- optimiser
def _param_labels(params: Any) -> Any:
    from flax import traverse_util

    flat = traverse_util.flatten_dict(params)
    labels = {k: ("ssm" if k[-1] in SSM_PARAMETERS else "regular") for k in flat}
    return traverse_util.unflatten_dict(labels)


def make_optimizer(preset: Preset, total_steps: int):
    """AdamW (regular parameters) + Adam without weight decay (SSM parameters).

    Both learning rates: linear warm-up from 0 over ``max(1, warmup_fraction·steps)`` steps,
    then cosine decay to 0 at ``total_steps`` (``optax.warmup_cosine_decay_schedule``).
    The same settings return the same (cached) transformation, so a second training run
    with the same shapes reuses the compiled step.

    Returns
    -------
    optax.GradientTransformation
    """
    return _optimizer(float(preset.lr), float(preset.ssm_lr), float(preset.weight_decay),
                      float(preset.warmup_fraction), int(total_steps))


@functools.lru_cache(maxsize=16)
def _optimizer(lr: float, ssm_lr: float, weight_decay: float, warmup_fraction: float,
               total_steps: int):
    import optax

    warmup = max(1, round(warmup_fraction * total_steps))
    decay = max(total_steps, warmup + 1)

    def schedule(peak: float):
        return optax.warmup_cosine_decay_schedule(0.0, peak, warmup, decay, end_value=0.0)

    return optax.multi_transform(
        {
            "ssm": optax.adam(schedule(ssm_lr)),
            "regular": optax.adamw(schedule(lr), weight_decay=weight_decay),
        },
        _param_labels,
    )


# --------------------------------------------------------------------------- training
@functools.cache
def _state_class():
    """A TrainState with BatchNorm statistics (one class, so jit caches are reused)."""
    from flax.training import train_state

    class TrainStateWithStats(train_state.TrainState):
        batch_stats: Any = None

    return TrainStateWithStats


@functools.lru_cache(maxsize=8)
def _make_step(config: StackConfig, has_stats: bool):
    """The jitted training step of ``config`` (cached: one compilation per shape)."""
    import jax
    import jax.numpy as jnp

    from ssm_bridge.models import make_model

    model = make_model(config, training=True)

    def step(state, x, y, key):
        def loss_fn(params):
            variables = {"params": params}
            if has_stats:
                variables["batch_stats"] = state.batch_stats
            logp, updates = model.apply(
                variables, x, rngs={"dropout": key}, mutable=["batch_stats"]
            )
            nll = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
            return nll, (updates, logp)

        (loss, (updates, logp)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params
        )
        new_stats = updates["batch_stats"] if has_stats else state.batch_stats
        state = state.apply_gradients(grads=grads, batch_stats=new_stats)
        acc = jnp.mean((jnp.argmax(logp, axis=-1) == y).astype(jnp.float32))
        return state, loss, acc

    return jax.jit(step, donate_argnums=(0,))


def _use_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


#: A reduction applied during training: (variables, config) → (smaller variables, config).
Reducer = Callable[[dict, StackConfig], tuple[dict, StackConfig]]


@dataclass
class _LoopResult:
    """What :func:`optimize` returns: the final train state and what happened on the way."""

    state: Any
    config: StackConfig
    history: list[dict[str, float]]
    steps: int
    reductions: list[dict[str, Any]]
    train_time: float


def _variables_of(state: Any, has_stats: bool) -> dict:
    """The numpy ``{"params", "batch_stats"}`` of a train state."""
    import jax

    out = {"params": jax.tree_util.tree_map(np.asarray, state.params)}
    if has_stats:
        out["batch_stats"] = jax.tree_util.tree_map(np.asarray, state.batch_stats)
    return out


def _new_state(preset: Preset, variables: dict, total: int):
    """A fresh train state (optimiser of ``preset`` over ``total`` steps) at ``variables``."""
    import jax
    import jax.numpy as jnp

    has_stats = "batch_stats" in variables
    return _state_class().create(
        apply_fn=None,  # static in the state's tree: None keeps the compiled step reusable
        params=jax.tree_util.tree_map(jnp.asarray, variables["params"]),
        tx=make_optimizer(preset, total),
        batch_stats=(jax.tree_util.tree_map(jnp.asarray, variables["batch_stats"])
                     if has_stats else None),
    )


def _carry_counts(new_opt_state: Any, old_opt_state: Any) -> Any:
    """``new_opt_state`` with every optax step counter (``count`` leaf) taken from the old one.

    After an in-training reduction the parameter shapes change, so the Adam moments restart
    at zero; the counters carry over so the learning-rate schedule continues where it was.
    """
    import jax

    def counts(tree: Any) -> dict[str, Any]:
        flat, _ = jax.tree_util.tree_flatten_with_path(tree)
        return {jax.tree_util.keystr(p): v for p, v in flat
                if p and getattr(p[-1], "name", None) == "count"}

    old = counts(old_opt_state)
    flat, treedef = jax.tree_util.tree_flatten_with_path(new_opt_state)
    leaves = [old.get(jax.tree_util.keystr(p), v) for p, v in flat]
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _reduce_state(state: Any, config: StackConfig, reducer: Reducer, step: int):
    """Apply ``reducer`` to the model in ``state``; a smaller state, config and a record."""
    import jax
    import jax.numpy as jnp

    has_stats = state.batch_stats is not None
    before = _variables_of(state, has_stats)
    t0 = time.perf_counter()
    variables, new_config = reducer(before, config)
    record = {"step": int(step), "state_sizes_before": list(config.state_sizes),
              "state_sizes_after": list(new_config.state_sizes),
              "units_before": int(sum(config.nunits)),
              "units_after": int(sum(new_config.nunits)),
              "time_s": round(time.perf_counter() - t0, 3)}
    if tuple(new_config.state_sizes) == tuple(config.state_sizes):
        return state, config, record
    params = jax.tree_util.tree_map(jnp.asarray, variables["params"])
    opt_state = _carry_counts(state.tx.init(params), state.opt_state)
    stats = (jax.tree_util.tree_map(jnp.asarray, variables["batch_stats"])
             if has_stats else None)
    state = state.replace(params=params, opt_state=opt_state, batch_stats=stats)
    log.info("step %d: reduced the state sizes %s → %s", step, record["state_sizes_before"],
             record["state_sizes_after"])
    return state, new_config, record


def optimize(
    preset: Preset,
    config: StackConfig,
    variables: dict,
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    seed: int,
    total: int,
    dropout_key: Any,
    progress: bool | None = None,
    desc: str = "train",
    reduce_every: int | None = None,
    reducer: Reducer | None = None,
) -> _LoopResult:
    """Run ``total`` optimiser steps of ``preset``'s optimiser from ``variables``.

    The loop of :func:`fit`, shared with :mod:`ssm_bridge.finetune`: epochs of batches in
    the order ``numpy.random.default_rng([seed, epoch]).permutation(n)`` (the last
    incomplete batch dropped), dropout keys folded with the step number, a tqdm bar.
    With ``reduce_every`` and ``reducer``, every ``reduce_every`` steps (not after the last)
    the model is replaced by ``reducer(variables, config)`` and training goes on with the
    smaller model (Adam moments restart at zero; the schedule continues).

    Returns
    -------
    _LoopResult

    Raises
    ------
    TrainError
        A non-finite epoch loss (training diverged).
    """
    import jax
    import jax.numpy as jnp
    from tqdm.auto import tqdm

    batch = int(preset.batch_size)
    steps_per_epoch = x_train.shape[0] // batch
    has_stats = "batch_stats" in variables
    state = _new_state(preset, variables, total)
    step_fn = _make_step(config, has_stats)
    history: list[dict[str, float]] = []
    reductions: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    bar = tqdm(total=total, disable=not _use_progress(progress), desc=desc,
               unit="step", leave=False, file=sys.stderr)
    step = 0
    epoch = 0
    try:
        while step < total:
            order = np.random.default_rng([int(seed), epoch]).permutation(x_train.shape[0])
            losses: list[Any] = []
            accs: list[Any] = []
            for b in range(steps_per_epoch):
                if step >= total:
                    break
                idx = order[b * batch:(b + 1) * batch]
                state, loss, acc = step_fn(
                    state, jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx]),
                    jax.random.fold_in(dropout_key, step),
                )
                losses.append(loss)
                accs.append(acc)
                step += 1
                bar.update(1)
                if reduce_every and reducer is not None and step % reduce_every == 0 \
                        and step < total:
                    state, config, record = _reduce_state(state, config, reducer, step)
                    reductions.append(record)
                    step_fn = _make_step(config, has_stats)
                    bar.set_postfix(states=sum(config.nunits))
            history.append(_epoch_record(epoch, losses, accs))
            bar.set_postfix(loss=f"{history[-1]['train_loss']:.3f}",
                            acc=f"{history[-1]['train_accuracy']:.3f}")
            log.info("epoch %d: loss %.4f, train accuracy %.4f", epoch,
                     history[-1]["train_loss"], history[-1]["train_accuracy"])
            epoch += 1
    finally:
        bar.close()
    return _LoopResult(state, config, history, step, reductions, time.perf_counter() - t0)


def _epoch_record(epoch: int, losses: list[Any], accs: list[Any]) -> dict[str, float]:
    import jax

    epoch_loss = float(np.mean(np.asarray(jax.device_get(losses))))
    epoch_acc = float(np.mean(np.asarray(jax.device_get(accs))))
    if not np.isfinite(epoch_loss):
        raise TrainError(f"training diverged at epoch {epoch} (loss {epoch_loss}); lower lr/ssm_lr")
    return {"epoch": epoch, "steps": len(losses), "train_loss": epoch_loss,
            "train_accuracy": epoch_acc,
            "first_loss": float(losses[0]), "last_loss": float(losses[-1])}


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise TrainError(f"seed = {seed!r}; expected a non-negative integer")
    return int(seed)


def check_epochs(epochs: Any) -> int | None:
    """``epochs`` (an override of the preset's epochs): None, or a positive integer.

    Raises
    ------
    TrainError
        Anything else (a bool, a float, 0 or less).
    """
    if epochs is None:
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise TrainError(f"epochs = {epochs!r}; expected a positive integer")
    return int(epochs)


def _check_reduce_every(reduce_every: Any) -> int | None:
    if reduce_every is None:
        return None
    if isinstance(reduce_every, bool) or not isinstance(reduce_every, int | np.integer) \
            or reduce_every < 1:
        raise TrainError(f"reduce_every = {reduce_every!r}; expected a positive integer")
    return int(reduce_every)


def fit(
    preset: Preset,
    data: TaskData,
    *,
    seed: int = 0,
    progress: bool | None = None,
    reduce_every: int | None = None,
    reducer: Reducer | None = None,
) -> TrainResult:
    """Train the model of ``preset`` on ``data`` and evaluate it on the test split.

    Parameters
    ----------
    preset : Preset
        Model size and optimiser settings (:func:`ssm_bridge.presets.get_preset`).
    data : TaskData
        Train and test sets (:func:`ssm_bridge.data.load_task`).
    seed : int
        Seed of the parameter init, the batch order and dropout.
    progress : bool, optional
        tqdm progress bar on stderr; default: only when stderr is a terminal.
    reduce_every : int, optional
        In-training compression: every ``reduce_every`` optimiser steps, replace the model
        by ``reducer(variables, config)`` and keep training the smaller one (the CompreSSM
        protocol; :func:`ssm_bridge.finetune.make_reducer`).  Each reduction is recorded
        in ``metadata["reductions"]`` (step, state sizes before and after).
    reducer : callable, optional
        ``(variables, config) → (variables, config)``; required with ``reduce_every``.

    Returns
    -------
    TrainResult
        Not saved (``path`` is None); see :func:`save_run`.  ``config`` is the final
        (possibly reduced) model's.

    Raises
    ------
    TrainError
        ``epochs < 1``, fewer training examples than one batch, or ``reduce_every``
        without a reducer (or not a positive integer).
    """
    import jax

    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.models import init_variables

    seed = _check_seed(seed)
    reduce_every = _check_reduce_every(reduce_every)
    if reduce_every is not None and reducer is None:
        raise TrainError("reduce_every needs a reducer (ssm_bridge.finetune.make_reducer)")
    if preset.epochs < 1:
        raise TrainError(f"epochs = {preset.epochs}; expected at least 1")
    x_train = model_inputs(data, "train")
    y_train = np.asarray(data.y_train, np.int32)
    batch = int(preset.batch_size)
    steps_per_epoch = x_train.shape[0] // batch
    if steps_per_epoch < 1:
        raise TrainError(
            f"{x_train.shape[0]} training examples are fewer than one batch of {batch}; "
            "lower batch_size or raise n_train"
        )
    total = steps_per_epoch * preset.epochs
    if preset.max_steps is not None:
        total = min(total, int(preset.max_steps))
    config = preset.model_config(d_input=input_width(data), n_classes=data.n_classes)
    key = jax.random.PRNGKey(int(seed))
    init_key, dropout_key = jax.random.split(key)
    variables = init_variables(config, key=init_key)
    t0 = time.perf_counter()
    loop = optimize(preset, config, variables, x_train, y_train, seed=seed, total=total,
                    dropout_key=dropout_key, progress=progress, desc=f"train {data.name}",
                    reduce_every=reduce_every, reducer=reducer)
    config, state = loop.config, loop.state
    out_vars = _variables_of(state, state.batch_stats is not None)
    result = evaluate(out_vars, config, model_inputs(data, "test"), data.y_test,
                      batch_size=preset.eval_batch_size)
    wall = time.perf_counter() - t0
    log.info("test accuracy %.4f (loss %.4f), %.1f s", result.accuracy, result.loss, wall)
    from flax import serialization

    state_dict = serialization.to_state_dict(state)
    metadata = {
        "format": METADATA_FORMAT,
        "model": preset.model,
        "task": data.name,
        "task_options": _task_options(data),
        "seed": int(seed),
        "data_seed": int(data.seed),
        "preset": preset.name,
        "preset_fields": preset.to_dict(),
        "input_encoding": input_encoding(data),
        "epochs": len(loop.history),
        "steps": loop.steps,
        "test_accuracy": float(result.accuracy),
        "test_loss": float(result.loss),
        "n_test": int(result.count),
        "n_train": int(data.n_train),
        "eval_batch_size": int(preset.eval_batch_size),
        "train_time_s": round(loop.train_time, 2),
        "wall_time_s": round(wall, 2),
        "history": loop.history,
        "data": data.metadata(),
        "versions": _versions(),
    }
    if reduce_every is not None:
        metadata["reduce_every"] = reduce_every
        metadata["reductions"] = loop.reductions
        metadata["state_sizes"] = list(config.state_sizes)
    return TrainResult(variables=out_vars, config=config, metadata=metadata, state=state_dict)


def _task_options(data: TaskData) -> dict[str, Any]:
    """Keyword arguments that make ``load_task(data.name, seed=data.seed, **them)`` equal."""
    from ssm_bridge.data import task_options

    valid = set(task_options(data.name))
    return {k: v for k, v in data.options.items() if k in valid}


def _versions() -> dict[str, str]:
    import flax
    import jax
    import optax

    return {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__,
            "numpy": np.__version__}


# --------------------------------------------------------------------------- saving
def save_run(
    result: TrainResult,
    out: str | os.PathLike,
    *,
    force: bool = False,
    include_optimizer: bool = True,
    name: str = "model",
) -> Path:
    """Write a run directory atomically: ``NAME.msgpack``, ``NAME.config.json``, ``NAME.meta.json``.

    The files are written into a temporary directory beside ``out`` which is then renamed
    to ``out``; an existing ``out`` is replaced only with ``force`` (and only after the new
    one is complete). Nothing half-written is ever left at ``out``.

    Parameters
    ----------
    result : TrainResult
    out : path-like
        Run directory to create.
    force : bool
        Replace an existing directory.
    include_optimizer : bool
        Store the whole train state (``step``, ``opt_state``), not only the variables.
    name : str
        File stem inside the directory.

    Returns
    -------
    Path of the directory.

    Raises
    ------
    FileExistsError
        ``out`` exists and ``force`` is False.
    """
    from ssm_bridge.checkpoint import save_checkpoint

    out = Path(out).absolute()
    recheck = functools.partial(check_output_dir, out, force=force)
    recheck()
    with staged_directory(out, before_replace=recheck) as tmp:
        payload = result.state if include_optimizer and result.state else result.variables
        # the metadata (task, seed, recorded test accuracy) gets the files' SHA-256 checksums
        save_checkpoint(tmp / f"{name}.msgpack", payload, result.config,
                        metadata=result.metadata)
    result.path = out
    return out


def load_run_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata JSON beside a checkpoint (``X.msgpack`` → ``X.meta.json``) or in a run dir.

    Read and validated by :func:`ssm_bridge.checkpoint.read_metadata` (regular file, size
    limit, strict types of the known fields; CheckpointError otherwise).
    """
    from ssm_bridge.checkpoint import read_metadata

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    meta = path.with_suffix("").with_name(path.with_suffix("").name + ".meta.json")
    if not os.path.lexists(meta):
        raise TrainError(f"no training metadata at {str(meta)!r}")
    return read_metadata(path)


# --------------------------------------------------------------------------- entry point
def train(
    task: str,
    *,
    model: str = "s5",
    preset: str | Preset = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool | None = None,
    command: str | Sequence[str] | None = None,
    data: TaskData | None = None,
    include_optimizer: bool = True,
    reduce_every: int | None = None,
    tol: float | None = None,
    reduction: str = "energy",
) -> TrainResult:
    """Train ``model`` on ``task`` with a preset; optionally save a run directory.

    The Python counterpart of ``mor train TASK --model M --preset P --seed S --out DIR``.

    Parameters
    ----------
    task : str
        One of :data:`ssm_bridge.data.TASKS`.
    model : {"s5", "s4d"}
    preset : {"tiny", "cpu", "paper"} or Preset
    seed : int
        Seed of the data (split / generator) and of training.
    epochs : int, optional
        Override the preset's epoch count.
    out : path-like, optional
        Run directory (``model.msgpack``, ``model.config.json``, ``model.meta.json``),
        written atomically; checked **before** training.
    force : bool
        Replace an existing ``out``.
    progress : bool, optional
        Progress bar (default: on a terminal).
    command : str or list of str, optional
        The command line recorded in the metadata.
    data : TaskData, optional
        Use these data instead of loading ``load_task(task, seed=seed, **preset.task_options)``.
    include_optimizer : bool
        Store the optimiser state too (default True).
    reduce_every : int, optional
        In-training compression (``mor train ... --reduce-every N --tol τ``): every N
        optimiser steps, reduce each layer to the smallest order whose discarded share is
        at most ``tol`` (:func:`ssm_bridge.finetune.make_reducer`), then keep training.
    tol : float, optional
        The discarded share τ in [0, 1) (required with ``reduce_every``).
    reduction : str
        The reduction (:data:`ssm_bridge.finetune.REDUCTIONS`; default ``"energy"``).

    Returns
    -------
    TrainResult

    Raises
    ------
    UnknownPresetError
        Unknown task, model or preset (lists the valid names).
    FileExistsError
        ``out`` exists and ``force`` is False (raised before any training).
    """
    p = preset if isinstance(preset, Preset) else get_preset(task, preset, model=model)
    if check_epochs(epochs) is not None:
        p = p.with_overrides(epochs=epochs)
    reducer = None
    if reduce_every is not None or tol is not None:
        from ssm_bridge.finetune import make_reducer

        if reduce_every is None or tol is None:
            raise TrainError("in-training reduction needs both reduce_every and tol")
        _check_reduce_every(reduce_every)
        reducer = make_reducer(reduction, tol=tol)
    if out is not None:
        check_output_dir(Path(out).absolute(), force=force)
    if data is None:
        data = load_task(task, seed=seed, **p.task_options)
    elif data.name != task:
        raise TrainError(f"data are for task {data.name!r}, not {task!r}")
    result = fit(p, data, seed=seed, progress=progress, reduce_every=reduce_every,
                 reducer=reducer)
    if reducer is not None:
        result.metadata["reduction"] = {"method": reduction, "tol": float(tol)}
    if command is not None:
        result.metadata["command"] = (command if isinstance(command, str)
                                      else " ".join(str(c) for c in command))
    if out is not None:
        save_run(result, out, force=force, include_optimizer=include_optimizer)
    return result
