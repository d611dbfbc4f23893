"""The diagonal linear recurrence at the heart of S5/S4D layers, as pure JAX functions.

``x[k] = λ̄ ⊙ x[k−1] + bu[k]`` (forward) or ``x[k] = λ̄ ⊙ x[k+1] + bu[k]`` (reverse),
with x[−1] = 0.  The reference implementation is ``jax.lax.associative_scan`` in complex
arithmetic, exactly as the official S5 code computes it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _combine(left, right):
    a_l, b_l = left
    a_r, b_r = right
    return a_r * a_l, a_r * b_l + b_r


def diagonal_recurrence(lambda_bar: jax.Array, bu: jax.Array, *, reverse: bool = False) -> jax.Array:
    """States of the diagonal recurrence for one sequence.

    Parameters
    ----------
    lambda_bar : complex array, shape (P,)
        Discrete-time poles.
    bu : complex array, shape (L, P)
        Input term ``B̄ u[k]`` per step.
    reverse : bool
        Run the recurrence backwards in time (the backward half of a bidirectional layer).

    Returns
    -------
    complex array, shape (L, P)
    """
    a = jnp.broadcast_to(lambda_bar, bu.shape)
    _, xs = jax.lax.associative_scan(_combine, (a, bu), reverse=reverse)
    return xs
