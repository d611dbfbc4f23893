"""sweep: many plans in one pass give the same numbers as evaluating each plan separately."""

from __future__ import annotations

import numpy as np
import pytest

from ssm_bridge import SWEEP_METHODS, apply, evaluate, make_plans, sweep
from ssm_bridge.extract import extract
from ssm_bridge.sweep import prefix_tree

RATIOS = tuple(np.round(np.arange(20) * 0.05, 10))


def separately(variables, config, x, y, plans):
    results = [evaluate(apply(variables, config, p)[0], config, x, y, batch_size=8)
               for p in plans]
    return np.array([r.accuracy for r in results]), np.array([r.loss for r in results])


def test_ten_methods_by_twenty_ratios_equal_separate_evaluation(s5_model):
    variables, config, x, y = s5_model
    assert len(SWEEP_METHODS) == 10
    result = sweep(variables, config, x, y, ratios=RATIOS, batch_size=8, progress=False)
    assert len(result.plans) == 200 and result.grid().shape == (10, 20)
    assert result.plans == tuple(make_plans(extract(variables, config), SWEEP_METHODS, RATIOS))
    accuracy, loss = separately(variables, config, x, y, result.plans)
    np.testing.assert_array_equal(result.accuracy, accuracy)
    np.testing.assert_allclose(result.loss, loss, rtol=1e-5)
    assert np.all(result.grid()[:, 0] == 1.0)  # labels are the full model's predictions
    assert result.accuracy.min() < 0.9  # pruning hurts: the comparison is not vacuous
    assert result.distinct[-1] < 200  # identical plans (e.g. every method at ratio 0) share
    assert result.sharing_bound == 200 * config.n_layers / sum(result.distinct)
    assert "| aire |" in result.table()


def test_s4d_sweep_of_explicit_plans(s4d_model):
    variables, config, x, y = s4d_model
    plans = make_plans(extract(variables, config), ("aire", "last", "random"), (0, 0.3, 0.7))
    result = sweep(variables, config, x, y, plans=plans, batch_size=8, progress=False)
    accuracy, loss = separately(variables, config, x, y, plans)
    np.testing.assert_array_equal(result.accuracy, accuracy)
    np.testing.assert_allclose(result.loss, loss, rtol=1e-5)
    with pytest.raises(ValueError, match="methods × ratios"):
        result.grid()


@pytest.mark.parametrize("micro_batch", [1, 2, 4, 8])
def test_micro_batches_change_no_result(s5_model, micro_batch):
    variables, config, x, y = s5_model
    plans = make_plans(extract(variables, config), ("aire", "global_magnitude"), (0.2, 0.6))
    one = sweep(variables, config, x, y, plans=plans, batch_size=8, micro_batch=8,
                progress=False)
    split = sweep(variables, config, x, y, plans=plans, batch_size=8,
                  micro_batch=micro_batch, progress=False)
    np.testing.assert_array_equal(split.accuracy, one.accuracy)
    np.testing.assert_allclose(split.loss, one.loss, rtol=1e-6)


@pytest.mark.parametrize("micro_batch", [0, 3, 16, 2.0])
def test_micro_batch_must_divide_the_batch(s5_model, micro_batch):
    variables, config, x, y = s5_model
    plans = make_plans(extract(variables, config), ("aire",), (0.5,))
    with pytest.raises(ValueError, match="micro_batch must divide the batch"):
        sweep(variables, config, x, y, plans=plans, batch_size=8, micro_batch=micro_batch,
              progress=False)


def test_prefix_tree_shares_common_prefixes():
    layer0 = np.array([[1, 1], [1, 1], [1, 0], [1, 1]], bool)
    layer1 = np.array([[1, 0], [1, 0], [1, 1], [0, 1]], bool)
    parents, node_masks, leaf = prefix_tree([layer0, layer1])
    assert [p.size for p in parents] == [2, 3]
    for plan in range(4):
        node1 = leaf[plan]
        np.testing.assert_array_equal(node_masks[1][node1], layer1[plan])
        np.testing.assert_array_equal(node_masks[0][parents[1][node1]], layer0[plan])
    assert leaf[0] == leaf[1] and len(set(leaf.tolist())) == 3
