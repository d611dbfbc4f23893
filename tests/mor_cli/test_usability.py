"""The command line explains itself (issue 14, point 10) and takes reduced models out (point 4).

Help texts, defaults, version, ``-v`` after the sub-command, method names; ``mor reduce``
with ``--order``/``--tol``/``--out``/``--plots``; ``mor verify --out``; no raw SLICOT warnings;
the accuracy-drop warning of ``mor prune`` (on a made-up result, the real one runs in the
SSM tutorial).
"""

from __future__ import annotations

import argparse
import re
import struct
import warnings
from pathlib import Path
from types import SimpleNamespace

import control
import numpy as np
import pytest
import scipy.io

import mor
from mor_cli.main import build_parser, main


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


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


@pytest.mark.parametrize("command, flag", [("prune", "--method"), ("compare", "--methods"),
                                           ("verify", "--method"), ("reduce", "--methods"),
                                           ("reduce", "--method")])
def test_method_options_list_the_method_names(command, flag):
    sub = _subparsers(build_parser())[command]
    text = _option(sub, flag).help
    names = mor.REDUCE_METHODS if (command, flag) == ("reduce", "--method") else mor.METHODS
    assert all(m in text for m in names), text


def test_verbose_is_accepted_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["reduce", "build", "-v"]).verbose is True
    assert parser.parse_args(["-v", "reduce", "build"]).verbose is True
    assert parser.parse_args(["reduce", "build"]).verbose is False


def test_out_help_matches_force():
    for name in ("prune", "compare"):
        text = _option(_subparsers(build_parser())[name], "--out").help
        assert "must not exist" not in text and "--force" in text


def test_prune_refuses_all_and_names_the_command_that_compares(capsys, tmp_path):
    assert main(["prune", "s5_digits", "--method", "all", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "mor compare CHECKPOINT --methods all" in err
    assert not (tmp_path / "o").exists()


def test_verify_never_shows_a_number_as_an_estimate_holding(capsys):
    assert main(["verify", "build", "--method", "aire", "--ratio", "0.5"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if " est. " in line]
    assert rows and all(row[-1] == "n/a" for row in rows)


@pytest.mark.parametrize("suffix", [".mat", ".json"])
def test_reduce_writes_the_model_it_certifies(capsys, tmp_path, suffix):
    out = tmp_path / f"build_r{suffix}"
    assert main(["reduce", "build", "--order", "6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    bound = float(re.search(r"\|\s+6 \|\s+(\S+) \|", text).group(1))
    reduced = mor.load_system(out)
    full = mor.load_benchmark("build")
    assert reduced.nstates == 6 and reduced.dt == 0
    assert mor.hinf_norm(full - reduced) <= bound * (1 + 1e-3)  # 4 digits printed
    # the written file is a system the command reads back
    assert main(["reduce", str(out), "--tol", "1e-3"]) == 0


def test_reduce_by_tol_and_the_other_methods(capsys):
    assert main(["reduce", "build", "--tol", "1e-4", "--method", "last"]) == 0
    text = capsys.readouterr().out
    assert "last to" in text and "modal triangle" in text


def test_reduce_out_needs_one_model(capsys, tmp_path):
    assert main(["reduce", "build", "--out", str(tmp_path / "r.mat")]) == 2
    assert "--order R or --tol EPS" in capsys.readouterr().err
    assert main(["reduce", "build", "--order", "3", "--out", str(tmp_path / "r.txt")]) == 2
    assert ".mat" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _png_dpi(path: Path) -> float:
    data = path.read_bytes()
    i = data.index(b"pHYs")
    ppm_x, _, unit = struct.unpack(">IIB", data[i + 4:i + 13])
    assert unit == 1  # pixels per metre
    return ppm_x * 0.0254


def test_reduce_plots_in_the_format_asked(capsys, tmp_path):
    folder = tmp_path / "figs"
    assert main(["reduce", "build", "--order", "8", "--plots", str(folder)]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["error_vs_order.png", "hankel.png", "sigma.png"]
    assert _png_dpi(folder / "sigma.png") == pytest.approx(200, abs=1)
    assert "every bound holds" in capsys.readouterr().out
    assert main(["reduce", "build", "--order", "8", "--plots", str(folder / "v"),
                 "--format", "svg"]) == 0
    assert sorted(p.suffix for p in (folder / "v").iterdir()) == [".svg"] * 3


def test_reduce_table_says_where_balanced_truncation_wins(capsys):
    assert main(["reduce", "build", "--methods", "aire,balanced_truncation",
                 "--ratios", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "ratio 0.5: smallest H∞ error by balanced_truncation" in out
    assert "balanced truncation beats the best modal method (aire)" in out
    assert "next: `mor reduce build --tol EPS --out model.mat`" in out


def test_reduce_says_a_smaller_minimal_order_once_without_raw_slycot_warnings(capsys):
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        assert main(["reduce", "CDplayer", "--order", "119"]) == 0
        assert main(["reduce", "CDplayer", "--methods", "balanced_truncation",
                     "--ratios", "0.005"]) == 0
    assert not raised, [str(w.message) for w in raised]  # none escapes the command
    captured = capsys.readouterr()
    assert "note: order 118 instead of 119" in captured.out
    notes = [line for line in captured.err.splitlines() if "note:" in line]
    assert notes and all(line.startswith("mor reduce: note: ") for line in notes)
    assert "minimal realization" in captured.err and "\n\n" not in captured.err


def test_an_unstable_mat_file_is_reduced_with_its_unstable_part(capsys, tmp_path):
    A = np.diag([-1.0, -2.0, -5.0, 0.5])
    path = tmp_path / "unstable.mat"
    scipy.io.savemat(path, {"a": A, "b": np.ones((4, 1)), "c": np.ones((1, 4)), "Ts": 0.0})
    assert main(["reduce", str(path)]) == 2  # the table needs a stable system: says why
    assert "--order R or --tol EPS" in capsys.readouterr().err
    assert main(["reduce", str(path), "--order", "2", "--out", str(tmp_path / "r.json")]) == 0
    assert "1 unstable state(s)" in capsys.readouterr().out
    reduced = mor.load_system(tmp_path / "r.json")
    assert np.min(np.abs(np.linalg.eigvals(reduced.A) - 0.5)) < 1e-12


def test_verify_out_writes_the_reduced_system(capsys, tmp_path):
    out = tmp_path / "cd.json"
    assert main(["verify", "build", "--method", "aire", "--ratio", "0.5", "--out",
                 str(out)]) == 0
    reduced = mor.load_system(out)
    modal = mor.ModalSystem.from_statespace(mor.load_benchmark("build"))
    plan = mor.prune([modal], "aire", ratio=0.5)
    expected = plan.apply([modal])[0].to_statespace()
    w = np.logspace(-1, 2, 20)
    assert np.allclose(control.frequency_response(reduced, w).complex,
                       control.frequency_response(expected, w).complex, rtol=1e-10)
    assert main(["verify", "build", "--ratios", "0.1,0.5", "--out", str(tmp_path / "x.mat")]) == 2
    assert "one --ratio" in capsys.readouterr().err


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


def test_prune_and_compare_take_points_and_format():
    subs = _subparsers(build_parser())
    assert subs["prune"].parse_args(["x", "--out", "o", "--points", "2"]).points == 2.0
    args = subs["compare"].parse_args(["x", "--out", "o", "--format", "pdf"])
    assert args.fig_format == "pdf"
    with pytest.raises(SystemExit):
        subs["compare"].parse_args(["x", "--out", "o", "--format", "jpg"])
