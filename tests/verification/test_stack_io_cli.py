"""stack_io round trip and the ``mor verify`` command."""

import json

import numpy as np
import pytest
import scipy.io

import mor
from mor_cli.main import main
from verification import load_stack, save_stack


def _stack():
    a = mor.ModalSystem.from_continuous_parameters(
        [-0.5 + 1j, -0.1 + 3j], np.ones((2, 2)), [[1.0, 0.5j], [0.2, 1.0]], step=0.1)
    b = mor.ModalSystem([0.5, -0.2], [[1.0, 0.0], [0.0, 1.0]], np.eye(2), dt=1,
                        C_backward=np.ones((2, 2)))
    return [a, b]


def test_round_trip(tmp_path):
    stack = _stack()
    save_stack(tmp_path / "s.npz", stack)
    back = load_stack(tmp_path / "s.npz")
    for x, y in zip(stack, back, strict=True):
        w = np.linspace(0, 3, 7)
        np.testing.assert_allclose(x.frequency_response(w), y.frequency_response(w), rtol=1e-14)
        assert x.output_after_update == y.output_after_update
        assert x.bidirectional == y.bidirectional


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
