"""A numpy model of deep SSM stacks, to evaluate the papers' network-level claims.

Float64, no JAX.  Sequences are arrays of shape (length, channels), one example.

Each layer runs by :meth:`mor.ModalSystem.simulate` (the exact recurrence, zero initial
state, standard or S5 output-after-update convention, both directions).
- :func:`paper_stack`: the model of last §3.2, ``f(u) = σ(Σ_L(… σ(Σ_1(u))))``.
- :func:`s5_block`: one S5 ``SequenceLayer`` as released (lindermanlab/S5 ``s5/layers.py``):
  optional pre-LayerNorm, the SSM, GELU, a GLU variant, and the residual connection.

Activations and their real Lipschitz constants (the proofs of last B.2–B.3 and
aire-prune B.1 assume a 1-Lipschitz σ with σ(0) = 0):

============= ======================= ==========================================
activation    Lipschitz constant      note
============= ======================= ==========================================
identity      1                       σ(0) = 0
relu          1                       σ(0) = 0
gelu (erf)    1.128904…               max of Φ(x) + xφ(x), at x = √2; σ(0) = 0
gelu (tanh)   1.128993…               jax.nn.gelu default, used by S5
half_glu1     none (not global)       x ⊙ sigmoid(Wx): locally ≤ 1 + ‖x‖∞‖W‖₂/4
full_glu      none (not global)       (W₁x) ⊙ sigmoid(W₂x)
layer norm    none (not global)       blows up as the channel variance → 0
residual      1 + Lip(branch)         and block(0) ≠ 0 once a norm has a bias
============= ======================= ==========================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.special import erf

from mor.systems import ModalSystem
from verification.bounds import GELU_LIPSCHITZ, GELU_TANH_LIPSCHITZ

__all__ = [
    "ACTIVATIONS",
    "LIPSCHITZ",
    "gelu",
    "gelu_tanh",
    "glu",
    "layer_norm",
    "paper_stack",
    "s5_block",
]


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU ``x Φ(x)`` (Hendrycks & Gimpel 2016)."""
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """The tanh approximation of GELU (``jax.nn.gelu(approximate=True)``, S5's ``nn.gelu``)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _identity(x: np.ndarray) -> np.ndarray:
    return x


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": _identity,
    "relu": _relu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
}

LIPSCHITZ: dict[str, float] = {
    "identity": 1.0,
    "relu": 1.0,
    "gelu": GELU_LIPSCHITZ,
    "gelu_tanh": GELU_TANH_LIPSCHITZ,
}
"""Global Lipschitz constants of the elementwise activations (see the module table)."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def paper_stack(
    systems: Sequence[ModalSystem], u: np.ndarray, activation: str = "gelu"
) -> np.ndarray:
    """The model of last §3.2: ``f(u; Σ^(1:L)) = σ(Σ^(L)(… σ(Σ^(1)(u))))``."""
    sigma = ACTIVATIONS[activation]
    x = np.asarray(u, dtype=np.float64)
    for sys in systems:
        x = sigma(sys.simulate(x))
    return x


def layer_norm(x: np.ndarray, *, eps: float = 1e-6, scale=None, bias=None) -> np.ndarray:
    """LayerNorm over channels (Flax default eps 1e-6), per time step."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if scale is not None:
        y = y * scale
    if bias is not None:
        y = y + bias
    return y


def glu(x: np.ndarray, variant: str, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """S5's gating after the SSM, for ``variant`` in full_glu, half_glu1, half_glu2, gelu.

    ``full_glu``: ``(W1 g) ⊙ sigmoid(W2 g)`` with g = gelu(x); ``half_glu1``:
    ``g ⊙ sigmoid(W2 g)``; ``half_glu2``: ``x ⊙ sigmoid(W2 g)``; ``gelu``: g.
    (Dense biases are zero here.)
    """
    g = gelu_tanh(x)
    if variant == "full_glu":
        return (g @ W1.T) * _sigmoid(g @ W2.T)
    if variant == "half_glu1":
        return g * _sigmoid(g @ W2.T)
    if variant == "half_glu2":
        return x * _sigmoid(g @ W2.T)
    if variant == "gelu":
        return g
    raise ValueError(f"unknown activation {variant!r}")


def s5_block(
    sys: ModalSystem,
    x: np.ndarray,
    *,
    variant: str = "half_glu1",
    W1: np.ndarray | None = None,
    W2: np.ndarray | None = None,
    prenorm: bool = True,
    norm: bool = True,
    residual: bool = True,
) -> np.ndarray:
    """One S5 SequenceLayer: ``x + GLU(SSM(norm(x)))`` (prenorm) in float64.

    ``prenorm=False`` applies the LayerNorm after the residual sum instead;
    ``norm=False`` and ``residual=False`` remove those parts (to isolate the gate).
    """
    h = x.shape[-1]
    W1 = np.eye(h) if W1 is None else W1
    W2 = np.eye(h) if W2 is None else W2
    z = layer_norm(x) if (norm and prenorm) else x
    z = glu(sys.simulate(z), variant, W1, W2)
    out = x + z if residual else z
    return layer_norm(out) if (norm and not prenorm) else out
