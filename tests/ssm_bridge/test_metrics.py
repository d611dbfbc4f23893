"""The sweep metric (ssm_bridge/metrics.py): the largest ratio within a number of accuracy
points, and bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from ssm_bridge.metrics import MetricError, largest_ratio_within


# --------------------------------------------------------------------------- metric
def test_largest_ratio_within_examples():
    ratios = [0.0, 0.25, 0.5, 0.75, 1.0]
    acc = [0.90, 0.895, 0.889, 0.85, 0.10]
    # threshold 0.89: 0.895 qualifies, 0.889 does not
    assert largest_ratio_within(ratios, acc, 0.90) == 0.25
    assert largest_ratio_within(ratios, acc, 0.90, points=1.2) == 0.5
    assert largest_ratio_within(ratios, acc, 0.90, points=80.0) == 1.0
    # exactly full − 1 point qualifies (rounding in 0.90 − 0.01 must not exclude it)
    assert largest_ratio_within([0.0, 0.3], [0.90, 0.89], 0.90) == 0.3
    # order does not matter; a dip followed by recovery gives the largest qualifying ratio
    assert largest_ratio_within([0.6, 0.0, 0.5], [0.9, 0.9, 0.5], 0.9) == 0.6
    # nothing qualifies (even ratio 0 below the threshold): 0
    assert largest_ratio_within([0.1, 0.2], [0.5, 0.4], 0.9) == 0.0


@pytest.mark.parametrize(
    ("ratios", "acc", "full", "kwargs"),
    [
        ([0.0, 0.5], [0.9], 0.9, {}),                 # lengths differ
        ([0.0, 1.5], [0.9, 0.9], 0.9, {}),            # ratio outside [0, 1]
        ([0.0, 0.5], [90.0, 89.0], 90.0, {}),         # percentages instead of fractions
        ([0.0, 0.5], [0.9, np.nan], 0.9, {}),         # NaN
        ([0.0, 0.5], [0.9, 0.9], 0.9, {"points": -1.0}),
    ],
)
def test_largest_ratio_within_rejects_bad_input(ratios, acc, full, kwargs):
    with pytest.raises(MetricError):
        largest_ratio_within(ratios, acc, full, **kwargs)
    assert issubclass(MetricError, ValueError)
