"""Training presets: model size, data size and optimiser settings per (task, preset).

Four kinds of preset per task of :data:`ssm_bridge.data.TASKS`:

``tiny``
    A few optimiser steps on a few dozen examples: for tests and smoke runs only.
``cpu``
    Finishes in a few minutes on 2 CPU cores (measured wall times in ``docs/training.md``)
    and reaches a meaningful accuracy: small H (16–32), few stored modes, 2 layers, few
    epochs.
``paper``
    The S5 hyper-parameters of the paper configuration closest to the task, copied from
    ``shared/reference/s5_configs.csv`` (sources: LAST Table 4 for sMNIST, AIRE-prune
    Table 4 for the LRA tasks). Meant for a GPU. ``ssm_size_base_P`` there counts complex
    states; with ``conj_sym`` the stored size is P/2 (official S5 convention).
``paper_cpu``
    A model of the papers' shape, trained on 2 CPU cores in at most about 20 minutes: at
    least 4 layers, H ≥ 64, 64 stored modes per S5 layer (P = 128 real states; S4D: H·N ≥
    128 modes per layer), bidirectional where the paper row is (every row but
    sMNIST/psMNIST, LAST §5), the paper row's optimiser settings and the official
    scripts' ``C_init = lecun_normal``. Rows: sMNIST (LAST Table 4) for digits and mnist1d
    and Speech (LAST Table 4, the time-series row) for japanese_vowels, whole; Image
    (AIRE-prune Table 4) for digits32 (same length 1,024) cut to 4 layers of H = 64;
    ListOps (AIRE-prune Table 4) cut to 4 layers of H = 64 with P = 128. Every epoch
    count is cut to fit the CPU budget (measured step times in ``docs/training.md``).

The model fields not in the table (activation, norm placement, discretisation) are the
S5 defaults (``half_glu1``, prenorm, BatchNorm, ZOH); ``clip_eigs`` is on in every preset
so that trained layers stay stable systems; LRA presets are bidirectional as the
official S5 LRA scripts. Nothing here reads files at run time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ssm_bridge.config import S4DConfig, S5Config, StackConfig
from ssm_bridge.errors import BridgeError

__all__ = [
    "MODELS",
    "PRESET_NAMES",
    "Preset",
    "UnknownPresetError",
    "get_preset",
    "list_presets",
]

#: Model families :func:`get_preset` builds.
MODELS: tuple[str, ...] = ("s5", "s4d")
#: Preset names (each exists for every task).
PRESET_NAMES: tuple[str, ...] = ("tiny", "cpu", "paper", "paper_cpu")


class UnknownPresetError(BridgeError):
    """An unknown task, model or preset name (the message lists the valid ones)."""


@dataclass(frozen=True)
class Preset:
    """Everything :func:`ssm_bridge.train.train` needs besides the seed.

    Attributes
    ----------
    name, task, model : str
        Preset name, task (:data:`ssm_bridge.data.TASKS`), model family (``s5``/``s4d``).
    task_options : dict
        Keyword arguments of :func:`ssm_bridge.data.load_task` (split sizes included).
    d_model, n_layers, state_size, blocks : int
        H, depth, stored modes per layer (S4D: per channel), S5 HiPPO blocks J.
    activation, prenorm, batchnorm, bidirectional, discretization, dropout, dt_min, dt_max
        As in :class:`ssm_bridge.S5Config`.
    c_init : str
        S5's initialisation of C (:data:`ssm_bridge.config.C_INITS`; S4D ignores it).
    clip_eigs : bool
        Clip ``Re λ ≤ −1e-4`` in the forward pass (default True). Without it, training
        can push a pole into the right half-plane (seen on digits: Re λ = +0.41 after 30
        epochs), which the short training sequences tolerate but which makes the layer an
        unstable system that ``ssm_bridge.extract`` (rightly) refuses.
    epochs, batch_size : int
    lr, ssm_lr, weight_decay : float
        AdamW learning rate and weight decay of the regular parameters; Adam learning rate
        (no weight decay) of the SSM parameters ``Lambda_re, Lambda_im, B, log_step``.
    warmup_fraction : float
        Fraction of the steps with a linear warm-up, then cosine decay to 0.
    max_steps : int or None
        Stop after this many optimiser steps (``tiny``).
    eval_batch_size : int
        Batch size of the test evaluation.
    source : str
        Provenance of the numbers.
    """

    name: str
    task: str
    model: str
    task_options: dict[str, Any] = field(default_factory=dict)
    d_model: int = 32
    n_layers: int = 2
    state_size: int = 16
    blocks: int = 1
    activation: str = "half_glu1"
    prenorm: bool = True
    batchnorm: bool = True
    bidirectional: bool = False
    discretization: str = "zoh"
    c_init: str = "trunc_standard_normal"
    clip_eigs: bool = True
    dropout: float = 0.0
    dt_min: float = 0.001
    dt_max: float = 0.1
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.004
    ssm_lr: float = 0.001
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_steps: int | None = None
    eval_batch_size: int = 256
    source: str = ""

    def model_config(self, *, d_input: int, n_classes: int) -> StackConfig:
        """The S5Config / S4DConfig of this preset for inputs of width ``d_input``."""
        common = dict(
            d_model=self.d_model, n_layers=self.n_layers, state_sizes=self.state_size,
            d_input=d_input, n_classes=n_classes, bidirectional=self.bidirectional,
            discretization=self.discretization, clip_eigs=self.clip_eigs,
            activation=self.activation,
            prenorm=self.prenorm, batchnorm=self.batchnorm, dropout=self.dropout,
            dt_min=self.dt_min, dt_max=self.dt_max,
        )
        if self.model == "s4d":
            return S4DConfig(**common)
        return S5Config(**common, blocks=self.blocks, c_init=self.c_init)

    def with_overrides(self, **changes: Any) -> Preset:
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ListOps short variant (CPU): lengths 20–256, depth ≤ 6, ≤ 5 arguments (docs/data.md).
_LISTOPS_SHORT = dict(min_length=20, max_length=256, max_depth=6, max_args=5)

# --------------------------------------------------------------------------- tiny
_TINY: dict[str, Any] = dict(
    d_model=8, n_layers=1, state_size=4, epochs=1, batch_size=16, max_steps=4,
    warmup_fraction=0.25, eval_batch_size=32, source="smoke-test size",
)
_TINY_DATA: dict[str, dict[str, Any]] = {
    "digits": dict(n_train=64, n_test=32),
    "digits32": dict(n_train=64, n_test=32),
    "mnist1d": dict(n_train=64, n_test=32),
    "listops": dict(n_train=64, n_test=32, min_length=10, max_length=32, max_depth=3,
                    max_args=3),
    "japanese_vowels": dict(n_train=64, n_test=32),
}

# --------------------------------------------------------------------------- cpu
# Sized for 2 shared CPU cores: each trains in a few minutes (docs/training.md).
_CPU: dict[str, dict[str, Any]] = {
    "digits": dict(task_options=dict(n_train=1437, n_test=360), d_model=32, n_layers=2,
                   state_size=16, epochs=30, batch_size=32, lr=0.004, ssm_lr=0.002,
                   weight_decay=0.01, source="tuned here for 2 CPU cores"),
    "digits32": dict(task_options=dict(n_train=1437, n_test=360), d_model=16, n_layers=2,
                     state_size=8, epochs=6, batch_size=32, lr=0.004, ssm_lr=0.002,
                     weight_decay=0.01, source="tuned here for 2 CPU cores"),
    "mnist1d": dict(task_options=dict(n_train=5000, n_test=5000), d_model=32, n_layers=2,
                    state_size=16, epochs=20, batch_size=50, lr=0.004, ssm_lr=0.002,
                    weight_decay=0.01, source="tuned here for 2 CPU cores"),
    "listops": dict(task_options=dict(n_train=4000, n_test=1000, **_LISTOPS_SHORT),
                    d_model=32, n_layers=2, state_size=8, epochs=8, batch_size=50,
                    lr=0.004, ssm_lr=0.002, weight_decay=0.05,
                    source="tuned here for 2 CPU cores"),
    "japanese_vowels": dict(task_options=dict(), d_model=32, n_layers=2, state_size=16,
                            epochs=40, batch_size=16, lr=0.004, ssm_lr=0.002,
                            weight_decay=0.01, source="chosen here for 2 CPU cores"),
}
# S4D stores state_size modes per channel; keep its layer as cheap as the S5 one.
_CPU_S4D: dict[str, dict[str, Any]] = {
    "digits": dict(state_size=4, epochs=20),
    "digits32": dict(state_size=4),
    "mnist1d": dict(state_size=8),
    "listops": dict(state_size=4),
    "japanese_vowels": dict(state_size=4),
}

# --------------------------------------------------------------------------- paper
# Copied from shared/reference/s5_configs.csv (columns n_layers, d_model_H,
# ssm_size_base_P, blocks_J, dropout, lr, ssm_lr, batch, epochs, weight_decay, dt_min,
# dt_max). Rows: sMNIST (LAST Table 4) for digits and mnist1d (the sequential-pixel task
# of the papers; our sequences are shorter), Image (AIRE-prune Table 4) for digits32 (same
# length 1,024), ListOps (AIRE-prune Table 4) for listops (LRA sizes: 96k/2k, lengths up to
# 2,000, depth 10, 10 arguments). state_size = P/2 (conj_sym stores one of each pair).
_PAPER: dict[str, dict[str, Any]] = {
    "digits": dict(task_options=dict(n_train=1437, n_test=360), n_layers=4, d_model=96,
                   state_size=64, blocks=1, dropout=0.1, lr=0.008, ssm_lr=0.002,
                   batch_size=50, epochs=150, weight_decay=0.01,
                   source="s5_configs.csv row sMNIST (LAST Table 4)"),
    "mnist1d": dict(task_options=dict(n_train=5000, n_test=5000), n_layers=4, d_model=96,
                    state_size=64, blocks=1, dropout=0.1, lr=0.008, ssm_lr=0.002,
                    batch_size=50, epochs=150, weight_decay=0.01,
                    source="s5_configs.csv row sMNIST (LAST Table 4)"),
    "digits32": dict(task_options=dict(n_train=1437, n_test=360), n_layers=6, d_model=512,
                     state_size=192, blocks=3, dropout=0.1, lr=0.005, ssm_lr=0.001,
                     batch_size=50, epochs=250, weight_decay=0.07, bidirectional=True,
                     source="s5_configs.csv row Image (AIRE-prune Table 4)"),
    "listops": dict(task_options=dict(n_train=96000, n_test=2000, min_length=500,
                                      max_length=2000, max_depth=10, max_args=10),
                    n_layers=8, d_model=128, state_size=8, blocks=8, dropout=0.0, lr=0.003,
                    ssm_lr=0.001, batch_size=50, epochs=40, weight_decay=0.07,
                    bidirectional=True,
                    source="s5_configs.csv row ListOps (AIRE-prune Table 4)"),
    "japanese_vowels": dict(task_options=dict(), n_layers=6, d_model=96, state_size=64,
                            blocks=16, dropout=0.1, lr=0.008, ssm_lr=0.002, batch_size=16,
                            epochs=40, weight_decay=0.04, bidirectional=True,
                            source="s5_configs.csv row Speech (LAST Table 4)"),
}

# --------------------------------------------------------------------------- paper_cpu
# The papers' shape on 2 CPU cores (module docstring). Optimiser settings (lr, ssm_lr,
# weight decay, dropout, batch) and bidirectionality are the row's; the depth, width and
# epochs fit ~20 minutes (measured step times and the command in docs/training.md).
# state_size = 64 stored modes = P 128 (conj_sym); blocks J divides 2·64 into even blocks.
# C_init lecun_normal as the official LRA and Speech scripts (`--C_init=lecun_normal`); the
# default trunc_standard_normal draws C row by row, which XLA compiles for minutes at
# H = 96 with 6 bidirectional layers.
_SMNIST_OPT = dict(dropout=0.1, lr=0.008, ssm_lr=0.002, batch_size=50, weight_decay=0.01,
                   c_init="lecun_normal")
_PAPER_CPU: dict[str, dict[str, Any]] = {
    "digits": dict(task_options=dict(n_train=1437, n_test=360), n_layers=4, d_model=96,
                   state_size=64, blocks=1, epochs=60, **_SMNIST_OPT,
                   source="shape of s5_configs.csv row sMNIST (LAST Table 4); 60 epochs"),
    "mnist1d": dict(task_options=dict(n_train=5000, n_test=5000), n_layers=4, d_model=96,
                    state_size=64, blocks=1, epochs=100, **_SMNIST_OPT,
                    source="shape of s5_configs.csv row sMNIST (LAST Table 4); 100 epochs"),
    "digits32": dict(task_options=dict(n_train=1437, n_test=360), n_layers=4, d_model=64,
                     state_size=64, blocks=2, dropout=0.1, lr=0.005, ssm_lr=0.001,
                     batch_size=50, epochs=30, weight_decay=0.07, bidirectional=True,
                     c_init="lecun_normal",
                     source="s5_configs.csv row Image (AIRE-prune Table 4) with 4 layers, "
                     "H 64, P 128, J 2; 30 epochs"),
    "listops": dict(task_options=dict(n_train=4000, n_test=1000, **_LISTOPS_SHORT),
                    n_layers=4, d_model=64, state_size=64, blocks=8, dropout=0.0, lr=0.003,
                    ssm_lr=0.001, batch_size=50, epochs=10, weight_decay=0.07,
                    bidirectional=True, c_init="lecun_normal",
                    source="s5_configs.csv row ListOps (AIRE-prune Table 4) with 4 layers, "
                    "H 64, P 128; short ListOps; 10 epochs"),
    "japanese_vowels": dict(task_options=dict(), n_layers=6, d_model=96, state_size=64,
                            blocks=16, dropout=0.1, lr=0.008, ssm_lr=0.002, batch_size=16,
                            epochs=100, weight_decay=0.04, bidirectional=True,
                            c_init="lecun_normal",
                            source="s5_configs.csv row Speech (LAST Table 4); 100 epochs"),
}
# S4D stores state_size modes per *channel* (a layer has H·N of them, scanned one by one on
# CPU): N is cut so that a layer costs about what the S5 layer costs, keeping H·N ≥ 128.
_PAPER_CPU_S4D: dict[str, dict[str, Any]] = {
    "digits": dict(state_size=4),
    "mnist1d": dict(state_size=4, epochs=60),
    "digits32": dict(state_size=2, epochs=16),
    "listops": dict(state_size=2),
    "japanese_vowels": dict(state_size=8),
}


def _tasks() -> tuple[str, ...]:
    from ssm_bridge.data import TASKS

    return TASKS


def list_presets() -> list[tuple[str, str, str]]:
    """All ``(task, model, preset)`` combinations :func:`get_preset` accepts."""
    return [(t, m, p) for t in _tasks() for m in MODELS for p in PRESET_NAMES]


def get_preset(task: str, preset: str = "cpu", *, model: str = "s5") -> Preset:
    """The training preset ``preset`` of ``task`` for ``model``.

    Parameters
    ----------
    task : str
        One of :data:`ssm_bridge.data.TASKS`.
    preset : {"tiny", "cpu", "paper", "paper_cpu"}
    model : {"s5", "s4d"}

    Returns
    -------
    Preset

    Raises
    ------
    UnknownPresetError
        For an unknown task, preset or model (the message lists the valid names).
    """
    tasks = _tasks()
    if task not in tasks:
        raise UnknownPresetError(f"unknown task {task!r}; valid tasks: {', '.join(tasks)}")
    if preset not in PRESET_NAMES:
        raise UnknownPresetError(
            f"unknown preset {preset!r}; valid presets: {', '.join(PRESET_NAMES)}"
        )
    if model not in MODELS:
        raise UnknownPresetError(f"unknown model {model!r}; valid models: {', '.join(MODELS)}")
    if preset == "tiny":
        fields_: dict[str, Any] = dict(_TINY, task_options=dict(_TINY_DATA[task]))
    elif preset == "cpu":
        fields_ = dict(_CPU[task])
        if model == "s4d":
            fields_.update(_CPU_S4D[task])
    elif preset == "paper_cpu":
        fields_ = dict(_PAPER_CPU[task])
        if model == "s4d":
            fields_.update(_PAPER_CPU_S4D[task])
    else:
        fields_ = dict(_PAPER[task])
        if model == "s4d":
            fields_["state_size"] = max(1, fields_["state_size"] // 2)
    fields_["task_options"] = dict(fields_.get("task_options", {}))
    return Preset(name=preset, task=task, model=model, **fields_)
