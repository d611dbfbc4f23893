"""The shared machinery of sharded evaluation (:mod:`ssm_bridge.evaluate` and `.sweep`).

The data an evaluation takes (checked inputs, labels, lengths and variables), the batches
of a 1-D device mesh (:class:`Sharder`: the batch axis sharded, parameters replicated, the
last batch padded, multi-host shards kept in step) and the float64 host sums of accuracy
and loss in a fixed order (:class:`Accumulator`).  See :mod:`ssm_bridge.evaluate` for the
multi-host contract.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ssm_bridge.config import StackConfig
from ssm_bridge.errors import ConfigError
from ssm_bridge.layout import join_variables, split_variables, validate_tree

__all__ = [
    "Accumulator",
    "Sharder",
    "allgather_exact",
    "check_data",
    "check_inputs",
    "check_lengths",
    "evaluation_variables",
    "global_batch_size",
    "padded_batches",
    "sharded_batches",
]


class Sharder:
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
        """Devices of the mesh (all processes)."""
        return len(self.devices)

    def local_size(self, size: int) -> int:
        """Rows this process contributes to a global batch of ``size`` (a device multiple)."""
        return size // self.ndevices * self.nlocal

    def batches(self, x: np.ndarray, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """(start, valid count, padded local batch) for a global batch of ``size`` rows.

        Single process: :func:`padded_batches` of ``x``.  Multi-host: batches of
        :meth:`local_size` rows of this process's shard, as many steps as the largest shard
        needs (all-padding batches, valid count 0, once this shard is used up).
        """
        if not self.multihost:
            for start, (n, xb) in zip(range(0, x.shape[0], size), padded_batches(x, size),
                                      strict=True):
                yield start, n, xb
            return
        rows = self.local_size(size)
        counts = allgather_exact(np.array([x.shape[0]], dtype=np.int64))[:, 0]
        steps = max(-(-int(c) // rows) for c in counts)
        blank = np.zeros((rows, *x.shape[1:]), dtype=x.dtype)
        own = padded_batches(x, rows)
        for step in range(steps):
            n, xb = next(own, (0, blank))
            yield step * rows, n, xb

    def put_batch(self, array: np.ndarray) -> jax.Array:
        """A local batch as a global array sharded over the batch axis."""
        if self.multihost:
            shape = (array.shape[0] // self.nlocal * self.ndevices, *array.shape[1:])
            return jax.make_array_from_process_local_data(self.data, array, shape)
        return jax.device_put(array, self.data)

    def put_replicated(self, tree: Any) -> Any:
        """``tree`` replicated on every device of the mesh."""
        return jax.device_put(tree, self.replicated)

    def fetch(self, array: jax.Array) -> np.ndarray:
        """The batch-axis rows of this process (all rows when single-process), in order."""
        if not self.multihost:
            return np.asarray(array)
        if not array.sharding.is_equivalent_to(self.data, array.ndim):
            array = jax.jit(_identity, out_shardings=self.data)(array)
        shards = sorted(array.addressable_shards, key=lambda s: s.index[0].start or 0)
        return np.concatenate([np.asarray(s.data) for s in shards], axis=0)

    def reduce(self, acc: Accumulator) -> None:
        """Multi-host: replace ``acc``'s totals by their sums over all processes."""
        if not self.multihost:
            return
        correct = allgather_exact(acc.correct)
        loss = allgather_exact(acc.loss)
        count = allgather_exact(np.array([acc.count], dtype=np.int64))
        acc.correct = correct.sum(axis=0)
        acc.loss = np.zeros_like(acc.loss)
        for part in loss:  # process order: the same result on every process
            acc.loss += part
        acc.count = int(count.sum())


def _identity(x):
    return x


def allgather_exact(array: np.ndarray) -> np.ndarray:
    """Stack a 64-bit host array from every process, bit-exact: shape (processes, *shape).

    Sent as uint32 words, so float64/int64 survive with ``jax_enable_x64`` off.
    """
    from jax.experimental import multihost_utils

    array = np.ascontiguousarray(array)
    words = array.reshape(-1).view(np.uint32)
    out = np.asarray(multihost_utils.process_allgather(words, tiled=False))
    return np.ascontiguousarray(out).view(array.dtype).reshape(-1, *array.shape)


def check_inputs(inputs, config: StackConfig) -> np.ndarray:
    """``inputs`` as float32, (examples, L, d_input); retrieval: (examples, 2, L, d_input)."""
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


def check_lengths(lengths, x: np.ndarray, config: StackConfig) -> np.ndarray | None:
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


def sharded_batches(sharder: Sharder, x: np.ndarray, lengths: np.ndarray | None, size: int):
    """:meth:`Sharder.batches` of the inputs and, when given, of the lengths (pads: 1)."""
    if lengths is None:
        for start, n, xb in sharder.batches(x, size):
            yield start, n, xb, None
        return
    for (start, n, xb), (_, _, lb) in zip(sharder.batches(x, size),
                                          sharder.batches(lengths, size), strict=True):
        yield start, n, xb, np.maximum(lb, 1)


def check_data(inputs, labels, config: StackConfig) -> tuple[np.ndarray, np.ndarray]:
    """:func:`check_inputs` and the labels as int64, shape (examples,), in 0..n_classes-1."""
    x = check_inputs(inputs, config)
    y = np.asarray(labels)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(f"labels have shape {y.shape} ({y.dtype}); expected ({x.shape[0]},) ints")
    if y.size and (y.min() < 0 or y.max() >= config.n_classes):
        raise ConfigError(f"labels must lie in 0..{config.n_classes - 1}")
    return x, y.astype(np.int64)


def global_batch_size(batch_size: int, ndevices: int) -> int:
    """``batch_size`` (a positive int) rounded up to a multiple of ``ndevices``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size = {batch_size!r}; expected a positive integer")
    return -(-batch_size // ndevices) * ndevices


def padded_batches(x: np.ndarray, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """(valid count, padded batch) over the examples, all batches of shape (size, ...)."""
    for start in range(0, x.shape[0], size):
        chunk = x[start : start + size]
        n = chunk.shape[0]
        if n < size:
            pad = np.zeros((size - n, *chunk.shape[1:]), dtype=chunk.dtype)
            chunk = np.concatenate([chunk, pad], axis=0)
        yield n, chunk


class Accumulator:
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


def evaluation_variables(tree: Any, config: StackConfig) -> dict:
    """``{"params", "batch_stats"}`` of a checked tree (variables or params) of ``config``."""
    validate_tree(tree, config, require_batch_stats=True)
    params, batch_stats, _ = split_variables(tree)
    return join_variables(params, batch_stats)
