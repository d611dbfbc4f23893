"""The ``mor reduce`` command takes reduced models out (issue 14, point 4): ``--order``,
``--tol``, ``--out``, ``--plots``, the comparison table, no raw SLICOT warnings, unstable files."""

from __future__ import annotations

import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import mor
from mor_cli.main import main


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
