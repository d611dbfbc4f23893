"""Recovery fine-tuning of a pruned model (ssm_bridge.finetune, ``--finetune``, ``--from``) and
the reducers of in-training compression (energy and Hankel keep counts)."""

from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import pytest

import mor
from mor.systems import ModalSystem
from mor_cli.main import main
from ssm_bridge import evaluate, load_checkpoint
from ssm_bridge.apply import apply
from ssm_bridge.data import load_task
from ssm_bridge.extract import extract
from ssm_bridge.finetune import (
    REDUCTIONS,
    UnknownReductionError,
    energy_keep_counts,
    finetune,
    finetune_checkpoint,
    make_reducer,
)
from ssm_bridge.presets import Preset
from ssm_bridge.train import TrainError, fit, model_inputs, save_run

TINY = Preset(name="test", task="digits", model="s5", d_model=8, n_layers=2, state_size=6,
              epochs=4, batch_size=32, lr=0.01, ssm_lr=0.005, weight_decay=0.0,
              eval_batch_size=64, task_options={"n_train": 256, "n_test": 64})


@pytest.fixture(scope="module")
def trained():
    data = load_task("digits", seed=0, **TINY.task_options)
    return fit(TINY, data, seed=0, progress=False), data


@pytest.fixture(scope="module")
def pruned(trained):
    result, data = trained
    systems = extract(result.variables, result.config)
    plan = mor.prune(systems, "aire", ratio=0.5)
    small, cfg = apply(result.variables, result.config, plan, mode="remove")
    return small, cfg, data


@pytest.fixture(scope="module")
def tuned(pruned):
    small, cfg, data = pruned
    return finetune(small, cfg, data, steps=8, preset=TINY, seed=1, progress=False)


def test_finetuning_a_pruned_model_lowers_its_training_loss(pruned, tuned):
    small, cfg, data = pruned
    assert sum(cfg.nunits) == 6  # half of the 12 units removed
    before = evaluate(small, cfg, model_inputs(data, "train"), data.y_train, batch_size=64)
    assert tuned.before["train_loss"] == pytest.approx(before.loss, rel=1e-6)
    assert tuned.after["train_loss"] < tuned.before["train_loss"]
    assert tuned.steps == 8 and tuned.time_s > 0
    assert tuned.result.config.state_sizes == cfg.state_sizes  # the model stays reduced
    meta = tuned.result.metadata
    assert meta["test_accuracy"] == tuned.after["test_accuracy"]
    assert meta["finetune"]["before"] == tuned.before and meta["steps"] == 8


def test_finetuning_never_reads_the_test_labels(pruned, tuned):
    small, cfg, data = pruned
    rng = np.random.default_rng(5)
    poisoned = dataclasses.replace(data, y_test=rng.permutation(data.y_test),
                                   x_test=rng.standard_normal(data.x_test.shape)
                                   .astype(np.float32))
    again = finetune(small, cfg, poisoned, steps=8, preset=TINY, seed=1, progress=False)
    same = jax.tree_util.tree_map(np.array_equal, again.result.variables,
                                  tuned.result.variables)
    assert all(jax.tree_util.tree_leaves(same))
    assert again.after["train_loss"] == tuned.after["train_loss"]


def test_default_steps_are_one_epoch(pruned, tuned):
    small, cfg, data = pruned
    r = finetune(small, cfg, data, preset=TINY, seed=1, progress=False)
    assert r.steps == data.n_train // TINY.batch_size == 8
    same = jax.tree_util.tree_map(np.array_equal, r.result.variables, tuned.result.variables)
    assert all(jax.tree_util.tree_leaves(same))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"steps": 0}, "steps = 0"), ({"steps": 2.5}, "steps = 2.5"),
     ({"steps": 2, "lr_scale": -1.0}, "lr_scale"), ({"steps": 2, "seed": -1}, "seed")],
)
def test_bad_arguments_are_refused(pruned, kwargs, match):
    small, cfg, data = pruned
    with pytest.raises(TrainError, match=match):
        finetune(small, cfg, data, preset=TINY, progress=False, **kwargs)


def test_a_model_of_another_task_is_refused(pruned):
    small, cfg, _ = pruned
    other = load_task("listops", n_train=40, n_test=10, min_length=10, max_length=32,
                      max_depth=3, max_args=3)
    with pytest.raises(TrainError, match="fine-tune on the task the model was trained for"):
        finetune(small, cfg, other, steps=1, preset=TINY, progress=False)


