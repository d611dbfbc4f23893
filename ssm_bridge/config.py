"""Model configurations of S5 and S4D stacks: frozen, validated, JSON round-trippable.

A configuration holds every hyper-parameter that changes the parameter tree or the
arithmetic of the forward pass.  The state size is given *per layer*
(``state_sizes``), so that a layer-adaptively pruned stack is described exactly.

``state_sizes`` counts *stored* modes, i.e. the P of the parameter tree: with
``conj_sym=True`` (the S5 default) each stored mode stands for a conjugate pair, so an
official S5 run with ``ssm_size_base = 256`` stores P = 128 per layer.  For S4D it is
the number of stored modes per channel (N/2 in the S4D paper's notation).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any, ClassVar

from mor._files import check_path, parse_json, read_regular_file
from ssm_bridge.errors import ConfigError, ConfigTypeError

__all__ = [
    "ACTIVATIONS",
    "C_INITS",
    "DISCRETIZATIONS",
    "HEADS",
    "POOLINGS",
    "S4DConfig",
    "S5Config",
    "StackConfig",
    "config_from_dict",
    "config_from_json",
    "load_config",
]

ACTIVATIONS: tuple[str, ...] = ("full_glu", "half_glu1", "half_glu2", "gelu")
DISCRETIZATIONS: tuple[str, ...] = ("zoh", "bilinear")
POOLINGS: tuple[str, ...] = ("mean", "last")
HEADS: tuple[str, ...] = ("classification", "retrieval")
C_INITS: tuple[str, ...] = ("trunc_standard_normal", "lecun_normal", "complex_normal")
"""The official S5 ``C_init`` options (``run_train.py --C_init``)."""
CONFIG_FORMAT_VERSION = 1
#: Size limit of a model-config JSON file.
MAX_CONFIG_BYTES = 1024**2


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_int(value: Any, name: str) -> int:
    """``value`` as an int ≥ 1: ConfigTypeError for a non-integer ("32", 32.0), else ConfigError."""
    if not _is_int(value):
        raise ConfigTypeError(
            f"config.{name} = {value!r} ({type(value).__name__}); expected a positive integer"
        )
    if value < 1:
        raise ConfigError(f"config.{name} = {value!r}; expected a positive integer")
    return int(value)


def _finite_float(value: Any, name: str) -> float:
    """``value`` as a finite float: ConfigTypeError for "0.001", True or None."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ConfigTypeError(
            f"config.{name} = {value!r} ({type(value).__name__}); expected a number "
            "(int or float, not a string)"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"config.{name} = {value!r}; expected a finite number")
    return value


def _choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise ConfigTypeError(
            f"config.{name} = {value!r} ({type(value).__name__}); expected one of "
            f"{tuple(choices)}"
        )
    if value not in choices:
        raise ConfigError(f"config.{name} = {value!r}; expected one of {tuple(choices)}")
    return value


