"""Shared inputs of the command-line tests: a small random S5 checkpoint on the digits task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ssm_bridge as sb

TASK_OPTIONS = {"n_train": 64, "n_test": 64}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt")
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(4, 4), d_input=1, n_classes=10)
    path = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=5), cfg)
    (folder / "model.meta.json").write_text(
        json.dumps({"task": "digits", "data_seed": 0, "task_options": TASK_OPTIONS}))
    return path
