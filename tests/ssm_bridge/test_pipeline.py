"""The main job's Python API: prune_checkpoint, compare_checkpoint, run_demo.

Reports are checked against direct evaluation: the full accuracy in a report is
``ssm_bridge.evaluate`` of the checkpoint, the accuracy of a (method, ratio) is
``apply(mask)`` + ``evaluate`` of that plan, and a pruned checkpoint evaluates to the
accuracy its report gives.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import mor
import ssm_bridge as sb
from mor.exceptions import RatioError, UnknownMethodError
from ssm_bridge import pipeline as pl
from ssm_bridge.data import load_task
from ssm_bridge.metrics import largest_ratio_within

TASK_OPTIONS = {"n_train": 64, "n_test": 96}
COMPARE_FILES = {
    "report.md", "results.json", "accuracy.csv", "accuracy_vs_ratio.png", "kept_fraction.png",
    "poles_aire.png", "poles_last.png", "energies.png", "certificates.png", "speedup.png",
    "certificates_aire.json", "certificates_last.json",
}


def _write_checkpoint(folder: Path, *, meta: dict | None = None) -> Path:
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(6, 4), d_input=1, n_classes=10)
    path = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=3), cfg)
    if meta is not None:
        (folder / "model.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt")
    return _write_checkpoint(folder, meta={"task": "digits", "data_seed": 1,
                                           "task_options": TASK_OPTIONS})


@pytest.fixture(scope="module")
def data():
    return load_task("digits", seed=1, **TASK_OPTIONS)


@pytest.fixture(scope="module")
def compared(ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "report"
    result = pl.compare_checkpoint(ckpt, out, methods="all", ratios=[0, 0.25, 0.5, 0.75, 1],
                                   speedup_ratios=(0.5,), repeats=1, progress=False)
    return out, result


@pytest.fixture(scope="module")
def pruned(ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("prune") / "small"
    return out, pl.prune_checkpoint(ckpt, "aire", 0.5, out)


# ---------------------------------------------------------------------- compare
def test_compare_writes_every_report_file(compared):
    out, result = compared
    assert COMPARE_FILES <= {p.name for p in out.iterdir()}
    assert set(result.files) <= {p.name for p in out.iterdir()}
    for name in COMPARE_FILES:
        assert (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    report = (out / "report.md").read_text(encoding="utf-8")
    for png in out.glob("*.png"):
        assert f"({png.name})" in report, f"{png.name} is not shown in report.md"
    # Nothing left over beside the report (the staging directory was renamed).
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_compare_full_accuracy_equals_direct_evaluation(compared, ckpt, data):
    out, result = compared
    c = sb.load_checkpoint(ckpt)
    direct = sb.evaluate(c.variables, c.config, data.x_test, data.y_test)
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["full"]["accuracy"] == pytest.approx(direct.accuracy, abs=1e-12)
    assert saved["full"]["loss"] == pytest.approx(direct.loss, rel=1e-6)
    assert saved["test_examples"] == len(data.y_test)
    assert result.full_accuracy == pytest.approx(direct.accuracy, abs=1e-12)


@pytest.mark.parametrize(("method", "ratio"), [("aire", 0.5), ("last", 0.75), ("lamp", 0.25)])
def test_compare_accuracy_equals_apply_mask_and_evaluate(compared, ckpt, data, method, ratio):
    out, _ = compared
    c = sb.load_checkpoint(ckpt)
    plan = mor.prune(sb.extract(c.variables, c.config), method, ratio=ratio)
    masked, cfg = sb.apply(c.variables, c.config, plan, mode="mask")
    direct = sb.evaluate(masked, cfg, data.x_test, data.y_test)
    with (out / "accuracy.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["method"] == method and float(r["ratio"]) == ratio]
    assert len(rows) == 1
    assert float(rows[0]["accuracy"]) == pytest.approx(direct.accuracy, abs=1e-12)
    assert float(rows[0]["loss"]) == pytest.approx(direct.loss, rel=1e-5)
    assert int(rows[0]["kept_units"]) == sum(plan.kept_counts)
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    j = saved["ratios"].index(ratio)
    assert saved["accuracy"][method][j] == pytest.approx(direct.accuracy, abs=1e-12)


def test_compare_table1_and_skipped_methods(compared):
    out, result = compared
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # issue 12: balanced truncation keeps the S5 structure and is swept like the others
    assert saved["skipped_methods"] == {}
    assert set(saved["methods"]) == set(mor.METHODS)
    assert saved["certificates"]["balanced_truncation"]["kind"] == "balanced"
    for m in saved["methods"]:
        expected = largest_ratio_within(saved["ratios"], saved["accuracy"][m],
                                        saved["full"]["accuracy"])
        assert saved["largest_ratio_within"][m] == expected
        assert result.largest_ratio[m] == expected
    # kept fraction per layer is that of the plans
    frac = np.asarray(saved["kept_fraction"]["aire"])
    assert frac.shape == (len(saved["ratios"]), 2)
    assert frac[0].tolist() == [1.0, 1.0]
    assert frac[-1].tolist() == [1 / 6, 1 / 4]  # ratio 1 keeps one unit per layer


def test_compare_certificates_and_speedup(compared):
    out, result = compared
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    cert = saved["certificates"]["aire"]
    assert cert["ratio"] == 0.5
    assert cert["summary"]["all_valid_bounds_hold"] is True
    for layer in cert["layers"]:
        tri = next(b for b in layer["bounds"] if b["name"] == "modal_triangle")
        assert tri["value"] >= layer["exact_hinf"] * (1 - 1e-8)
    (row,) = saved["speedup"]
    assert row["ratio"] == 0.5 and row["seconds_full"] > 0 and row["seconds_reduced"] > 0
    plan = result.plan("aire", 0.5)
    assert row["state_sizes"] == list(plan.kept_counts)


# ---------------------------------------------------------------------- prune
def test_prune_writes_a_loadable_smaller_checkpoint(pruned, ckpt, data):
    out, result = pruned
    assert {"model.msgpack", "model.config.json", "model.plan.json", "certificates.json",
            "certificates.md", "accuracy.json", "report.md"} <= {p.name for p in out.iterdir()}
    small = sb.load_checkpoint(out / "model.msgpack")
    assert small.config.state_sizes == result.plan.kept_counts
    assert sum(small.config.state_sizes) < 10
    assert small.plan == result.plan == mor.KeepPlan.load(out / "model.plan.json")
    direct = sb.evaluate(small.variables, small.config, data.x_test, data.y_test)
    saved = json.loads((out / "accuracy.json").read_text(encoding="utf-8"))
    assert saved["after"]["accuracy"] == pytest.approx(direct.accuracy, abs=1e-12)
    assert saved["after"]["state_sizes"] == list(small.config.state_sizes)
    full = sb.load_checkpoint(ckpt)
    before = sb.evaluate(full.variables, full.config, data.x_test, data.y_test)
    assert saved["before"]["accuracy"] == pytest.approx(before.accuracy, abs=1e-12)
    # the removed model computes what the masked one does
    masked, cfg = sb.apply(full.variables, full.config, result.plan, mode="mask")
    assert direct.accuracy == sb.evaluate(masked, cfg, data.x_test, data.y_test).accuracy


def test_prune_certificate_report(pruned):
    out, result = pruned
    cert = json.loads((out / "certificates.json").read_text(encoding="utf-8"))
    assert cert["method"] == "aire" and len(cert["layers"]) == 2
    assert [lc["npruned"] for lc in cert["layers"]] == [len(p) for p in result.plan.pruned]
    assert cert["summary"]["all_valid_bounds_hold"] is True
    assert "| layer |" in (out / "certificates.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- bad input
def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_existing_output_is_refused_unless_force(ckpt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(pl.OutputExistsError, match="--force"):
        pl.prune_checkpoint(ckpt, "aire", 0.5, out)
    with pytest.raises(pl.OutputExistsError, match="--force"):
        pl.compare_checkpoint(ckpt, out, ratios=[0, 1])
    # --force replaces only a folder mor wrote (issue 9): this one has no marker
    with pytest.raises(pl.OutputExistsError, match="mor-output"):
        pl.prune_checkpoint(ckpt, "last", 0.25, out, force=True)
    assert _listing(tmp_path) == ["out", "out/keep.txt"]
    pl.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "ours")
    (tmp_path / "ours" / "stale.txt").write_text("old")
    result = pl.prune_checkpoint(ckpt, "last", 0.25, tmp_path / "ours", force=True)
    assert not (tmp_path / "ours" / "stale.txt").exists()
    assert (tmp_path / "ours" / "model.msgpack").is_file()
    assert result.plan.method == "last"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours", "out"]  # no temp left


@pytest.mark.parametrize("method", ["nope", "AIRE", ""])
def test_unknown_method(ckpt, tmp_path, method):
    with pytest.raises(UnknownMethodError, match="choose from"):
        pl.prune_checkpoint(ckpt, method, 0.5, tmp_path / "o")
    with pytest.raises(UnknownMethodError):
        pl.compare_checkpoint(ckpt, tmp_path / "o", methods=[method], ratios=[0.5])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ratios", [[0.5, 1.5], [-0.1], [], [float("nan")]])
def test_ratios_outside_unit_interval(ckpt, tmp_path, ratios):
    with pytest.raises(RatioError, match=r"\[0, 1\]"):
        pl.compare_checkpoint(ckpt, tmp_path / "o", ratios=ratios)
    assert list(tmp_path.iterdir()) == []


def test_prune_ratio_outside_unit_interval(ckpt, tmp_path):
    with pytest.raises(RatioError):
        pl.prune_checkpoint(ckpt, "aire", 1.2, tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


def test_balanced_truncation_prunes_a_network(ckpt, data, tmp_path):
    """Issue 12 replaced the refusal: the pruned checkpoint is the balanced-truncated model
    (re-diagonalised, same D), its accuracy is the report's, its certificates hold."""
    result = pl.prune_checkpoint(ckpt, "balanced_truncation", 0.5, tmp_path / "o")
    assert result.plan.kind == "balanced" and result.plan.kept_counts == (6, 4)
    small = sb.load_checkpoint(result.checkpoint_path)
    assert small.config.state_sizes == result.state_sizes_after
    direct = sb.evaluate(small.variables, small.config, data.x_test, data.y_test)
    assert direct.accuracy == pytest.approx(result.accuracy_after, abs=1e-12)
    assert result.certificate.all_valid_bounds_hold
    # a report needs a modal method for its per-unit figures; refused before any work
    with pytest.raises(pl.PipelineError, match="modal method"):
        pl.compare_checkpoint(ckpt, tmp_path / "c", methods=["balanced_truncation"],
                              ratios=[0.5])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_wrong_kind_of_checkpoint(tmp_path):
    junk = tmp_path / "junk.msgpack"
    junk.write_bytes(b"\x00not msgpack at all")
    with pytest.raises(sb.CheckpointError):
        pl.prune_checkpoint(junk, "aire", 0.5, tmp_path / "o1", task="digits")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(sb.CheckpointError, match="not a checkpoint"):
        pl.compare_checkpoint(text, tmp_path / "o2", ratios=[0.5])
    with pytest.raises(sb.CheckpointError, match="no such checkpoint"):
        pl.compare_checkpoint(tmp_path / "missing.msgpack", tmp_path / "o3", ratios=[0.5])
    # a checkpoint without its config beside it
    folder = tmp_path / "noconfig"
    folder.mkdir()
    path = _write_checkpoint(folder)
    (folder / "model.config.json").unlink()
    with pytest.raises(sb.CheckpointError, match="config"):
        pl.prune_checkpoint(path, "aire", 0.5, tmp_path / "o4", task="digits")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.msgpack", "noconfig",
                                                           "notes.txt"]


def test_checkpoint_without_task(tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir()
    path = _write_checkpoint(folder)
    with pytest.raises(pl.PipelineError, match="--task"):
        pl.prune_checkpoint(path, "aire", 0.5, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_data_that_do_not_fit_the_model(ckpt, tmp_path):
    x = np.zeros((4, 16, 3), np.float32)
    with pytest.raises(pl.PipelineError, match="d_input"):
        pl.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "o", data=(x, np.zeros(4, np.int32)))
    assert list(tmp_path.iterdir()) == []


def test_an_error_mid_job_leaves_nothing(ckpt, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pl, "certificate_markdown", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        pl.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- demo
def test_demo_without_bundled_checkpoints_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pl, "available_bundled", lambda: ())
    if not pl.bundled_names():
        pytest.skip("ssm_bridge.bundled is not installed")
    with pytest.raises(pl.PipelineError, match="train_bundled"):
        pl.run_demo(tmp_path / "demo")
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_a_foreign_directory(tmp_path):
    if not pl.available_bundled():
        pytest.skip("no bundled checkpoint file yet")
    out = tmp_path / "mine"
    out.mkdir()
    with pytest.raises(pl.OutputExistsError):
        pl.run_demo(out)
    assert list(out.iterdir()) == []
