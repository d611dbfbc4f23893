"""Checkpoints: exact round trips (msgpack, Orbax, train state), clear errors, atomic writes."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import mor
from ssm_bridge import (
    CheckpointError,
    LayoutError,
    NonFiniteParameterError,
    S5Config,
    apply,
    extract,
    load_checkpoint,
    random_variables,
    save_checkpoint,
)

CONFIG = S5Config(d_model=4, n_layers=2, state_sizes=(5, 3), d_input=2, n_classes=3,
                  bidirectional=True)


def assert_trees_equal(a, b):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["model.msgpack", "model_dir"])
def test_round_trip_is_exact_with_config_and_plan(tmp_path, name):
    variables = random_variables(CONFIG, seed=0)
    plan = mor.prune(extract(variables, CONFIG), "aire", 0.5)
    removed, cfg = apply(variables, CONFIG, plan, mode="remove")
    path = save_checkpoint(tmp_path / name, removed, cfg, plan=plan)
    loaded = load_checkpoint(path)
    assert_trees_equal(loaded.variables, removed)
    assert loaded.config == cfg
    assert loaded.plan == plan
    # overwrite in place, still atomic, no temporary files left behind
    save_checkpoint(path, variables, CONFIG)
    again = load_checkpoint(path)
    assert_trees_equal(again.variables, variables)
    assert again.plan is None and again.config == CONFIG
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_train_state_round_trip(tmp_path):
    import optax
    from flax.training import train_state

    from ssm_bridge import make_model

    variables = random_variables(CONFIG, seed=1)
    state = train_state.TrainState.create(
        apply_fn=make_model(CONFIG).apply, params=variables["params"], tx=optax.adam(1e-3)
    )
    for name in ("state.msgpack", "state_dir"):
        path = save_checkpoint(tmp_path / name, state, CONFIG)
        loaded = load_checkpoint(path)
        assert_trees_equal(loaded.variables["params"], variables["params"])
        assert int(loaded.state["step"]) == 0
        assert "opt_state" in loaded.state


def test_corrupted_and_truncated_files_raise_checkpoint_error(tmp_path):
    variables = random_variables(CONFIG, seed=2)
    path = save_checkpoint(tmp_path / "m.msgpack", variables, CONFIG)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(path)
    path.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.msgpack")
    d = save_checkpoint(tmp_path / "d", variables, CONFIG)
    for f in (d / "state").rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "manifest" in f.name:
            f.write_bytes(f.read_bytes()[:5])
    with pytest.raises(CheckpointError):
        load_checkpoint(d)
    (tmp_path / "lonely.msgpack").write_bytes(blob)
    with pytest.raises(CheckpointError, match="no model config"):
        load_checkpoint(tmp_path / "lonely.msgpack")
    assert load_checkpoint(tmp_path / "lonely.msgpack", config=CONFIG).config == CONFIG


@pytest.mark.parametrize("name", ["bad.msgpack", "bad_dir"])
def test_nothing_is_written_for_a_bad_tree(tmp_path, name):
    variables = random_variables(CONFIG, seed=3)
    variables["params"]["encoder"]["layers_1"]["seq"]["log_step"][2, 0] = np.nan
    with pytest.raises(NonFiniteParameterError, match=r"layer 1 .*log_step"):
        save_checkpoint(tmp_path / name, variables, CONFIG)
    other = S5Config(d_model=4, n_layers=2, state_sizes=(5, 4), d_input=2, n_classes=3,
                     bidirectional=True)
    with pytest.raises(LayoutError, match="layer 1"):
        save_checkpoint(tmp_path / name, random_variables(CONFIG, seed=3), other)
    wrong_plan = mor.prune(extract(random_variables(other, seed=0), other), "aire", 0.5)
    with pytest.raises(mor.PlanMismatchError):
        save_checkpoint(tmp_path / name, random_variables(CONFIG, seed=3), CONFIG,
                        plan=wrong_plan)
    assert list(tmp_path.iterdir()) == []


def test_load_checks_the_tree_against_the_config(tmp_path):
    variables = random_variables(CONFIG, seed=4)
    path = save_checkpoint(tmp_path / "m.msgpack", variables, CONFIG)
    other = S5Config(d_model=4, n_layers=2, state_sizes=(5, 3), d_input=2, n_classes=3)
    with pytest.raises(LayoutError, match="bidirectional=True"):
        load_checkpoint(path, config=other)
