"""Presets (ssm_bridge/presets.py): every preset builds a valid config, unknown names are listed,
and the paper-shaped CPU presets copy the reference table, with a few training steps of each."""

from __future__ import annotations

import numpy as np
import pytest

from ssm_bridge import S4DConfig, S5Config
from ssm_bridge.data import TASK_PACKAGES, TASKS, load_task
from ssm_bridge.presets import (
    MODELS,
    PRESET_NAMES,
    UnknownPresetError,
    get_preset,
    list_presets,
)
from ssm_bridge.train import (
    fit,
)

try:
    import aeon  # noqa: F401
except ImportError:
    HAVE_AEON = False
else:
    HAVE_AEON = True

#: The tasks of the paper-shaped models and whether the paper row is bidirectional
#: (LAST §5: every task but sMNIST/psMNIST; S5's Speech script: bidirectional).
PAPER_TASKS = {"digits32": True, "mnist1d": False, "japanese_vowels": True}
#: Paper rows (shared/reference/s5_configs.csv) whose optimiser settings the presets keep:
#: (lr, ssm_lr, weight_decay, dropout, batch).
ROWS = {
    "digits32": (0.005, 0.001, 0.07, 0.1, 50),    # Image (AIRE-prune Table 4)
    "mnist1d": (0.008, 0.002, 0.01, 0.1, 50),     # sMNIST (LAST Table 4)
    "japanese_vowels": (0.008, 0.002, 0.04, 0.1, 16),  # Speech (LAST Table 4)
}


def test_paper_cpu_is_a_preset_of_every_task_and_model():
    assert "paper_cpu" in PRESET_NAMES
    for task in TASKS:
        for model in MODELS:
            p = get_preset(task, "paper_cpu", model=model)
            assert p.name == "paper_cpu" and p.n_layers >= 4 and p.d_model >= 64


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("task", sorted(PAPER_TASKS))
def test_paper_cpu_presets_have_the_papers_shape(task, model):
    p = get_preset(task, "paper_cpu", model=model)
    cfg = p.model_config(d_input=1, n_classes=10)
    assert isinstance(cfg, S4DConfig if model == "s4d" else S5Config)
    assert cfg.n_layers >= 4 and cfg.d_model >= 64
    assert cfg.bidirectional is PAPER_TASKS[task]
    assert cfg.clip_eigs and cfg.conj_sym
    if model == "s5":
        # at least 64 stored modes per layer: P ≥ 128 real states with conj_sym
        assert min(cfg.state_sizes) >= 64 and 2 * min(cfg.nunits) >= 128
        # the HiPPO blocks split the 2P states evenly into blocks of even size
        assert (2 * p.state_size) % p.blocks == 0 and (2 * p.state_size // p.blocks) % 2 == 0
    else:
        assert min(cfg.nunits) >= 128  # H·N stored modes per layer
    lr, ssm_lr, wd, dropout, batch = ROWS[task]
    assert (p.lr, p.ssm_lr, p.weight_decay, p.dropout, p.batch_size) == (
        lr, ssm_lr, wd, dropout, batch)
    assert p.epochs >= 10 and p.max_steps is None


# XLA compiles each model configuration for ~5–10 s on 2 busy cores: every S5 preset
# trains, and the S4D preset of the longest, bidirectional task (the S4D presets of the
# other tasks differ from it only in state_size and the task, both checked above).
@pytest.mark.parametrize(
    ("task", "model"),
    [("digits32", "s5"), ("mnist1d", "s5"), ("japanese_vowels", "s5"), ("digits32", "s4d")],
)
def test_each_paper_cpu_preset_trains_a_few_steps(task, model):
    if task in TASK_PACKAGES and not HAVE_AEON:
        pytest.skip(f"{TASK_PACKAGES[task]} (extra 'timeseries') missing")
    p = get_preset(task, "paper_cpu", model=model)
    # every setting of the preset but the depth (one layer: XLA compiles each layer
    # separately, and the depth is checked above), on a handful of examples, two steps
    small = p.with_overrides(n_layers=1, batch_size=4, max_steps=2, eval_batch_size=8,
                             task_options={"n_train": 8, "n_test": 8})
    data = load_task(task, seed=0, **small.task_options)
    r = fit(small, data, seed=0, progress=False)
    assert r.metadata["steps"] == 2 and np.isfinite(r.metadata["history"][0]["train_loss"])
    assert r.metadata["preset"] == "paper_cpu" and r.config.d_model == p.d_model
    assert r.config.state_sizes == (p.state_size,)
    assert r.config.bidirectional is p.bidirectional and r.config.dropout == p.dropout
    seq = r.variables["params"]["encoder"]["layers_0"]["seq"]
    modes = seq["Lambda_re"].shape
    assert modes == ((p.d_model, p.state_size) if model == "s4d" else (p.state_size,))
    assert 0.0 <= r.test_accuracy <= 1.0


# --------------------------------------------------------------------------- presets
def test_every_preset_builds_a_valid_config():
    combos = list_presets()
    assert len(combos) == len(TASKS) * len(MODELS) * len(PRESET_NAMES)
    for task, model, name in combos:
        p = get_preset(task, name, model=model)
        cfg = p.model_config(d_input=1, n_classes=10)
        assert isinstance(cfg, S4DConfig if model == "s4d" else S5Config)
        assert cfg.n_layers == p.n_layers and cfg.state_sizes == (p.state_size,) * p.n_layers
        assert p.epochs >= 1 and p.batch_size >= 1 and p.lr > 0 and p.ssm_lr > 0


def test_paper_presets_copy_the_reference_table():
    # shared/reference/s5_configs.csv, row ListOps (AIRE-prune Table 4): 8 layers, H 128,
    # P 16 (stored 8 with conj_sym), J 8, lr 0.003, ssm_lr 0.001, batch 50, 40 epochs, wd 0.07
    p = get_preset("listops", "paper")
    assert (p.n_layers, p.d_model, p.state_size, p.blocks) == (8, 128, 8, 8)
    assert (p.lr, p.ssm_lr, p.batch_size, p.epochs, p.weight_decay) == (
        0.003, 0.001, 50, 40, 0.07)
    assert p.task_options["max_length"] == 2000


@pytest.mark.parametrize(
    ("args", "word"),
    [(("nope", "cpu"), "digits"), (("digits", "huge"), "tiny"),
     (("digits", "cpu", "mamba"), "s4d")],
)
def test_unknown_preset_task_or_model_lists_valid_names(args, word):
    task, preset, *model = args
    with pytest.raises(UnknownPresetError, match=word) as info:
        get_preset(task, preset, model=model[0] if model else "s5")
    assert isinstance(info.value, ValueError)
