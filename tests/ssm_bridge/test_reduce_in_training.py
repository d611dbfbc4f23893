"""In-training compression: the reduce-every hook of ssm_bridge.train and its reducers."""

from __future__ import annotations

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
    hankel_keep_orders,
    make_reducer,
    reduce_by_energy,
)
from ssm_bridge.presets import Preset
from ssm_bridge.train import TrainError, fit, model_inputs, save_run, train

# 8 steps per run: 256 examples, batch 64, 2 epochs
TINY = Preset(name="test", task="digits", model="s5", d_model=8, n_layers=2, state_size=8,
              epochs=2, batch_size=64, lr=0.01, ssm_lr=0.005, weight_decay=0.0,
              eval_batch_size=64, task_options={"n_train": 256, "n_test": 64})


@pytest.fixture(scope="module")
def data():
    return load_task("digits", seed=0, **TINY.task_options)


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


def test_mor_train_reduce_every(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "digits", "--preset", "tiny", "--reduce-every", "2", "--tol", "0.5",
                 "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    meta = json.loads((out / "model.meta.json").read_text())
    (red,) = meta["reductions"]  # the tiny preset takes 4 steps: a reduction at step 2
    assert f"step 2: stored modes per layer {red['state_sizes_before']}" in text
    assert meta["reduction"] == {"method": "energy", "tol": 0.5}
    assert load_checkpoint(out / "model.msgpack").config.state_sizes == tuple(
        red["state_sizes_after"])
