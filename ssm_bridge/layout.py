"""The parameter layout of S5 and S4D stacks, in one place: names, nesting and shapes.

S5 follows the official tree (lindermanlab/S5, ``ClassificationModel`` around a
``StackedEncoderModel``; see ``shared/reference/ANCHORS.md``)::

    params/
      encoder/
        encoder/            Dense d_input → H          kernel (d_input, H), bias (H,)
        layers_{l}/
          seq/              the SSM of layer l (below)
          norm/             BatchNorm or LayerNorm     scale (H,), bias (H,)
          out1/, out2/      Dense H → H (GLU variants)  kernel (H, H), bias (H,)
      decoder/              Dense H → n_classes        kernel (H, n_classes), bias (n_classes,)
    batch_stats/encoder/layers_{l}/norm/{mean, var}    (H,)   (BatchNorm only)

``seq`` of an S5 layer, P stored modes (halved when ``conj_sym``):

============ ============ ===============================================
name         shape        meaning
============ ============ ===============================================
Lambda_re    (P,)         Re λ (continuous time)
Lambda_im    (P,)         Im λ
B            (P, H, 2)    real and imaginary parts of B̃
C            (H, P, 2)    C̃ (unidirectional)
C1, C2       (H, P, 2)    forward and backward C̃ (bidirectional)
C            (H, 2P, 2)   [C̃_f, C̃_b] (bidirectional, ``C_init="complex_normal"``)
D            (H,)         diagonal feed-through
log_step     (P, 1)       log Δ per mode
============ ============ ===============================================

The official code names C after ``C_init``: a bidirectional model initialised with
``complex_normal`` stores one ``C`` whose first P columns are the forward C̃ and last P
the backward C̃ (``S5Config(c_init="complex_normal")``); every other case stores ``C1``,
``C2`` (bidirectional) or ``C`` (unidirectional) of shape (H, P, 2).

The two-tower retrieval model (``head="retrieval"``, the official ``RetrievalModel``)
has the same ``encoder`` and a ``decoder`` with ``layer1`` (Dense 4H → H) and ``layer2``
(Dense H → n_classes).

``seq`` of an S4D layer (this toolkit's layout: H independent SISO systems with N stored
modes each): ``Lambda_re``, ``Lambda_im`` (H, N); ``B``, ``C`` / ``C1``, ``C2`` (H, N, 2);
``D`` (H,); ``log_step`` (H, 1) (one Δ per channel, as S4D's ``log_dt``).

Converters work on plain nested dicts of arrays (numpy or JAX), never on module instances.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ssm_bridge.config import S4DConfig, StackConfig
from ssm_bridge.errors import ConfigError, LayoutError, NonFiniteParameterError

__all__ = [
    "SEQ_NAMES",
    "config_from_tree",
    "copied_variables",
    "expected_seq_shapes",
    "infer_config_fields",
    "join_variables",
    "layer_node",
    "layer_path",
    "output_names",
    "output_pairs",
    "seq_params",
    "split_variables",
    "validate_tree",
]

SEQ_NAMES: tuple[str, ...] = ("Lambda_re", "Lambda_im", "B", "C", "C1", "C2", "D", "log_step")


def layer_path(layer: int) -> tuple[str, str]:
    """Path of layer ``layer`` inside ``params``: ``("encoder", "layers_{layer}")``."""
    return ("encoder", f"layers_{layer}")


def _where(layer: int, *names: str) -> str:
    return f"layer {layer} (params/{'/'.join((*layer_path(layer), *names))})"


def expected_seq_shapes(config: StackConfig, layer: int) -> dict[str, tuple[int, ...]]:
    """Names and shapes of ``seq`` of layer ``layer`` under ``config``."""
    H, P = config.d_model, config.state_sizes[layer]
    if isinstance(config, S4DConfig):
        shapes = {
            "Lambda_re": (H, P),
            "Lambda_im": (H, P),
            "B": (H, P, 2),
            "D": (H,),
            "log_step": (H, 1),
        }
        cshape = (H, P, 2)
    else:
        shapes = {
            "Lambda_re": (P,),
            "Lambda_im": (P,),
            "B": (P, H, 2),
            "D": (H,),
            "log_step": (P, 1),
        }
        cshape = (H, P, 2)
    if config.single_output_matrix:
        shapes["C"] = (H, 2 * P, 2)
    elif config.bidirectional:
        shapes["C1"] = cshape
        shapes["C2"] = cshape
    else:
        shapes["C"] = cshape
    return shapes


def output_names(config: StackConfig) -> tuple[str, ...]:
    """Names of the output matrices in ``seq``: ``("C",)``, or ``("C1", "C2")``."""
    if config.bidirectional and not config.single_output_matrix:
        return ("C1", "C2")
    return ("C",)


def output_pairs(seq: Mapping[str, Any], config: StackConfig) -> tuple[Any, Any]:
    """(forward, backward or None) output matrices of one ``seq``, each (H, P, 2) or (H, N, 2).

    Splits the single ``C`` (H, 2P, 2) of a bidirectional ``complex_normal`` layer into its
    forward (first P columns) and backward (last P) halves.  Works on numpy and JAX arrays.
    """
    if config.single_output_matrix:
        c = seq["C"]
        half = c.shape[1] // 2
        return c[:, :half], c[:, half:]
    if config.bidirectional:
        return seq["C1"], seq["C2"]
    return seq["C"], None


def output_column_mask(config: StackConfig, name: str, mask: np.ndarray) -> np.ndarray:
    """The columns of the output matrix ``name`` that belong to the units in ``mask`` (S5).

    The single ``C`` of a bidirectional ``complex_normal`` layer holds every unit twice
    (forward, then backward): the mask is repeated.
    """
    if name == "C" and config.single_output_matrix:
        return np.concatenate([mask, mask])
    return mask


def expected_dense_shapes(config: StackConfig) -> dict[tuple[str, ...], tuple[int, ...]]:
    """Paths (inside ``params``) and shapes of everything outside the SSMs."""
    H = config.d_model
    out: dict[tuple[str, ...], tuple[int, ...]] = {
        ("encoder", "encoder", "kernel"): (config.d_input, H),
        ("encoder", "encoder", "bias"): (H,),
    }
    if config.head == "retrieval":
        out.update({
            ("decoder", "layer1", "kernel"): (4 * H, H),
            ("decoder", "layer1", "bias"): (H,),
            ("decoder", "layer2", "kernel"): (H, config.n_classes),
            ("decoder", "layer2", "bias"): (config.n_classes,),
        })
    else:
        out.update({
            ("decoder", "kernel"): (H, config.n_classes),
            ("decoder", "bias"): (config.n_classes,),
        })
    dense = {"full_glu": ("out1", "out2"), "half_glu1": ("out2",), "half_glu2": ("out2",)}
    for layer in range(config.n_layers):
        base = layer_path(layer)
        out[(*base, "norm", "scale")] = (H,)
        out[(*base, "norm", "bias")] = (H,)
        for name in dense.get(config.activation, ()):
            out[(*base, name, "kernel")] = (H, H)
            out[(*base, name, "bias")] = (H,)
    return out


def _copy_tree(tree: Any) -> Any:
    if isinstance(tree, Mapping):
        return {k: _copy_tree(v) for k, v in tree.items()}
    return np.array(tree, copy=True)


def copied_variables(tree: Mapping[str, Any]) -> tuple[dict, dict | None, bool]:
    """:func:`split_variables` on a deep copy: ``(params, batch_stats, wrapped)`` to edit."""
    params, batch_stats, wrapped = split_variables(tree)
    return (_copy_tree(params), None if batch_stats is None else _copy_tree(batch_stats),
            wrapped)


def layer_node(params: dict, layer: int) -> dict:
    """The parameter dict of ``layer`` (the node holding its ``"seq"``), for editing."""
    node = params
    for key in layer_path(layer):
        node = node[key]
    return node


def split_variables(tree: Mapping[str, Any]) -> tuple[dict, dict | None, bool]:
    """Split a tree into ``(params, batch_stats, wrapped)``.

    A tree with a top-level ``"params"`` key is a Flax variables dict (``wrapped=True``);
    any other tree is taken as the ``params`` collection itself.
    """
    if not isinstance(tree, Mapping):
        raise LayoutError(
            f"a parameter tree is a nested dict; got {type(tree).__name__}"
        )
    if "params" in tree:
        return dict(tree["params"]), (
            dict(tree["batch_stats"]) if "batch_stats" in tree else None
        ), True
    return dict(tree), None, False


def join_variables(params: dict, batch_stats: dict | None) -> dict:
    """The Flax variables dict ``{"params": ..., "batch_stats": ...}``."""
    out = {"params": params}
    if batch_stats is not None:
        out["batch_stats"] = batch_stats
    return out


def _get(tree: Mapping, path: tuple[str, ...], what: str) -> Any:
    node: Any = tree
    for depth, key in enumerate(path):
        if not isinstance(node, Mapping) or key not in node:
            missing = "/".join(path[: depth + 1])
            raise LayoutError(
                f"{what}: the tree has no {missing!r}; expected the S5/S4D stack layout "
                "(params/encoder/layers_{l}/seq/...; see ssm_bridge.layout)"
            )
        node = node[key]
    return node


def seq_params(params: Mapping, layer: int) -> Mapping[str, Any]:
    """The ``seq`` dict of layer ``layer``."""
    return _get(params, (*layer_path(layer), "seq"), f"layer {layer}")


def _check_array(value: Any, shape: tuple[int, ...], where: str, name: str) -> None:
    arr = np.asarray(value)
    if arr.shape != shape:
        raise LayoutError(f"{where}: {name} has shape {arr.shape}; expected {shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise LayoutError(f"{where}: {name} has dtype {arr.dtype}; expected a number")
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise NonFiniteParameterError(
            f"{where}: {name} holds a non-finite value at index {bad}; the checkpoint is "
            "broken (e.g. a diverged training run) and cannot be pruned or evaluated"
        )


def validate_tree(
    tree: Mapping[str, Any], config: StackConfig, *, require_batch_stats: bool = False
) -> None:
    """Check that ``tree`` (params or variables) is the stack ``config`` describes.

    BatchNorm statistics are checked when present; with ``require_batch_stats`` (running
    the model) a BatchNorm config without them is an error.

    Raises
    ------
    LayoutError
        A missing parameter, a misshaped one, an unexpected ``seq`` entry, or more layers
        in the tree than in the config; the message names the layer and the parameter.
    NonFiniteParameterError
        A NaN or inf anywhere in the parameters or batch statistics.
    """
    params, batch_stats, _ = split_variables(tree)
    for layer in range(config.n_layers):
        seq = seq_params(params, layer)
        if not isinstance(seq, Mapping):
            raise LayoutError(f"{_where(layer, 'seq')}: expected a dict of arrays")
        shapes = expected_seq_shapes(config, layer)
        extra = set(seq) - set(shapes)
        if extra:
            raise LayoutError(
                f"{_where(layer, 'seq')}: unexpected parameter(s) {sorted(extra)}"
                f"{_output_hint(seq, config, layer, extra)}"
            )
        for name, shape in shapes.items():
            if name not in seq:
                raise LayoutError(
                    f"{_where(layer, 'seq')}: missing parameter {name!r} (expected shape "
                    f"{shape}); this is not an {config.model.upper()} layer of this config"
                )
            if name == "C" and not isinstance(config, S4DConfig):
                hint = _output_hint(seq, config, layer, set())
                if hint and np.shape(seq[name]) != shape:
                    raise LayoutError(
                        f"{_where(layer, 'seq', name)}: C has shape {np.shape(seq[name])}; "
                        f"expected {shape}{hint}"
                    )
            if name == "B" or name.startswith("C"):
                got = np.shape(seq[name])
                if got != shape and len(got) == len(shape) and got[-1] == 2:
                    hint = (
                        f"; the stored state size is {got[1] if name != 'B' else got[0]}"
                        if not isinstance(config, S4DConfig)
                        else ""
                    )
                    raise LayoutError(
                        f"{_where(layer, 'seq', name)}: {name} has shape {got}; expected "
                        f"{shape} (H = {config.d_model}, P = {config.state_sizes[layer]})"
                        f"{hint}; the config does not match the tree"
                    )
            _check_array(seq[name], shape, _where(layer, "seq", name), name)
    extra_layer = f"layers_{config.n_layers}"
    if isinstance(params.get("encoder"), Mapping) and extra_layer in params["encoder"]:
        raise LayoutError(
            f"the tree has {extra_layer} but the config has n_layers = {config.n_layers}"
        )
    for path, shape in expected_dense_shapes(config).items():
        value = _get(params, path, "params")
        _check_array(value, shape, "params/" + "/".join(path), path[-1])
    if config.batchnorm and (batch_stats is not None or require_batch_stats):
        if batch_stats is None:
            raise LayoutError(
                "the config uses BatchNorm but the tree has no 'batch_stats' (running mean "
                "and var); pass the full variables {'params': ..., 'batch_stats': ...}"
            )
        for layer in range(config.n_layers):
            for name in ("mean", "var"):
                path = (*layer_path(layer), "norm", name)
                value = _get(batch_stats, path, "batch_stats")
                _check_array(value, (config.d_model,), "batch_stats/" + "/".join(path), name)


def _output_hint(seq: Mapping, config: StackConfig, layer: int, extra: set) -> str:
    """Why the output matrices of ``seq`` do not fit ``config``, and the config fix ("" if
    they fit or the cause is elsewhere)."""
    P = np.shape(seq["Lambda_re"])[-1] if "Lambda_re" in seq else config.state_sizes[layer]
    c_shape = np.shape(seq["C"]) if "C" in seq else None
    single = c_shape is not None and len(c_shape) == 3 and c_shape[1] == 2 * P
    if extra & {"C1", "C2"}:
        if not config.bidirectional:
            return " (the tree is bidirectional: set bidirectional=True in the config)"
        return (" (the tree stores C1 and C2: set c_init to 'trunc_standard_normal' or "
                "'lecun_normal', the C_init it was trained with)")
    if c_shape is None:
        return ""
    if single and not isinstance(config, S4DConfig) and not config.single_output_matrix:
        return (" (one C of shape (H, 2P, 2): a bidirectional layer trained with "
                "C_init='complex_normal'; set bidirectional=True, c_init='complex_normal' in "
                "the config)")
    if "C" in extra and config.bidirectional:
        return " (the tree is unidirectional: set bidirectional=False in the config)"
    if config.single_output_matrix and not single:
        return (f" (C has {c_shape[1] if len(c_shape) == 3 else '?'} columns for P = {P}: "
                "a unidirectional layer; set bidirectional=False in the config)")
    return ""


def infer_config_fields(tree: Mapping[str, Any], *, model: str = "s5") -> dict[str, Any]:
    """Shape facts read from a tree: ``d_model``, ``n_layers``, ``state_sizes``,
    ``d_input``, ``n_classes``, ``bidirectional``, ``batchnorm`` and, when the tree shows
    them, ``activation`` (``full_glu``: ``out1`` and ``out2``; ``gelu``: neither),
    ``c_init="complex_normal"`` (a bidirectional layer with one ``C`` of shape (H, 2P, 2))
    and ``head="retrieval"`` (``decoder/layer1``, ``decoder/layer2``).

    A field the tree cannot decide is left out, never guessed: a layer with ``out2`` only
    is ``half_glu1`` or ``half_glu2`` (the same parameters, different arithmetic).  The
    hyper-parameters that do not show in the tree (conj_sym, discretization, prenorm,
    pooling, ...) must be given by the user; :func:`config_from_tree` builds the config
    and refuses to default a field the tree leaves open.
    """
    params, batch_stats, _ = split_variables(tree)
    kernel = np.shape(_get(params, ("encoder", "encoder", "kernel"), "params"))
    decoder = _get(params, ("decoder",), "params")
    retrieval = isinstance(decoder, Mapping) and "layer2" in decoder
    dec_path = ("decoder", "layer2", "kernel") if retrieval else ("decoder", "kernel")
    dec = np.shape(_get(params, dec_path, "params"))
    if len(kernel) != 2 or len(dec) != 2:
        raise LayoutError("encoder/decoder kernels must be 2-D (Dense layers)")
    layers = []
    while f"layers_{len(layers)}" in params["encoder"]:
        layers.append(seq_params(params, len(layers)))
    if not layers:
        raise LayoutError("the tree has no params/encoder/layers_0: not an S5/S4D stack")
    sizes = []
    for layer, seq in enumerate(layers):
        if "Lambda_re" not in seq:
            raise LayoutError(f"{_where(layer, 'seq')}: missing parameter 'Lambda_re'")
        shape = np.shape(seq["Lambda_re"])
        sizes.append(int(shape[-1]))
    c_shape = np.shape(layers[0].get("C", ()))
    single = model == "s5" and len(c_shape) == 3 and c_shape[1] == 2 * sizes[0]
    fields: dict[str, Any] = {
        "d_model": int(kernel[1]),
        "n_layers": len(layers),
        "state_sizes": tuple(sizes),
        "d_input": int(kernel[0]),
        "n_classes": int(dec[1]),
        "bidirectional": "C1" in layers[0] or single,
        "batchnorm": batch_stats is not None,
    }
    if single:
        fields["c_init"] = "complex_normal"
    if retrieval:
        fields["head"] = "retrieval"
    first = params["encoder"]["layers_0"]
    if "out1" in first:
        fields["activation"] = "full_glu"
    elif "out2" not in first:
        fields["activation"] = "gelu"
    return fields


def config_from_tree(tree: Mapping[str, Any], *, model: str = "s5", **hyper: Any) -> StackConfig:
    """The config of an official-layout tree: what the tree shows, plus ``hyper``.

    Parameters
    ----------
    tree : dict
        Params or variables of an S5 (or this toolkit's S4D) stack.
    model : {"s5", "s4d"}
    **hyper
        The hyper-parameters the tree does not show (``conj_sym``, ``discretization``,
        ``clip_eigs``, ``step_rescale``, ``prenorm``, ``pooling``, ...) as the run was
        trained with; the config's defaults (the official defaults) fill the others.

    Returns
    -------
    S5Config or S4DConfig, checked against the tree (:func:`validate_tree`).

    Raises
    ------
    ConfigError
        ``activation`` not given for a tree that cannot decide it (``out2`` only:
        ``half_glu1`` or ``half_glu2``), or a given field that contradicts the tree.
    LayoutError
        The tree is not an S5/S4D stack of that config.

    Examples
    --------
    >>> from ssm_bridge import S5Config, random_variables
    >>> tree = random_variables(S5Config(d_model=4, n_layers=1, state_sizes=2))
    >>> config_from_tree(tree)
    Traceback (most recent call last):
    ...
    ssm_bridge.errors.ConfigError: the tree cannot tell activation 'half_glu1' from 'half_glu2' ...
    >>> config_from_tree(tree, activation="half_glu1").state_sizes
    (2,)
    """
    from ssm_bridge.config import S5Config

    if model not in ("s5", "s4d"):
        raise ConfigError(f"model = {model!r}; expected 's5' or 's4d'")
    fields = infer_config_fields(tree, model=model)
    if "activation" not in fields and "activation" not in hyper:
        raise ConfigError(
            "the tree cannot tell activation 'half_glu1' from 'half_glu2' (both store out2 "
            "only, with different arithmetic); pass activation='half_glu1' or "
            "activation='half_glu2', as the model was trained"
        )
    clash = {k: (fields[k], v) for k, v in hyper.items() if k in fields and fields[k] != v}
    if clash:
        detail = "; ".join(f"{k}: the tree has {a!r}, given {b!r}" for k, (a, b) in clash.items())
        raise ConfigError(f"the given hyper-parameters contradict the tree: {detail}")
    cls = S5Config if model == "s5" else S4DConfig
    config = cls(**{**fields, **hyper})
    validate_tree(tree, config)
    return config
