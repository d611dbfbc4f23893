"""The ``mor train`` command: a tiny run, refusing an existing --out, bad names, and
``--reduce-every``."""

from __future__ import annotations

import json

import pytest

from mor_cli.main import main
from ssm_bridge import load_checkpoint


def _mor(argv, capsys):
    from mor_cli.main import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_train_tiny_listops_and_refuse_existing(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = _mor(["train", "listops", "--preset", "tiny", "--seed", "1",
                            "--out", str(out), "--no-progress"], capsys)
    assert code == 0, stdout
    assert "test accuracy" in stdout
    meta = json.loads((out / "model.meta.json").read_text())
    assert meta["task"] == "listops" and meta["input_encoding"] == "one_hot"
    assert meta["seed"] == 1 and meta["preset"] == "tiny"
    assert meta["command"].startswith("mor train listops")
    ckpt = load_checkpoint(out / "model.msgpack")
    assert ckpt.config.d_input == 16  # one-hot over the ListOps vocabulary
    stamp = (out / "model.msgpack").stat().st_mtime_ns
    code, _, err = _mor(["train", "listops", "--preset", "tiny", "--out", str(out)], capsys)
    assert code == 2 and "exists" in err and "--force" in err
    assert (out / "model.msgpack").stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("argv", "word"),
    [(["train", "cifar", "--preset", "tiny"], "digits"),
     (["train", "digits", "--preset", "huge"], "tiny"),
     (["train", "digits", "--model", "rnn", "--preset", "tiny"], "s4d"),
     (["train", "digits", "--preset", "tiny", "--epochs", "0"], "epochs")],
)
def test_cli_train_bad_names(argv, word, tmp_path, capsys):
    out = tmp_path / "never"
    code, _, err = _mor([*argv, "--out", str(out)], capsys)
    assert code == 2 and word in err
    assert not out.exists()


def test_mor_train_reduce_every(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "digits", "--preset", "tiny", "--reduce-every", "2", "--tol", "0.5",
                 "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    meta = json.loads((out / "model.meta.json").read_text())
    (red,) = meta["reductions"]  # the tiny preset takes 4 steps: a reduction at step 2
    assert f"step 2: stored modes per layer {red['state_sizes_before']}" in text
    assert meta["reduction"] == {"method": "energy", "tol": 0.5}
    assert load_checkpoint(out / "model.msgpack").config.state_sizes == tuple(
        red["state_sizes_after"])
