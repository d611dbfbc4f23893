"""Budgets users think in: an accuracy drop judged on training data, or a certified error.

- ``max_drop`` (accuracy points): the largest pruning ratio of a grid whose accuracy on a
  **validation split carved from the training data** stays within ``max_drop`` points of the
  full model's accuracy on that split.  The test set is never looked at to choose; it is
  evaluated once, on the chosen model, by the caller.  (The network was trained on these
  examples, so the validation accuracies are optimistic; what is compared is the *drop*.)
- ``tol`` (an H∞ error): :func:`mor.prune` with ``tol=`` removes, per layer, as much as keeps
  the layer's certified H∞ error ≤ tol (:mod:`mor.budgets`, :mod:`mor.balanced_selection`).

Splits of the training data (:func:`training_splits`): one seeded permutation of the
training examples; the first ``validation`` examples are the validation split, the next
``calibration`` the calibration split of :mod:`ssm_bridge.calibration`.  They are disjoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ssm_bridge.config import StackConfig
from ssm_bridge.errors import BridgeError

__all__ = [
    "CALIBRATION_FRACTION",
    "VALIDATION_FRACTION",
    "NoTrainingDataError",
    "RatioChoice",
    "Split",
    "choose_ratio",
    "training_splits",
]

VALIDATION_FRACTION = 0.2
"""Fraction of the training examples in the validation split (at least 1 example)."""
CALIBRATION_FRACTION = 0.1
"""Fraction of the training examples in the calibration split (at least 1 example)."""
SPLIT_SEED = 0
"""Seed of the permutation that carves the splits (fixed: a plan is reproducible)."""


class NoTrainingDataError(BridgeError):
    """A budget or a calibration needs training data and none is known for the checkpoint."""


@dataclass(frozen=True)
class Split:
    """Examples carved from the training data.

    Attributes
    ----------
    x, y : ndarray
        Inputs as the model takes them (token tasks one-hot) and labels.
    indices : ndarray of int
        Their positions in the training set.
    n_train : int
        Size of the training set they were carved from.
    source : str
        Where the training data came from (task and seed, or the given data).
    """

    x: np.ndarray
    y: np.ndarray
    indices: np.ndarray
    n_train: int
    source: str


def _train_arrays(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """A TaskData's training set as the model takes it (token tasks one-hot)."""
    from ssm_bridge.data import encode_inputs

    return encode_inputs(data.x_train, getattr(data, "vocab_size", None)), np.asarray(data.y_train)


def _training_data(metadata: Mapping[str, Any], task: str | None, data: Any
                   ) -> tuple[np.ndarray, np.ndarray, str]:
    if data is not None:
        if not hasattr(data, "x_train"):
            raise NoTrainingDataError(
                "the data given holds no training set (a pair (x_test, y_test)); a validation "
                "or calibration split is carved from training data: pass a TaskData (e.g. "
                "ssm_bridge.data.load_task(...)) or a checkpoint whose metadata names its task"
            )
        x, y = _train_arrays(data)
        return x, y, f"the given data's training set ({len(y)} examples)"
    if not task:
        raise NoTrainingDataError(
            "no training data is known for this checkpoint (no task in its metadata): pass the "
            "task (--task / task=) or the data (a TaskData)"
        )
    from ssm_bridge.data import load_task
    from ssm_bridge.jobs.resolve import task_options

    seed = int(metadata.get("data_seed", metadata.get("seed", 0)))
    x, y = _train_arrays(load_task(task, seed=seed, **task_options(metadata)))
    return x, y, f"task {task!r} (data seed {seed}), training set ({len(y)} examples)"