@dataclass(frozen=True)
class StackConfig:
    """Hyper-parameters shared by S5 and S4D stacks (encoder, layers, pooling, decoder).

    Attributes
    ----------
    d_model : int
        H, the width of the residual stream.
    n_layers : int
        Number of sequence layers.
    state_sizes : int or tuple of int
        Stored modes per layer (an int is repeated over the layers).
    d_input : int
        Features per input step (the encoder's input width).
    n_classes : int
        Outputs of the decoder (classes).
    conj_sym : bool
        Each stored mode stands for a conjugate pair; the SSM outputs ``2·Re(C x)``.
    bidirectional : bool
        Add a backward scan with its own C (``C1``/``C2`` in the tree).
    discretization : {"zoh", "bilinear"}
    clip_eigs : bool
        Clip ``Re λ ≤ −1e-4`` in the forward pass (S5's ``clip_eigs``).
    step_rescale : float
        Δ is multiplied by this factor in the forward pass.
    activation : {"full_glu", "half_glu1", "half_glu2", "gelu"}
    prenorm : bool
        Normalise before the SSM (True) or after the residual sum (False).
    batchnorm : bool
        BatchNorm (True) or LayerNorm (False).
    bn_momentum : float
    dropout : float
        Dropout rate (used only with ``training=True``).
    pooling : {"mean", "last"}
        ``"mean"``: mean over time before the decoder (the official ``mode="pool"``; with
        ``lengths`` given to the model, the mean over each sequence's first ``length`` steps,
        the official padded ``masked_meanpool``); ``"last"``: the last step (the official
        ``mode="last"``).
    dt_min, dt_max : float
        Range of the initial steps Δ (log-uniform).
    head : {"classification", "retrieval"}
        ``"classification"``: Dense decoder (``params/decoder``).  ``"retrieval"``: the
        official two-tower ``RetrievalModel`` (LRA AAN): both documents of a pair run
        through the same encoder, are mean-pooled over their lengths, and
        ``[a, b, a − b, a·b]`` goes through ``decoder/layer1`` (Dense 4H → H), GELU and
        ``decoder/layer2`` (Dense H → n_classes).
    """

    model: ClassVar[str] = "stack"

    d_model: int
    n_layers: int
    state_sizes: tuple[int, ...] | int
    d_input: int = 1
    n_classes: int = 10
    conj_sym: bool = True
    bidirectional: bool = False
    discretization: str = "zoh"
    clip_eigs: bool = False
    step_rescale: float = 1.0
    activation: str = "half_glu1"
    prenorm: bool = True
    batchnorm: bool = True
    bn_momentum: float = 0.9
    dropout: float = 0.0
    pooling: str = "mean"
    dt_min: float = 0.001
    dt_max: float = 0.1
    head: str = "classification"

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers", "d_input", "n_classes"):
            object.__setattr__(self, name, _positive_int(getattr(self, name), name))
        object.__setattr__(self, "state_sizes", self._checked_state_sizes())
        for name in ("conj_sym", "bidirectional", "clip_eigs", "prenorm", "batchnorm"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigTypeError(
                    f"config.{name} = {getattr(self, name)!r}; expected True/False"
                )
        _choice(self.discretization, "discretization", DISCRETIZATIONS)
        _choice(self.activation, "activation", ACTIVATIONS)
        _choice(self.pooling, "pooling", POOLINGS)
        _choice(self.head, "head", HEADS)
        if self.head == "retrieval" and self.pooling != "mean":
            raise ConfigError("config.head = 'retrieval' pools by the mean over each document's "
                              "length (as the official RetrievalModel); set pooling='mean'")
        for name in ("step_rescale", "bn_momentum", "dropout", "dt_min", "dt_max"):
            object.__setattr__(self, name, _finite_float(getattr(self, name), name))
        if not self.step_rescale > 0:
            raise ConfigError(f"config.step_rescale = {self.step_rescale!r}; expected > 0")
        if not 0.0 <= self.bn_momentum <= 1.0:
            raise ConfigError(
                f"config.bn_momentum = {self.bn_momentum!r}; expected 0 <= bn_momentum <= 1"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"config.dropout = {self.dropout!r}; expected 0 <= dropout < 1")
        if not 0.0 < self.dt_min <= self.dt_max:
            raise ConfigError(
                f"config.dt_min = {self.dt_min!r}, dt_max = {self.dt_max!r}; expected "
                "0 < dt_min <= dt_max"
            )

    def _checked_state_sizes(self) -> tuple[int, ...]:
        sizes = self.state_sizes
        if _is_int(sizes):
            sizes = (sizes,) * self.n_layers
        if not isinstance(sizes, list | tuple):
            raise ConfigTypeError(
                f"config.state_sizes = {self.state_sizes!r} ({type(sizes).__name__}); expected "
                "an int or a list of one int per layer"
            )
        if len(sizes) != self.n_layers:
            raise ConfigError(
                f"config.state_sizes has {len(sizes)} entries for n_layers = {self.n_layers}; "
                "give one state size per layer"
            )
        return tuple(_positive_int(p, f"state_sizes[{layer}]") for layer, p in enumerate(sizes))

    # ------------------------------------------------------------------ facts
    @property
    def output_factor(self) -> float:
        """2 with ``conj_sym`` (output ``2·Re(C x)``), else 1."""
        return 2.0 if self.conj_sym else 1.0

    @property
    def single_output_matrix(self) -> bool:
        """True when a bidirectional layer stores one ``C`` of shape (H, 2P, 2) (S5 only)."""
        return False

    def layer_nunits(self, layer: int) -> int:
        """Number of units (pruning candidates) of layer ``layer`` as extracted."""
        return self.state_sizes[layer]

    @property
    def nunits(self) -> tuple[int, ...]:
        """Units per layer of the extracted systems (what a KeepPlan's ``nunits`` must equal)."""
        return tuple(self.layer_nunits(i) for i in range(self.n_layers))

    def with_state_sizes(self, sizes: Sequence[int]) -> StackConfig:
        """A copy with other per-layer state sizes (a pruned model)."""
        if not isinstance(sizes, list | tuple):
            sizes = list(sizes)  # e.g. a numpy array; entries are checked as integers
        return replace(self, state_sizes=tuple(sizes))

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state_sizes"] = list(self.state_sizes)
        return {"model": self.model, "version": CONFIG_FORMAT_VERSION, **data}

    def to_json(self, *, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike) -> None:
        """Write the config as JSON, atomically."""
        from mor.io import atomic_write_text

        atomic_write_text(path, self.to_json())


@dataclass(frozen=True)
class S5Config(StackConfig):
    """An S5 stack (MIMO diagonal SSM per layer), parameter tree as the official S5 code.

    Attributes
    ----------
    blocks : int
        J, the number of HiPPO-N blocks of the initial eigenvalues (initialisation only).
    c_init : {"trunc_standard_normal", "lecun_normal", "complex_normal"}
        The official ``C_init``.  It sets the initial C (:mod:`ssm_bridge.models`) and, for
        a bidirectional model, the tree: ``"complex_normal"`` stores one ``C`` of shape
        (H, 2P, 2) (forward columns first), the others ``C1`` and ``C2`` of shape (H, P, 2).

    Examples
    --------
    >>> cfg = S5Config(d_model=8, n_layers=2, state_sizes=(4, 3), d_input=2, n_classes=3)
    >>> cfg.state_sizes, cfg.nunits
    ((4, 3), (4, 3))
    """

    model: ClassVar[str] = "s5"
    blocks: int = 1
    c_init: str = "trunc_standard_normal"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "blocks", _positive_int(self.blocks, "blocks"))
        _choice(self.c_init, "c_init", C_INITS)

    @property
    def single_output_matrix(self) -> bool:
        """True when a bidirectional layer stores one ``C`` (H, 2P, 2) (``complex_normal``)."""
        return self.bidirectional and self.c_init == "complex_normal"


