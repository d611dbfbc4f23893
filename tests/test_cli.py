"""The ``mor`` command line: prune, compare and demo (in-process, through ``main``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mor
import ssm_bridge as sb
from mor_cli.main import build_parser, main
from ssm_bridge import pipeline as pl

TASK_OPTIONS = {"n_train": 64, "n_test": 64}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt")
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(4, 4), d_input=1, n_classes=10)
    path = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=5), cfg)
    (folder / "model.meta.json").write_text(
        json.dumps({"task": "digits", "data_seed": 0, "task_options": TASK_OPTIONS}))
    return path


def test_help_lists_the_main_job_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for name in ("demo", "prune", "compare", "verify", "reduce"):
        assert name in text


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


@pytest.mark.parametrize("ratios", ["0:2:0.5", "-0.1,0.5", "abc", "1.5"])
def test_ratio_list_outside_unit_interval(ckpt, tmp_path, capsys, ratios):
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(ckpt), "--ratios", ratios, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "ratio" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_prune_ratio_outside_unit_interval(ckpt, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["prune", str(ckpt), "--ratio", "1.5", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "[0, 1]" in capsys.readouterr().err


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


def test_demo_replaces_its_own_report_only(tmp_path, monkeypatch):
    """The demo's folder is replaced by the next demo; any other folder needs --force."""
    calls = []

    def fake_compare(res, target, **kwargs):
        calls.append(res.label)
        (target / "report.md").write_text("fake")
        return pl.CompareResult(target, target / "report.md", res.label, "digits", 1.0, 0.0,
                                ("aire",), (0.0,), None, None, (), {"aire": 0.0}, [], {}, ())

    monkeypatch.setattr(pl, "_write_compare", fake_compare)
    monkeypatch.setattr(pl, "available_bundled", lambda: ("s5_digits",))
    monkeypatch.setattr(pl, "resolve_checkpoint", lambda name: pl.ResolvedCheckpoint(
        name, None, None, None, "digits"))
    out = tmp_path / "demo"
    result = pl.run_demo(out, names=["s5_digits"], verify_ratios=(0.5,),
                         verify_methods=("aire",))
    assert (out / ".mor-demo").is_file() and (out / "s5_digits" / "report.md").is_file()
    assert result.report_path.read_text().startswith("# `mor demo`")
    (out / "stale.txt").write_text("old")
    pl.run_demo(out, names=["s5_digits"], verify_ratios=(0.5,), verify_methods=("aire",))
    assert not (out / "stale.txt").exists()
    assert calls == ["s5_digits", "s5_digits"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with pytest.raises(pl.OutputExistsError):
        pl.run_demo(foreign, names=["s5_digits"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "foreign"]


# ---------------------------------------------------------------------- the demo itself
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    present = pl.available_bundled()
    if not present:
        pytest.skip("no bundled checkpoint file is installed yet (scripts/train_bundled.py)")
    out = tmp_path_factory.mktemp("demo") / "reports"
    rc = main(["demo", "--out", str(out), "--ratios", "0:1:0.25", "--no-progress"])
    return rc, out, present


def test_demo_writes_every_report_file(demo, capsys):
    rc, out, present = demo
    assert rc == 0
    assert (out / "report.md").is_file()
    assert (out / "verify_CDplayer.json").is_file() and (out / "verify_CDplayer.md").is_file()
    index = (out / "report.md").read_text()
    for name in present:
        folder = out / name
        for f in ("report.md", "results.json", "accuracy.csv", "accuracy_vs_ratio.png",
                  "kept_fraction.png", "poles_aire.png", "poles_last.png", "energies.png",
                  "certificates.png", "speedup.png"):
            assert (folder / f).is_file() and (folder / f).stat().st_size > 0, f"{name}/{f}"
        assert f"({name}/report.md)" in index


def test_demo_numbers_match_direct_evaluation(demo):
    from ssm_bridge.bundled import bundled_metadata, load_bundled

    _, out, present = demo
    for name in present:
        ckpt, data = load_bundled(name)
        x, y = pl._test_arrays(data)
        saved = json.loads((out / name / "results.json").read_text())
        direct = sb.evaluate(ckpt.variables, ckpt.config, x, y)
        assert saved["full"]["accuracy"] == pytest.approx(direct.accuracy, abs=1e-12), name
        assert saved["full"]["accuracy"] == pytest.approx(
            bundled_metadata(name)["test_accuracy"], abs=1e-12), name
        plan = mor.prune(sb.extract(ckpt.variables, ckpt.config), "aire", ratio=0.5)
        masked, cfg = sb.apply(ckpt.variables, ckpt.config, plan, mode="mask")
        at = sb.evaluate(masked, cfg, x, y)
        j = saved["ratios"].index(0.5)
        assert saved["accuracy"]["aire"][j] == pytest.approx(at.accuracy, abs=1e-12), name


def test_demo_certifies_the_benchmark(demo):
    _, out, _ = demo
    saved = json.loads((out / "verify_CDplayer.json").read_text())
    methods = {r["method"] for r in saved["rows"]}
    assert methods == {"aire", "last", "balanced_truncation"}
    for row in saved["rows"]:
        assert row["all_proved_bounds_hold"] is True, row
        assert row["best_bound"] >= row["exact_hinf"] * (1 - 1e-8)
