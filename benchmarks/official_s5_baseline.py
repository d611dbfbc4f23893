"""The full S5 classifier computed the way the official S5 code computes it (the speed baseline).

A self-contained re-implementation, in plain JAX functions, of the inference (eval-mode)
forward pass of the official S5 model (lindermanlab/S5, ``s5/ssm.py``, ``s5/layers.py``,
``s5/seq_model.py``), with the options of its LRA run scripts, as described in
``shared/reference/ANCHORS.md``:

- encoder ``Dense(H)``; ``L`` sequence layers; mean pooling over time; decoder ``Dense``;
  ``log_softmax``;
- every sequence layer: prenorm BatchNorm in eval mode (running statistics, ε = 1e-5),
  the S5 SSM, ``gelu`` (tanh approximation, Flax's default), ``half_glu1``
  (``x ⊙ σ(out2(x))``), residual;
- the SSM (bidirectional, ``conj_sym``, ``zoh``, ``clip_eigs``): discretisation at every call
  (the official ``setup`` runs on every ``apply``), ``B̄u`` as a complex64 matrix product per
  time step, ``jax.lax.associative_scan`` in complex64 forward *and* backward,
  ``2·Re(C̃ x)`` with ``C̃ = [C1, C2]`` and ``+ D ⊙ u``;
- one example at a time, batched with ``jax.vmap`` (the official model is an ``nn.vmap``).

The parameter tree follows the official layout (``encoder``, ``layers_i`` with ``seq``
{``Lambda_re``, ``Lambda_im``, ``B``, ``C1``, ``C2``, ``D``, ``log_step``}, ``norm``,
``out2``, ``decoder``), plus ``batch_stats`` for BatchNorm.  No code is copied from the
official repository; the arithmetic follows its description.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Params = dict[str, Any]

BN_EPS = 1e-5
CLIP_EIGS_MAX = -1e-4


def init_params(
    *,
    n_layers: int,
    d_input: int,
    d_model: int,
    ssm_size: int,
    d_output: int,
    seed: int = 0,
    dt_min: float = 1e-3,
    dt_max: float = 1e-1,
) -> tuple[Params, Params]:
    """Random parameters (and BatchNorm statistics) in the official S5 tree layout.

    ``ssm_size`` is the stored state count P (already halved for ``conj_sym``).  The
    eigenvalues mimic the HiPPO-N initialisation (real part −1/2, spread imaginary parts);
    the values matter for the pruning plan and accuracy checks, not for speed.

    Returns
    -------
    params, batch_stats : nested dicts of float32 numpy arrays
    """
    rng = np.random.default_rng(seed)
    h, p = d_model, ssm_size

    def dense(n_in: int, n_out: int) -> Params:
        return {
            "kernel": (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32),
            "bias": (0.01 * rng.standard_normal(n_out)).astype(np.float32),
        }

    params: Params = {"encoder": dense(d_input, h), "decoder": dense(h, d_output)}
    stats: Params = {}
    for i in range(n_layers):
        lam_re = -0.5 * rng.uniform(0.2, 2.0, p)
        lam_im = np.pi * np.arange(p) * rng.uniform(0.5, 1.5, p)
        log_step = rng.uniform(np.log(dt_min), np.log(dt_max), (p, 1))
        seq = {
            "Lambda_re": lam_re.astype(np.float32),
            "Lambda_im": lam_im.astype(np.float32),
            "B": (rng.standard_normal((p, h, 2)) / np.sqrt(2 * h)).astype(np.float32),
            "C1": (rng.standard_normal((h, p, 2)) / np.sqrt(2 * p)).astype(np.float32),
            "C2": (rng.standard_normal((h, p, 2)) / np.sqrt(2 * p)).astype(np.float32),
            "D": rng.standard_normal(h).astype(np.float32),
            "log_step": log_step.astype(np.float32),
        }
        params[f"layers_{i}"] = {
            "seq": seq,
            "norm": {
                "scale": (1.0 + 0.1 * rng.standard_normal(h)).astype(np.float32),
                "bias": (0.1 * rng.standard_normal(h)).astype(np.float32),
            },
            "out2": dense(h, h),
        }
        stats[f"layers_{i}"] = {
            "norm": {
                "mean": (0.1 * rng.standard_normal(h)).astype(np.float32),
                "var": rng.uniform(0.5, 1.5, h).astype(np.float32),
            }
        }
    return params, stats


def discretize_zoh(seq: Params, *, step_rescale: float = 1.0, clip_eigs: bool = True):
    """``Λ̄ = exp(ΛΔ)``, ``B̄ = (Λ̄ − 1)/Λ · B̃`` in complex64, as the official ``setup``."""
    lam_re = seq["Lambda_re"]
    if clip_eigs:
        lam_re = jnp.clip(lam_re, None, CLIP_EIGS_MAX)
    lam = lam_re + 1j * seq["Lambda_im"]
    b_tilde = seq["B"][..., 0] + 1j * seq["B"][..., 1]
    step = step_rescale * jnp.exp(seq["log_step"][:, 0])
    lam_bar = jnp.exp(lam * step)
    b_bar = (1 / lam * (lam_bar - 1.0))[..., None] * b_tilde
    return lam_bar, b_bar


def _binary_operator(q_i, q_j):
    a_i, b_i = q_i
    a_j, b_j = q_j
    return a_j * a_i, a_j * b_i + b_j


def ssm_official(seq: Params, u: jax.Array) -> jax.Array:
    """The S5 SSM on one sequence ``u`` (L, H), bidirectional + conj_sym (official form)."""
    lam_bar, b_bar = discretize_zoh(seq)
    c_tilde = jnp.concatenate(
        [seq["C1"][..., 0] + 1j * seq["C1"][..., 1], seq["C2"][..., 0] + 1j * seq["C2"][..., 1]],
        axis=-1,
    )
    lam_elems = lam_bar * jnp.ones((u.shape[0], lam_bar.shape[0]))
    bu_elems = jax.vmap(lambda uk: b_bar @ uk)(u)
    _, xs = jax.lax.associative_scan(_binary_operator, (lam_elems, bu_elems))
    _, xs2 = jax.lax.associative_scan(_binary_operator, (lam_elems, bu_elems), reverse=True)
    xs = jnp.concatenate((xs, xs2), axis=-1)
    ys = jax.vmap(lambda x: 2 * (c_tilde @ x).real)(xs)
    du = jax.vmap(lambda uk: seq["D"] * uk)(u)
    return ys + du


def _dense(p: Params, x: jax.Array) -> jax.Array:
    return x @ p["kernel"] + p["bias"]


def batchnorm_eval(p: Params, stats: Params, x: jax.Array) -> jax.Array:
    """Flax ``BatchNorm(use_running_average=True)`` on the last axis."""
    inv = jax.lax.rsqrt(stats["var"] + BN_EPS)
    return (x - stats["mean"]) * inv * p["scale"] + p["bias"]


def sequence_layer(p: Params, stats: Params, x: jax.Array, ssm=ssm_official) -> jax.Array:
    """Prenorm BatchNorm → SSM → gelu → half_glu1 → residual, one sequence (L, H)."""
    skip = x
    x = batchnorm_eval(p["norm"], stats["norm"], x)
    x = ssm(p["seq"], x)
    x = jax.nn.gelu(x, approximate=True)
    x = x * jax.nn.sigmoid(_dense(p["out2"], x))
    return skip + x


def classifier_single(params: Params, stats: Params, x: jax.Array) -> jax.Array:
    """Log-probabilities for one sequence ``x`` (L, d_input)."""
    x = _dense(params["encoder"], x)
    i = 0
    while f"layers_{i}" in params:
        x = sequence_layer(params[f"layers_{i}"], stats[f"layers_{i}"], x)
        i += 1
    x = jnp.mean(x, axis=0)
    return jax.nn.log_softmax(_dense(params["decoder"], x))


def make_forward():
    """Jitted batched forward ``f(params, batch_stats, x (B, L, d_input)) -> (B, d_output)``."""
    return jax.jit(jax.vmap(classifier_single, in_axes=(None, None, 0)))
