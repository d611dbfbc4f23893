"""mor_cli/main.py: the parser (--help lists the job commands, version, every default shown,
-v after the sub-command)."""

from __future__ import annotations

import argparse
import re

import pytest

from mor_cli.main import build_parser, main


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert re.fullmatch(r"mor \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_every_option_shows_its_default():
    missing = []
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            default = action.default
            if action.help in (None, argparse.SUPPRESS) or default is None or \
                    default is argparse.SUPPRESS or isinstance(default, bool):
                continue
            if "default" not in action.help:
                missing.append(f"mor {name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"options whose --help hides the default: {missing}"


def test_verbose_is_accepted_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["reduce", "build", "-v"]).verbose is True
    assert parser.parse_args(["-v", "reduce", "build"]).verbose is True
    assert parser.parse_args(["reduce", "build"]).verbose is False


def test_help_lists_the_main_job_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for name in ("demo", "prune", "compare", "verify", "reduce"):
        assert name in text
