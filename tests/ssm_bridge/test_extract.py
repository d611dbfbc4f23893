"""extract ↔ Flax: each layer's SSM equals its extracted system simulated by python-control."""

from __future__ import annotations

import dataclasses

import control
import jax.numpy as jnp
import numpy as np
import pytest

import mor
from ssm_bridge import LayoutError, S4DConfig, S5Config, extract, random_variables

LENGTH = 24


def simulate(sys: mor.ModalSystem, u: np.ndarray) -> np.ndarray:
    """y (L, H) of the extracted layer system by control.forced_response (float64)."""
    t = np.arange(u.shape[0])
    y = control.forced_response(sys.forward_part().to_statespace(), T=t, U=u.T).outputs.T
    if sys.bidirectional:
        back = sys.backward_part().to_statespace()
        y = y + control.forced_response(back, T=t, U=u[::-1].T).outputs.T[::-1]
    return y


def check_agreement(run_seq, config, variables, seed):
    systems = extract(variables, config)
    assert [s.nunits for s in systems] == list(config.nunits)
    u = np.random.default_rng(seed).standard_normal((2, LENGTH, config.d_model))
    for layer, sys in enumerate(systems):
        y_flax = np.asarray(run_seq(variables, jnp.asarray(u, jnp.float32), config=config,
                                    layer=layer))
        for b in range(u.shape[0]):
            y_ref = simulate(sys, u[b].astype(np.float32).astype(np.float64))
            err = np.max(np.abs(y_flax[b] - y_ref)) / np.max(np.abs(y_ref))
            assert err < 1e-5, f"layer {layer}: relative error {err:.3g}"


@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
@pytest.mark.parametrize("conj_sym", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_s5_layers_match_python_control(seq_runner, bidirectional, conj_sym, discretization):
    config = S5Config(
        d_model=4, n_layers=2, state_sizes=(5, 3), d_input=1, n_classes=2,
        bidirectional=bidirectional, conj_sym=conj_sym, discretization=discretization,
        dt_min=0.05, dt_max=0.8,
    )
    check_agreement(seq_runner, config, random_variables(config, seed=3), seed=4)


def test_clip_eigs_and_step_rescale_are_extracted_as_the_forward_pass_uses_them(seq_runner):
    config = S5Config(d_model=4, n_layers=1, state_sizes=4, d_input=1, n_classes=2,
                      clip_eigs=True, step_rescale=0.7, dt_min=0.05, dt_max=0.8)
    variables = random_variables(config, seed=5)
    seq = variables["params"]["encoder"]["layers_0"]["seq"]
    seq["Lambda_re"][0] = 0.3  # unstable before clipping
    check_agreement(seq_runner, config, variables, seed=6)
    lam = extract(variables, config)[0].log_poles[0] / (0.7 * np.exp(seq["log_step"][0, 0]))
    assert lam.real == pytest.approx(-1e-4, rel=1e-6)
    unclipped = dataclasses.replace(config, clip_eigs=False)
    # issue 11: an unstable mode no longer stops extraction; it is named in a warning
    with pytest.warns(mor.UnstableModeWarning, match=r"layer 0: mode\(s\) \[0\]"):
        (sys,) = extract(variables, unclipped)
    assert sys.unstable.tolist() == [True, False, False, False]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_s4d_layers_match_python_control(seq_runner, bidirectional):
    config = S4DConfig(d_model=3, n_layers=2, state_sizes=(3, 2), d_input=1, n_classes=2,
                       bidirectional=bidirectional,
                       discretization="bilinear" if bidirectional else "zoh",
                       dt_min=0.05, dt_max=0.8)
    check_agreement(seq_runner, config, random_variables(config, seed=7), seed=8)


def raw_scores(seq, config):
    """AIRE energy and LAST H∞ scores straight from the raw tree, float64 (MATH.md §2).

    mor scores a pair unit as the sum over its two members: 2 × the stored mode's score.
    """
    f = {k: np.asarray(v, np.float64) for k, v in seq.items()}
    lam = f["Lambda_re"] + 1j * f["Lambda_im"]
    b = f["B"][..., 0] + 1j * f["B"][..., 1]
    names = ("C1", "C2") if config.bidirectional else ("C",)
    cs = [f[n][..., 0] + 1j * f[n][..., 1] for n in names]
    scale = 1.0 if config.conj_sym else 0.5
    if isinstance(config, S4DConfig):
        step = np.exp(f["log_step"]) * np.ones_like(lam.real)
        b2 = np.abs(b) ** 2
        c2 = sum(np.abs(scale * c) ** 2 for c in cs) / len(cs)
    else:
        step = np.exp(f["log_step"][:, 0])
        b2 = np.sum(np.abs(b) ** 2, axis=1)
        c2 = sum(np.sum(np.abs(scale * c) ** 2, axis=0) for c in cs) / len(cs)
    lam_bar = np.exp(lam * step)
    b2 = b2 * np.abs((lam_bar - 1) / lam) ** 2
    alpha2 = (c2 * b2).ravel()
    mod = np.abs(lam_bar).ravel()
    return 2 * alpha2 / (1 - mod**2), 2 * alpha2 / (1 - mod) ** 2


@pytest.mark.parametrize(
    "config",
    [
        S5Config(d_model=5, n_layers=2, state_sizes=(6, 4), bidirectional=True),
        S5Config(d_model=5, n_layers=2, state_sizes=(6, 4), conj_sym=False),
        S4DConfig(d_model=4, n_layers=2, state_sizes=(3, 5), bidirectional=True),
    ],
    ids=["s5-bidir", "s5-no-conj-sym", "s4d"],
)
def test_scores_through_extract_equal_scores_from_the_raw_tree(config):
    variables = random_variables(config, seed=9)
    systems = extract(variables, config)
    for layer, sys in enumerate(systems):
        seq = variables["params"]["encoder"][f"layers_{layer}"]["seq"]
        energy, hinf = raw_scores(seq, config)
        np.testing.assert_allclose(mor.scores.energy(sys), energy, rtol=1e-9)
        np.testing.assert_allclose(mor.scores.hinf(sys), hinf, rtol=1e-9)


def test_extract_names_layer_and_parameter_of_a_broken_tree():
    config = S5Config(d_model=4, n_layers=2, state_sizes=3)
    variables = random_variables(config, seed=0)
    seq = variables["params"]["encoder"]["layers_1"]["seq"]
    del seq["Lambda_re"]
    with pytest.raises(LayoutError, match=r"layer 1 .*Lambda_re"):
        extract(variables, config)
    variables = random_variables(config, seed=0)
    variables["params"]["encoder"]["layers_0"]["seq"]["B"] = np.zeros((3, 5, 2), np.float32)
    expected = r"layer 0 .*B has shape \(3, 5, 2\); expected \(3, 4, 2\)"
    with pytest.raises(LayoutError, match=expected):
        extract(variables, config)
