"""The ``mor demo`` command end to end: every report file, numbers that match a direct
evaluation, and the certified benchmark."""

from __future__ import annotations

import json

import pytest

import mor
import ssm_bridge as sb
from mor_cli.main import main
from ssm_bridge.jobs.resolve import available_bundled, evaluation_arrays


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ssm_bridge import bundled

    # the default demo compares every installed bundled checkpoint but the paper-shaped ones
    # (those are `mor demo --full`'s)
    paper_shaped = getattr(bundled, "PAPER_SHAPED", ())
    present = tuple(n for n in available_bundled() if n not in paper_shaped)
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
        x, y = evaluation_arrays(data)
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
