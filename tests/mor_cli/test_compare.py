"""The ``mor compare`` command: ratio lists outside [0, 1] are refused before any work."""

from __future__ import annotations

import pytest

from mor_cli.main import main


@pytest.mark.parametrize("ratios", ["0:2:0.5", "-0.1,0.5", "abc", "1.5"])
def test_ratio_list_outside_unit_interval(ckpt, tmp_path, capsys, ratios):
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(ckpt), "--ratios", ratios, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "ratio" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
