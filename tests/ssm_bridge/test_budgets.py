"""Budgets of the main job: --max-drop chosen on training data only, --tol certified."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import ssm_bridge as sb
from mor_cli.main import main
from ssm_bridge import jobs
from ssm_bridge.budgets import NoTrainingDataError, training_splits
from ssm_bridge.data import load_task

TASK_OPTIONS = {"n_train": 80, "n_test": 64}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt")
    cfg = sb.S5Config(d_model=8, n_layers=2, state_sizes=(6, 4), d_input=1, n_classes=10)
    path = sb.save_checkpoint(folder / "model.msgpack", sb.random_variables(cfg, seed=3), cfg)
    meta = {"task": "digits", "data_seed": 1, "task_options": TASK_OPTIONS}
    (folder / "model.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data():
    return load_task("digits", seed=1, **TASK_OPTIONS)


def test_splits_are_disjoint_parts_of_the_training_set(data):
    val, cal = training_splits({}, None, data)
    assert len(val.y) == 16 and len(cal.y) == 8  # 20 % and 10 % of 80
    assert not set(val.indices) & set(cal.indices)
    np.testing.assert_array_equal(val.x, data.x_train[val.indices])
    np.testing.assert_array_equal(cal.y, data.y_train[cal.indices])
    with pytest.raises(NoTrainingDataError, match="training"):
        training_splits({}, None, (data.x_test, data.y_test))
    with pytest.raises(NoTrainingDataError, match="task"):
        training_splits({}, None, None)


def test_max_drop_never_looks_at_the_test_set(ckpt, data, tmp_path):
    """Poisoned test labels change the reported test accuracy, never the chosen ratio."""
    rng = np.random.default_rng(0)
    poisoned = dataclasses.replace(data, y_test=rng.permutation(data.y_test[::-1]))
    assert np.any(poisoned.y_test != data.y_test)
    clean = jobs.prune_checkpoint(ckpt, "aire", out_dir=tmp_path / "a", data=data, max_drop=1.0)
    bad = jobs.prune_checkpoint(ckpt, "aire", out_dir=tmp_path / "b", data=poisoned,
                              max_drop=1.0)
    assert clean.selection["by"] == "max_drop"
    assert clean.selection["ratio"] == bad.selection["ratio"]
    assert clean.plan == bad.plan
    assert clean.selection["validation_accuracy"] == bad.selection["validation_accuracy"]
    assert clean.selection["validation_examples"] == 16
    # the chosen ratio is the largest within 1 point on the validation curve
    acc = np.asarray(clean.selection["validation_accuracy"])
    ok = acc >= clean.selection["validation_full_accuracy"] - 0.01 - 1e-12
    assert clean.selection["ratio"] == max(np.asarray(clean.selection["ratios"])[ok])
    direct = sb.evaluate(*sb.apply(sb.load_checkpoint(ckpt).variables,
                                   sb.load_checkpoint(ckpt).config, clean.plan, mode="remove"),
                         data.x_test, data.y_test)
    assert clean.accuracy_after == pytest.approx(direct.accuracy, abs=1e-12)


def test_tol_gives_certified_layers_and_the_cli_takes_budgets(ckpt, tmp_path, capsys):
    tol = 2.0
    res = jobs.prune_checkpoint(ckpt, "last", out_dir=tmp_path / "t", tol=tol)
    assert res.selection["by"] == "tol"
    assert all(e is not None and e <= tol for e in
               res.selection["certified_hinf_error_per_layer"])
    assert res.certificate.all_valid_bounds_hold
    for lc in res.certificate.layers:
        assert lc.exact_hinf is None or lc.exact_hinf <= tol
    bt = jobs.prune_checkpoint(ckpt, "balanced_truncation", out_dir=tmp_path / "b", tol=tol)
    for lc in bt.certificate.layers:
        assert lc.bounds[0].value <= tol and lc.exact_hinf <= tol
    with pytest.raises(jobs.JobError, match="one of ratio, max_drop or tol"):
        jobs.prune_checkpoint(ckpt, "aire", 0.5, tmp_path / "x", tol=tol)
    rc = main(["prune", str(ckpt), "--max-drop", "1", "--out", str(tmp_path / "c")])
    assert rc == 0 and "validation examples of the training data" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["prune", str(ckpt), "--ratio", "0.5", "--tol", "1", "--out", str(tmp_path / "d")])
    assert not (tmp_path / "d").exists() and not (tmp_path / "x").exists()


def test_compare_reports_the_validation_chosen_ratio(ckpt, tmp_path):
    res = jobs.compare_checkpoint(ckpt, tmp_path / "cmp", methods=["aire", "balanced_truncation"],
                                ratios=[0, 0.5, 1], speedup_ratios=(), repeats=1,
                                progress=False)
    val = res.validation
    assert set(val["chosen_ratio"]) == {"aire", "balanced_truncation"}
    for m, r in val["chosen_ratio"].items():
        i, j = res.methods.index(m), list(res.ratios).index(r)
        assert val["test_accuracy_at_chosen"][m] == res.accuracy[i, j]
    report = (tmp_path / "cmp" / "report.md").read_text(encoding="utf-8")
    assert "Ratio chosen on validation data" in report
