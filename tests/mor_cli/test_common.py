"""Options the commands share (mor_cli/_common.py): method names in --help, --out and
--force, --points and --format, unknown methods and checkpoints of the wrong kind."""

from __future__ import annotations

import argparse

import pytest

import mor
from mor_cli.main import build_parser, main


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


@pytest.mark.parametrize("command, flag", [("prune", "--method"), ("compare", "--methods"),
                                           ("verify", "--method"), ("reduce", "--methods"),
                                           ("reduce", "--method")])
def test_method_options_list_the_method_names(command, flag):
    sub = _subparsers(build_parser())[command]
    text = _option(sub, flag).help
    names = mor.REDUCE_METHODS if (command, flag) == ("reduce", "--method") else mor.METHODS
    assert all(m in text for m in names), text


def test_out_help_matches_force():
    for name in ("prune", "compare"):
        text = _option(_subparsers(build_parser())[name], "--out").help
        assert "must not exist" not in text and "--force" in text


def test_prune_and_compare_take_points_and_format():
    subs = _subparsers(build_parser())
    assert subs["prune"].parse_args(["x", "--out", "o", "--points", "2"]).points == 2.0
    args = subs["compare"].parse_args(["x", "--out", "o", "--format", "pdf"])
    assert args.fig_format == "pdf"
    with pytest.raises(SystemExit):
        subs["compare"].parse_args(["x", "--out", "o", "--format", "jpg"])


def test_unknown_method(ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(ckpt), "--methods", "aire,bogus", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "bogus" in capsys.readouterr().err
    rc = main(["prune", str(ckpt), "--method", "bogus", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "choose from" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_wrong_kind_of_checkpoint(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    rc = main(["compare", str(notes), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "not a checkpoint" in capsys.readouterr().err
    rc = main(["prune", "no_such_model", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "bundled" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
