"""What the jobs compute on the checkpoint's training data, never on its test set.

The calibration of the calibrated methods (moments on a calibration split) and the ratio
chosen within an accuracy budget on a validation split (:mod:`ssm_bridge.budgets`), with
the plans made as the job makes them (compat mode, calibration).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ssm_bridge.jobs.resolve import ResolvedCheckpoint

__all__ = ["calibration_for", "choose_on_validation"]


def calibration_for(res: ResolvedCheckpoint, data: Any, methods: Sequence[str],
                    batch_size: int):
    """The calibration of ``res`` on its training data's calibration split, if a method
    needs one (else None)."""
    from ssm_bridge.budgets import training_splits
    from ssm_bridge.calibration import calibrate, is_calibrated

    if not any(is_calibrated(m) for m in methods):
        return None
    _, split = training_splits(res.metadata, res.task, data)
    return calibrate(res.variables, res.config, split.x, batch_size=min(batch_size, 64),
                     info={"source": split.source, "indices": split.indices.tolist(),
                           "n_train": split.n_train})


def choose_on_validation(res: ResolvedCheckpoint, systems: Sequence[Any],
                         methods: Sequence[str], ratios: Sequence[float], *, max_drop: float,
                         options: Any, calibration: Any = None) -> dict[str, Any]:
    """Per method, the largest ratio within ``max_drop`` points on the validation split.

    Parameters
    ----------
    res : ResolvedCheckpoint
    systems : sequence of ModalSystem
        The checkpoint's layers (:func:`ssm_bridge.extract`).
    methods, ratios : sequences
        The grid the choice is made on.
    max_drop : float
        Accuracy budget in points.
    options : JobOptions
        ``data``, ``seed``, ``batch_size`` and ``compat`` of the job.
    calibration : Calibration, optional

    Returns
    -------
    dict method → ssm_bridge.budgets.RatioChoice

    Raises
    ------
    ssm_bridge.budgets.NoTrainingDataError
        No training data is known for the checkpoint.
    """
    from ssm_bridge.budgets import choose_ratio, training_splits
    from ssm_bridge.calibration import make_plan

    val, _ = training_splits(res.metadata, res.task, options.data)
    # plans made from the layers already extracted (the job extracts them once)
    plans = {(m, r): make_plan(systems, m, ratio=r, seed=options.seed, compat=options.compat,
                               calibration=calibration)
             for m in methods for r in ratios}
    return choose_ratio(res.variables, res.config, val, list(methods), max_drop=max_drop,
                        ratios=ratios, seed=options.seed, batch_size=options.batch_size,
                        plans=plans, calibration=calibration)
