"""Balanced truncation of trained S5/S4D layers written back as a smaller model of the same kind.

Done means (issue 12): the removed model's layers equal the reduced linear layers simulated
independently (python-control, float64) to float32 accuracy, for one and two directions,
conj_sym on and off, ZOH and bilinear, S5 and S4D; each layer's exact H∞ error is within its
certificate; the pruned network has the requested state count per layer.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import mor
from mor.after_update import after_update_balanced_truncation, reduction_error
from mor.balanced_selection import apply_plan
from ssm_bridge import S4DConfig, S5Config, apply, extract, log_probabilities, random_variables
from ssm_bridge.balanced import seq_from_system
from ssm_bridge.bundled import load_bundled
from ssm_bridge.errors import UnrepresentableLayerError
from ssm_bridge.layout import seq_params
from tests.ssm_bridge.test_extract import simulate

LENGTH = 20
FLOAT32_RTOL = 2e-5  # float32 network against a float64 simulation (extract's tests: 1e-5)


def check_removed_model(run_seq, config, variables, plan):
    """Removed model ≡ reduced systems; certificates hold; state counts as planned."""
    systems = extract(variables, config)
    small, small_cfg = apply(variables, config, plan, mode="remove")
    reduced = apply_plan(plan, systems)
    u = np.random.default_rng(4).standard_normal((2, LENGTH, config.d_model))
    for layer, (full, red, keep) in enumerate(zip(systems, reduced, plan.keep, strict=True)):
        assert red.nstates == len(keep)  # the requested real order
        if isinstance(config, S4DConfig):  # channels padded to the widest
            per_channel = [np.count_nonzero(red.B[:, h]) for h in range(config.d_model)]
            assert small_cfg.state_sizes[layer] == max(per_channel)
        else:  # one stored mode per conjugate pair or real pole
            assert small_cfg.state_sizes[layer] == red.nunits
        y = np.asarray(run_seq(small, jnp.asarray(u, jnp.float32), config=small_cfg,
                               layer=layer))
        for b in range(u.shape[0]):
            ref = np.asarray(simulate(red, u[b].astype(np.float32).astype(np.float64)))
            err = np.max(np.abs(y[b] - ref)) / np.max(np.abs(ref))
            assert err < FLOAT32_RTOL, f"layer {layer}: relative error {err:.3g}"
        cert = after_update_balanced_truncation(full, len(keep))
        exact = mor.hinf_norm(reduction_error(full, red))
        assert exact <= cert.bound * (1 + 1e-8), f"layer {layer}: {exact} > {cert.bound}"
    return small, small_cfg


# every pair of options once (directions × conj_sym × discretisation, pairwise)
S5_VARIANTS = [
    dict(bidirectional=b, conj_sym=c, discretization=d)
    for b, c, d in ((False, True, "zoh"), (False, False, "bilinear"), (True, True, "bilinear"),
                    (True, False, "zoh"))
]


@pytest.mark.parametrize("variant", S5_VARIANTS, ids=lambda v: "-".join(
    f"{k}={v[k]}" for k in ("bidirectional", "conj_sym", "discretization")))
def test_s5_removed_layers_are_the_balanced_truncations(seq_runner, variant):
    config = S5Config(d_model=4, n_layers=2, state_sizes=(5, 3), d_input=1, n_classes=2,
                      dt_min=0.05, dt_max=0.8, **variant)
    variables = random_variables(config, seed=3)
    plan = mor.prune(extract(variables, config), "balanced_truncation", ratio=0.5)
    assert plan.kind == "balanced" and plan.kept_counts == (5, 3)
    check_removed_model(seq_runner, config, variables, plan)


def test_s5_budget_clip_eigs_and_one_output_matrix(seq_runner):
    """Requested orders per layer; clip_eigs with step_rescale; bidirectional single C."""
    config = S5Config(d_model=4, n_layers=2, state_sizes=(6, 4), d_input=1, n_classes=2,
                      bidirectional=True, c_init="complex_normal", clip_eigs=True,
                      step_rescale=0.7, dt_min=0.05, dt_max=0.8)
    variables = random_variables(config, seed=8)
    systems = extract(variables, config)
    plan = mor.prune(systems, "balanced_truncation", budget=[6, 4])
    assert plan.kept_counts == (6, 4)
    small, small_cfg = check_removed_model(seq_runner, config, variables, plan)
    seq = small["params"]["encoder"]["layers_0"]["seq"]
    assert seq["C"].shape == (4, 2 * small_cfg.state_sizes[0], 2)
    assert np.all(seq["Lambda_re"] <= -1e-4)  # clear of the clip: the forward pass is exact


@pytest.mark.parametrize("bidirectional, discretization, conj_sym", [
    (False, "zoh", True), (True, "bilinear", True), (False, "bilinear", False)])
def test_s4d_removed_channels_are_the_balanced_truncations(seq_runner, bidirectional,
                                                           discretization, conj_sym):
    config = S4DConfig(d_model=3, n_layers=2, state_sizes=(3, 2), d_input=1, n_classes=2,
                       bidirectional=bidirectional, discretization=discretization,
                       conj_sym=conj_sym, dt_min=0.05, dt_max=0.8)
    variables = random_variables(config, seed=7)
    plan = mor.prune(extract(variables, config), "balanced_truncation", ratio=0.5)
    small, _ = check_removed_model(seq_runner, config, variables, plan)
    # channels keep different orders; unused slots are inert (B = C = 0, λ = −1)
    seq = small["params"]["encoder"]["layers_0"]["seq"]
    inert = np.all(seq["B"] == 0, axis=-1)
    assert np.all(seq["Lambda_re"][inert] == -1.0)


def test_masks_are_refused_for_balanced_plans(s5_model):
    variables, config, _, _ = s5_model
    plan = mor.prune(extract(variables, config), "balanced_truncation", ratio=0.5)
    with pytest.raises(mor.PlanMismatchError, match=r"changes each layer's state basis.*remove"):
        apply(variables, config, plan, mode="mask")


def test_poles_the_parameterisation_cannot_hold_are_named(s5_model):
    variables, config, _, _ = s5_model
    seq = seq_params(variables["params"], 1)
    B, C = np.ones((2, 8)) + 0j, np.ones((8, 2)) + 0j
    at_zero = mor.ModalSystem([0.0, 0.5 + 0.2j], B, C, np.eye(8), 1, pair=True,
                              output_after_update=True)
    with pytest.raises(UnrepresentableLayerError, match=r"layer 1: reduced mode 0.*pole at 0"):
        seq_from_system(seq, config, 1, at_zero)
    bilinear = dataclasses.replace(config, discretization="bilinear")
    at_minus_one = mor.ModalSystem([-1.0 + 0j, 0.5], B, C, np.eye(8), 1, pair=True,
                                   output_after_update=True, allow_unstable=True)
    with pytest.raises(UnrepresentableLayerError, match=r"layer 1: reduced mode 0.*−1"):
        seq_from_system(seq, bilinear, 1, at_minus_one)
    clipped = dataclasses.replace(config, clip_eigs=True)
    outside = mor.ModalSystem([0.5, 1.01j], B, C, np.eye(8), 1, pair=True,
                              output_after_update=True, allow_unstable=True)
    with pytest.raises(UnrepresentableLayerError, match=r"layer 1: reduced mode 1.*clip_eigs"):
        seq_from_system(seq, clipped, 1, outside)


def test_bundled_s5_layers_balanced_truncated_keep_a_diagonal_d():
    """Replaces the old test that asserted a full feedthrough: balancing the after-update
    triple (not the standard form) gives, re-diagonalised, the layer's own diagonal D and a
    removed model that runs."""
    ckpt, _ = load_bundled("s5_digits")
    systems = extract(ckpt.variables, ckpt.config)
    plan = mor.prune(systems, "balanced_truncation", ratio=0.5)
    for full, red in zip(systems, apply_plan(plan, systems), strict=True):
        np.testing.assert_array_equal(red.D, full.D)
        assert red.output_after_update and red.nstates == full.nstates // 2
    small, small_cfg = apply(ckpt.variables, ckpt.config, plan, mode="remove")
    assert sum(small_cfg.state_sizes) <= sum(ckpt.config.state_sizes)
    x = np.random.default_rng(0).standard_normal((4, 16, ckpt.config.d_input)).astype(
        np.float32)
    assert np.all(np.isfinite(log_probabilities(small, small_cfg, x, batch_size=4)))


def test_balanced_singular_perturbation_is_refused_on_network_layers(s5_model):
    variables, config, _, _ = s5_model
    layer = extract(variables, config)[0].forward_part()
    with pytest.raises(mor.StateDimensionError, match=r"z·D_r"):
        mor.balanced_singular_perturbation(layer, 4)


def test_certify_and_sweep_take_balanced_plans(s5_model):
    """Certificates per layer (bidirectional: the stacked-output bound) and sweep accuracy
    equal to evaluating each removed model."""
    from ssm_bridge import evaluate, sweep
    from verification import certify

    variables, config, x, y = s5_model
    systems = extract(variables, config)
    plan = mor.prune(systems, "balanced_truncation", ratio=0.5)
    report = certify(systems, plan)
    assert report.all_valid_bounds_hold
    for lc, full, keep in zip(report.layers, systems, plan.keep, strict=True):
        b = lc.bound("balanced_bidirectional")
        assert b.value == pytest.approx(after_update_balanced_truncation(full, len(keep)).bound)
        assert lc.exact_hinf <= b.value
    res = sweep(variables, config, x, y, methods=["aire", "balanced_truncation"],
                ratios=[0.0, 0.5], batch_size=8)
    grid = res.grid()
    small, small_cfg = apply(variables, config, plan, mode="remove")
    direct = evaluate(small, small_cfg, x, y, batch_size=8)
    assert grid[1, 1] == pytest.approx(direct.accuracy, abs=1e-12)
    assert grid[1, 0] == pytest.approx(evaluate(variables, config, x, y, batch_size=8).accuracy,
                                       abs=1e-12)
