"""apply: masked ≡ removed, ratio 0 is the original, plans for other models are refused."""

from __future__ import annotations

import numpy as np
import pytest

import mor
from mor.balanced_selection import apply_plan
from ssm_bridge import (
    ConfigError,
    S4DConfig,
    apply,
    extract,
    log_probabilities,
    random_variables,
)
from ssm_bridge.bundled import load_bundled


@pytest.fixture(params=["s5_model", "s4d_model"])
def model(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("method, ratio", [("aire", 0.5), ("uniform_hinf", 0.35)])
def test_masked_and_removed_models_give_the_same_outputs(model, method, ratio):
    variables, config, x, _ = model
    plan = mor.prune(extract(variables, config), method, ratio)
    masked, masked_cfg = apply(variables, config, plan, mode="mask")
    removed, removed_cfg = apply(variables, config, plan, mode="remove")
    assert masked_cfg == config
    assert sum(removed_cfg.state_sizes) < sum(config.state_sizes)
    if config.model == "s5":
        assert removed_cfg.state_sizes == plan.kept_counts
    full = log_probabilities(variables, config, x, batch_size=8)
    y_mask = log_probabilities(masked, masked_cfg, x, batch_size=8)
    y_remove = log_probabilities(removed, removed_cfg, x, batch_size=8)
    np.testing.assert_allclose(y_remove, y_mask, atol=2e-5, rtol=2e-5)
    assert np.max(np.abs(y_mask - full)) > 1e-4  # pruning changed something
    # The removed model's layer systems are the plan's modal truncations.
    reduced = plan.apply(extract(variables, config))
    for sys_r, sys_x in zip(reduced, extract(removed, removed_cfg), strict=True):
        np.testing.assert_allclose(
            sys_x.frequency_response([0.1, 1.0, 3.0]), sys_r.frequency_response([0.1, 1.0, 3.0]),
            rtol=1e-6, atol=1e-6,
        )


def test_ratio_zero_reproduces_the_original_model_exactly(model):
    variables, config, x, _ = model
    plan = mor.prune(extract(variables, config), "aire", 0.0)
    full = log_probabilities(variables, config, x, batch_size=8)
    for mode in ("mask", "remove"):
        tree, cfg = apply(variables, config, plan, mode=mode)
        assert cfg == config
        np.testing.assert_array_equal(log_probabilities(tree, cfg, x, batch_size=8), full)


def test_mask_zeroes_pruned_rows_and_columns_and_leaves_the_input_alone(s5_model):
    variables, config, _, _ = s5_model
    before = variables["params"]["encoder"]["layers_0"]["seq"]["B"].copy()
    plan = mor.prune(extract(variables, config), "last", 0.5)
    masked, _ = apply(variables, config, plan)
    seq = masked["params"]["encoder"]["layers_0"]["seq"]
    pruned = list(plan.pruned[0])
    assert pruned
    assert np.all(seq["B"][pruned] == 0) and np.all(seq["C1"][:, pruned] == 0)
    assert np.all(seq["C2"][:, pruned] == 0)
    kept = list(plan.keep[0])
    np.testing.assert_array_equal(seq["B"][kept], before[kept])
    np.testing.assert_array_equal(variables["params"]["encoder"]["layers_0"]["seq"]["B"], before)
    assert "batch_stats" in masked


def test_s4d_removal_pads_channels_with_inert_modes(s4d_model):
    variables, config, _, _ = s4d_model
    plan = mor.prune(extract(variables, config), "global_energy", 0.6)
    removed, cfg = apply(variables, config, plan, mode="remove")
    for layer, kept in enumerate(plan.keep):
        per_channel = np.bincount(np.asarray(kept) // config.state_sizes[layer],
                                  minlength=config.d_model)
        assert cfg.state_sizes[layer] == per_channel.max()
        seq = removed["params"]["encoder"][f"layers_{layer}"]["seq"]
        for h, count in enumerate(per_channel):
            assert np.all(seq["B"][h, count:] == 0) and np.all(seq["C"][h, count:] == 0)


def test_plans_for_another_model_are_refused(s5_model):
    variables, config, _, _ = s5_model
    systems = extract(variables, config)
    other = mor.prune([s.subsystem(range(s.nunits - 1)) for s in systems], "aire", 0.3)
    with pytest.raises(mor.PlanMismatchError, match="layer 0: the plan is for 5 units"):
        apply(variables, config, other)
    short = mor.prune(systems[:1], "aire", 0.3)
    with pytest.raises(mor.PlanMismatchError, match="1 layers but the model has 2"):
        apply(variables, config, short)
    with pytest.raises(ConfigError, match="mode"):
        apply(variables, config, mor.prune(systems, "aire", 0.3), mode="drop")


def test_balanced_plans_are_applied_by_removal_not_by_masks():
    """Issue 12 replaced the old refusal (which rested on balancing the standard form):
    a balanced plan is written back as a smaller tree; a mask cannot represent it."""
    small = S4DConfig(d_model=2, n_layers=2, state_sizes=1)
    v = random_variables(small, seed=0)
    plan = mor.prune(extract(v, small), "balanced_truncation", 0.5)
    tree, cfg = apply(v, small, plan, mode="remove")
    assert cfg.state_sizes == (1, 1)
    for sys_r, sys_x in zip(apply_plan(plan, extract(v, small)), extract(tree, cfg), strict=True):
        np.testing.assert_allclose(sys_x.frequency_response([0.1, 1.0, 3.0]),
                                   sys_r.frequency_response([0.1, 1.0, 3.0]), rtol=1e-5,
                                   atol=1e-6)
    with pytest.raises(mor.PlanMismatchError, match="state basis"):
        apply(v, small, plan, mode="mask")


def test_only_standard_form_balancing_needs_a_full_feedthrough():
    """The premise of the old refusal, and why it no longer applies.

    Balancing the *standard* form of an S5 layer (output read before the update) and
    converting back to the after-update form needs a non-diagonal D (0.02–0.18 against a
    diagonal of 1.7–2.4 on the bundled s5_digits layers at ratio 0.5).  Balancing the
    after-update triple (Λ, B̄, C), which balanced plans now do (mor.after_update), keeps
    the layer's own diagonal D exactly (tests/ssm_bridge/test_balanced.py)."""
    ckpt, _ = load_bundled("s5_digits")
    systems = extract(ckpt.variables, ckpt.config)
    plan = mor.prune(systems, "balanced_truncation", 0.5)
    for full, after, keep in zip(systems, apply_plan(plan, systems), plan.keep, strict=True):
        standard = mor.ModalSystem.from_statespace(
            mor.balanced_truncation(full.to_statespace(), len(keep)))
        d = standard.after_update_form().D
        off = np.abs(d - np.diag(np.diag(d))).max()
        assert off > 1e-2 * np.abs(np.diag(d)).max()
        np.testing.assert_array_equal(after.D, full.D)
