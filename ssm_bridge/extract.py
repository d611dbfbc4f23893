"""Parameter tree → one :class:`mor.ModalSystem` per layer, discretised as the forward pass does.

Per S5 layer (official conventions, :mod:`ssm_bridge.ssm`), in float64:

- ``λ = clip(Lambda_re, max=−1e-4) + j·Lambda_im`` if ``clip_eigs``;
  ``Δ = step_rescale·exp(log_step)``;
- ``λ̄``, ``B̄`` by ZOH or bilinear (:meth:`mor.ModalSystem.from_continuous_parameters`);
- every stored mode is a *pair unit* (``pair=True``): with ``conj_sym`` the layer outputs
  ``2·Re(C̃ x)``, which is exactly a pair unit with column ``c``; without ``conj_sym`` it
  outputs ``Re(C̃ x)``, a pair unit with column ``c/2``;
- bidirectional: ``C_backward = C2`` (``C = C1``), same λ̄ and B̄; with
  ``c_init="complex_normal"`` the single ``C`` (H, 2P, 2) is split into its first and last
  P columns;
- ``D → diag(D)``; ``output_after_update=True``
  (``x[k] = λ̄x[k−1] + B̄u[k]``, ``y[k] = Cx[k] + Du[k]``).

A mode with ``Re λ ≥ 0`` (possible without ``clip_eigs``; the forward pass still runs) is
extracted as it is (``allow_unstable=True``), with an :class:`mor.UnstableModeWarning`
naming the layer and the mode: pruning keeps it (score +∞), norms and certificates of its
layer cover the stable part only.

Per S4D layer: one system with H·N pair units in channel-major order (unit ``h·N + n``):
B row ``e_hᵀ·B̄_hn``, C column ``e_h·C_hn`` (multi-SISO as one block-structured MIMO system).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from mor.exceptions import UnstableModeWarning
from mor.systems import ModalSystem
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.layout import output_pairs, seq_params, split_variables, validate_tree
from ssm_bridge.ssm import CLIP_MAX

__all__ = ["continuous_layer_parameters", "extract"]

def _c128(pair: np.ndarray) -> np.ndarray:
    return pair[..., 0] + 1j * pair[..., 1]


def continuous_layer_parameters(seq: Mapping[str, Any], config: StackConfig) -> dict[str, Any]:
    """Float64 continuous-time data of one layer's ``seq`` dict, as the forward pass reads it.

    Returns
    -------
    dict with ``Lambda`` (complex, (P,) or (H, N)), ``B`` (complex, (P, H) or (H, N)),
    ``C`` and ``C_backward`` (complex, (H, P) or (H, N); None when unidirectional),
    ``D`` (H,) and ``step`` (Δ, shape of ``Lambda``).
    """
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in seq.items()}
    re = np.minimum(f64["Lambda_re"], CLIP_MAX) if config.clip_eigs else f64["Lambda_re"]
    lam = re + 1j * f64["Lambda_im"]
    if isinstance(config, S4DConfig):
        step = np.broadcast_to(config.step_rescale * np.exp(f64["log_step"]), lam.shape)
    else:
        step = config.step_rescale * np.exp(f64["log_step"][:, 0])
    c_fwd, c_bwd = output_pairs(f64, config)
    c, cb = _c128(c_fwd), None if c_bwd is None else _c128(c_bwd)
    return {"Lambda": lam, "B": _c128(f64["B"]), "C": c, "C_backward": cb, "D": f64["D"],
            "step": np.array(step)}


def _layer_system(seq: Mapping[str, Any], config: StackConfig, layer: int) -> ModalSystem:
    data = continuous_layer_parameters(seq, config)
    scale = 1.0 if config.conj_sym else 0.5
    lam, b, c, cb, d, step = (data[k] for k in ("Lambda", "B", "C", "C_backward", "D", "step"))
    H = config.d_model
    if isinstance(config, S4DConfig):
        N = lam.shape[1]
        units = H * N
        channel = np.repeat(np.arange(H), N)
        B = np.zeros((units, H), dtype=np.complex128)
        B[np.arange(units), channel] = b.reshape(units)
        C = np.zeros((H, units), dtype=np.complex128)
        C[channel, np.arange(units)] = c.reshape(units)
        Cb = None
        if cb is not None:
            Cb = np.zeros((H, units), dtype=np.complex128)
            Cb[channel, np.arange(units)] = cb.reshape(units)
        lam, step, c, cb, b = lam.reshape(units), step.reshape(units), C, Cb, B
    _warn_unstable(lam, config, layer)
    return ModalSystem.from_continuous_parameters(
        lam,
        b,
        scale * c,
        np.diag(d),
        step=step,
        method=config.discretization,
        C_backward=None if cb is None else scale * cb,
        pair=True,
        output_after_update=True,
        name=f"layer {layer}",
        allow_unstable=True,
    )


def _warn_unstable(lam: np.ndarray, config: StackConfig, layer: int) -> None:
    bad = np.flatnonzero(~(lam.real < 0))
    if bad.size:
        i = int(bad[0])
        what = "unit" if isinstance(config, S4DConfig) else "mode"
        warnings.warn(
            f"layer {layer}: {what}(s) {bad.tolist()[:8]}{' ...' if bad.size > 8 else ''} "
            f"have Re λ ≥ 0 (e.g. {what} {i}: λ = {lam[i]:.6g}; clip_eigs is off): "
            "not stable; they are kept by every pruning method (score +inf) and the layer's "
            "norms and certificates cover its stable part only",
            UnstableModeWarning,
            stacklevel=4,
        )


def extract(tree: Mapping[str, Any], config: StackConfig) -> list[ModalSystem]:
    """One discrete-time layer system per sequence layer of an S5/S4D stack.

    Parameters
    ----------
    tree : dict
        The ``params`` collection or the full variables ``{"params": ..., ...}``.
    config : S5Config or S4DConfig
        The model's hyper-parameters (they decide Δ scaling, clipping, discretisation,
        ``conj_sym`` and direction).

    Returns
    -------
    list of ModalSystem
        Layer l has ``config.nunits[l]`` pair units, ``dt = 1``,
        ``output_after_update=True`` and, if bidirectional, ``C_backward``; its transfer
        function is that of the layer's SSM from its (normalised) input to its output
        (before the activation).

    Raises
    ------
    LayoutError, NonFiniteParameterError
        When the tree is not the stack ``config`` describes (the message names the layer
        and the parameter).

    Warns
    -----
    mor.UnstableModeWarning
        A mode with ``Re λ ≥ 0`` (``clip_eigs`` off), naming the layer and the mode; it is
        extracted as it is (the system has ``allow_unstable=True``).

    Examples
    --------
    >>> import jax
    >>> from ssm_bridge import S5Config, init_variables
    >>> cfg = S5Config(d_model=4, n_layers=2, state_sizes=(3, 2))
    >>> systems = extract(init_variables(cfg, key=jax.random.PRNGKey(0)), cfg)
    >>> [s.nunits for s in systems]
    [3, 2]
    """
    validate_tree(tree, config)
    params, _, _ = split_variables(tree)
    return [_layer_system(seq_params(params, i), config, i) for i in range(config.n_layers)]
