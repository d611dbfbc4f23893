"""Flax modules: a heterogeneous (pruned) stack initialises, runs, and trains in batch mode."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ssm_bridge import S5Config, init_variables, make_model, validate_tree
from ssm_bridge.models import hippo_n_init
from ssm_bridge.scan import ScanMethodError


def test_hippo_n_eigenvalues():
    lam, V = hippo_n_init(8)
    np.testing.assert_allclose(lam.real, -0.5)
    np.testing.assert_allclose(V.conj().T @ V, np.eye(8), atol=1e-12)
    np.testing.assert_allclose(np.sort(lam.imag), -np.sort(-lam.imag)[::-1], atol=1e-12)
    np.testing.assert_allclose(np.sort(lam.imag)[:4], -np.sort(lam.imag)[4:][::-1], atol=1e-9)


def test_heterogeneous_stack_initialises_and_trains_in_batch_mode():
    cfg = S5Config(d_model=4, n_layers=2, state_sizes=(3, 2), d_input=1, n_classes=2,
                   dropout=0.1, blocks=2)
    variables = init_variables(cfg, key=jax.random.PRNGKey(0), seq_len=8)
    validate_tree(variables, cfg, require_batch_stats=True)
    assert variables["params"]["encoder"]["layers_1"]["seq"]["B"].shape == (2, 4, 2)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((3, 8, 1)), jnp.float32)
    logp, updates = make_model(cfg, training=True).apply(
        variables, x, mutable=["batch_stats"], rngs={"dropout": jax.random.PRNGKey(1)}
    )
    assert logp.shape == (3, 2)
    np.testing.assert_allclose(np.exp(np.asarray(logp)).sum(-1), 1.0, rtol=1e-5)
    old = variables["batch_stats"]["encoder"]["layers_0"]["norm"]["mean"]
    new = updates["batch_stats"]["encoder"]["layers_0"]["norm"]["mean"]
    assert not np.allclose(old, new)


@pytest.mark.parametrize("method", ["associative", "chunked", "chunked_matmul"])
@pytest.mark.parametrize("fixture", ["s5_model", "s4d_model"])
def test_every_scan_method_gives_the_same_model_outputs(request, fixture, method):
    variables, config, x, _ = request.getfixturevalue(fixture)
    reference = make_model(config, scan_method="sequential").apply(variables, x)
    out = make_model(config, scan_method=method).apply(variables, x)
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-5)


def test_unknown_scan_method_is_refused():
    cfg = S5Config(d_model=4, n_layers=1, state_sizes=2, d_input=1, n_classes=2)
    with pytest.raises(ScanMethodError, match="unknown scan method 'fft'"):
        make_model(cfg, scan_method="fft")
