"""Shared helpers of the ssm_bridge tests: tiny random models and data, compiled once."""

from __future__ import annotations

from functools import partial

import jax
import numpy as np
import pytest

from ssm_bridge import S4DConfig, S5Config, log_probabilities, make_model, random_variables


@partial(jax.jit, static_argnames=("config", "layer"))
def run_seq(variables, u, *, config, layer):
    """The SSM part (``seq``) of layer ``layer``, run by Flax: (batch, L, H) → (batch, L, H)."""
    return make_model(config).apply(
        variables, u, method=lambda m, v: m.encoder.layers[layer].seq(v)
    )


def labelled_data(variables, config, *, n=24, length=16, seed=0):
    """Random inputs labelled by the model itself (accuracy 1 at ratio 0)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, length, config.d_input)).astype(np.float32)
    y = np.argmax(log_probabilities(variables, config, x, batch_size=8), axis=-1)
    return x, y


S5_BIDIR = S5Config(
    d_model=8, n_layers=2, state_sizes=(6, 4), d_input=2, n_classes=4, bidirectional=True,
    dt_min=0.01, dt_max=0.5,
)
S4D_UNI = S4DConfig(
    d_model=6, n_layers=2, state_sizes=(4, 3), d_input=2, n_classes=4, activation="full_glu",
    batchnorm=False, prenorm=False, dt_min=0.01, dt_max=0.5,
)


@pytest.fixture(scope="session")
def seq_runner():
    """:func:`run_seq`, the Flax SSM of one layer (compiled once per config and layer)."""
    return run_seq


@pytest.fixture(scope="session")
def s5_model():
    variables = random_variables(S5_BIDIR, seed=1)
    x, y = labelled_data(variables, S5_BIDIR)
    return variables, S5_BIDIR, x, y


@pytest.fixture(scope="session")
def s4d_model():
    variables = random_variables(S4D_UNI, seed=2)
    x, y = labelled_data(variables, S4D_UNI)
    return variables, S4D_UNI, x, y