def training_splits(
    metadata: Mapping[str, Any],
    task: str | None,
    data: Any = None,
    *,
    validation: float = VALIDATION_FRACTION,
    calibration: float = CALIBRATION_FRACTION,
) -> tuple[Split, Split]:
    """The validation and calibration splits of a checkpoint's training data (disjoint).

    Parameters
    ----------
    metadata : mapping
        The checkpoint's metadata (task options, data seed).
    task : str or None
        The checkpoint's task.
    data : TaskData, optional
        Use this data's training set instead of the task's.
    validation, calibration : float
        Fractions of the training set, each in (0, 1), summing to at most 1.

    Raises
    ------
    NoTrainingDataError
        Neither a task nor a TaskData is known.
    BridgeError
        Fractions out of range.
    """
    if not (0 < validation < 1 and 0 < calibration < 1 and validation + calibration <= 1):
        raise BridgeError(
            f"validation = {validation!r}, calibration = {calibration!r}; expected fractions "
            "in (0, 1) whose sum is at most 1"
        )
    x, y, source = _training_data(metadata, task, data)
    n = len(y)
    if n < 2:
        raise NoTrainingDataError(f"the training set has {n} example(s); need at least 2")
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_val = min(n - 1, max(1, round(validation * n)))
    n_cal = min(n - n_val, max(1, round(calibration * n)))
    val, cal = np.sort(order[:n_val]), np.sort(order[n_val:n_val + n_cal])
    return (Split(x[val], y[val], val, n, source), Split(x[cal], y[cal], cal, n, source))


@dataclass(frozen=True)
class RatioChoice:
    """The ratio chosen on a validation split for an accuracy-drop budget.

    Attributes
    ----------
    method : str
        The pruning method the ratio is for.
    ratio : float
        The largest ratio of ``ratios`` whose validation accuracy is at least the full
        model's validation accuracy minus ``max_drop`` points (0 if none).
    max_drop : float
        Budget in accuracy points.
    ratios : tuple of float
    accuracy : tuple of float
        Validation accuracy (fraction) at each ratio.
    full_accuracy : float
        Validation accuracy of the full model.
    examples : int
    """

    method: str
    ratio: float
    max_drop: float
    ratios: tuple[float, ...]
    accuracy: tuple[float, ...]
    full_accuracy: float
    examples: int
    source: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "ratio": self.ratio, "max_drop_points": self.max_drop,
                "ratios": list(self.ratios), "validation_accuracy": list(self.accuracy),
                "validation_full_accuracy": self.full_accuracy,
                "validation_examples": self.examples, "validation_source": self.source}


def choose_ratio(
    variables: Mapping[str, Any],
    config: StackConfig,
    split: Split,
    methods: Sequence[str],
    *,
    max_drop: float,
    ratios: Sequence[float],
    seed: int = 0,
    batch_size: int = 256,
    plans: Mapping[tuple[str, float], Any] | None = None,
    calibration: Any = None,
) -> dict[str, RatioChoice]:
    """Per method, the largest ratio within ``max_drop`` points on the validation split.

    One sweep (:func:`ssm_bridge.sweep`) over ``methods × ratios`` on ``split``; nothing
    else is evaluated.  ``plans`` (keyed by (method, ratio)) replaces ``mor.prune`` (e.g. for
    ``compat`` or the calibrated methods, whose balanced plans need ``calibration``).

    Returns
    -------
    dict method → RatioChoice
    """
    import math

    from ssm_bridge.evaluate import evaluate
    from ssm_bridge.metrics import largest_ratio_within
    from ssm_bridge.sweep import sweep

    if isinstance(max_drop, bool) or not isinstance(max_drop, int | float) or not (
            math.isfinite(max_drop) and max_drop >= 0):
        raise BridgeError(f"max_drop = {max_drop!r}; expected accuracy points >= 0")
    ratios = [float(r) for r in ratios]
    full = evaluate(variables, config, split.x, split.y, batch_size=batch_size)
    if plans is None:
        res = sweep(variables, config, split.x, split.y, methods=list(methods), ratios=ratios,
                    seed=seed, batch_size=batch_size)
    else:
        res = sweep(variables, config, split.x, split.y,
                    plans=[plans[(m, r)] for m in methods for r in ratios],
                    batch_size=batch_size, calibration=calibration)
    acc = np.asarray(res.accuracy).reshape(len(methods), len(ratios))
    return {
        m: RatioChoice(m, largest_ratio_within(ratios, acc[i], full.accuracy,
                                               points=float(max_drop)),
                       float(max_drop), tuple(ratios), tuple(float(a) for a in acc[i]),
                       float(full.accuracy), int(full.count), split.source)
        for i, m in enumerate(methods)
    }
