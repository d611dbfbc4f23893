"""Shared inputs of the job tests: a small random S5 checkpoint on the digits task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ssm_bridge as sb
from ssm_bridge.data import load_task

TASK_OPTIONS = {"n_train": 64, "n_test": 96}


def write_checkpoint(folder: Path, *, meta: dict | None = None) -> Path:
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(6, 4), d_input=1, n_classes=10)
    path = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=3), cfg)
    if meta is not None:
        (folder / "model.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt")
    return write_checkpoint(folder, meta={"task": "digits", "data_seed": 1,
                                          "task_options": TASK_OPTIONS})


@pytest.fixture(scope="module")
def data():
    return load_task("digits", seed=1, **TASK_OPTIONS)