@pytest.fixture(scope="module")
def run_dir(trained, tmp_path_factory):
    result, _ = trained
    return save_run(result, tmp_path_factory.mktemp("runs") / "tiny")


def test_finetuned_checkpoint_loads_like_any_other(trained, pruned, run_dir, tmp_path):
    from ssm_bridge.checkpoint import save_checkpoint
    from ssm_bridge.jobs import resolve_checkpoint

    small, cfg, data = pruned
    src = save_checkpoint(tmp_path / "pruned" / "model.msgpack", small, cfg)  # no metadata
    with pytest.raises(TrainError, match="no metadata names its task"):
        finetune_checkpoint(src, 2, progress=False)
    out = tmp_path / "tuned"
    res = finetune_checkpoint(src, 8, out, source=run_dir, progress=False, command="test")
    ckpt = load_checkpoint(out / "model.msgpack")
    assert ckpt.config == cfg
    meta = json.loads((out / "model.meta.json").read_text())
    assert meta["task"] == "digits"
    assert meta["task_options"] == trained[0].metadata["task_options"]
    assert meta["finetune"]["source"] == str(src) and meta["command"] == "test"
    assert meta["preset_fields"]["lr"] == TINY.lr  # the source run's preset
    again = evaluate(ckpt.variables, ckpt.config, model_inputs(data, "test"), data.y_test,
                     batch_size=64)
    assert again.accuracy == meta["test_accuracy"] == res.accuracy_after
    resolved = resolve_checkpoint(out)  # the task comes from the metadata
    assert resolved.task == "digits" and len(resolved.y_test) == data.n_test
    with pytest.raises(TrainError, match="trained on task 'digits', not 'mnist1d'"):
        finetune_checkpoint(out, 1, task="mnist1d", progress=False)
    with pytest.raises(FileExistsError):
        finetune_checkpoint(src, 1, out, source=run_dir, progress=False)


def test_mor_train_from_and_mor_prune_finetune(trained, run_dir, tmp_path, capsys):
    pruned_dir = tmp_path / "pruned"
    assert main(["prune", str(run_dir), "--method", "aire", "--ratio", "0.5",
                 "--out", str(pruned_dir), "--finetune", "3"]) == 0
    text = capsys.readouterr().out
    assert "before" in text and "after" in text and "fine-tuned 3 steps" in text
    tuned = load_checkpoint(pruned_dir / "finetuned" / "model.msgpack")
    assert sum(tuned.config.nunits) == 6
    assert main(["train", "digits", "--from", str(pruned_dir / "model.msgpack"), "--steps",
                 "2", "--out", str(tmp_path / "again"), "--no-progress"]) == 0
    assert "fine-tuned 2 steps" in capsys.readouterr().out
    meta = json.loads((tmp_path / "again" / "model.meta.json").read_text())
    assert meta["task_options"] == trained[0].metadata["task_options"]
    assert meta["steps"] == 2
    # the optimiser settings of the run that was pruned (via the prune directory's files)
    assert meta["preset_fields"]["lr"] == TINY.lr != 0.004


# --------------------------------------------------------------------------- the reducer
def _layer(poles, gains):
    n = len(poles)
    return ModalSystem(poles, np.ones((n, 1)), np.asarray(gains, float)[None, :], dt=1)


def test_energy_counts_follow_the_discarded_share():
    # unit energies g²/(1 − λ²): 4/(1 − 0.64) = 11.1, 1/(1 − 0.25) = 1.33, 0.25/(1 − 0) = 0.25
    s = _layer([0.8, 0.5, 0.0], [2.0, 1.0, 0.5])
    total = 4 / 0.36 + 1 / 0.75 + 0.25
    assert energy_keep_counts([s], 0.25 / total) == [2]             # drop exactly the last
    assert energy_keep_counts([s], 0.25 / total * (1 - 1e-9)) == [3]
    assert energy_keep_counts([s], (0.25 + 1 / 0.75) / total) == [1]
    assert energy_keep_counts([s, s], 0.0) == [3, 3]
    assert energy_keep_counts([s], 0.999) == [1]                      # never below one unit


@pytest.mark.parametrize("tol", [-0.1, 1.0, float("nan"), "0.1", None])
def test_tolerance_must_be_a_share(tol):
    with pytest.raises(TrainError, match="tol"):
        make_reducer("energy", tol=tol)


def test_unknown_reduction_lists_the_known_ones():
    with pytest.raises(UnknownReductionError, match="energy, balanced"):
        make_reducer("balanced_network", tol=0.1)
    assert set(REDUCTIONS) == {"energy", "balanced"}
