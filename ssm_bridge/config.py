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
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from ssm_bridge.errors import ConfigError

__all__ = [
    "ACTIVATIONS",
    "DISCRETIZATIONS",
    "S4DConfig",
    "S5Config",
    "StackConfig",
    "config_from_dict",
    "config_from_json",
    "load_config",
]

ACTIVATIONS: tuple[str, ...] = ("full_glu", "half_glu1", "half_glu2", "gelu")
DISCRETIZATIONS: tuple[str, ...] = ("zoh", "bilinear")
CONFIG_FORMAT_VERSION = 1


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
    pooling : {"mean"}
        Mean over time before the decoder.
    dt_min, dt_max : float
        Range of the initial steps Δ (log-uniform).
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

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers", "d_input", "n_classes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"config.{name} = {value!r}; expected a positive integer")
        sizes = self.state_sizes
        if isinstance(sizes, int) and not isinstance(sizes, bool):
            sizes = (sizes,) * self.n_layers
        try:
            sizes = tuple(sizes)
        except TypeError as err:
            raise ConfigError(
                f"config.state_sizes = {self.state_sizes!r}; expected an int or one int per layer"
            ) from err
        if len(sizes) != self.n_layers:
            raise ConfigError(
                f"config.state_sizes has {len(sizes)} entries for n_layers = {self.n_layers}; "
                "give one state size per layer"
            )
        for layer, p in enumerate(sizes):
            if isinstance(p, bool) or not isinstance(p, int) or p < 1:
                raise ConfigError(
                    f"config.state_sizes[{layer}] = {p!r}; expected a positive integer"
                )
        object.__setattr__(self, "state_sizes", tuple(int(p) for p in sizes))
        for name in ("conj_sym", "bidirectional", "clip_eigs", "prenorm", "batchnorm"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"config.{name} = {getattr(self, name)!r}; expected True/False")
        if self.discretization not in DISCRETIZATIONS:
            raise ConfigError(
                f"config.discretization = {self.discretization!r}; expected one of "
                f"{DISCRETIZATIONS}"
            )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"config.activation = {self.activation!r}; expected one of {ACTIVATIONS}"
            )
        if self.pooling != "mean":
            raise ConfigError(f"config.pooling = {self.pooling!r}; only 'mean' is supported")
        if not (float(self.step_rescale) > 0):
            raise ConfigError(f"config.step_rescale = {self.step_rescale!r}; expected > 0")
        if not (0.0 <= float(self.dropout) < 1.0):
            raise ConfigError(f"config.dropout = {self.dropout!r}; expected 0 <= dropout < 1")
        if not (0.0 < float(self.dt_min) <= float(self.dt_max)):
            raise ConfigError(
                f"config.dt_min = {self.dt_min!r}, dt_max = {self.dt_max!r}; expected "
                "0 < dt_min <= dt_max"
            )
        for name in ("step_rescale", "bn_momentum", "dropout", "dt_min", "dt_max"):
            object.__setattr__(self, name, float(getattr(self, name)))

    # ------------------------------------------------------------------ facts
    @property
    def output_factor(self) -> float:
        """2 with ``conj_sym`` (output ``2·Re(C x)``), else 1."""
        return 2.0 if self.conj_sym else 1.0

    def layer_nunits(self, layer: int) -> int:
        """Number of units (pruning candidates) of layer ``layer`` as extracted."""
        return self.state_sizes[layer]

    @property
    def nunits(self) -> tuple[int, ...]:
        """Units per layer of the extracted systems (what a KeepPlan's ``nunits`` must equal)."""
        return tuple(self.layer_nunits(i) for i in range(self.n_layers))

    def with_state_sizes(self, sizes: Sequence[int]) -> StackConfig:
        """A copy with other per-layer state sizes (a pruned model)."""
        return replace(self, state_sizes=tuple(int(s) for s in sizes))

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state_sizes"] = list(self.state_sizes)
        return {"model": self.model, "version": CONFIG_FORMAT_VERSION, **data}

    def to_json(self, *, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike) -> None:
        """Write the config as JSON, atomically."""
        from mor.plan import atomic_write_text

        atomic_write_text(path, self.to_json())


@dataclass(frozen=True)
class S5Config(StackConfig):
    """An S5 stack (MIMO diagonal SSM per layer), parameter tree as the official S5 code.

    Attributes
    ----------
    blocks : int
        J, the number of HiPPO-N blocks of the initial eigenvalues (initialisation only).

    Examples
    --------
    >>> cfg = S5Config(d_model=8, n_layers=2, state_sizes=(4, 3), d_input=2, n_classes=3)
    >>> cfg.state_sizes, cfg.nunits
    ((4, 3), (4, 3))
    """

    model: ClassVar[str] = "s5"
    blocks: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.blocks, bool) or not isinstance(self.blocks, int) or self.blocks < 1:
            raise ConfigError(f"config.blocks = {self.blocks!r}; expected a positive integer")


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
    """Rebuild a config from :meth:`StackConfig.to_dict` output (validated)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a model config is a JSON object; got {type(data).__name__}")
    data = dict(data)
    model = data.pop("model", None)
    if model not in _MODELS:
        raise ConfigError(f"config 'model' = {model!r}; expected one of {sorted(_MODELS)}")
    version = data.pop("version", CONFIG_FORMAT_VERSION)
    if version != CONFIG_FORMAT_VERSION:
        raise ConfigError(f"config format version {version}; this toolkit reads 1")
    cls = _MODELS[model]
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"config has unknown fields {sorted(unknown)} for model {model!r}")
    if isinstance(data.get("state_sizes"), list):
        data["state_sizes"] = tuple(data["state_sizes"])
    try:
        return cls(**data)
    except TypeError as err:
        raise ConfigError(f"config for model {model!r} is incomplete: {err}") from err


def config_from_json(text: str) -> S5Config | S4DConfig:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"not a model config: invalid JSON ({err})") from err
    return config_from_dict(data)


def load_config(path: str | os.PathLike) -> S5Config | S4DConfig:
    """Read a config written by :meth:`StackConfig.save`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read model config {str(path)!r}: {err}") from err
    return config_from_json(text)
