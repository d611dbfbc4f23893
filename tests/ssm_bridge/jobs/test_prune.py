"""The prune job: a pruned checkpoint evaluates to the accuracy its report gives.

Reports are checked against direct evaluation (``apply`` + ``evaluate`` of the plan).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mor
import ssm_bridge as sb
from mor.exceptions import RatioError, UnknownMethodError
from ssm_bridge import jobs
from ssm_bridge.jobs import report


@pytest.fixture(scope="module")
def pruned(ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("prune") / "small"
    return out, jobs.prune_checkpoint(ckpt, "aire", 0.5, out)


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


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_existing_output_is_refused_unless_force(ckpt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(jobs.OutputExistsError, match="--force"):
        jobs.prune_checkpoint(ckpt, "aire", 0.5, out)
    with pytest.raises(jobs.OutputExistsError, match="--force"):
        jobs.compare_checkpoint(ckpt, out, ratios=[0, 1])
    # --force replaces only a folder mor wrote (issue 9): this one has no marker
    with pytest.raises(jobs.OutputExistsError, match="mor-output"):
        jobs.prune_checkpoint(ckpt, "last", 0.25, out, force=True)
    assert _listing(tmp_path) == ["out", "out/keep.txt"]
    jobs.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "ours")
    (tmp_path / "ours" / "stale.txt").write_text("old")
    result = jobs.prune_checkpoint(ckpt, "last", 0.25, tmp_path / "ours", force=True)
    assert not (tmp_path / "ours" / "stale.txt").exists()
    assert (tmp_path / "ours" / "model.msgpack").is_file()
    assert result.plan.method == "last"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours", "out"]  # no temp left


@pytest.mark.parametrize("method", ["nope", "AIRE", ""])
def test_unknown_method(ckpt, tmp_path, method):
    with pytest.raises(UnknownMethodError, match="choose from"):
        jobs.prune_checkpoint(ckpt, method, 0.5, tmp_path / "o")
    with pytest.raises(UnknownMethodError):
        jobs.compare_checkpoint(ckpt, tmp_path / "o", methods=[method], ratios=[0.5])
    assert list(tmp_path.iterdir()) == []


def test_prune_ratio_outside_unit_interval(ckpt, tmp_path):
    with pytest.raises(RatioError):
        jobs.prune_checkpoint(ckpt, "aire", 1.2, tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


def test_balanced_truncation_prunes_a_network(ckpt, data, tmp_path):
    """Issue 12 replaced the refusal: the pruned checkpoint is the balanced-truncated model
    (re-diagonalised, same D), its accuracy is the report's, its certificates hold."""
    result = jobs.prune_checkpoint(ckpt, "balanced_truncation", 0.5, tmp_path / "o")
    assert result.plan.kind == "balanced" and result.plan.kept_counts == (6, 4)
    small = sb.load_checkpoint(result.checkpoint_path)
    assert small.config.state_sizes == result.state_sizes_after
    direct = sb.evaluate(small.variables, small.config, data.x_test, data.y_test)
    assert direct.accuracy == pytest.approx(result.accuracy_after, abs=1e-12)
    assert result.certificate.all_valid_bounds_hold
    # a report needs a modal method for its per-unit figures; refused before any work
    with pytest.raises(jobs.JobError, match="modal method"):
        jobs.compare_checkpoint(ckpt, tmp_path / "c", methods=["balanced_truncation"],
                              ratios=[0.5])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_an_error_mid_job_leaves_nothing(ckpt, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "certificate_markdown", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        jobs.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "o")
    assert list(tmp_path.iterdir()) == []


def test_prune_says_all_is_for_compare(tmp_path):
    from mor.exceptions import UnknownMethodError

    with pytest.raises(UnknownMethodError, match=r"compare_checkpoint\(methods='all'\)"):
        jobs.prune_checkpoint("s5_digits", "all", 0.5, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
