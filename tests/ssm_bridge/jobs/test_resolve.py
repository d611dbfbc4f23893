"""Resolving a job's input: wrong kinds of checkpoint, no task, data that do not fit."""

from __future__ import annotations

import numpy as np
import pytest

import ssm_bridge as sb
from ssm_bridge import jobs

from .conftest import write_checkpoint


def test_wrong_kind_of_checkpoint(tmp_path):
    junk = tmp_path / "junk.msgpack"
    junk.write_bytes(b"\x00not msgpack at all")
    with pytest.raises(sb.CheckpointError):
        jobs.prune_checkpoint(junk, "aire", 0.5, tmp_path / "o1", task="digits")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(sb.CheckpointError, match="not a checkpoint"):
        jobs.compare_checkpoint(text, tmp_path / "o2", ratios=[0.5])
    with pytest.raises(sb.CheckpointError, match="no such checkpoint"):
        jobs.compare_checkpoint(tmp_path / "missing.msgpack", tmp_path / "o3", ratios=[0.5])
    # a checkpoint without its config beside it
    folder = tmp_path / "noconfig"
    folder.mkdir()
    path = write_checkpoint(folder)
    (folder / "model.config.json").unlink()
    with pytest.raises(sb.CheckpointError, match="config"):
        jobs.prune_checkpoint(path, "aire", 0.5, tmp_path / "o4", task="digits")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.msgpack", "noconfig",
                                                           "notes.txt"]


def test_checkpoint_without_task(tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir()
    path = write_checkpoint(folder)
    with pytest.raises(jobs.JobError, match="--task"):
        jobs.prune_checkpoint(path, "aire", 0.5, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_data_that_do_not_fit_the_model(ckpt, tmp_path):
    x = np.zeros((4, 16, 3), np.float32)
    with pytest.raises(jobs.JobError, match="d_input"):
        jobs.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "o", data=(x, np.zeros(4, np.int32)))
    assert list(tmp_path.iterdir()) == []
