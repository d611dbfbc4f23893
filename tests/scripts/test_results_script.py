"""scripts/results.py (issue 13's results table): its core on a tiny run, so it cannot rot."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "results.py"


@pytest.fixture(scope="module")
def results():
    spec = importlib.util.spec_from_file_location("results_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def smoke(results, tmp_path_factory):
    """One --quick run (tiny preset, three methods) writing a doc; the run is kept."""
    root = tmp_path_factory.mktemp("results")
    doc = root / "results.md"
    doc.write_text(f"# head\n\n{results.BEGIN}\nold\n{results.END}\ntail\n")
    argv = ["--quick", "--runs", str(root / "runs"), "--tasks", "mnist1d", "--seeds", "0",
            "--methods", "aire,last,balanced_truncation", "--no-intrain", "--doc", str(doc)]
    assert results.main(argv) == 0
    return root, doc, argv


def test_quick_run_writes_tables_between_the_markers(smoke):
    _, doc, _ = smoke
    text = doc.read_text()
    assert text.startswith("# head\n") and text.endswith("tail\n") and "\nold\n" not in text
    for part in ("### S5 on mnist1d", "**Partial**", "With fine-tuning", "drawn fresh",
                 "The papers' claims", "AIRE prunes more than LAST", "balanced_truncation"):
        assert part in text, part


def test_cached_choices_are_consistent_with_their_validation_curves(results, smoke):
    root, _, _ = smoke
    cache = json.loads((root / "runs" / "mnist1d_s5_s0" / results.CACHE_NAME).read_text())
    (pruning,) = cache["pruning"].values()
    (tuning,) = cache["finetune"].values()
    full = pruning["full_validation_accuracy"]
    v = pruning["validation"]  # the policy is in the output: fresh sequences, never trained on
    assert v["policy"] == "fresh" and v["n_validation"] == pruning["n_validation"] == 64
    assert v["equal_to_run_data"] == 0 and v["generator_seed"] == results.FRESH_SEED_OFFSET
    assert pruning["full_test_accuracy"] == pytest.approx(pruning["full_test_accuracy_recorded"])
    for d in pruning["methods"].values():
        acc = dict(zip(d["ratios"], d["validation_accuracy"], strict=True))
        assert d["ratio"] in acc and acc[d["ratio"]] >= full - 0.01 - 1e-12
        # no larger ratio of the evaluated ones is within 1 point: the largest was chosen
        assert all(a < full - 0.01 - 1e-12 for r, a in acc.items() if r > d["ratio"])
        assert 0.0 <= d["test_accuracy"] <= 1.0 and len(d["kept_counts"]) == len(d["units"])
    assert set(tuning["methods"]) == {"aire", "last", "balanced_truncation"}
    for meth, d in tuning["methods"].items():
        first = d["tries"][0]  # fine-tuning starts at the ratio chosen without it
        assert first["ratio"] == pytest.approx(pruning["methods"][meth]["ratio"])
        assert 1 <= len(d["tries"]) <= 2 and first["time_s"] >= 0
        assert d["best"] is None or d["best"] in d["tries"]


def test_a_rerun_reads_the_cache(results, smoke, monkeypatch):
    _, _, argv = smoke

    def boom(*args, **kwargs):
        raise AssertionError("recomputed a cached section")

    monkeypatch.setattr(results, "prune_section", boom)
    monkeypatch.setattr(results, "finetune_section", boom)
    assert results.main(argv) == 0


def test_mnist1d_validation_is_fresh_from_the_generator_and_never_trained_on(results):
    from ssm_bridge.data import load_task

    options = {"n_train": 200, "n_test": 50}
    data = load_task("mnist1d", seed=0, **options)
    meta = {"task": "mnist1d", "data_seed": 0, "task_options": options}
    val, test, info = results.holdout(data, meta, 120)
    assert info["policy"] == "fresh" and info["generator_seed"] != 0
    assert info["n_validation"] == val.n_test == 120 and info["equal_to_run_data"] == 0
    # the same generator (same options) with the other seed: its first training sequences
    fresh = load_task("mnist1d", seed=info["generator_seed"], **options)
    np.testing.assert_array_equal(val.x_test, fresh.x_train[:120])
    assert set(np.unique(val.y_test)) <= set(range(10)) and len(np.unique(val.y_test)) == 10
    # no validation sequence is a training or test sequence of the run
    assert results.rows_seen(val.x_test, data.x_train, data.x_test) == 0
    # fine-tuning trains on the run's training split only; the test set is unchanged
    np.testing.assert_array_equal(val.x_train, data.x_train)
    np.testing.assert_array_equal(test.x_test, data.x_test)


def test_fixed_test_sets_are_halved_stratified_and_disjoint(results):
    from ssm_bridge.data import load_task

    data = load_task("digits32", seed=0, n_train=64, n_test=41)
    meta = {"task": "digits32", "data_seed": 0, "task_options": {"n_train": 64, "n_test": 41}}
    val, test, info = results.holdout(data, meta, 4000)
    iv, it = np.asarray(info["validation_indices"]), np.asarray(info["test_indices"])
    assert info["policy"] == "test_halves" and (len(iv), len(it)) == (21, 20)
    assert not set(iv) & set(it) and set(iv) | set(it) == set(range(41))
    np.testing.assert_array_equal(val.x_test, data.x_test[iv])
    np.testing.assert_array_equal(test.y_test, data.y_test[it])
    counts = [np.bincount(y, minlength=10) for y in (val.y_test, test.y_test)]
    assert np.abs(counts[0] - counts[1]).max() <= 1  # stratified
    # no validation example is a training example or one of the reported test half
    assert results.rows_seen(val.x_test, data.x_train, test.x_test) == 0
    np.testing.assert_array_equal(val.x_train, data.x_train)  # fine-tuning: training only
    again = results.holdout(data, meta, 4000)[2]  # fixed: the same halves every time
    assert again["validation_indices"] == info["validation_indices"]


def test_a_changed_validation_policy_is_recomputed(results, smoke, monkeypatch):
    root, _, _ = smoke

    class Recomputed(Exception):
        pass

    def boom(*args, **kwargs):
        raise Recomputed

    monkeypatch.setattr(results, "prune_section", boom)
    settings = results.settings_from(results.parse_args(smoke[2]))
    results.analyse_run(root / "runs" / "mnist1d_s5_s0", settings)  # cached: fine
    with pytest.raises(Recomputed):
        results.analyse_run(root / "runs" / "mnist1d_s5_s0",
                            results.dataclasses.replace(settings, validation="older"))


def test_intrain_rows_and_claims_from_recorded_numbers(results):
    it = {"large": {"test_accuracy": 0.99, "wall_time_s": 300.0, "state_sizes": [64] * 4},
          "intrain": {"test_accuracy": 0.98, "wall_time_s": 200.0, "state_sizes": [20, 22],
                      "reduction": {"method": "balanced", "tol": 0.02},
                      "reductions": [{"step": 1000, "state_sizes_after": [20, 22]}],
                      "command": "mor train ..."},
          "scratch": {"test_accuracy": 0.97, "wall_time_s": 150.0, "state_sizes": [21, 21]},
          "post_training": {"aire": {"state_sizes": [20, 22], "test_accuracy": 0.5,
                                     "prune_time_s": 1.0, "test_after_finetune": 0.96,
                                     "finetune_time_s": 10.0},
                            "balanced_truncation": {"error": "cannot hold a real pole"}},
          "finetune_steps": 160, "time_s": 30.0}
    text = "\n".join(results.intrain_table(it))
    assert "| 301 |" in text and "| 311 |" in text and "failed: cannot hold" in text
    _, measured, verdict = results._intrain_claim(it)
    assert verdict == "yes" and "98.00 %" in measured
    it["scratch"]["test_accuracy"] = 0.985  # beats post-training only
    assert results._intrain_claim(it)[2] == "partly"
    it["post_training"]["aire"]["test_after_finetune"] = 0.99
    assert results._intrain_claim(it)[2] == "no"


def test_intrain_comparison_on_tiny_runs(results, smoke):
    root, _, _ = smoke
    it = results.analyse_intrain(root / "runs", results.Settings.quick(), progress=False)
    sizes = it["intrain"]["state_sizes"]
    assert it["intrain"]["reduction"]["method"] in results.INTRAIN["reductions"]
    assert it["scratch"]["state_sizes"] == [max(1, round(float(np.mean(sizes))))] * len(sizes)
    for d in it["post_training"].values():  # pruned after training to the same sizes
        assert "error" in d or d["state_sizes"] == sizes
    assert "In-training" in "\n".join(results.claims_table([], it, results.Settings.quick()))


REDUCED = ["--task-methods", "digits32=aire,last,balanced_truncation,random",
           "--task-finetune-tries", "digits32=1", "--task-seeds", "digits32=0"]


def test_per_task_overrides_give_the_settings_and_keys_of_a_separate_run(results):
    args = results.parse_args(["--tasks", "mnist1d,digits32", *REDUCED])
    settings = results.settings_from(args)
    per_task, seeds = results.task_settings(args, settings), results.task_seeds(args)
    assert seeds == {"mnist1d": [0, 1, 2], "digits32": [0]}
    assert per_task["mnist1d"] == settings == results.Settings()
    alone = results.parse_args(["--tasks", "digits32", "--seeds", "0", "--methods",
                                "aire,last,balanced_truncation,random", "--finetune-tries", "1"])
    assert per_task["digits32"] == results.settings_from(alone)  # the same cache keys
    assert per_task["digits32"].finetune_methods == ("aire", "last", "balanced_truncation")
    assert per_task["digits32"].key("methods", "finetune_tries") != settings.key(
        "methods", "finetune_tries")


@pytest.mark.parametrize(("flags", "named"), [
    (["--task-seeds", "cifar=0"], "mnist1d, digits32"),
    (["--task-methods", "digits32=aire,bogus"], "balanced_truncation"),
    (["--task-finetune-tries", "digits32=0"], "≥ 1"),
    (["--task-seeds", "digits32=a"], "integers"),
    (["--task-seeds", "digits32"], "TASK=VALUE"),
    (["--task-seeds", "digits32=0", "--task-seeds", "digits32=1"], "twice"),
])
def test_bad_per_task_overrides_are_parser_errors(results, capsys, flags, named):
    with pytest.raises(SystemExit):
        results.parse_args(["--tasks", "mnist1d,digits32", *flags])
    err = capsys.readouterr().err
    assert flags[-1].split("=")[0] in err and named in err


@pytest.fixture(scope="module")
def two_tasks(results, smoke):
    """mnist1d as in ``smoke`` (cached) and digits32 with fewer methods, seed 1."""
    root, _, _ = smoke
    doc = root / "two.md"
    doc.write_text(f"{results.BEGIN}\n{results.END}\n")
    argv = ["--quick", "--runs", str(root / "runs"), "--tasks", "mnist1d,digits32",
            "--seeds", "0", "--methods", "aire,last,balanced_truncation",
            "--task-methods", "digits32=aire,random", "--task-seeds", "digits32=1",
            "--task-finetune-tries", "digits32=1", "--no-intrain", "--doc", str(doc)]
    assert results.main(argv) == 0
    return root, doc, argv


def _table_methods(section: str) -> list[str]:
    """First cells of the first Markdown table of a section (its pruning table)."""
    table = section.split("\n\n|", 1)[1].split("\n\n", 1)[0].splitlines()
    return [row.split("|")[1].strip() for row in table[2:]]


def test_each_task_is_rendered_with_its_own_methods_and_seeds(two_tasks):
    _, doc, argv = two_tasks
    text = doc.read_text()
    assert f"Command: `python scripts/results.py {' '.join(argv)}`" in text
    sections = {s.split("\n", 1)[0]: s for s in text.split("### ")[1:]}
    assert sorted(_table_methods(sections["S5 on mnist1d"])) == [
        "aire", "balanced_truncation", "last"]
    jv = sections["S5 on digits32"]
    assert sorted(_table_methods(jv)) == ["aire", "random"]
    assert "(seeds 1;" in jv and "| last |" not in jv  # fine-tuned: aire only
    assert "seeds mnist1d 0; digits32 1" in text
    assert "mnist1d × seeds 0; digits32 × seeds 1 only" in text  # the partial line
    assert ("- digits32 ran with methods aire, random only (not last, "
            "balanced_truncation); at most 1 fine-tuning try (the others 2); seeds 1 "
            "(the others 0).") in text
    rows = {r.split("|")[1].strip(): r for r in sections["All tasks"].splitlines()
            if r.startswith("| ")}
    assert rows["last"].rstrip(" |").endswith("—") and "—" not in rows["aire"]
    assert rows["random"].split("|")[2].strip() == "—"  # not run on mnist1d
    assert "AIRE larger in" in sections["The papers' claims on these models"]


def test_a_per_task_rerun_and_a_separate_run_read_the_cache(results, two_tasks, monkeypatch):
    root, _, argv = two_tasks

    def boom(*args, **kwargs):
        raise AssertionError("recomputed a cached section")

    monkeypatch.setattr(results, "prune_section", boom)
    monkeypatch.setattr(results, "finetune_section", boom)
    assert results.main(argv) == 0
    # the run analysed with per-task flags is a cache hit for the same global flags
    assert results.main(["--quick", "--runs", str(root / "runs"), "--tasks", "digits32",
                         "--seeds", "1", "--methods", "aire,random", "--finetune-tries", "1",
                         "--no-intrain"]) == 0
