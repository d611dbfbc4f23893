"""Jitted, batched evaluation (accuracy and loss) sharded over every visible device.

The batch axis is sharded over a 1-D device mesh (``jax.sharding.NamedSharding`` over
``Mesh(devices, ("batch",))``); parameters are replicated.  The last batch is padded to the
full batch size and padded examples are masked out, so every batch has one shape and the
step compiles once.  Per-example log-probabilities come back to the host, where accuracy
and mean cross-entropy are summed in float64 in a fixed order: the result does not depend
on how many devices computed it.

Multi-host: call ``jax.distributed.initialize()`` first, then call :func:`evaluate` (or
:func:`log_probabilities`) on *every* process with the same ``tree``, ``config``,
``batch_size``, ``masks`` and ``devices``, each process passing only *its own shard* of the
data (``inputs``/``labels`` are process-local; shards may differ in size, even be empty).
The mesh must hold the same number of devices from every process (the default,
``jax.devices()``, does); a mesh of only this process's devices evaluates this process's data
alone, without collectives.  ``batch_size`` stays the global batch: per step each process
contributes ``batch_size × local devices / devices`` examples of its shard (assembled with
``jax.make_array_from_process_local_data``), every process runs the same number of steps
(padding once its shard is used up) and reads back the log-probabilities of its own
examples.  :func:`evaluate` then sums the per-process float64 totals across processes in
process order (``multihost_utils.process_allgather``), so every process returns the same
result over the union of the shards, equal to a single-process evaluation of the
concatenated shards (accuracy exactly, loss up to float64 summation order);
:func:`log_probabilities` returns the rows of the calling process's own examples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ssm_bridge._sharding import (
    Accumulator,
    Sharder,
    check_data,
    check_inputs,
    check_lengths,
    evaluation_variables,
    global_batch_size,
    sharded_batches,
)
from ssm_bridge.config import StackConfig
from ssm_bridge.models import make_model

__all__ = ["EvalResult", "evaluate", "forward_call", "log_probabilities", "time_forward"]


@dataclass(frozen=True)
class EvalResult:
    """Accuracy and mean cross-entropy over a data set.

    Attributes
    ----------
    accuracy : float
        Fraction of examples whose arg-max class equals the label.
    loss : float
        Mean negative log-likelihood of the labels.
    count : int
        Number of examples (multi-host: over all processes' shards).
    ndevices : int
        Devices the batch axis was sharded over.
    """

    accuracy: float
    loss: float
    count: int
    ndevices: int


@partial(jax.jit, static_argnames=("config",))
def _log_prob_step(variables, x, masks, lengths, *, config: StackConfig):
    return make_model(config).apply(variables, x, masks, lengths)


def _log_prob_batches(variables: dict, config: StackConfig, x: np.ndarray, lengths, *,
                      batch_size: int, devices: Sequence[jax.Device] | None,
                      masks: Sequence[np.ndarray] | None,
                      ) -> tuple[Sharder, Iterator[tuple[int, int, np.ndarray]]]:
    """The mesh and, lazily, (start, valid count, local log-probabilities) of every batch.

    ``lengths``, the devices and ``batch_size`` are checked before this returns.
    """
    lengths = check_lengths(lengths, x, config)
    sharder = Sharder(devices)
    size = global_batch_size(batch_size, sharder.ndevices)
    dev_vars = sharder.put_replicated(variables)
    dev_masks = None if masks is None else sharder.put_replicated(
        tuple(jnp.asarray(m, jnp.float32) for m in masks))

    def steps() -> Iterator[tuple[int, int, np.ndarray]]:
        for start, n, xb, lb in sharded_batches(sharder, x, lengths, size):
            logp = _log_prob_step(dev_vars, sharder.put_batch(xb), dev_masks,
                                  None if lb is None else sharder.put_batch(lb), config=config)
            yield start, n, sharder.fetch(logp)

    return sharder, steps()


def log_probabilities(
    tree: Mapping[str, Any],
    config: StackConfig,
    inputs,
    *,
    batch_size: int = 256,
    devices: Sequence[jax.Device] | None = None,
    masks: Sequence[np.ndarray] | None = None,
    lengths=None,
) -> np.ndarray:
    """Log-probabilities of every example, shape (examples, n_classes), float32.

    Same batching, sharding and arguments as :func:`evaluate`.  Multi-host: every process
    passes its own shard of ``inputs`` and gets the rows of its own examples (see the
    module docstring).
    """
    variables = evaluation_variables(tree, config)
    x = check_inputs(inputs, config)
    _, steps = _log_prob_batches(variables, config, x, lengths, batch_size=batch_size,
                                 devices=devices, masks=masks)
    out = [logp[:n] for _, n, logp in steps]
    return np.concatenate(out, axis=0) if out else np.zeros((0, config.n_classes), np.float32)


def evaluate(
    tree: Mapping[str, Any],
    config: StackConfig,
    inputs,
    labels,
    *,
    batch_size: int = 256,
    devices: Sequence[jax.Device] | None = None,
    masks: Sequence[np.ndarray] | None = None,
    lengths=None,
) -> EvalResult:
    """Accuracy and mean cross-entropy of a model over a data set, sharded over devices.

    Multi-host (after ``jax.distributed.initialize()``): call it on every process with the
    same arguments except the data; each process passes only its own shard of ``inputs`` and
    ``labels`` (shards may differ in size).  Every process returns the same result, over the
    union of all shards (see the module docstring).

    Parameters
    ----------
    tree : dict
        Variables (``{"params", "batch_stats"}``) or params of an S5/S4D stack.
    config : S5Config or S4DConfig
    inputs : array_like, shape (examples, L, d_input)
        All examples; multi-host: this process's shard only.  A retrieval model
        (``config.head = "retrieval"``) takes pairs, shape (examples, 2, L, d_input).
    labels : array_like of int, shape (examples,)
        Labels of ``inputs`` (multi-host: of this process's shard).
    batch_size : int
        Global batch size (all processes together), rounded up to a multiple of the device
        count.
    devices : sequence of jax.Device, optional
        Default ``jax.devices()`` (all visible devices, every host).  A multi-host mesh must
        hold the same number of devices from every process.
    masks : sequence of arrays, optional
        Per-layer unit masks (1 keep, 0 prune) applied to the columns of C̃.
    lengths : array_like of int, shape (examples,) or (examples, 2), optional
        Unpadded length of each sequence (right-padded inputs of variable-length tasks):
        mean pooling over the first ``length`` steps only, as the official padded models
        (``masked_meanpool``).  Default: every step counts.

    Returns
    -------
    EvalResult

    Examples
    --------
    >>> import jax, numpy as np
    >>> from ssm_bridge import S5Config, init_variables
    >>> cfg = S5Config(d_model=4, n_layers=1, state_sizes=2, d_input=1, n_classes=2)
    >>> v = init_variables(cfg, key=jax.random.PRNGKey(0))
    >>> r = evaluate(v, cfg, np.zeros((3, 8, 1)), np.array([0, 1, 1]), batch_size=2)
    >>> r.count
    3
    """
    variables = evaluation_variables(tree, config)
    x, y = check_data(inputs, labels, config)
    sharder, steps = _log_prob_batches(variables, config, x, lengths, batch_size=batch_size,
                                       devices=devices, masks=masks)
    acc = Accumulator(1)
    for start, n, logp in steps:
        acc.add(logp[None], y[start : start + n], n)
    sharder.reduce(acc)
    accuracy, loss = acc.results()
    return EvalResult(float(accuracy[0]), float(loss[0]), acc.count, sharder.ndevices)


# ---------------------------------------------------------------------- timing
def forward_call(tree: Mapping[str, Any], config: StackConfig,
                 inputs) -> tuple[Callable[..., Any], tuple]:
    """``(fn, args)``: a model's jitted forward pass on ``inputs``, for :func:`time_forward`.

    The variables and inputs are put on the default device once, so a timed call measures
    the forward pass alone.
    """
    model = make_model(config)
    fn = jax.jit(lambda v, x: model.apply(v, x))
    return fn, (jax.device_put(tree), jnp.asarray(inputs))


def time_forward(calls: Sequence[tuple[Callable[..., Any], tuple]], *,
                 repeats: int = 5) -> list[list[float]]:
    """Wall time (s) of every timed run of each call ``fn(*args)``, compilation excluded.

    Each call runs once untimed (compilation, warm-up); then each of ``repeats`` rounds
    times every call in turn, waiting for its result (``jax.block_until_ready``), so that a
    change of load on a shared machine affects all of them alike and run ``k`` of two calls
    forms a pair.

    Parameters
    ----------
    calls : sequence of (callable, tuple)
        E.g. :func:`forward_call` of each model, or any jitted function and its arguments.
    repeats : int
        Timed rounds (at least one is run).

    Returns
    -------
    list of list of float
        Per call, its ``repeats`` wall times in seconds, in round order.
    """
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(max(int(repeats), 1)):
        for k, (fn, args) in enumerate(calls):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[k].append(time.perf_counter() - start)
    return times
