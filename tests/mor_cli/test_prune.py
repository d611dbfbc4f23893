"""The ``mor prune`` command: a small checkpoint pruned end to end, an existing ``--out`` or a
ratio outside [0, 1] refused, ``--method all`` refused, and the accuracy-drop warning."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

import ssm_bridge as sb
from mor_cli.main import main


def test_prune_refuses_all_and_names_the_command_that_compares(capsys, tmp_path):
    assert main(["prune", "s5_digits", "--method", "all", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "mor compare CHECKPOINT --methods all" in err
    assert not (tmp_path / "o").exists()


def test_the_accuracy_drop_warning_names_the_fix(capsys):
    from mor_cli.prune import warn_accuracy_drop

    result = SimpleNamespace(accuracy_before=0.9778, accuracy_after=0.0778, advice={
        "over_budget": True, "drop_points": 90.0, "points": 1.0, "method": "aire",
        "suggested_ratio": 0.2, "validation_examples": 287,
        "commands": ["mor prune s5_digits --method aire --ratio 0.2 --out DIR",
                     "mor prune s5_digits --method aire --max-drop 1 --out DIR"]})
    warn_accuracy_drop(result, SimpleNamespace())
    err = capsys.readouterr().err
    assert "WARNING: the test accuracy fell by 90.00 points" in err
    assert "largest ratio within 1 point(s) for aire is 0.2" in err
    assert "--ratio 0.2 --out DIR" in err and "--max-drop 1" in err
    warn_accuracy_drop(SimpleNamespace(advice={"over_budget": False}), SimpleNamespace())
    assert capsys.readouterr().err == ""


def test_prune_command(ckpt, tmp_path, capsys):
    out = tmp_path / "small"
    rc = main(["prune", str(ckpt), "--method", "aire", "--ratio", "0.5", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and str(out) in text
    small = sb.load_checkpoint(out / "model.msgpack")
    assert sum(small.config.state_sizes) == 4
    saved = json.loads((out / "accuracy.json").read_text())
    assert saved["method"] == "aire" and saved["ratio"] == 0.5
    # the run directory form of a checkpoint (as `mor train --out DIR` writes it)
    rc = main(["prune", str(ckpt.parent), "--ratio", "0.25", "--out", str(tmp_path / "b")])
    assert rc == 0


def test_existing_out_is_refused_with_exit_2(ckpt, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    rc = main(["prune", str(ckpt), "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--force" in err and "exists" in err
    assert list(out.iterdir()) == []


def test_prune_ratio_outside_unit_interval(ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["prune", str(ckpt), "--ratio", "1.5", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "[0, 1]" in capsys.readouterr().err
