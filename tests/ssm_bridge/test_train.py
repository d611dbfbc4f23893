"""Training, presets, run directories, ``mor train`` and the sweep metric."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssm_bridge import S4DConfig, S5Config, evaluate, load_checkpoint
from ssm_bridge.data import TASKS, TaskData
from ssm_bridge.metrics import MetricError, largest_ratio_within
from ssm_bridge.presets import (
    MODELS,
    PRESET_NAMES,
    Preset,
    UnknownPresetError,
    get_preset,
    list_presets,
)
from ssm_bridge.train import (
    TrainError,
    TrainResult,
    fit,
    model_inputs,
    save_run,
    train,
)


# --------------------------------------------------------------------------- metric
def test_largest_ratio_within_examples():
    ratios = [0.0, 0.25, 0.5, 0.75, 1.0]
    acc = [0.90, 0.895, 0.889, 0.85, 0.10]
    # threshold 0.89: 0.895 qualifies, 0.889 does not
    assert largest_ratio_within(ratios, acc, 0.90) == 0.25
    assert largest_ratio_within(ratios, acc, 0.90, points=1.2) == 0.5
    assert largest_ratio_within(ratios, acc, 0.90, points=80.0) == 1.0
    # exactly full − 1 point qualifies (rounding in 0.90 − 0.01 must not exclude it)
    assert largest_ratio_within([0.0, 0.3], [0.90, 0.89], 0.90) == 0.3
    # order does not matter; a dip followed by recovery gives the largest qualifying ratio
    assert largest_ratio_within([0.6, 0.0, 0.5], [0.9, 0.9, 0.5], 0.9) == 0.6
    # nothing qualifies (even ratio 0 below the threshold): 0
    assert largest_ratio_within([0.1, 0.2], [0.5, 0.4], 0.9) == 0.0


@pytest.mark.parametrize(
    ("ratios", "acc", "full", "kwargs"),
    [
        ([0.0, 0.5], [0.9], 0.9, {}),                 # lengths differ
        ([0.0, 1.5], [0.9, 0.9], 0.9, {}),            # ratio outside [0, 1]
        ([0.0, 0.5], [90.0, 89.0], 90.0, {}),         # percentages instead of fractions
        ([0.0, 0.5], [0.9, np.nan], 0.9, {}),         # NaN
        ([0.0, 0.5], [0.9, 0.9], 0.9, {"points": -1.0}),
    ],
)
def test_largest_ratio_within_rejects_bad_input(ratios, acc, full, kwargs):
    with pytest.raises(MetricError):
        largest_ratio_within(ratios, acc, full, **kwargs)
    assert issubclass(MetricError, ValueError)


# --------------------------------------------------------------------------- presets
def test_every_preset_builds_a_valid_config():
    combos = list_presets()
    assert len(combos) == len(TASKS) * len(MODELS) * len(PRESET_NAMES)
    for task, model, name in combos:
        p = get_preset(task, name, model=model)
        cfg = p.model_config(d_input=1, n_classes=10)
        assert isinstance(cfg, S4DConfig if model == "s4d" else S5Config)
        assert cfg.n_layers == p.n_layers and cfg.state_sizes == (p.state_size,) * p.n_layers
        assert p.epochs >= 1 and p.batch_size >= 1 and p.lr > 0 and p.ssm_lr > 0


def test_paper_presets_copy_the_reference_table():
    # shared/reference/s5_configs.csv, row ListOps (AIRE-prune Table 4): 8 layers, H 128,
    # P 16 (stored 8 with conj_sym), J 8, lr 0.003, ssm_lr 0.001, batch 50, 40 epochs, wd 0.07
    p = get_preset("listops", "paper")
    assert (p.n_layers, p.d_model, p.state_size, p.blocks) == (8, 128, 8, 8)
    assert (p.lr, p.ssm_lr, p.batch_size, p.epochs, p.weight_decay) == (
        0.003, 0.001, 50, 40, 0.07)
    assert p.task_options["max_length"] == 2000


@pytest.mark.parametrize(
    ("args", "word"),
    [(("nope", "cpu"), "digits"), (("digits", "huge"), "tiny"),
     (("digits", "cpu", "mamba"), "s4d")],
)
def test_unknown_preset_task_or_model_lists_valid_names(args, word):
    task, preset, *model = args
    with pytest.raises(UnknownPresetError, match=word) as info:
        get_preset(task, preset, model=model[0] if model else "s5")
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- data adapter
def test_model_inputs_one_hot_for_tokens():
    tokens = np.array([[3, 1, 0], [2, 2, 0]], np.int32)
    data = _task_data(tokens, np.array([0, 1]), vocab_size=4, name="listops")
    x = model_inputs(data, "train")
    assert x.shape == (2, 3, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(np.argmax(x, axis=-1), tokens)
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)
    with pytest.raises(TrainError):
        model_inputs(data, "valid")


# --------------------------------------------------------------------------- training
def _task_data(x, y, *, vocab_size=None, name="digits") -> TaskData:
    n = len(y)
    lengths = np.full(n, x.shape[1], np.int32)
    return TaskData(
        name=name, x_train=x, y_train=y.astype(np.int32), x_test=x, y_test=y.astype(np.int32),
        lengths_train=lengths, lengths_test=lengths, n_classes=int(y.max()) + 1,
        seq_len=x.shape[1], d_input=1, vocab_size=vocab_size, seed=0,
        description="test data", options={},
    )


def _trivial_data(n=64, length=8, seed=0) -> TaskData:
    """Class 1: constant +1 input, class 0: constant −1 (with noise): trivially learnable."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = ((2.0 * y - 1.0)[:, None, None] + 0.1 * rng.standard_normal((n, length, 1)))
    return _task_data(x.astype(np.float32), y)


