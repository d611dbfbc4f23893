"""Pure JAX functions of one S5 or S4D sequence-mixing layer (no parameters held here).

Conventions (official S5, Smith et al. 2023, ``s5/ssm.py``; MATH.md §1):

- ``Λ = clip(Lambda_re, max=−1e-4) + j·Lambda_im`` when ``clip_eigs``, else
  ``Lambda_re + j·Lambda_im``; ``B̃ = B[..., 0] + j·B[..., 1]``, C̃ likewise;
  ``Δ = step_rescale · exp(log_step)``;
- ZOH: ``λ̄ = exp(λΔ)``, ``B̄ = (λ̄ − 1)/λ · B̃``; bilinear: ``λ̄ = (1 + Δλ/2)/(1 − Δλ/2)``,
  ``B̄ = Δ/(1 − Δλ/2) · B̃`` (S5 eq. 6 and appendix);
- ``x[k] = λ̄ ⊙ x[k−1] + B̄ u[k]`` (and, bidirectional, a second scan backwards in time
  with the same λ̄, B̄); ``y[k] = f·Re(C̃_f x_f[k] + C̃_b x_b[k]) + D ⊙ u[k]`` with
  ``f = 2`` under ``conj_sym`` and 1 otherwise.

Every function works on one batch of sequences, ``u`` of shape (batch, L, H), and takes an
optional mask over stored modes that multiplies the columns of C̃ (a masked mode then
contributes nothing to the output, exactly as a removed one).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ssm_bridge.scan import diagonal_recurrence

__all__ = [
    "SSMStates",
    "continuous_lambda",
    "discretize",
    "s4d_readout",
    "s4d_states",
    "s5_readout",
    "s5_states",
    "to_complex",
]

CLIP_MAX = -1e-4
"""Upper bound of Re λ with ``clip_eigs`` (official S5)."""


class SSMStates(NamedTuple):
    """Forward (and backward) states of a layer, complex, shape (batch, L, units)."""

    forward: jax.Array
    backward: jax.Array | None


def to_complex(pair: jax.Array) -> jax.Array:
    """``x[..., 0] + j·x[..., 1]`` (the official storage of complex B̃ and C̃)."""
    return jax.lax.complex(pair[..., 0], pair[..., 1])


def continuous_lambda(lambda_re: jax.Array, lambda_im: jax.Array, *, clip_eigs: bool):
    """Continuous-time poles ``Λ``, clipped to ``Re λ ≤ −1e-4`` when ``clip_eigs``."""
    re = jnp.minimum(lambda_re, CLIP_MAX) if clip_eigs else lambda_re
    return jax.lax.complex(re, lambda_im)


def discretize(lam: jax.Array, b_tilde: jax.Array, step: jax.Array, method: str):
    """Discretise diagonal continuous-time parameters with per-mode steps.

    Parameters
    ----------
    lam : complex array, shape (...,)
        Continuous-time poles.
    b_tilde : complex array, shape (..., m)
        B rows (m inputs per mode; S4D: m = 1).
    step : real array, broadcastable to ``lam``
        Δ per mode.
    method : {"zoh", "bilinear"}

    Returns
    -------
    lambda_bar : complex array, shape of ``lam``
    b_bar : complex array, shape of ``b_tilde``
    """
    step = step.astype(lam.real.dtype)
    if method == "zoh":
        lambda_bar = jnp.exp(lam * step)
        b_bar = ((lambda_bar - 1.0) / lam)[..., None] * b_tilde
    elif method == "bilinear":
        bl = 1.0 / (1.0 - (step / 2.0) * lam)
        lambda_bar = bl * (1.0 + (step / 2.0) * lam)
        b_bar = (bl * step)[..., None] * b_tilde
    else:  # validated in the config
        raise ValueError(f"unknown discretization {method!r}")
    return lambda_bar, b_bar


def _scan_batch(lambda_bar: jax.Array, bu: jax.Array, reverse: bool) -> jax.Array:
    return jax.vmap(lambda v: diagonal_recurrence(lambda_bar, v, reverse=reverse, method="auto"))(
        bu
    )


def s5_states(lambda_bar, b_bar, u, *, bidirectional: bool) -> SSMStates:
    """States of an S5 layer: ``x[k] = λ̄ ⊙ x[k−1] + B̄ u[k]``.

    Parameters
    ----------
    lambda_bar : complex array, shape (P,)
    b_bar : complex array, shape (P, H)
    u : real array, shape (batch, L, H)
    bidirectional : bool
        Also run the recurrence backwards in time.

    Returns
    -------
    SSMStates with complex arrays of shape (batch, L, P).
    """
    bu = jnp.einsum("blh,ph->blp", u.astype(b_bar.dtype), b_bar)
    fwd = _scan_batch(lambda_bar, bu, False)
    bwd = _scan_batch(lambda_bar, bu, True) if bidirectional else None
    return SSMStates(fwd, bwd)


def s5_readout(states: SSMStates, c_fwd, c_bwd, d, u, *, factor: float, mask=None):
    """Output of an S5 layer: ``y = f·Re(C̃_f x_f + C̃_b x_b) + D ⊙ u``.

    Parameters
    ----------
    states : SSMStates, arrays (batch, L, P)
    c_fwd, c_bwd : complex arrays, shape (H, P) (``c_bwd`` None when unidirectional)
    d : real array, shape (H,)
    u : real array, shape (batch, L, H)
    factor : float
        2 under ``conj_sym``, else 1.
    mask : real array, shape (P,), optional
        Multiplies the columns of C̃ (0 = pruned mode).

    Returns
    -------
    real array, shape (batch, L, H)
    """
    if mask is not None:
        m = mask.astype(c_fwd.real.dtype)
        c_fwd = c_fwd * m
        c_bwd = None if c_bwd is None else c_bwd * m
    y = jnp.einsum("blp,hp->blh", states.forward, c_fwd)
    if states.backward is not None:
        y = y + jnp.einsum("blp,hp->blh", states.backward, c_bwd)
    return factor * jnp.real(y) + d * u


def s4d_states(lambda_bar, b_bar, u, *, bidirectional: bool) -> SSMStates:
    """States of an S4D layer: per channel h and mode n, ``x[k] = λ̄_hn x[k−1] + B̄_hn u_h[k]``.

    Parameters
    ----------
    lambda_bar, b_bar : complex arrays, shape (H, N)
    u : real array, shape (batch, L, H)

    Returns
    -------
    SSMStates with complex arrays of shape (batch, L, H·N) (channel-major units).
    """
    H, N = lambda_bar.shape
    bu = (u.astype(b_bar.dtype)[..., None] * b_bar).reshape(u.shape[0], u.shape[1], H * N)
    lam = lambda_bar.reshape(H * N)
    fwd = _scan_batch(lam, bu, False)
    bwd = _scan_batch(lam, bu, True) if bidirectional else None
    return SSMStates(fwd, bwd)


def s4d_readout(states: SSMStates, c_fwd, c_bwd, d, u, *, factor: float, mask=None):
    """Output of an S4D layer: ``y_h = f·Re(Σ_n C_hn x_hn (+ backward)) + D_h u_h``.

    ``c_fwd``, ``c_bwd``: complex (H, N); ``mask``: real (H·N,) over channel-major units.
    Returns a real array of shape (batch, L, H).
    """
    H, N = c_fwd.shape
    if mask is not None:
        m = mask.astype(c_fwd.real.dtype).reshape(H, N)
        c_fwd = c_fwd * m
        c_bwd = None if c_bwd is None else c_bwd * m
    shape = (*states.forward.shape[:2], H, N)
    y = jnp.einsum("blhn,hn->blh", states.forward.reshape(shape), c_fwd)
    if states.backward is not None:
        y = y + jnp.einsum("blhn,hn->blh", states.backward.reshape(shape), c_bwd)
    return factor * jnp.real(y) + d * u
