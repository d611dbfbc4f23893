"""Training (ssm_bridge/train.py): the data adapter, learning, determinism, weight decay,
run directories, and in-training compression (the reduce-every hook)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import mor
from ssm_bridge import evaluate, load_checkpoint
from ssm_bridge.apply import apply
from ssm_bridge.data import TaskData, load_task
from ssm_bridge.extract import extract
from ssm_bridge.finetune import (
    energy_keep_counts,
    hankel_keep_orders,
    make_reducer,
    reduce_by_energy,
)
from ssm_bridge.presets import (
    Preset,
    UnknownPresetError,
)
from ssm_bridge.train import (
    TrainError,
    TrainResult,
    fit,
    model_inputs,
    save_run,
    train,
)


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


# ------------------------------------------------------------- in-training compression
# the reduce-every hook of ssm_bridge.train
# 8 steps per run: 256 examples, batch 64, 2 epochs
TINY = Preset(name="test", task="digits", model="s5", d_model=8, n_layers=2, state_size=8,
              epochs=2, batch_size=64, lr=0.01, ssm_lr=0.005, weight_decay=0.0,
              eval_batch_size=64, task_options={"n_train": 256, "n_test": 64})


@pytest.fixture(scope="module")
def data():
    return load_task("digits", seed=0, **TINY.task_options)


# --------------------------------------------------------------------------- the hook
def _drop_one(variables, config):
    """A reducer removing each layer's smallest-magnitude unit (deterministic sizes)."""
    systems = extract(variables, config)
    plan = mor.prune(systems, "uniform_magnitude", budget=[n - 1 for n in config.nunits])
    return apply(variables, config, plan, mode="remove")


@pytest.fixture(scope="module")
def dropping_run(data):
    return fit(TINY, data, seed=0, progress=False, reduce_every=3, reducer=_drop_one)


def test_a_reduce_every_run_ends_with_the_sizes_it_reported(dropping_run, data, tmp_path):
    r = dropping_run
    reds = r.metadata["reductions"]
    # every 3 steps, not after the last (8): at steps 3 and 6
    assert [x["step"] for x in reds] == [3, 6]
    assert [x["state_sizes_after"] for x in reds] == [[7, 7], [6, 6]]
    assert reds[1]["state_sizes_before"] == reds[0]["state_sizes_after"]
    assert r.metadata["state_sizes"] == [6, 6] and r.config.state_sizes == (6, 6)
    for layer in range(2):
        seq = r.variables["params"]["encoder"][f"layers_{layer}"]["seq"]
        assert seq["Lambda_re"].shape == (6,) and seq["B"].shape == (6, 8, 2)
    assert r.metadata["steps"] == 8
    # the optimiser's step counters carried over the reductions (the schedule continued)
    counts = [v for p, v in jax.tree_util.tree_flatten_with_path(r.state["opt_state"])[0]
              if getattr(p[-1], "key", getattr(p[-1], "name", None)) == "count"]
    assert counts and all(int(c) == 8 for c in counts)
    # saved and loaded, it is the reduced model and evaluates to the recorded accuracy
    out = save_run(r, tmp_path / "run")
    ckpt = load_checkpoint(out / "model.msgpack")
    assert ckpt.config.state_sizes == (6, 6)
    again = evaluate(ckpt.variables, ckpt.config, model_inputs(data, "test"), data.y_test,
                     batch_size=64)
    assert again.accuracy == r.metadata["test_accuracy"]


def test_energy_reduction_during_training(data):
    r = fit(TINY, data, seed=0, progress=False, reduce_every=4,
            reducer=make_reducer("energy", tol=0.3))
    (red,) = r.metadata["reductions"]  # at step 4 only
    assert red["step"] == 4 and red["units_after"] < red["units_before"] == 16
    assert list(r.config.state_sizes) == red["state_sizes_after"] == r.metadata["state_sizes"]
    assert np.isfinite(r.metadata["test_loss"])


def test_energy_reducer_keeps_each_layers_largest_energies(dropping_run):
    r = dropping_run
    small, cfg = reduce_by_energy(r.variables, r.config, tol=0.2)
    counts = energy_keep_counts(extract(r.variables, r.config), 0.2)
    assert list(cfg.nunits) == counts
    kept = extract(small, cfg)
    for full, red in zip(extract(r.variables, r.config), kept, strict=True):
        energies = np.sort(mor.scores.energy(full))[::-1]
        np.testing.assert_allclose(np.sort(mor.scores.energy(red))[::-1],
                                   energies[: red.nunits], rtol=1e-6)
    same, same_cfg = reduce_by_energy(r.variables, r.config, tol=0.0)
    assert same is r.variables and same_cfg == r.config


def test_balanced_orders_are_the_smallest_within_the_hankel_energy_share(dropping_run):
    from mor.balanced_selection import layer_hankel_singular_values

    systems = extract(dropping_run.variables, dropping_run.config)
    for tol in (1e-6, 1e-3, 0.1):
        for sys, r in zip(systems, hankel_keep_orders(systems, tol), strict=True):
            e = np.sort(layer_hankel_singular_values(sys))[::-1] ** 2
            assert 1 <= r <= sys.nstates
            assert e[r:].sum() <= tol * e.sum()                    # within the share
            assert r == 1 or e[r - 1:].sum() > tol * e.sum()       # and the smallest such


def test_balanced_reduction_during_training(data):
    r = fit(TINY, data, seed=0, progress=False, reduce_every=4,
            reducer=make_reducer("balanced", tol=0.1))
    (red,) = r.metadata["reductions"]
    assert red["step"] == 4 and red["units_after"] < red["units_before"] == 16
    assert list(r.config.state_sizes) == red["state_sizes_after"] == r.metadata["state_sizes"]
    for layer, size in enumerate(r.config.state_sizes):
        seq = r.variables["params"]["encoder"][f"layers_{layer}"]["seq"]
        assert seq["Lambda_re"].shape == (size,)
    assert np.isfinite(r.metadata["test_loss"])


def test_reduce_every_needs_a_reducer_and_a_tolerance(data):
    with pytest.raises(TrainError, match="needs a reducer"):
        fit(TINY, data, reduce_every=2)
    with pytest.raises(TrainError, match="positive integer"):
        fit(TINY, data, reduce_every=0, reducer=_drop_one)
    with pytest.raises(TrainError, match="both reduce_every and tol"):
        train("digits", preset=TINY, reduce_every=2)
