"""mor.io: atomic writes leave no temporary behind, JSON-safe data, Markdown tables."""

from __future__ import annotations

import json
import math
import os
import stat

import numpy as np
import pytest

from mor.io import (
    atomic_write_bytes,
    atomic_write_text,
    format_cell,
    json_safe,
    markdown_table,
    write_temporary,
)


def test_atomic_write_text_round_trip_and_no_temporaries(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    atomic_write_text(path, "héllo\n")
    atomic_write_text(path, "second")
    assert path.read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]


def test_atomic_write_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "f.bin", b"\x00\x01")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o640
    assert (tmp_path / "f.bin").read_bytes() == b"\x00\x01"


def test_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.txt"
    path.write_text("old")

    def refuse(src, dst):
        raise OSError("rename refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_write_temporary_is_beside_the_target_and_hidden(tmp_path):
    tmp = write_temporary(tmp_path / "x.json", b"{}")
    assert tmp.parent == tmp_path and tmp.name.startswith(".x.json.")
    assert tmp.read_bytes() == b"{}"
    assert not (tmp_path / "x.json").exists()


def test_json_safe_converts_numpy_and_non_finite():
    data = {
        "a": np.float32(0.5),
        "b": (np.int64(3), np.bool_(True), math.nan),
        1: np.array([[1.0, np.inf], [-np.inf, 2.0]]),
        "c": [float("nan"), "text", None],
    }
    out = json_safe(data)
    assert out == {
        "a": 0.5,
        "b": [3, True, None],
        "1": [[1.0, None], [None, 2.0]],
        "c": [None, "text", None],
    }
    assert type(out["b"][0]) is int and type(out["b"][1]) is bool
    json.dumps(out, allow_nan=False)  # strict JSON accepts it
    assert data["b"][2] != data["b"][2]  # the input is untouched (still NaN)


def test_json_safe_keeps_plain_values():
    assert json_safe(1.25) == 1.25
    assert json_safe("x") == "x"
    assert json_safe(None) is None
    assert json_safe(np.float64(-np.inf)) is None


def test_markdown_table_formats_cells():
    text = markdown_table(["m", "acc"], [["lasso", 0.987654321], ["h2", None], [3, 7]])
    assert text.splitlines() == [
        "| m | acc |",
        "|---:|---:|",
        "| lasso | 0.9877 |",
        "| h2 | n/a |",
        "| 3 | 7 |",
    ]
    assert not text.endswith("\n")


def test_markdown_table_without_rows():
    assert markdown_table(["a"], []) == "| a |\n|---:|"


def test_padded_markdown_table_aligns_columns():
    text = markdown_table(["method", "x"], [["h2", 12.5], ["lasso", None]], padded=True)
    assert text.splitlines() == [
        "| method |    x |",
        "|-------:|-----:|",
        "|     h2 | 12.5 |",
        "|  lasso |  n/a |",
    ]
    with pytest.raises(ValueError):
        markdown_table(["a", "b"], [[1, 2, 3]], padded=True)


def test_format_cell():
    assert [format_cell(v) for v in (None, 1 / 3, 7, "s", True)] == ["n/a", "0.3333", "7", "s",
                                                                      "True"]
