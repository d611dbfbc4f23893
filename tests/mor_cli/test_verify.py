"""The ``mor verify`` command: layer stacks, benchmarks, broken files and bad arguments,
``--out`` (the reduced system), and no estimate shown as a holding bound."""

from __future__ import annotations

import json

import control
import numpy as np
import pytest
import scipy.io

import mor
from mor.system_io import save_stack
from mor_cli.main import main


def _stack():
    a = mor.ModalSystem.from_continuous_parameters(
        [-0.5 + 1j, -0.1 + 3j], np.ones((2, 2)), [[1.0, 0.5j], [0.2, 1.0]], step=0.1)
    b = mor.ModalSystem([0.5, -0.2], [[1.0, 0.0], [0.0, 1.0]], np.eye(2), dt=1,
                        C_backward=np.ones((2, 2)))
    return [a, b]


def test_verify_stack_and_benchmark(tmp_path, capsys):
    save_stack(tmp_path / "s.npz", _stack())
    out = tmp_path / "r.json"
    assert main(["verify", str(tmp_path / "s.npz"), "--method", "aire", "--ratios", "0.25,0.5",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["layers"]) == 4 and {row["ratio"] for row in data["layers"]} == {0.25, 0.5}
    for row in data["layers"]:
        for b in row["bounds"]:
            assert b["norm"] in ("hinf", "h2") and b["holds"] in (True, False, None)
    assert main(["verify", "build", "--method", "last", "--ratio", "0.5"]) == 0
    assert "modal_triangle" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        ({"A": -np.eye(2), "B": np.ones((2, 1))}, "lacks C"),
        ({"A": -np.eye(2), "B": np.ones((3, 1)), "C": np.ones((1, 2))}, "B has shape"),
        ({"A": np.array([[np.nan, 0], [0, -1]]), "B": np.ones((2, 1)), "C": np.ones((1, 2))},
         "NaN"),
        ({"A": np.eye(2), "B": np.ones((2, 1)), "C": np.ones((1, 2))}, "violates"),
        ({"A": np.array([[-1.0, 1.0], [0.0, -1.0]]), "B": np.ones((2, 1)),
          "C": np.ones((1, 2))}, "defective"),
    ],
)
def test_verify_broken_files_fail_cleanly(tmp_path, capsys, content, message):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, content)
    out = tmp_path / "r.json"
    assert main(["verify", str(path), "--json", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_verify_garbage_and_bad_ratio(tmp_path, capsys):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    assert main(["verify", str(bad)]) == 2
    assert main(["verify", "build", "--ratio", "1.5"]) == 2
    assert main(["verify", "no-such-thing"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_verify_never_shows_a_number_as_an_estimate_holding(capsys):
    assert main(["verify", "build", "--method", "aire", "--ratio", "0.5"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if " est. " in line]
    assert rows and all(row[-1] == "n/a" for row in rows)


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
