"""Balanced plans → a smaller S5 / S4D parameter tree with the layers' own parameterisation.

A :class:`mor.BalancedPlan` reduces each layer by the
structure-preserving balanced truncation of :mod:`mor.after_update`: the reduced layer is
again diagonal, ``x[k] = Λ̄_r x[k−1] + B̄_r u[k]``, ``y[k] = C_r x[k] + D u[k]``, with the
same D.  This module writes it back as the model's own parameters:

- **units → stored modes.**  A conjugate-pair unit (λ̄, b̄, c) is one stored mode; a real
  unit (real λ̄) is a stored mode with a real pole and half its C column (its conjugate is
  itself: ``2·Re(c/2 · x) = c·x``).  Stored ``C̃ = c`` with ``conj_sym`` (output
  ``2·Re(C̃x)``) and ``2c`` without (output ``Re(C̃x)``), the inverse of
  :func:`ssm_bridge.extract`.
- **discrete → continuous, exactly.**  ZOH: ``λ = log(λ̄)/Δ``,
  ``B̃ = B̄ / (Δ·expm1(μ)/μ)`` with ``μ = λΔ``.  Bilinear: ``λ = (2/Δ)(λ̄ − 1)/(λ̄ + 1)``,
  ``B̃ = 2B̄ / (Δ(λ̄ + 1))``.  Both invert the forward pass's discretisation for any Δ > 0.
- **steps.**  S5 stores one Δ per mode: the geometric mean of the layer's original steps.
  S4D stores one Δ per channel: the channel's own.  With ``clip_eigs`` the forward pass
  clips ``Re λ`` at −1e-4, so a step is lowered where needed to keep ``Re λ ≤ −2e-4`` (a
  pole very close to the unit circle needs a small Δ); the discrete layer is unchanged.
- **S4D.**  Each reduced mode lies in one channel (:func:`mor.after_update.decoupled_blocks`);
  channels keep different numbers of modes and are padded with inert modes
  (``B = C = 0``, ``λ = −1``) to the layer's largest count, as removal does.

A reduced pole the parameterisation cannot hold — ZOH: a pole at 0 (``exp`` never is 0);
bilinear: a pole at −1; with ``clip_eigs``: ``|λ̄| ≥ 1`` — raises
:class:`UnrepresentableLayerError` naming the layer and the mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mor.balanced_selection import LayerReductor, apply_plan
from mor.exceptions import PlanMismatchError
from mor.plan import BalancedPlan
from mor.systems import ModalSystem
from ssm_bridge.apply import INERT_LAMBDA_RE, rewrapped
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import UnrepresentableLayerError
from ssm_bridge.extract import continuous_layer_parameters, extract
from ssm_bridge.layout import (
    copied_variables,
    layer_node,
    output_names,
    seq_params,
    validate_tree,
)
from ssm_bridge.ssm import CLIP_MAX

__all__ = ["apply_balanced", "reduced_layers", "seq_from_system"]

_CLIP_MARGIN = 2.0
"""Steps are chosen so that ``Re λ ≤ _CLIP_MARGIN · CLIP_MAX`` (clear of the clip)."""


def reduced_layers(systems: list[ModalSystem], plan: BalancedPlan, calibration: Any = None,
                   *, reductors: Sequence[LayerReductor] | None = None) -> list[ModalSystem]:
    """Each layer balanced-truncated to the plan's order, diagonal, with the same D.

    ``calibration`` (a :class:`ssm_bridge.calibration.Calibration`) is needed by plans of a
    calibrated method (:func:`mor.balanced_selection.apply_plan`).  ``reductors``
    (:func:`mor.balanced_selection.layer_reductors` of these layers) share each layer's
    balancing across plans.

    Raises
    ------
    mor.PlanMismatchError
        The plan is not a balanced plan for these layers, or a calibrated plan without its
        calibration.
    """
    if not isinstance(plan, BalancedPlan):
        raise PlanMismatchError(f"a {type(plan).__name__}; expected a mor.BalancedPlan")
    return apply_plan(plan, systems, None if calibration is None else calibration.layers,
                      reductors=reductors)


# ---------------------------------------------------------------------- one mode's numbers
def _as_pair_units(sys: ModalSystem) -> tuple[np.ndarray, ...]:
    """(poles, B rows, C columns, C_backward columns or None), every unit a pair unit."""
    half = np.where(sys.pair, 1.0, 0.5)
    cb = None if sys.C_backward is None else sys.C_backward * half
    return sys.poles, sys.B, sys.C * half, cb


def _log_poles(sys: ModalSystem) -> np.ndarray:
    return np.asarray(sys.log_poles if sys.log_poles is not None else np.log(sys.poles))


def _max_steps(poles: np.ndarray, logs: np.ndarray, config: StackConfig, layer: int
               ) -> np.ndarray:
    """Per mode, the largest Δ that keeps ``Re λ ≤ 2·CLIP_MAX`` (inf without clip_eigs)."""
    if config.discretization == "zoh":
        bad = np.flatnonzero(~np.isfinite(logs.real))
        if bad.size:
            i = int(bad[0])
            raise UnrepresentableLayerError(
                f"layer {layer}: reduced mode {i} has pole λ̄ = {poles[i]:.6g}; zero-order "
                "hold (λ̄ = exp(λΔ)) cannot hold a pole at 0; reduce to another order"
            )
        margin = -logs.real  # −Re μ = −Re(λΔ); Re λ = Re μ / Δ
    else:
        bad = np.flatnonzero(poles == -1)
        if bad.size:
            raise UnrepresentableLayerError(
                f"layer {layer}: reduced mode {int(bad[0])} has pole λ̄ = −1, which the "
                "bilinear map λ̄ = (1 + Δλ/2)/(1 − Δλ/2) reaches only at λ = ∞; reduce to "
                "another order"
            )
        margin = -2.0 * ((poles - 1.0) / (poles + 1.0)).real  # −Re(λΔ)
    if not config.clip_eigs:
        return np.full(poles.shape, np.inf)
    bad = np.flatnonzero(~(margin > 0))
    if bad.size:
        i = int(bad[0])
        raise UnrepresentableLayerError(
            f"layer {layer}: reduced mode {i} has pole λ̄ = {poles[i]:.6g} with |λ̄| ≥ 1; "
            f"with clip_eigs the layer clips Re λ at {CLIP_MAX:g}, so it cannot hold it; "
            "reduce to another order or turn clip_eigs off"
        )
    return margin / (-_CLIP_MARGIN * CLIP_MAX)


def _continuous(poles: np.ndarray, logs: np.ndarray, b_bar: np.ndarray, step: np.ndarray,
                method: str) -> tuple[np.ndarray, np.ndarray]:
    """(λ, B̃) whose discretisation with step Δ is (λ̄, B̄) exactly (module docstring)."""
    if method == "zoh":
        lam = logs / step
        safe = np.where(logs == 0, 1.0, logs)
        phi = np.where(logs == 0, 1.0, np.expm1(logs) / safe)
        return lam, b_bar / (step * phi)[:, None]
    w = (poles - 1.0) / (poles + 1.0)
    return 2.0 * w / step, 2.0 * b_bar / (step * (poles + 1.0))[:, None]


def _pair(values: np.ndarray, dtype) -> np.ndarray:
    return np.stack([values.real, values.imag], axis=-1).astype(dtype)


def _check_finite(arrays: Mapping[str, np.ndarray], layer: int) -> None:
    for name, arr in arrays.items():
        if not np.all(np.isfinite(arr)):
            raise UnrepresentableLayerError(
                f"layer {layer}: the reduced layer's {name} overflows the parameters' dtype "
                f"({arr.dtype}); reduce to another order"
            )


def _write_outputs(out: dict, config: StackConfig, c: np.ndarray, cb: np.ndarray | None,
                   dtype) -> None:
    names = output_names(config)
    if len(names) == 2:
        out[names[0]], out[names[1]] = _pair(c, dtype), _pair(cb, dtype)
    elif cb is not None:  # one C holding [C_f, C_b] (bidirectional, complex_normal)
        out["C"] = _pair(np.concatenate([c, cb], axis=1), dtype)
    else:
        out["C"] = _pair(c, dtype)


# ---------------------------------------------------------------------- S5 / S4D layers
def seq_from_system(seq: Mapping[str, Any], config: StackConfig, layer: int,
                    reduced: ModalSystem) -> tuple[dict, int]:
    """The ``seq`` parameters of a reduced layer, and its stored state size.

    Parameters
    ----------
    seq : dict
        The layer's original ``seq`` (dtypes, steps, D).
    config : S5Config or S4DConfig
    layer : int
        For messages.
    reduced : ModalSystem
        The reduced layer (after-update form, same D), e.g. from :func:`reduced_layers`.

    Raises
    ------
    UnrepresentableLayerError
        A reduced pole the layer's parameterisation cannot hold (module docstring).
    """
    if isinstance(config, S4DConfig):
        return _s4d_seq(seq, config, layer, reduced)
    return _s5_seq(seq, config, layer, reduced)


def _scale(config: StackConfig) -> float:
    """Stored C̃ = modal column / scale (extract's ``c``, or ``c/2`` without conj_sym)."""
    return 1.0 if config.conj_sym else 0.5


def _s5_seq(seq, config, layer, reduced) -> tuple[dict, int]:
    poles, b_bar, c, cb = _as_pair_units(reduced)
    logs = _log_poles(reduced)
    orig_step = np.asarray(continuous_layer_parameters(seq, config)["step"])
    ref = float(np.exp(np.mean(np.log(orig_step))))
    step = np.minimum(ref, _max_steps(poles, logs, config, layer))
    lam, b_tilde = _continuous(poles, logs, b_bar, step, config.discretization)
    out = _new_seq(seq, config, layer, lam, b_tilde, step, c / _scale(config),
                   None if cb is None else cb / _scale(config))
    return out, int(poles.size)


def _new_seq(seq, config, layer, lam, b_tilde, steps, c, cb) -> dict:
    """``seq`` with new Λ, B̃, steps and (stored) C̃, in the original dtypes, checked finite."""
    dtype = np.asarray(seq["Lambda_re"]).dtype
    out = dict(seq)
    out["Lambda_re"] = lam.real.astype(dtype)
    out["Lambda_im"] = lam.imag.astype(dtype)
    out["B"] = _pair(b_tilde, np.asarray(seq["B"]).dtype)
    out["log_step"] = np.log(steps / config.step_rescale)[:, None].astype(
        np.asarray(seq["log_step"]).dtype)
    _write_outputs(out, config, c, cb, np.asarray(seq[output_names(config)[0]]).dtype)
    _check_finite({k: out[k] for k in ("Lambda_re", "Lambda_im", "B", "log_step",
                                       *output_names(config))}, layer)
    return out


def _channel_of_units(reduced: ModalSystem) -> np.ndarray:
    """The channel of each unit of an S4D layer (−1: a unit with no input and no output)."""
    support = np.abs(reduced.B) > 0
    cols = np.abs(reduced.C.T) > 0
    if reduced.C_backward is not None:
        cols |= np.abs(reduced.C_backward.T) > 0
    channel = np.full(reduced.nunits, -1)
    for i in range(reduced.nunits):
        used = np.flatnonzero(support[i] | cols[i])
        if used.size > 1:
            raise UnrepresentableLayerError(
                f"{reduced.name or 'layer'}: reduced unit {i} couples channels "
                f"{used.tolist()[:4]}; an S4D layer's modes each serve one channel"
            )
        if used.size == 1:
            channel[i] = int(used[0])
    return channel


def _s4d_seq(seq, config, layer, reduced) -> tuple[dict, int]:
    H = config.d_model
    poles, b_bar, c, cb = _as_pair_units(reduced)
    logs = _log_poles(reduced)
    channel = _channel_of_units(reduced)
    members = [np.flatnonzero(channel == h) for h in range(H)]
    width = max(1, max(m.size for m in members))
    orig_step = np.asarray(continuous_layer_parameters(seq, config)["step"])[:, 0]
    limit = _max_steps(poles, logs, config, layer)
    lam = np.full((H, width), INERT_LAMBDA_RE + 0j)
    b_tilde = np.zeros((H, width), dtype=np.complex128)
    c_out = np.zeros((H, width), dtype=np.complex128)
    cb_out = None if cb is None else np.zeros((H, width), dtype=np.complex128)
    steps = np.empty(H)
    for h, units in enumerate(members):
        steps[h] = min(orig_step[h], float(np.min(limit[units], initial=np.inf)))
        if units.size == 0:
            continue
        k = units.size
        lam_h, b_h = _continuous(poles[units], logs[units], b_bar[units][:, [h]],
                                 np.full(k, steps[h]), config.discretization)
        lam[h, :k], b_tilde[h, :k] = lam_h, b_h[:, 0]
        c_out[h, :k] = c[h, units] / _scale(config)
        if cb_out is not None:
            cb_out[h, :k] = cb[h, units] / _scale(config)
    return _new_seq(seq, config, layer, lam, b_tilde, steps, c_out, cb_out), width


# ---------------------------------------------------------------------- the tree

def apply_balanced(tree: Mapping[str, Any], config: StackConfig, plan: BalancedPlan,
                   calibration: Any = None, *,
                   reductors: Sequence[LayerReductor] | None = None) -> tuple[dict, StackConfig]:
    """A balanced plan applied to a tree: every layer reduced and written back.

    ``reductors``: as :func:`reduced_layers` (made from ``extract(tree, config)``).

    Returns
    -------
    (tree, config)
        A new tree of numpy arrays (wrapped as the input was) and the config with the new
        state sizes (stored modes: one per conjugate pair or real pole of the reduced layer;
        S4D: the largest count over channels).

    Raises
    ------
    mor.PlanMismatchError
        The plan was made for another model.
    UnrepresentableLayerError
        A reduced pole the parameterisation cannot hold, naming the layer.
    """
    validate_tree(tree, config)
    systems = extract(tree, config)
    if plan.nlayers != config.n_layers:
        raise PlanMismatchError(
            f"the plan is for {plan.nlayers} layers but the model has {config.n_layers}; "
            "make the plan from this model (ssm_bridge.extract + mor.prune)"
        )
    reduced = reduced_layers(systems, plan, calibration, reductors=reductors)
    params, batch_stats, wrapped = copied_variables(tree)
    sizes = []
    for layer, sys_r in enumerate(reduced):
        node = layer_node(params, layer)
        node["seq"], size = seq_from_system(seq_params(params, layer), config, layer, sys_r)
        sizes.append(size)
    new_config = config.with_state_sizes(sizes)
    return rewrapped(tree, params, batch_stats, wrapped), new_config
