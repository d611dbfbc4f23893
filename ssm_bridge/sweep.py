"""Pruning sweeps: many KeepPlans (methods × ratios) evaluated in one pass over the data.

A plan is a set of per-layer masks over units.  Masks act on the columns of C̃ only
(a masked unit's state is still computed but read by nobody), so everything upstream of a
mask is shared between the plans that agree up to it:

- the encoder is computed once per batch;
- layer l's states are computed once per distinct *prefix* (masks of layers 0..l−1): for
  layer 0 that is once for all plans;
- layer l's readout and everything after it run once per distinct prefix 0..l (identical
  plans, e.g. every method at ratio 0, are evaluated once).

The distinct prefixes form a tree that is fixed before compiling (the masks are data, the
tree's shape is static), and each level is one ``jax.vmap`` over its nodes.  One data pass
evaluates every plan; the batch axis is sharded over all devices as in
:func:`ssm_bridge.evaluate` (multi-host too: each process passes its own shard and gets the
result over all shards).  Inside a step the batch is cut into micro-batches (one
``lax.map``): on CPU, small enough that the states of all prefixes stay in cache.

Because the layers are nonlinear, sharing alone cannot save more than
(plans × layers) / (distinct prefixes summed over layers), the *sharing bound*
(:attr:`SweepResult.sharing_bound`); measured speed-ups are in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mor.plan import BalancedPlan, KeepPlan
from mor.selection import METHODS, prune
from ssm_bridge._sharding import (
    Accumulator,
    Sharder,
    check_data,
    evaluation_variables,
    global_batch_size,
)
from ssm_bridge.apply import plan_masks
from ssm_bridge.config import StackConfig
from ssm_bridge.errors import ConfigError
from ssm_bridge.extract import extract
from ssm_bridge.models import make_model

__all__ = ["SWEEP_METHODS", "SweepResult", "make_plans", "prefix_tree", "sweep"]

SWEEP_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m != "balanced_truncation")
"""The ten modal selection methods, the default of :func:`sweep`.  ``"balanced_truncation"``
may be added: its plans change the basis (no mask), so each is evaluated as its removed
model (``apply(mode="remove")``) after the one masked pass over the modal plans."""


@dataclass(frozen=True)
class SweepResult:
    """Accuracy and loss of every plan of a sweep.

    Attributes
    ----------
    plans : tuple of KeepPlan
        In the order evaluated (method-major when made from methods × ratios).
    accuracy, loss : ndarray, shape (nplans,)
    count : int
        Examples evaluated.
    methods, ratios : tuple or None
        The grid the plans were made from, if any.
    distinct : tuple of int
        Distinct mask prefixes per layer (the work actually done per layer).
    """

    plans: tuple[KeepPlan, ...]
    accuracy: np.ndarray
    loss: np.ndarray
    count: int
    methods: tuple[str, ...] | None = None
    ratios: tuple[float, ...] | None = None
    distinct: tuple[int, ...] = field(default=())

    @property
    def sharing_bound(self) -> float:
        """(plans × layers) / Σ distinct prefixes: layer evaluations of one pass per plan
        over those of this sweep."""
        return len(self.plans) * len(self.distinct) / max(sum(self.distinct), 1)

    def grid(self, metric: str = "accuracy") -> np.ndarray:
        """``metric`` ("accuracy" or "loss") as an array (len(methods), len(ratios))."""
        if self.methods is None or self.ratios is None:
            raise ConfigError("this sweep was not made from methods × ratios")
        values = {"accuracy": self.accuracy, "loss": self.loss}[metric]
        return values.reshape(len(self.methods), len(self.ratios))

    def plan(self, method: str, ratio: float) -> KeepPlan:
        """The plan evaluated for (``method``, ``ratio``), a point of the methods × ratios grid.

        Raises
        ------
        ConfigError
            The sweep was not made from methods × ratios, or the method or the ratio (to
            1e-9) was not swept; the message lists what was.
        """
        if self.methods is None or self.ratios is None:
            raise ConfigError("this sweep was not made from methods × ratios")
        if method not in self.methods:
            raise ConfigError(f"method {method!r} was not swept; swept: {list(self.methods)}")
        j = int(np.argmin(np.abs(np.asarray(self.ratios) - ratio)))
        if abs(self.ratios[j] - ratio) > 1e-9:
            raise ConfigError(f"ratio {ratio} was not swept; swept: {list(self.ratios)}")
        return self.plans[self.methods.index(method) * len(self.ratios) + j]

    def table(self, metric: str = "accuracy") -> str:
        """A Markdown table: one row per method, one column per ratio."""
        g = self.grid(metric)
        head = "| method | " + " | ".join(f"{r:g}" for r in self.ratios) + " |"
        sep = "|---|" + "---|" * len(self.ratios)
        rows = [
            f"| {m} | " + " | ".join(f"{v:.4f}" for v in row) + " |"
            for m, row in zip(self.methods, g, strict=True)
        ]
        return "\n".join([head, sep, *rows])


def make_plans(
    systems, methods: Sequence[str], ratios: Sequence[float], *, seed: int = 0,
    reductors: Sequence[Any] | None = None,
) -> list[KeepPlan | BalancedPlan]:
    """``mor.prune`` for every (method, ratio), method-major.

    The plans of an (uncalibrated) balanced method balance each layer once for all ratios:
    ``reductors`` (:func:`mor.balanced_selection.layer_reductors` of ``systems``), built
    here if not given; the plans are those ``mor.prune`` makes.
    """
    from mor.balanced_selection import balanced_plan, layer_reductors
    from mor.calibrated import CALIBRATED_METHODS
    from mor.selection import METHOD_KINDS

    plans = []
    for m in methods:
        if METHOD_KINDS.get(m) != "balanced" or m in CALIBRATED_METHODS or not ratios:
            plans.extend(prune(systems, m, float(r), seed=seed) for r in ratios)
            continue
        plans.append(prune(systems, m, float(ratios[0]), seed=seed))  # its checks, warnings
        reductors = layer_reductors(systems) if reductors is None else reductors
        plans.extend(balanced_plan(systems, ratio=float(r), method=m, reductors=reductors)
                     for r in ratios[1:])
    return plans


def prefix_tree(masks: np.ndarray | Sequence[np.ndarray]) -> tuple[list, list, np.ndarray]:
    """The tree of distinct mask prefixes.

    Parameters
    ----------
    masks : sequence over layers of bool arrays (nplans, units_l)

    Returns
    -------
    parents : list over layers of int arrays (U_l,)
        Index of each level-l node's parent in level l−1 (level −1 is the single root).
    node_masks : list over layers of bool arrays (U_l, units_l)
    leaf : int array (nplans,)
        Each plan's node at the last level.
    """
    nplans = masks[0].shape[0]
    ids = np.zeros(nplans, dtype=np.int64)
    parents, node_masks = [], []
    for m in masks:
        keys = np.concatenate([ids[:, None], m.astype(np.int64)], axis=1)
        uniq, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        parents.append(ids[first])
        node_masks.append(m[first])
        ids = inverse.reshape(-1)
        del uniq
    return parents, node_masks, ids


def _forward_tree(variables, x, parents, node_masks, config: StackConfig):
    """Log-probabilities (batch, leaves, classes) of every leaf of the prefix tree."""
    model = make_model(config)
    h = model.apply(variables, x, method=lambda m, x: m.embed(x))[None]
    for layer, (par, msk) in enumerate(zip(parents, node_masks, strict=True)):

        def states(hp, layer=layer):
            return model.apply(variables, hp, method=lambda m, v: m.encoder.layers[layer].states(v))

        u, st = jax.vmap(states)(h)

        def finish(p, mask, h=h, u=u, st=st, layer=layer):
            return model.apply(
                variables, h[p], u[p], st[p], mask,
                method=lambda m, *a: m.encoder.layers[layer].finish(*a),
            )

        h = jax.vmap(finish)(par, msk)
    logp = jax.vmap(lambda v: model.apply(variables, v, method=lambda m, v: m.head(v)))(h)
    return jnp.swapaxes(logp, 0, 1)


@partial(jax.jit, static_argnames=("config", "micro"))
def _sweep_step(variables, x, parents, node_masks, *, config: StackConfig, micro: int):
    """:func:`_forward_tree` over micro-batches of ``micro`` examples (one ``lax.map``).

    Row ``i`` of the batch goes to micro-batch ``i mod (batch/micro)``, so that with the batch
    axis sharded in contiguous blocks every micro-batch is spread over all devices.
    """
    b = x.shape[0]
    xs = jnp.swapaxes(x.reshape(micro, b // micro, *x.shape[1:]), 0, 1)
    logp = jax.lax.map(lambda xm: _forward_tree(variables, xm, parents, node_masks, config), xs)
    return jnp.swapaxes(logp, 0, 1).reshape(b, *logp.shape[2:])  # (batch, leaves, classes)


_CPU_TARGET_ROWS = 1024
"""Rows (examples × prefixes) per micro-batch at the widest level of the tree on CPU: small
enough for the working set to stay in cache (``benchmarks/bench_sweep.py --model s5_digits``:
256, 1024 and 4096 rows gave 3.8×, 4.8× and 2.2×)."""


def _micro_batch(size: int, sharder: Sharder, widest: int, requested: int | None) -> int:
    """Examples per micro-batch: a divisor of ``size`` and a multiple of the device count."""
    ndev = sharder.ndevices
    if requested is not None:
        if (isinstance(requested, bool) or not isinstance(requested, int) or requested < 1
                or size % requested or requested % ndev):
            raise ConfigError(
                f"micro_batch must divide the batch ({size} examples) and be a multiple of the "
                f"device count ({ndev}); got {requested!r}")
        return requested
    if sharder.devices[0].platform != "cpu":
        return size
    fitting = [m for m in range(ndev, size + 1, ndev)
               if size % m == 0 and m * widest <= _CPU_TARGET_ROWS]
    return max(fitting, default=ndev)


def sweep(
    tree: Mapping[str, Any],
    config: StackConfig,
    inputs,
    labels,
    *,
    methods: Sequence[str] = SWEEP_METHODS,
    ratios: Sequence[float] | None = None,
    plans: Sequence[KeepPlan] | None = None,
    seed: int = 0,
    batch_size: int = 256,
    micro_batch: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool | None = None,
    calibration: Any = None,
) -> SweepResult:
    """Evaluate many pruning plans in one pass over the data.

    Parameters
    ----------
    tree : dict
        Variables or params of the full model.
    config : S5Config or S4DConfig
    inputs : array_like, shape (examples, L, d_input)
    labels : array_like of int, shape (examples,)
    methods : sequence of str
        Selection methods (default: the ten modal methods of ``mor.METHODS``);
        ``"balanced_truncation"`` plans are evaluated one by one as removed models.
    ratios : sequence of float, optional
        Pruning ratios (default: 20 ratios 0, 0.05, ..., 0.95).
    plans : sequence of KeepPlan, optional
        Evaluate these plans instead of methods × ratios.
    seed : int
        Seed of the ``random`` method.
    batch_size : int
        Examples per data step (global, over all devices and processes).
    micro_batch : int, optional
        Examples computed at once inside a step (a divisor of the step's batch and a multiple
        of the device count; memory grows with micro-batch × distinct plans × L × P).
        Default: on CPU about 1024 rows (examples × distinct prefixes) at the widest level of
        the prefix tree, which keeps the working set in cache; on accelerators the whole
        batch.
    devices : sequence of jax.Device, optional
        Default: all visible devices.
    progress : bool or None
        Show a tqdm progress bar (None: only on a terminal).
    calibration : ssm_bridge.calibration.Calibration, optional
        Needed to apply ``balanced_truncation_calibrated`` plans.

    Returns
    -------
    SweepResult
        The same accuracies as evaluating each plan separately with ``apply(mode="mask")``
        and :func:`ssm_bridge.evaluate`.
    """
    from tqdm.auto import tqdm

    if config.head != "classification":
        raise ConfigError(
            f"sweep evaluates classification models; this one has head={config.head!r}: "
            "evaluate each plan with apply(mode='mask') and evaluate(..., lengths=...)"
        )
    variables = evaluation_variables(tree, config)
    x, y = check_data(inputs, labels, config)
    grid_methods = grid_ratios = shared = None
    if plans is None:
        grid_ratios = tuple(np.round(np.arange(20) * 0.05, 10)) if ratios is None else tuple(
            float(r) for r in ratios)
        grid_methods = tuple(methods)
        systems = extract(variables, config)
        shared = _SharedReductors(systems, calibration)
        plans = make_plans(systems, grid_methods, grid_ratios, seed=seed,
                           reductors=shared.get(calibrated=False))
    plans = tuple(plans)
    if not plans:
        raise ConfigError("no plans to evaluate")
    if any(isinstance(p, BalancedPlan) for p in plans):
        return _sweep_with_balanced(
            variables, config, x, y, plans, grid_methods, grid_ratios,
            dict(batch_size=batch_size, micro_batch=micro_batch, devices=devices,
                 progress=progress), calibration, shared)
    per_plan = [plan_masks(p, config) for p in plans]
    masks = [np.stack([pm[layer] for pm in per_plan]) for layer in range(config.n_layers)]
    parents, node_masks, leaf = prefix_tree(masks)
    sharder = Sharder(devices)
    size = global_batch_size(batch_size, sharder.ndevices)
    dev_vars = sharder.put_replicated(variables)
    dev_par = sharder.put_replicated(tuple(jnp.asarray(p, jnp.int32) for p in parents))
    dev_msk = sharder.put_replicated(tuple(jnp.asarray(m, jnp.float32) for m in node_masks))
    micro = _micro_batch(size, sharder, max(p.size for p in parents), micro_batch)
    acc = Accumulator(len(plans))
    nbatches = None if sharder.multihost else -(-x.shape[0] // size)  # multi-host: unknown
    bar = tqdm(total=nbatches, desc=f"sweep ({len(plans)} plans)", disable=(
        None if progress is None else not progress), leave=False)
    try:
        for start, n, xb in sharder.batches(x, size):
            logp = _sweep_step(dev_vars, sharder.put_batch(xb), dev_par, dev_msk, config=config,
                                micro=micro)
            logp = sharder.fetch(logp).transpose(1, 0, 2)
            acc.add(logp[leaf], y[start : start + n], n)
            bar.update(1)
    finally:
        bar.close()
    sharder.reduce(acc)
    accuracy, loss = acc.results()
    return SweepResult(
        plans=plans,
        accuracy=accuracy,
        loss=loss,
        count=acc.count,
        methods=grid_methods,
        ratios=grid_ratios,
        distinct=tuple(int(p.size) for p in parents),
    )


class _SharedReductors:
    """Per kind of balanced plan (calibrated or not), the layers' reductors, built once.

    Every ratio of a sweep then truncates the same balanced layers
    (:func:`mor.balanced_selection.layer_reductors`).
    """

    def __init__(self, systems, calibration) -> None:
        self.systems, self.calibration = systems, calibration
        self._built: dict[bool, list] = {}

    def get(self, calibrated: bool) -> list | None:
        """The reductors for plans of this kind (None: calibrated, without calibration)."""
        from mor.balanced_selection import layer_reductors

        if calibrated and self.calibration is None:
            return None  # apply_plan reports the missing calibration
        if calibrated not in self._built:
            self._built[calibrated] = layer_reductors(
                self.systems, self.calibration.layers if calibrated else None)
        return self._built[calibrated]


def _sweep_with_balanced(variables, config, x, y, plans, grid_methods, grid_ratios,
                         options, calibration=None, shared=None) -> SweepResult:
    """Modal plans in one masked pass; each balanced plan as its own removed model.

    A balanced plan changes the layers' state basis (no mask represents it), so it is applied
    with ``apply(mode="remove")`` (:mod:`ssm_bridge.balanced`) and evaluated on its own.
    """
    from mor.calibrated import CALIBRATED_METHODS
    from ssm_bridge.apply import apply
    from ssm_bridge.evaluate import evaluate

    if shared is None:
        shared = _SharedReductors(extract(variables, config), calibration)

    kinds = np.array([p.kind == "balanced" for p in plans])
    accuracy, loss = np.empty(len(plans)), np.empty(len(plans))
    count, distinct = x.shape[0], ()
    modal = [p for p, b in zip(plans, kinds, strict=True) if not b]
    if modal:
        res = sweep(variables, config, x, y, plans=modal, **options)
        accuracy[~kinds], loss[~kinds], count, distinct = (res.accuracy, res.loss, res.count,
                                                           res.distinct)
    for i in np.flatnonzero(kinds):
        small, small_cfg = apply(variables, config, plans[i], mode="remove",
                                 calibration=calibration,
                                 reductors=shared.get(plans[i].method in CALIBRATED_METHODS))
        out = evaluate(small, small_cfg, x, y, batch_size=options["batch_size"],
                       devices=options["devices"])
        accuracy[i], loss[i], count = out.accuracy, out.loss, out.count
    return SweepResult(plans=tuple(plans), accuracy=accuracy, loss=loss, count=count,
                       methods=grid_methods, ratios=grid_ratios, distinct=distinct)