SMALL = Preset(name="test", task="digits", model="s5", d_model=8, n_layers=1, state_size=4,
               epochs=8, batch_size=16, lr=0.01, ssm_lr=0.005, weight_decay=0.0,
               warmup_fraction=0.1, eval_batch_size=32)


@pytest.fixture(scope="module")
def trivial_run() -> TrainResult:
    return fit(SMALL, _trivial_data(), seed=3, progress=False)


def test_training_reduces_the_loss_on_a_learnable_task(trivial_run):
    hist = trivial_run.metadata["history"]
    assert len(hist) == SMALL.epochs and trivial_run.metadata["steps"] == 8 * 4
    assert hist[-1]["train_loss"] < 0.5 * hist[0]["train_loss"]
    assert trivial_run.test_accuracy == 1.0


def test_training_is_deterministic_by_seed(trivial_run):
    again = fit(SMALL, _trivial_data(), seed=3, progress=False)
    flat_a = _leaves(trivial_run.variables)
    flat_b = _leaves(again.variables)
    assert len(flat_a) == len(flat_b)
    for a, b in zip(flat_a, flat_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.metadata["history"] == trivial_run.metadata["history"]


def _leaves(tree):
    import jax

    return [np.asarray(v) for v in jax.tree_util.tree_leaves(tree)]


def test_ssm_parameters_get_no_weight_decay():
    """With zero gradients only weight decay moves parameters: SSM ones must not move."""
    import optax

    from ssm_bridge.train import SSM_PARAMETERS, make_optimizer

    seq = {name: np.ones((2, 3), np.float32) for name in (*SSM_PARAMETERS, "C", "D")}
    params = {"encoder": {"layers_0": {"seq": seq}}, "decoder": {"kernel": np.ones((3, 2))}}
    tx = make_optimizer(SMALL.with_overrides(weight_decay=0.5), total_steps=10)
    opt = tx.init(params)
    zeros = optax.tree_utils.tree_zeros_like(params)
    new = params
    for _ in range(3):  # past the warm-up's first (zero-lr) step
        updates, opt = tx.update(zeros, opt, new)
        new = optax.apply_updates(new, updates)
    seq_new = new["encoder"]["layers_0"]["seq"]
    for name in SSM_PARAMETERS:
        np.testing.assert_array_equal(seq_new[name], 1.0)
    # C, D and the dense layers decay
    for arr in (seq_new["C"], seq_new["D"], new["decoder"]["kernel"]):
        assert np.all(np.asarray(arr) < 1.0)


def test_save_run_is_atomic_and_refuses_existing(trivial_run, tmp_path, monkeypatch):
    out = tmp_path / "run"
    save_run(trivial_run, out)
    assert sorted(p.name for p in out.iterdir()) == [
        ".mor-output.json", "model.config.json", "model.meta.json", "model.msgpack"]
    meta = json.loads((out / "model.meta.json").read_text())
    for key in ("task", "task_options", "seed", "preset", "test_accuracy", "wall_time_s",
                "model", "history"):
        assert key in meta
    ckpt = load_checkpoint(out / "model.msgpack")
    assert {"step", "opt_state", "params", "batch_stats"} <= set(ckpt.state)
    data = _trivial_data()
    res = evaluate(ckpt.variables, ckpt.config, data.x_test, data.y_test, batch_size=32)
    assert res.accuracy == meta["test_accuracy"]
    stamp = (out / "model.msgpack").stat().st_mtime_ns
    with pytest.raises(FileExistsError):
        save_run(trivial_run, out)
    assert (out / "model.msgpack").stat().st_mtime_ns == stamp
    # a failure while writing leaves neither a partial directory nor temporaries
    import ssm_bridge.checkpoint as ck

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ck, "save_checkpoint", boom)
    with pytest.raises(OSError, match="disk full"):
        save_run(trivial_run, tmp_path / "other")
    with pytest.raises(OSError, match="disk full"):
        save_run(trivial_run, out, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert (out / "model.msgpack").stat().st_mtime_ns == stamp


def test_train_checks_out_before_training(tmp_path):
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError):
        train("digits", preset="tiny", out=tmp_path / "exists")  # raises before loading data
    with pytest.raises(TrainError):
        train("digits", preset="tiny", epochs=0)
    with pytest.raises(UnknownPresetError):
        train("cifar", preset="tiny")


