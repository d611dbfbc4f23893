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

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ssm_bridge.config import StackConfig
from ssm_bridge.errors import ConfigError
from ssm_bridge.layout import join_variables, split_variables, validate_tree
from ssm_bridge.models import make_model

__all__ = ["EvalResult", "evaluate", "log_probabilities"]


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


class _Sharder:
    """Puts host batches on a 1-D device mesh and brings results back.

    Multi-host (the mesh spans several processes): each process feeds and reads back only
    its own rows; :meth:`batches` and :meth:`reduce` keep the processes in step.
    """

    def __init__(self, devices: Sequence[jax.Device] | None) -> None:
        devices = list(jax.devices() if devices is None else devices)
        if not devices:
            raise ConfigError("no devices to evaluate on")
        per_process = Counter(d.process_index for d in devices)
        self.multihost = len(per_process) > 1
        if self.multihost:
            expected = set(range(jax.process_count()))
            if set(per_process) != expected or len(set(per_process.values())) != 1:
                raise ConfigError(
                    "a multi-host mesh needs the same number of devices from every process; "
                    f"got {dict(sorted(per_process.items()))} (devices per process index)")
        elif devices[0].process_index != jax.process_index():
            raise ConfigError("the devices belong to another process")
        self.devices = devices
        self.nlocal = per_process[jax.process_index()]
        self.mesh = Mesh(np.array(devices), ("batch",))
        self.data = NamedSharding(self.mesh, P("batch"))
        self.replicated = NamedSharding(self.mesh, P())

    @property
    def ndevices(self) -> int:
        return len(self.devices)

    def local_size(self, size: int) -> int:
        """Rows this process contributes to a global batch of ``size`` (a device multiple)."""
        return size // self.ndevices * self.nlocal

    def batches(self, x: np.ndarray, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """(start, valid count, padded local batch) for a global batch of ``size`` rows.

        Single process: :func:`_batches` of ``x``.  Multi-host: batches of
        :meth:`local_size` rows of this process's shard, as many steps as the largest shard
        needs (all-padding batches, valid count 0, once this shard is used up).
        """
        if not self.multihost:
            for start, (n, xb) in zip(range(0, x.shape[0], size), _batches(x, size),
                                      strict=True):
                yield start, n, xb
            return
        rows = self.local_size(size)
        counts = _allgather_exact(np.array([x.shape[0]], dtype=np.int64))[:, 0]
        steps = max(-(-int(c) // rows) for c in counts)
        blank = np.zeros((rows, *x.shape[1:]), dtype=x.dtype)
        own = _batches(x, rows)
        for step in range(steps):
            n, xb = next(own, (0, blank))
            yield step * rows, n, xb

    def put_batch(self, array: np.ndarray) -> jax.Array:
        if self.multihost:
            shape = (array.shape[0] // self.nlocal * self.ndevices, *array.shape[1:])
            return jax.make_array_from_process_local_data(self.data, array, shape)
        return jax.device_put(array, self.data)

    def put_replicated(self, tree: Any) -> Any:
        return jax.device_put(tree, self.replicated)

    def fetch(self, array: jax.Array) -> np.ndarray:
        """The batch-axis rows of this process (all rows when single-process), in order."""
        if not self.multihost:
            return np.asarray(array)
        if not array.sharding.is_equivalent_to(self.data, array.ndim):
            array = jax.jit(_identity, out_shardings=self.data)(array)
        shards = sorted(array.addressable_shards, key=lambda s: s.index[0].start or 0)
        return np.concatenate([np.asarray(s.data) for s in shards], axis=0)

    def reduce(self, acc: _Accumulator) -> None:
        """Multi-host: replace ``acc``'s totals by their sums over all processes."""
        if not self.multihost:
            return
        correct = _allgather_exact(acc.correct)
        loss = _allgather_exact(acc.loss)
        count = _allgather_exact(np.array([acc.count], dtype=np.int64))
        acc.correct = correct.sum(axis=0)
        acc.loss = np.zeros_like(acc.loss)
        for part in loss:  # process order: the same result on every process
            acc.loss += part
        acc.count = int(count.sum())


def _identity(x):
    return x


def _allgather_exact(array: np.ndarray) -> np.ndarray:
    """Stack a 64-bit host array from every process, bit-exact: shape (processes, *shape).

    Sent as uint32 words, so float64/int64 survive with ``jax_enable_x64`` off.
    """
    from jax.experimental import multihost_utils

    array = np.ascontiguousarray(array)
    words = array.reshape(-1).view(np.uint32)
    out = np.asarray(multihost_utils.process_allgather(words, tiled=False))
    return np.ascontiguousarray(out).view(array.dtype).reshape(-1, *array.shape)


def _check_inputs(inputs, config: StackConfig) -> np.ndarray:
    x = np.asarray(inputs, dtype=np.float32)
    if config.head == "retrieval":
        if x.ndim != 4 or x.shape[1] != 2 or x.shape[3] != config.d_input:
            raise ConfigError(
                f"inputs have shape {x.shape}; a retrieval model takes pairs of documents, "
                f"(examples, 2, length, d_input = {config.d_input})"
            )
    elif x.ndim != 3 or x.shape[2] != config.d_input:
        raise ConfigError(
            f"inputs have shape {x.shape}; expected (examples, length, d_input = "
            f"{config.d_input})"
        )
    return x


def _check_lengths(lengths, x: np.ndarray, config: StackConfig) -> np.ndarray | None:
    """``lengths`` as int32, shape (examples,) ((examples, 2) for retrieval), in 1..L."""
    if lengths is None:
        return None
    if config.pooling != "mean":
        raise ConfigError(
            f"lengths are for masked mean pooling; this model pools by {config.pooling!r} "
            "(the official model has no padded 'last' mode)"
        )
    n = np.asarray(lengths)
    shape = x.shape[:2] if config.head == "retrieval" else x.shape[:1]
    if n.shape != shape or (n.size and not np.issubdtype(n.dtype, np.integer)):
        raise ConfigError(f"lengths have shape {n.shape} ({n.dtype}); expected {shape} ints "
                          "(the unpadded length of each sequence)")
    L = x.shape[-2]
    if n.size and (n.min() < 1 or n.max() > L):
        raise ConfigError(f"lengths must lie in 1..{L} (the padded length); got "
                          f"{int(n.min())}..{int(n.max())}")
    return n.astype(np.int32)


def _batched(sharder: _Sharder, x: np.ndarray, lengths: np.ndarray | None, size: int):
    """:meth:`_Sharder.batches` of the inputs and, when given, of the lengths (pads: 1)."""
    if lengths is None:
        for start, n, xb in sharder.batches(x, size):
            yield start, n, xb, None
        return
    for (start, n, xb), (_, _, lb) in zip(sharder.batches(x, size),
                                          sharder.batches(lengths, size), strict=True):
        yield start, n, xb, np.maximum(lb, 1)


def _check_data(inputs, labels, config: StackConfig) -> tuple[np.ndarray, np.ndarray]:
    x = _check_inputs(inputs, config)
    y = np.asarray(labels)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(f"labels have shape {y.shape} ({y.dtype}); expected ({x.shape[0]},) ints")
    if y.size and (y.min() < 0 or y.max() >= config.n_classes):
        raise ConfigError(f"labels must lie in 0..{config.n_classes - 1}")
    return x, y.astype(np.int64)


def _batch_size(batch_size: int, ndevices: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size = {batch_size!r}; expected a positive integer")
    return -(-batch_size // ndevices) * ndevices


def _batches(x: np.ndarray, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """(valid count, padded batch) over the examples, all batches of shape (size, ...)."""
    for start in range(0, x.shape[0], size):
        chunk = x[start : start + size]
        n = chunk.shape[0]
        if n < size:
            pad = np.zeros((size - n, *chunk.shape[1:]), dtype=chunk.dtype)
            chunk = np.concatenate([chunk, pad], axis=0)
        yield n, chunk


@partial(jax.jit, static_argnames=("config",))
def _log_prob_step(variables, x, masks, lengths, *, config: StackConfig):
    return make_model(config).apply(variables, x, masks, lengths)


class _Accumulator:
    """Host-side float64 sums of correct predictions and losses, in a fixed order."""

    def __init__(self, nplans: int) -> None:
        self.correct = np.zeros(nplans, dtype=np.int64)
        self.loss = np.zeros(nplans, dtype=np.float64)
        self.count = 0

    def add(self, logp: np.ndarray, labels: np.ndarray, n: int) -> None:
        """``logp``: (nplans, batch, classes) log-probabilities; the first n examples count."""
        logp = logp[:, :n].astype(np.float64)
        y = labels[:n]
        self.correct += np.sum(np.argmax(logp, axis=-1) == y[None, :], axis=1)
        picked = np.take_along_axis(logp, np.broadcast_to(y[None, :, None],
                                                          (*logp.shape[:2], 1)), axis=-1)
        self.loss -= np.sum(picked[..., 0], axis=1)
        self.count += n

    def results(self) -> tuple[np.ndarray, np.ndarray]:
        denom = max(self.count, 1)
        return self.correct / denom, self.loss / denom


def _prepare(tree, config) -> dict:
    validate_tree(tree, config, require_batch_stats=True)
    params, batch_stats, _ = split_variables(tree)
    return join_variables(params, batch_stats)


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
    variables = _prepare(tree, config)
    x = _check_inputs(inputs, config)
    lengths = _check_lengths(lengths, x, config)
    sharder = _Sharder(devices)
    size = _batch_size(batch_size, sharder.ndevices)
    dev_vars = sharder.put_replicated(variables)
    dev_masks = None if masks is None else sharder.put_replicated(
        tuple(jnp.asarray(m, jnp.float32) for m in masks))
    out = []
    for _, n, xb, lb in _batched(sharder, x, lengths, size):
        logp = _log_prob_step(dev_vars, sharder.put_batch(xb), dev_masks,
                              None if lb is None else sharder.put_batch(lb), config=config)
        out.append(sharder.fetch(logp)[:n])
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
    variables = _prepare(tree, config)
    x, y = _check_data(inputs, labels, config)
    lengths = _check_lengths(lengths, x, config)
    sharder = _Sharder(devices)
    size = _batch_size(batch_size, sharder.ndevices)
    dev_vars = sharder.put_replicated(variables)
    dev_masks = None if masks is None else sharder.put_replicated(
        tuple(jnp.asarray(m, jnp.float32) for m in masks))
    acc = _Accumulator(1)
    for start, n, xb, lb in _batched(sharder, x, lengths, size):
        logp = _log_prob_step(dev_vars, sharder.put_batch(xb), dev_masks,
                              None if lb is None else sharder.put_batch(lb), config=config)
        acc.add(sharder.fetch(logp)[None], y[start : start + n], n)
    sharder.reduce(acc)
    accuracy, loss = acc.results()
    return EvalResult(float(accuracy[0]), float(loss[0]), acc.count, sharder.ndevices)
