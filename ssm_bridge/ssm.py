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

Every function works on one batch of sequences, ``u`` of shape (batch, L, H).  The states
are computed in real arithmetic (real and imaginary parts side by side, forward and
backward scans in one recurrence; :mod:`ssm_bridge.scan`), and a layer is split in two
halves, *states* and *readout*, so that :mod:`ssm_bridge.sweep` can read one set of states
out under many masks.  A mask over stored modes multiplies the columns of C̃ (a masked mode
then contributes nothing to the output, exactly as a removed one).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ssm_bridge import scan

__all__ = [
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


def s5_states(lambda_bar, b_bar, u, *, bidirectional: bool, method: str = "auto") -> jax.Array:
    """States of an S5 layer, ``x[k] = λ̄ ⊙ x[k−1] + B̄ u[k]``, in real arithmetic.

    Parameters
    ----------
    lambda_bar : complex array, shape (P,)
    b_bar : complex array, shape (P, H)
    u : real array, shape (batch, L, H)
    bidirectional : bool
        Also run the recurrence backwards in time.
    method : str
        Recurrence kernel (:func:`ssm_bridge.scan.diagonal_recurrence`).

    Returns
    -------
    real array, shape (L, batch, F)
        State features ``[Re x_f, Im x_f, Re x_b, Im x_b]``, time first, the state count
        padded to a multiple of 8 (:func:`ssm_bridge.scan.s5_state_features`).
    """
    return scan.s5_state_features(lambda_bar, b_bar, u, bidirectional=bidirectional,
                                  method=method)


def s5_readout(features, c_fwd, c_bwd, d, u, *, conj_sym: bool, mask=None):
    """Output of an S5 layer: ``y = f·Re(C̃_f x_f + C̃_b x_b) + D ⊙ u``.

    Parameters
    ----------
    features : real array, shape (L, batch, F), from :func:`s5_states`
    c_fwd, c_bwd : complex arrays, shape (H, P) (``c_bwd`` None when unidirectional)
    d : real array, shape (H,)
    u : real array, shape (batch, L, H)
    conj_sym : bool
        ``f = 2`` (one stored mode per conjugate pair), else 1.
    mask : real array, shape (P,), optional
        Multiplies the columns of C̃ (0 = pruned mode).

    Returns
    -------
    real array, shape (batch, L, H)
    """
    w_out = scan.s5_readout_matrix(c_fwd, c_bwd, conj_sym=conj_sym, mask=mask,
                                   dtype=features.dtype)
    return scan.apply_readout_matrix(features, w_out, d, u)


def s4d_states(lambda_bar, b_bar, u, *, bidirectional: bool, method: str = "auto") -> jax.Array:
    """States of an S4D layer: per channel h and mode n, ``x[k] = λ̄_hn x[k−1] + B̄_hn u_h[k]``.

    Parameters
    ----------
    lambda_bar, b_bar : complex arrays, shape (H, N)
    u : real array, shape (batch, L, H)
    method : str
        Recurrence kernel (:func:`ssm_bridge.scan.diagonal_recurrence`).

    Returns
    -------
    real array, shape (L, batch, 2·H·N·d)
        ``[Re x_f, Im x_f, Re x_b, Im x_b]`` over channel-major units, time first
        (d = 2 when bidirectional; :func:`ssm_bridge.scan.recurrence_features`).
    """
    H, N = lambda_bar.shape
    ut = jnp.moveaxis(u, 1, 0)[..., None]  # (L, batch, H, 1)
    rdtype = jnp.result_type(jnp.real(b_bar).dtype, u.dtype)
    bu_re = (ut * jnp.real(b_bar)).astype(rdtype).reshape(*ut.shape[:2], H * N)
    bu_im = (ut * jnp.imag(b_bar)).astype(rdtype).reshape(*ut.shape[:2], H * N)
    return scan.recurrence_features(lambda_bar.reshape(H * N), bu_re, bu_im,
                                    bidirectional=bidirectional, method=method)


def s4d_readout(features, c_fwd, c_bwd, d, u, *, conj_sym: bool, mask=None):
    """Output of an S4D layer: ``y_h = f·Re(Σ_n C_hn x_hn (+ backward)) + D_h u_h``.

    ``features``: (L, batch, F) from :func:`s4d_states`; ``c_fwd``, ``c_bwd``: complex
    (H, N); ``mask``: real (H·N,) over channel-major units.  Returns (batch, L, H).
    """
    H, N = c_fwd.shape
    scale = 2.0 if conj_sym else 1.0
    weights = []
    for cm in [c_fwd] if c_bwd is None else [c_fwd, c_bwd]:
        if mask is not None:
            cm = cm * mask.astype(jnp.real(cm).dtype).reshape(H, N)
        weights += [scale * jnp.real(cm), -scale * jnp.imag(cm)]
    w = jnp.stack(weights).astype(features.dtype)  # (blocks, H, N)
    x = features.reshape(*features.shape[:2], len(weights), H, N)
    # multiply and sum rather than einsum: XLA's CPU dot with H as a batch axis was 2× slower
    y = jnp.sum(x * w, axis=(2, 4))  # (L, batch, H)
    return jnp.moveaxis(y, 0, 1) + (d * u).astype(y.dtype)