# --------------------------------------------------------------------------- CLI
def _mor(argv, capsys):
    from mor_cli.main import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_train_tiny_listops_and_refuse_existing(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = _mor(["train", "listops", "--preset", "tiny", "--seed", "1",
                            "--out", str(out), "--no-progress"], capsys)
    assert code == 0, stdout
    assert "test accuracy" in stdout
    meta = json.loads((out / "model.meta.json").read_text())
    assert meta["task"] == "listops" and meta["input_encoding"] == "one_hot"
    assert meta["seed"] == 1 and meta["preset"] == "tiny"
    assert meta["command"].startswith("mor train listops")
    ckpt = load_checkpoint(out / "model.msgpack")
    assert ckpt.config.d_input == 16  # one-hot over the ListOps vocabulary
    stamp = (out / "model.msgpack").stat().st_mtime_ns
    code, _, err = _mor(["train", "listops", "--preset", "tiny", "--out", str(out)], capsys)
    assert code == 2 and "exists" in err and "--force" in err
    assert (out / "model.msgpack").stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("argv", "word"),
    [(["train", "cifar", "--preset", "tiny"], "digits"),
     (["train", "digits", "--preset", "huge"], "tiny"),
     (["train", "digits", "--model", "rnn", "--preset", "tiny"], "s4d"),
     (["train", "digits", "--preset", "tiny", "--epochs", "0"], "epochs")],
)
def test_cli_train_bad_names(argv, word, tmp_path, capsys):
    out = tmp_path / "never"
    code, _, err = _mor([*argv, "--out", str(out)], capsys)
    assert code == 2 and word in err
    assert not out.exists()
