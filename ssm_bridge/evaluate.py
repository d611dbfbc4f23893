"""Jitted, batched evaluation (accuracy and loss) sharded over every visible device.

The batch axis is sharded over a 1-D device mesh (``jax.sharding.NamedSharding`` over
``Mesh(devices, ("batch",))``); parameters are replicated.  The last batch is padded to the
full batch size and padded examples are masked out, so every batch has one shape and the
step compiles once.  Per-example log-probabilities come back to the host, where accuracy
and mean cross-entropy are summed in float64 in a fixed order: the result does not depend
on how many devices computed it.

Multi-host: call ``jax.distributed.initialize()`` first and give each process its own
shard of the data (``inputs``/``labels`` are then process-local); the global batch is
assembled with ``jax.make_array_from_process_local_data`` and the outputs gathered with
``multihost_utils.process_allgather``.
"""

from __future__ import annotations

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
        Number of examples.
    ndevices : int
        Devices the batch axis was sharded over.
    """

    accuracy: float
    loss: float
    count: int
    ndevices: int


class _Sharder:
    """Puts host batches on a 1-D device mesh and brings results back."""

    def __init__(self, devices: Sequence[jax.Device] | None) -> None:
        devices = list(jax.devices() if devices is None else devices)
        if not devices:
            raise ConfigError("no devices to evaluate on")
        self.devices = devices
        self.mesh = Mesh(np.array(devices), ("batch",))
        self.data = NamedSharding(self.mesh, P("batch"))
        self.replicated = NamedSharding(self.mesh, P())
        self.multihost = jax.process_count() > 1

    @property
    def ndevices(self) -> int:
        return len(self.devices)

    def put_batch(self, array: np.ndarray) -> jax.Array:
        if self.multihost:
            return jax.make_array_from_process_local_data(self.data, array)
        return jax.device_put(array, self.data)

    def put_replicated(self, tree: Any) -> Any:
        return jax.device_put(tree, self.replicated)

    def fetch(self, array: jax.Array) -> np.ndarray:
        if self.multihost:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(array, tiled=True))
        return np.asarray(array)


def _check_data(inputs, labels, config: StackConfig) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(inputs, dtype=np.float32)
    y = np.asarray(labels)
    if x.ndim != 3 or x.shape[2] != config.d_input:
        raise ConfigError(
            f"inputs have shape {x.shape}; expected (examples, length, d_input = "
            f"{config.d_input})"
        )
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
def _log_prob_step(variables, x, masks, *, config: StackConfig):
    return make_model(config).apply(variables, x, masks)


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
) -> np.ndarray:
    """Log-probabilities of every example, shape (examples, n_classes), float32.

    Same batching and sharding as :func:`evaluate`.
    """
    variables = _prepare(tree, config)
    x = np.asarray(inputs, dtype=np.float32)
    sharder = _Sharder(devices)
    size = _batch_size(batch_size, sharder.ndevices)
    dev_vars = sharder.put_replicated(variables)
    dev_masks = None if masks is None else sharder.put_replicated(
        tuple(jnp.asarray(m, jnp.float32) for m in masks))
    out = []
    for n, xb in _batches(x, size):
        logp = _log_prob_step(dev_vars, sharder.put_batch(xb), dev_masks, config=config)
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
) -> EvalResult:
    """Accuracy and mean cross-entropy of a model over a data set, sharded over devices.

    Parameters
    ----------
    tree : dict
        Variables (``{"params", "batch_stats"}``) or params of an S5/S4D stack.
    config : S5Config or S4DConfig
    inputs : array_like, shape (examples, L, d_input)
    labels : array_like of int, shape (examples,)
    batch_size : int
        Global batch size, rounded up to a multiple of the device count.
    devices : sequence of jax.Device, optional
        Default ``jax.devices()`` (all visible devices, every host).
    masks : sequence of arrays, optional
        Per-layer unit masks (1 keep, 0 prune) applied to the columns of C̃.

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
    sharder = _Sharder(devices)
    size = _batch_size(batch_size, sharder.ndevices)
    dev_vars = sharder.put_replicated(variables)
    dev_masks = None if masks is None else sharder.put_replicated(
        tuple(jnp.asarray(m, jnp.float32) for m in masks))
    acc = _Accumulator(1)
    for start, (n, xb) in zip(range(0, x.shape[0], size), _batches(x, size), strict=True):
        logp = _log_prob_step(dev_vars, sharder.put_batch(xb), dev_masks, config=config)
        acc.add(sharder.fetch(logp)[None], y[start : start + n], n)
    accuracy, loss = acc.results()
    return EvalResult(float(accuracy[0]), float(loss[0]), acc.count, sharder.ndevices)
