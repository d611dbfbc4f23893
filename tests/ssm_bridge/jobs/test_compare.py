"""The compare job: reports checked against direct evaluation; the computed state sizes, the
recommendation and the reference ratio of the grid.

The full accuracy in a report is ``ssm_bridge.evaluate`` of the checkpoint, and the accuracy
of a (method, ratio) is ``apply(mask)`` + ``evaluate`` of that plan.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import mor
import ssm_bridge as sb
from mor.exceptions import RatioError
from ssm_bridge import jobs
from ssm_bridge.config import S4DConfig, S5Config
from ssm_bridge.jobs import compare, report
from ssm_bridge.metrics import largest_ratio_within

COMPARE_FILES = {
    "report.md", "results.json", "accuracy.csv", "accuracy_vs_ratio.png", "kept_fraction.png",
    "poles_aire.png", "poles_last.png", "energies.png", "certificates.png", "speedup.png",
    "certificates_aire.json", "certificates_last.json",
}


@pytest.fixture(scope="module")
def compared(ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "report"
    result = jobs.compare_checkpoint(ckpt, out, methods="all", ratios=[0, 0.25, 0.5, 0.75, 1],
                                     speedup_ratios=(0.5,), repeats=1, progress=False)
    return out, result


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


@pytest.mark.parametrize("ratios", [[0.5, 1.5], [-0.1], [], [float("nan")]])
def test_ratios_outside_unit_interval(ckpt, tmp_path, ratios):
    with pytest.raises(RatioError, match=r"\[0, 1\]"):
        jobs.compare_checkpoint(ckpt, tmp_path / "o", ratios=ratios)
    assert list(tmp_path.iterdir()) == []


def test_computed_state_sizes_follow_the_padding():
    s5 = S5Config(d_model=4, n_layers=2, state_sizes=(11, 16), d_input=1, n_classes=2)
    assert compare.computed_state_sizes(s5) == [16, 16]
    assert compare.computed_state_sizes(s5.with_state_sizes((8, 9))) == [8, 16]
    s4d = S4DConfig(d_model=4, n_layers=1, state_sizes=(3,), d_input=1, n_classes=2)
    assert compare.computed_state_sizes(s4d) == [12]


def test_the_recommendation_prefers_validation_and_names_the_command():
    largest = {"aire": 0.3, "last": 0.3, "random": 0.5, "lamp": 0.4}
    validation = {"chosen_ratio": {"aire": 0.25, "last": 0.2, "random": 0.5, "lamp": 0.2}}
    rec = compare.recommend("s5_digits", ["aire", "last", "random", "lamp"], largest, validation,
                            1.0)
    assert rec["method"] == "aire" and rec["ratio"] == 0.25 and rec["ratio_source"] == "validation"
    assert rec["commands"][0] == "mor prune s5_digits --method aire --ratio 0.25 --out pruned/"
    rec = compare.recommend("my model", ["aire", "last"], {"aire": 0.3, "last": 0.3}, {}, 1.0)
    assert rec["ratio_source"] == "test" and "'my model'" in rec["commands"][0]
    rec = compare.recommend("x", ["aire"], {"aire": 0.0}, {}, 1.0)
    assert rec["ratio"] == 0.0 and "--finetune" in rec["commands"][0]
    md = report.recommendation_markdown(rec)
    assert md[0] == "## What to do next" and md[-1] == "```"


def test_the_reference_ratio_is_evaluated_where_asked():
    assert 0.37 in compare.compare_grid([0.0, 0.25, 0.5], 0.37)  # never moved to 0.25 or 0.5