@dataclass(frozen=True)
class S4DConfig(StackConfig):
    """An S4D stack: per layer, H independent SISO diagonal SSMs with ``state_sizes[l]`` modes each.

    The extracted layer system has ``H·state_sizes[l]`` units (channel-major order:
    unit ``h·N + n`` is mode n of channel h).
    """

    model: ClassVar[str] = "s4d"

    def layer_nunits(self, layer: int) -> int:
        return self.d_model * self.state_sizes[layer]


_MODELS: dict[str, type[StackConfig]] = {"s5": S5Config, "s4d": S4DConfig}


def config_from_dict(data: dict[str, Any]) -> S5Config | S4DConfig:
    """Rebuild a config from :meth:`StackConfig.to_dict` output (validated strictly).

    Raises
    ------
    ConfigTypeError
        A field of the wrong type (``"d_model": "32"``, ``"dt_min": "0.001"``); also a
        ``TypeError``.
    ConfigError
        Unknown model, format version or fields; a missing or out-of-range field.
    """
    if not isinstance(data, dict):
        raise ConfigTypeError(f"a model config is a JSON object; got {type(data).__name__}")
    data = dict(data)
    model = data.pop("model", None)
    if not isinstance(model, str) or model not in _MODELS:
        raise ConfigError(f"config 'model' = {model!r}; expected one of {sorted(_MODELS)}")
    version = data.pop("version", CONFIG_FORMAT_VERSION)
    if not _is_int(version):
        raise ConfigTypeError(f"config 'version' = {version!r}; expected the integer "
                              f"{CONFIG_FORMAT_VERSION}")
    if version != CONFIG_FORMAT_VERSION:
        raise ConfigError(f"config format version {version}; this toolkit reads 1")
    cls = _MODELS[model]
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"config has unknown fields {sorted(unknown)} for model {model!r}")
    required = {f.name for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING}
    missing = required - set(data)
    if missing:
        raise ConfigError(
            f"config for model {model!r} is incomplete: it lacks {sorted(missing)}"
        )
    return cls(**data)


def config_from_json(text: str | bytes) -> S5Config | S4DConfig:
    """Parse a model config from strict JSON text (UTF-8, no NaN, no duplicate keys)."""
    return config_from_dict(parse_json(text, what="model config", error=ConfigError))


def load_config(path: str | os.PathLike) -> S5Config | S4DConfig:
    """Read a config written by :meth:`StackConfig.save`.

    Raises
    ------
    ConfigError
        Not a regular file, over :data:`MAX_CONFIG_BYTES`, not UTF-8 JSON, or an invalid
        config (:class:`ConfigTypeError` for a field of the wrong type).
    """
    path = check_path(path, error=ConfigTypeError)
    data = read_regular_file(path, max_bytes=MAX_CONFIG_BYTES, what="model config",
                             error=ConfigError)
    return config_from_dict(parse_json(data, what=f"model config {str(path)!r}",
                                       error=ConfigError))
