"""Checkpoints: exact round trips (msgpack, Orbax, train state), clear errors, atomic writes."""

from __future__ import annotations

import json

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
from ssm_bridge.errors import ChecksumMismatchError, ChecksumMismatchWarning

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


# --------------------------------------------------------------------------- checksums
def _flip_a_weight_byte(path, variables):
    """Flip one bit inside the raw bytes of a parameter array (the msgpack still parses)."""
    leaf = np.asarray(variables["params"]["decoder"]["kernel"])
    blob = bytearray(path.read_bytes())
    start = bytes(blob).find(leaf.tobytes())
    assert start > 0, "the decoder kernel's bytes are stored verbatim"
    blob[start + 5] ^= 0x10
    path.write_bytes(bytes(blob))


def test_metadata_records_checksums_and_the_given_fields(tmp_path):
    from ssm_bridge.checkpoint import checkpoint_checksums, read_metadata

    variables = random_variables(CONFIG, seed=5)
    meta = {"task": "digits", "data_seed": 3, "test_accuracy": 0.5}
    path = save_checkpoint(tmp_path / "m.msgpack", variables, CONFIG, metadata=meta)
    stored = read_metadata(path)
    assert {k: stored[k] for k in meta} == meta
    sums = stored["checksums"]
    assert sums["algorithm"] == "sha256" and sums["plan"] is None
    assert sums == checkpoint_checksums(path)
    assert load_checkpoint(path).metadata == stored
    # re-indenting the config is not a change of the model
    config_path = tmp_path / "m.config.json"
    config_path.write_text(json.dumps(json.loads(config_path.read_text()), indent=4))
    assert load_checkpoint(path).config == CONFIG


def test_a_flipped_byte_is_refused_or_loud_with_verify_false(tmp_path):
    variables = random_variables(CONFIG, seed=6)
    path = save_checkpoint(tmp_path / "m.msgpack", variables, CONFIG)
    _flip_a_weight_byte(path, variables)
    with pytest.raises(ChecksumMismatchError, match=r"the weights changed.*verify=False"):
        load_checkpoint(path)
    with pytest.warns(ChecksumMismatchWarning, match="the weights changed"):
        loaded = load_checkpoint(path, verify=False)
    changed = np.asarray(loaded.variables["params"]["decoder"]["kernel"])
    original = np.asarray(variables["params"]["decoder"]["kernel"])
    assert np.sum(changed != original) == 1  # the flipped value really was loaded


@pytest.mark.parametrize("name", ["m.msgpack", "m_dir"])
@pytest.mark.parametrize("field, value", [("conj_sym", False), ("discretization", "bilinear")])
def test_an_edited_config_is_refused(tmp_path, name, field, value):
    path = save_checkpoint(tmp_path / name, random_variables(CONFIG, seed=7), CONFIG)
    config_path = path / "config.json" if path.is_dir() else tmp_path / "m.config.json"
    data = json.loads(config_path.read_text())
    data[field] = value
    config_path.write_text(json.dumps(data, indent=1))
    with pytest.raises(ChecksumMismatchError, match="the config changed"):
        load_checkpoint(path)
    with pytest.warns(ChecksumMismatchWarning):
        assert getattr(load_checkpoint(path, verify=False).config, field) == value
    # a config the caller passes is the caller's choice; the weights are still checked
    assert load_checkpoint(path, config=CONFIG).config == CONFIG


def test_orbax_weights_are_checksummed_file_by_file(tmp_path):
    path = save_checkpoint(tmp_path / "d", random_variables(CONFIG, seed=8), CONFIG)
    marker = path / "state" / "commit_success.txt"
    assert marker.is_file()
    marker.write_text(marker.read_text() + " ")  # orbax does not read it; the checksum does
    with pytest.raises(ChecksumMismatchError, match="the weights changed"):
        load_checkpoint(path)
    with pytest.warns(ChecksumMismatchWarning):
        load_checkpoint(path, verify=False)


def test_a_changed_missing_or_added_plan_is_refused(tmp_path):
    variables = random_variables(CONFIG, seed=9)
    plan = mor.prune(extract(variables, CONFIG), "aire", 0.5)
    masked, _ = apply(variables, CONFIG, plan, mode="mask")
    path = save_checkpoint(tmp_path / "m.msgpack", masked, CONFIG, plan=plan)
    plan_path = tmp_path / "m.plan.json"
    text = plan_path.read_text()
    plan_path.write_text(text.replace('"aire"', '"last"'))
    with pytest.raises(ChecksumMismatchError, match="the plan changed"):
        load_checkpoint(path)
    plan_path.unlink()
    with pytest.raises(ChecksumMismatchError, match="the plan file is missing"):
        load_checkpoint(path)
    plain = save_checkpoint(tmp_path / "p.msgpack", variables, CONFIG)
    (tmp_path / "p.plan.json").write_text(text)
    with pytest.raises(ChecksumMismatchError, match="a plan file was added"):
        load_checkpoint(plain)


def test_checkpoints_without_recorded_checksums_load_unverified(tmp_path):
    variables = random_variables(CONFIG, seed=10)
    path = save_checkpoint(tmp_path / "m.msgpack", variables, CONFIG)
    (tmp_path / "m.meta.json").write_text(json.dumps({"task": "digits"}))
    _flip_a_weight_byte(path, variables)
    assert load_checkpoint(path).metadata == {"task": "digits"}


@pytest.mark.parametrize("name", ["s5_digits", "s5_mnist1d", "s4d_digits"])
def test_bundled_metadata_records_the_checksums_of_the_bundled_files(name):
    from ssm_bridge.bundled import bundled_checkpoint_path, bundled_metadata
    from ssm_bridge.checkpoint import checkpoint_checksums

    recorded = bundled_metadata(name)["checksums"]
    assert recorded == checkpoint_checksums(bundled_checkpoint_path(name))
    assert recorded["plan"] is None
