"""Summary metrics of pruning sweeps (numpy only, no JAX).

The headline number of the AIRE-prune and LAST papers is the largest pruning ratio whose
accuracy stays within a tolerance of the unpruned model: AIRE-prune Table 1 ("pruning ratio
at < 1 % accuracy loss"), LAST Table 1 ("pruning ratio with < 1 %p accuracy drop").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mor.exceptions import MORError

__all__ = ["MetricError", "largest_ratio_within"]


class MetricError(MORError):
    """Invalid input to a metric (mismatched lengths, ratios outside [0, 1], NaN)."""


def largest_ratio_within(
    ratios: Sequence[float] | np.ndarray,
    accuracies: Sequence[float] | np.ndarray,
    full_accuracy: float,
    *,
    points: float = 1.0,
) -> float:
    """Largest pruning ratio whose accuracy is at least ``full_accuracy − points``.

    Accuracies are **fractions** in [0, 1] (as :class:`ssm_bridge.EvalResult` reports
    them); ``points`` is in **percentage points**, so the threshold is
    ``full_accuracy − points / 100``. With ``points = 1`` this is the number of the
    papers' Table 1 (AIRE-prune Table 1; LAST Table 1: "< 1 %p accuracy drop").

    The ratio is the largest qualifying one, not the end of the first qualifying run:
    if accuracy dips below the threshold at ratio 0.5 and recovers at 0.6, the answer is
    0.6 (as reading the papers' tables would give). A comparison tolerance of 1e-12 absorbs
    rounding in ``full − points/100``.

    Parameters
    ----------
    ratios : sequence of float
        Pruning ratios in [0, 1] (any order).
    accuracies : sequence of float
        Accuracy (fraction) at each ratio.
    full_accuracy : float
        Accuracy (fraction) of the unpruned model.
    points : float, keyword-only
        Tolerance in percentage points (default 1.0). Must be ≥ 0.

    Returns
    -------
    float
        The largest qualifying ratio; 0.0 if none qualifies (the full model is, by
        definition, ratio 0).

    Raises
    ------
    MetricError
        Lengths differ, a ratio lies outside [0, 1], a value is not finite, or an accuracy
        lies outside [0, 1] (percentages passed by mistake), or ``points < 0``.

    Examples
    --------
    >>> largest_ratio_within([0.0, 0.5, 0.8], [0.95, 0.945, 0.90], 0.95)
    0.5
    """
    r = np.asarray(ratios, dtype=np.float64).reshape(-1)
    a = np.asarray(accuracies, dtype=np.float64).reshape(-1)
    full = float(full_accuracy)
    if r.shape != a.shape:
        raise MetricError(
            f"largest_ratio_within: {r.size} ratios but {a.size} accuracies; give one "
            "accuracy per ratio"
        )
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(a)) and np.isfinite(full)):
        raise MetricError("largest_ratio_within: ratios and accuracies must be finite")
    if np.any((r < 0) | (r > 1)):
        raise MetricError(
            f"largest_ratio_within: ratios must lie in [0, 1]; got {r[(r < 0) | (r > 1)]}"
        )
    if np.any((a < 0) | (a > 1)) or not 0.0 <= full <= 1.0:
        raise MetricError(
            "largest_ratio_within: accuracies are fractions in [0, 1] (divide percentages "
            "by 100)"
        )
    if not (np.isfinite(points) and points >= 0):
        raise MetricError(f"largest_ratio_within: points = {points!r}; expected >= 0")
    threshold = full - float(points) / 100.0
    ok = a >= threshold - 1e-12
    if not np.any(ok):
        return 0.0
    return float(np.max(r[ok]))
