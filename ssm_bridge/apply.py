"""Plan → model: masked parameter tree (same shapes) or a dimension-reduced one.

``mode="mask"`` zeroes, for every pruned unit, its B̃ row and its C̃ column(s): the pruned
states are then identically zero and contribute nothing, and the tree keeps its shapes
(what the released pruning code does, there inside the forward pass).

``mode="remove"`` deletes the pruned units: a new, smaller tree and a config with the new
per-layer state sizes.  For S4D, where units are (channel, mode) pairs and each channel may
keep a different number of modes, every channel of a layer is padded to the layer's largest
kept count with *inert* modes (``B = C = 0``, ``λ = −1``), so the layer stays a regular
(H, N') array; the padded modes contribute exactly zero.

In both modes a plan keeping every unit returns arrays equal to the input, so ratio 0
reproduces the original model exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from mor.balanced_selection import LayerReductor
from mor.exceptions import PlanMismatchError
from mor.plan import BalancedPlan, KeepPlan
from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import ConfigError
from ssm_bridge.layout import (
    copied_variables,
    join_variables,
    layer_node,
    output_column_mask,
    output_names,
    validate_tree,
)

__all__ = ["apply", "plan_masks", "rewrapped"]

INERT_LAMBDA_RE = -1.0
"""Re λ of the inert modes that pad S4D channels after removal."""


def plan_masks(plan: KeepPlan, config: StackConfig) -> list[np.ndarray]:
    """Per layer, a boolean array over units (True = kept), after checking the plan fits.

    Raises
    ------
    mor.PlanMismatchError
        The plan was made for another model (layer count or units per layer differ), or
        it is a balanced-truncation plan: it changes each layer's state basis, so no mask
        over the original states represents it (apply it with ``mode="remove"``).
    """
    if isinstance(plan, BalancedPlan):
        raise PlanMismatchError(
            f"plan of kind {plan.kind!r} ({plan.method}) has no mask: balanced truncation "
            "changes each layer's state basis, so zeroing some of the original states does "
            "not represent it; apply it with mode='remove', which writes the reduced "
            "(re-diagonalised, same D) layers into a smaller tree"
        )
    if not isinstance(plan, KeepPlan):
        raise PlanMismatchError(f"expected a mor.KeepPlan; got {type(plan).__name__}")
    if plan.nlayers != config.n_layers:
        raise PlanMismatchError(
            f"the plan is for {plan.nlayers} layers but the model has {config.n_layers}; "
            "make the plan from this model (ssm_bridge.extract + mor.prune)"
        )
    masks = []
    for layer, (kept, n) in enumerate(zip(plan.keep, plan.nunits, strict=True)):
        want = config.nunits[layer]
        if n != want:
            raise PlanMismatchError(
                f"layer {layer}: the plan is for {n} units but the model has {want}; "
                "make the plan from this model (ssm_bridge.extract + mor.prune)"
            )
        m = np.zeros(n, dtype=bool)
        m[list(kept)] = True
        masks.append(m)
    return masks



def _mask_seq(seq: dict, mask: np.ndarray, config: StackConfig) -> dict:
    out = dict(seq)
    c_names = output_names(config)
    if isinstance(config, S4DConfig):
        m = mask.reshape(config.d_model, -1)[..., None]  # (H, N, 1)
        out["B"] = np.where(m, seq["B"], 0).astype(seq["B"].dtype)
        for name in c_names:
            out[name] = np.where(m, seq[name], 0).astype(seq[name].dtype)
    else:
        out["B"] = np.where(mask[:, None, None], seq["B"], 0).astype(seq["B"].dtype)
        for name in c_names:
            cols = output_column_mask(config, name, mask)
            out[name] = np.where(cols[None, :, None], seq[name], 0).astype(seq[name].dtype)
    return out


def _remove_seq(seq: dict, mask: np.ndarray, config: StackConfig) -> tuple[dict, int]:
    out = dict(seq)
    c_names = output_names(config)
    if not isinstance(config, S4DConfig):
        keep = np.flatnonzero(mask)
        for name in ("Lambda_re", "Lambda_im", "log_step", "B"):
            out[name] = seq[name][keep]
        for name in c_names:
            out[name] = seq[name][:, np.flatnonzero(output_column_mask(config, name, mask))]
        return out, int(keep.size)
    H = config.d_model
    m = mask.reshape(H, -1)
    width = int(m.sum(axis=1).max())
    new = {
        "Lambda_re": np.full((H, width), INERT_LAMBDA_RE, dtype=seq["Lambda_re"].dtype),
        "Lambda_im": np.zeros((H, width), dtype=seq["Lambda_im"].dtype),
        "B": np.zeros((H, width, 2), dtype=seq["B"].dtype),
    }
    for name in c_names:
        new[name] = np.zeros((H, width, 2), dtype=seq[name].dtype)
    for h in range(H):
        keep = np.flatnonzero(m[h])
        for name in new:
            new[name][h, : keep.size] = seq[name][h, keep]
    out.update(new)
    return out, width


def rewrapped(tree: Mapping[str, Any], params: dict, batch_stats: Any, wrapped: bool) -> dict:
    """New params (and batch stats) wrapped as ``tree`` was, its other collections copied.

    The inverse of :func:`ssm_bridge.layout.copied_variables` for a rewritten ``params``.
    """
    out = join_variables(params, batch_stats) if wrapped else params
    if wrapped:
        for key in tree:
            if key not in out:
                out[key] = copy.deepcopy(tree[key])
    return out


def apply(
    tree: Mapping[str, Any],
    config: StackConfig,
    plan: KeepPlan | BalancedPlan,
    mode: Literal["mask", "remove"] = "mask",
    *,
    calibration: Any = None,
    reductors: Sequence[LayerReductor] | None = None,
) -> tuple[dict, StackConfig]:
    """Apply a plan to a parameter tree.

    Parameters
    ----------
    tree : dict
        The ``params`` collection or the full variables (``batch_stats`` is carried over).
    config : S5Config or S4DConfig
    plan : mor.KeepPlan or mor.BalancedPlan
        Made from ``extract(tree, config)`` (``plan.nunits`` must equal ``config.nunits``).
    mode : {"mask", "remove"}
        ``"mask"``: same shapes, pruned units' B̃ rows and C̃ columns set to 0.
        ``"remove"``: pruned units deleted; the returned config has the new state sizes.
        A :class:`mor.BalancedPlan` is applied by
        :func:`ssm_bridge.balanced.apply_balanced`: each layer balanced-truncated,
        re-diagonalised with the same D and written back as the model's own parameters;
        it has no ``"mask"`` form (a change of basis).
    calibration : ssm_bridge.calibration.Calibration, optional
        Needed by ``balanced_truncation_calibrated`` plans (saved beside such a plan).
    reductors : sequence of mor.balanced_selection.LayerReductor, optional
        A balanced plan: :func:`mor.balanced_selection.layer_reductors` of
        ``extract(tree, config)``, to balance each layer once over many plans.

    Returns
    -------
    (tree, config)
        A new tree of numpy arrays, wrapped as the input was (params or variables), and
        the matching config (unchanged for ``"mask"``).  The input is not modified.

    Raises
    ------
    mor.PlanMismatchError
        A plan made for another model, or a balanced-truncation plan with ``mode="mask"``.
    UnrepresentableLayerError
        A balanced plan whose reduced layer has a pole the parameterisation cannot hold.
    LayoutError, NonFiniteParameterError
        A tree that is not the stack ``config`` describes.
    ConfigError
        An unknown mode.
    """
    if mode not in ("mask", "remove"):
        raise ConfigError(f"mode = {mode!r}; expected 'mask' or 'remove'")
    if isinstance(plan, BalancedPlan) and mode == "remove":
        from ssm_bridge.balanced import apply_balanced

        return apply_balanced(tree, config, plan, calibration, reductors=reductors)
    validate_tree(tree, config)
    masks = plan_masks(plan, config)
    params, batch_stats, wrapped = copied_variables(tree)
    sizes = []
    for layer, mask in enumerate(masks):
        node = layer_node(params, layer)
        if mode == "mask":
            node["seq"] = _mask_seq(node["seq"], mask, config)
            sizes.append(config.state_sizes[layer])
        else:
            node["seq"], size = _remove_seq(node["seq"], mask, config)
            sizes.append(size)
    new_config = config if mode == "mask" else config.with_state_sizes(sizes)
    return rewrapped(tree, params, batch_stats, wrapped), new_config
