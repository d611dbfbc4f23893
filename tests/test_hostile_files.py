"""Hostile input files and wrong argument types get the package's errors, never a hang.

One test per case of issue 9 (files and the Python API); each builds its input in
``tmp_path``.  Reading a FIFO or ``/dev/zero`` must fail at once: those tests run under an
alarm, so a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import signal
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import mor
import ssm_bridge as sb
from mor.exceptions import InputFileError, InputTypeError, PlanTypeError
from mor.plan import KeepPlan
from mor.system_io import load_stack, save_stack
from mor_cli.main import main
from ssm_bridge.checkpoint import read_metadata
from ssm_bridge.errors import (
    CheckpointTypeError,
    ChecksumMismatchWarning,
    ConfigError,
    ConfigTypeError,
)

CONFIG = sb.S5Config(d_model=4, n_layers=1, state_sizes=2, d_input=1, n_classes=10)
DEEP = "[" * 100_000 + "]" * 100_000
BINARY = bytes(range(128, 256)) * 4


@contextmanager
def no_hang(seconds: float = 10.0):
    """Fail (TimeoutError) instead of blocking forever."""

    def _raise(signum, frame):
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _checkpoint(folder: Path, meta: dict | None = None) -> Path:
    path = sb.save_checkpoint(folder / "m.msgpack", sb.random_variables(CONFIG, seed=0), CONFIG)
    if meta is not None:
        (folder / "m.meta.json").write_text(json.dumps(meta))
    return path


def _stack_file(path: Path, **override) -> Path:
    """A valid one-layer stack with some entries replaced (or removed, for None)."""
    layer = mor.ModalSystem([0.5, 0.2], [[1.0], [1.0]], [[1.0, 3.0]], dt=1)
    save_stack(path, [layer])
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in override.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(path, **arrays)
    return path


def _plan_dict(**override) -> dict:
    data = KeepPlan(method="aire", keep=((0, 2),), nunits=(4,)).to_dict()
    data.update(override)
    return data


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


# --------------------------------------------------------------------------- JSON: types
def test_config_json_with_a_string_integer(tmp_path):
    data = {**CONFIG.to_dict(), "d_model": "32"}
    (tmp_path / "c.json").write_text(json.dumps(data))
    with pytest.raises(ConfigTypeError, match=r"d_model = '32' \(str\); expected a positive"):
        sb.load_config(tmp_path / "c.json")


def test_config_json_with_a_string_float(tmp_path):
    data = {**CONFIG.to_dict(), "dt_min": "0.001"}
    path = _checkpoint(tmp_path)
    (tmp_path / "m.config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigTypeError, match=r"dt_min = '0.001' \(str\); expected a number"):
        sb.load_checkpoint(path)
    for field, value in (("step_rescale", "1"), ("bn_momentum", True), ("dropout", None)):
        with pytest.raises(ConfigTypeError, match=field):
            sb.config_from_dict({**CONFIG.to_dict(), field: value})


def test_config_json_with_other_wrong_types(tmp_path):
    base = CONFIG.to_dict()
    for field, value in (("model", ["s5"]), ("version", "1"), ("state_sizes", "2"),
                         ("state_sizes", [2.0]), ("discretization", ["zoh"])):
        with pytest.raises(ConfigError, match=field.split("_")[0]):
            sb.config_from_dict({**base, field: value})
    with pytest.raises(ConfigError, match="lacks"):
        sb.config_from_dict({"model": "s5", "d_model": 4})


def test_metadata_with_string_numbers(tmp_path):
    path = _checkpoint(tmp_path, {"task": "digits", "data_seed": "1"})
    with pytest.raises(sb.CheckpointError, match=r"'data_seed' = '1' \(str\)"):
        read_metadata(path)
    with pytest.raises(sb.CheckpointError, match="data_seed"):
        sb.load_checkpoint(path)
    (tmp_path / "m.meta.json").write_text(json.dumps({"test_accuracy": "0.9"}))
    with pytest.raises(sb.CheckpointError, match="test_accuracy"):
        read_metadata(path)
    (tmp_path / "m.meta.json").write_text(json.dumps({"checksums": {"weights": "abc"}}))
    with pytest.raises(sb.CheckpointError, match="checksums"):
        read_metadata(path)


# --------------------------------------------------------------------------- JSON: syntax
def test_deeply_nested_json(tmp_path):
    (tmp_path / "c.json").write_text(DEEP)
    with pytest.raises(ConfigError, match="nested too deeply"):
        sb.load_config(tmp_path / "c.json")
    (tmp_path / "p.json").write_text(DEEP)
    with pytest.raises(mor.PlanMismatchError, match="nested too deeply"):
        KeepPlan.load(tmp_path / "p.json")
    with pytest.raises(mor.PlanMismatchError, match="nested too deeply"):
        KeepPlan.from_json(DEEP)
    path = _checkpoint(tmp_path)
    (tmp_path / "m.meta.json").write_text(DEEP)
    with pytest.raises(sb.CheckpointError, match="nested too deeply"):
        sb.load_checkpoint(path)


def test_binary_json(tmp_path):
    (tmp_path / "c.json").write_bytes(BINARY)
    with pytest.raises(ConfigError, match="not UTF-8"):
        sb.load_config(tmp_path / "c.json")
    (tmp_path / "p.json").write_bytes(BINARY)
    with pytest.raises(mor.PlanMismatchError, match="not UTF-8"):
        KeepPlan.load(tmp_path / "p.json")
    path = _checkpoint(tmp_path)
    (tmp_path / "m.config.json").write_bytes(BINARY)
    with pytest.raises(ConfigError, match="not UTF-8"):
        sb.load_checkpoint(path)


def test_non_strict_json(tmp_path):
    with pytest.raises(mor.PlanMismatchError, match="NaN"):
        KeepPlan.from_json(json.dumps(_plan_dict(ratio=float("nan"))))
    with pytest.raises(mor.PlanMismatchError, match="twice"):
        KeepPlan.from_json('{"method": "a", "method": "b", "keep": [[0]], "nunits": [1]}')
    with pytest.raises(mor.PlanMismatchError, match="not valid JSON"):
        KeepPlan.from_json('{"method": "a", "keep": [[0]], "nunits": [' + "9" * 5000 + "]}")


# --------------------------------------------------------------------------- plans
def test_plan_nunits_too_large_or_not_an_integer():
    with pytest.raises(mor.PlanMismatchError, match="over the limit of 4194304 units"):
        KeepPlan.from_json(json.dumps(_plan_dict(nunits=[10**9])))
    for text in ('[1e9]', '[1e400]', '["4"]', '[4.0]', '[true]'):
        data = json.dumps(_plan_dict()).replace('"nunits": [4]', f'"nunits": {text}')
        with pytest.raises(PlanTypeError, match=r"nunits\[0\]"):
            KeepPlan.from_json(data)


def test_plan_indices_are_not_coerced():
    for bad in (1.7, "12", 2.0, True, None):
        with pytest.raises(PlanTypeError, match=r"keep\[0\]\[1\].*expected an int"):
            KeepPlan.from_dict(_plan_dict(keep=[[0, bad]]))
    for keep, match in (([[2, 0]], "ascending"), ([[0, 0]], "unique"), ([[0, 4]], "0..3"),
                        ([[-1]], "0..3"), ([[]], "keeps no unit")):
        with pytest.raises(mor.PlanMismatchError, match=match):
            KeepPlan.from_dict(_plan_dict(keep=keep))
    with pytest.raises(PlanTypeError, match="version"):
        KeepPlan.from_dict(_plan_dict(version="1"))
    with pytest.raises(PlanTypeError, match=r"scores\[0\]\[0\]"):
        KeepPlan.from_dict(_plan_dict(scores=[["0.5", 1, 2, 3]]))
    assert KeepPlan.from_dict(_plan_dict(keep=[[0, 3]])).keep == ((0, 3),)


# --------------------------------------------------------------------------- .npz stacks
def test_npz_object_array_is_never_unpickled(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, format=np.array("mor-modal-stack"), version=np.array(1),
             nlayers=np.array([{"x": 1}], dtype=object))
    with pytest.raises(InputFileError, match="object array"):
        load_stack(path)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("nlayers", np.array(1.5), "'nlayers' must be a single integer"),
        ("nlayers", np.array("1"), "'nlayers' must be a single integer"),
        ("nlayers", np.array([1, 1]), "shape \\(2,\\)"),
        ("nlayers", np.array(10**6), "no larger than the number of entries"),
        ("version", np.array(1.0), "'version' must be a single integer"),
        ("layer0_dt", np.array("1"), "'layer0_dt' must be a single real number"),
        ("layer0_dt", np.array(1 + 0j), "dtype complex128"),
        ("layer0_dt", np.array(-1.0), "positive sampling time"),
        ("layer0_output_after_update", np.array([False, True]), "single boolean"),
        ("layer0_poles", np.array(["0.5", "0.2"]), "1-D numeric array"),
        ("layer0_B", np.ones(2), "2-D numeric array"),
        ("layer0_D", np.ones((1, 1), complex), "2-D real array"),
        ("layer0_pair", np.zeros(2, int), "1-D boolean array"),
        ("format", np.array(b"mor-modal-stack"), "not a 'mor-modal-stack' file"),
        ("layer0_C", None, "lacks C"),
    ],
)
def test_npz_bad_scalars_and_dtypes(tmp_path, key, value, match):
    path = _stack_file(tmp_path / "s.npz", **{key: value})
    with pytest.raises(mor.MORError, match=match):
        load_stack(path)


def test_npz_that_would_expand_past_the_limit(tmp_path, monkeypatch):
    import mor.system_io as system_io

    path = tmp_path / "s.npz"
    layer = mor.ModalSystem(np.full(20_000, 0.5), np.ones((20_000, 1)), np.ones((1, 20_000)),
                            dt=1)
    save_stack(path, [layer])
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "z.npz", "w",
                                                       zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    assert (tmp_path / "z.npz").stat().st_size < 20_000  # 1 MB of arrays, compressed
    monkeypatch.setattr(system_io, "MAX_STACK_BYTES", 100_000)
    with pytest.raises(InputFileError, match=r"would take \d+ bytes in memory, over the"):
        load_stack(tmp_path / "z.npz")
    with pytest.raises(InputFileError, match="over the 100000 bytes limit"):
        load_stack(path)


def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path / "s.npz").write_bytes(BINARY)
    with pytest.raises(InputFileError, match=r"cannot read as a \.npz layer stack"):
        load_stack(tmp_path / "s.npz")


# --------------------------------------------------------------------------- not regular files
def test_load_on_a_directory(tmp_path):
    folder = tmp_path / "dir.msgpack"
    folder.mkdir()
    with pytest.raises(InputFileError, match="is a directory, not a regular file"):
        KeepPlan.load(folder)
    with pytest.raises(ConfigError, match="is a directory"):
        sb.load_config(folder)
    with pytest.raises(InputFileError, match="is a directory"):
        load_stack(folder)
    with pytest.raises(sb.CheckpointError, match="is a directory"):
        sb.load_checkpoint(folder, format="msgpack")
    with pytest.raises(sb.CheckpointError, match="no 'state' directory"):
        sb.load_checkpoint(folder)


def test_fifo_as_checkpoint_and_sidecars_fails_at_once(tmp_path):
    fifo = tmp_path / "f.msgpack"
    os.mkfifo(fifo)
    with no_hang():
        with pytest.raises(sb.CheckpointError, match="is a FIFO"):
            sb.load_checkpoint(fifo)
        with pytest.raises(InputFileError, match="is a FIFO"):
            KeepPlan.load(fifo)
        with pytest.raises(ConfigError, match="is a FIFO"):
            sb.load_config(fifo)
        with pytest.raises(InputFileError, match="is a FIFO"):
            load_stack(fifo)
        path = _checkpoint(tmp_path)
        (tmp_path / "m.config.json").unlink()
        os.mkfifo(tmp_path / "m.config.json")
        with pytest.raises(ConfigError, match="is a FIFO"):
            sb.load_checkpoint(path)
        os.mkfifo(tmp_path / "m.plan.json")
        with pytest.raises(mor.PlanMismatchError, match=r"KeepPlan file .* is a FIFO"):
            sb.load_checkpoint(path, config=CONFIG)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_checkpoint_fails_at_once():
    with no_hang():
        for fmt in (None, "msgpack"):
            with pytest.raises(sb.CheckpointError, match="is a character device"):
                sb.load_checkpoint("/dev/zero", format=fmt)
        with pytest.raises(InputFileError, match="character device"):
            load_stack("/dev/zero")


def test_file_size_limits_are_named(tmp_path, monkeypatch):
    import mor.plan
    import ssm_bridge.checkpoint as ck

    path = _checkpoint(tmp_path)
    assert path.stat().st_size > 100
    monkeypatch.setattr(ck, "MAX_CHECKPOINT_BYTES", 100)
    with pytest.raises(sb.CheckpointError, match="over the 100 bytes limit for a checkpoint"):
        sb.load_checkpoint(path)
    KeepPlan(method="aire", keep=((0,),), nunits=(1,)).save(tmp_path / "p.json")
    monkeypatch.setattr(mor.plan, "MAX_JSON_BYTES", 10)
    with pytest.raises(InputFileError, match="over the 10 bytes limit for a KeepPlan file"):
        KeepPlan.load(tmp_path / "p.json")


# --------------------------------------------------------------------------- Python API types
def test_wrong_types_in_the_python_api_raise_package_type_errors(tmp_path):
    layer = mor.ModalSystem([0.5, 0.2], [[1.0], [1.0]], [[1.0, 3.0]], dt=1)
    plan = KeepPlan(method="aire", keep=((0,),), nunits=(2,))
    variables = sb.random_variables(CONFIG, seed=0)
    cases = [
        (PlanTypeError, "KeepPlan.keep", lambda: KeepPlan(method="aire", keep=5, nunits=(2,))),
        (PlanTypeError, "KeepPlan.method", lambda: KeepPlan(method=3, keep=((0,),),
                                                            nunits=(2,))),
        (PlanTypeError, "a JSON object", lambda: KeepPlan.from_dict([1])),
        (InputTypeError, "systems is a int", lambda: plan.apply(5)),
        (InputTypeError, r"systems\[0\] is a str", lambda: mor.prune(["x"], "aire", 0.5)),
        (InputTypeError, "systems is a int", lambda: mor.prune(5, "aire", 0.5)),
        (InputTypeError, "systems is a str", lambda: mor.prune("abc", "aire", 0.5)),
        (CheckpointTypeError, "path is a int", lambda: sb.load_checkpoint(123)),
        (CheckpointTypeError, "verify = 'yes'", lambda: sb.load_checkpoint(tmp_path,
                                                                           verify="yes")),
        (ConfigTypeError, "config is a dict", lambda: sb.load_checkpoint(tmp_path, config={})),
        (ConfigTypeError, "config is a str", lambda: sb.save_checkpoint(
            tmp_path / "a.msgpack", variables, "s5")),
        (CheckpointTypeError, "cannot save a str", lambda: sb.save_checkpoint(
            tmp_path / "a.msgpack", "weights", CONFIG)),
        (CheckpointTypeError, "plan is a dict", lambda: sb.save_checkpoint(
            tmp_path / "a.msgpack", variables, CONFIG, plan={"keep": [[0]]})),
        (CheckpointTypeError, "metadata is a list", lambda: sb.save_checkpoint(
            tmp_path / "a.msgpack", variables, CONFIG, metadata=[1])),
        (CheckpointTypeError, "format is a int", lambda: sb.save_checkpoint(
            tmp_path / "a.msgpack", variables, CONFIG, format=1)),
        (ConfigTypeError, "d_model", lambda: sb.S5Config(d_model="32", n_layers=1,
                                                         state_sizes=2)),
        (ConfigTypeError, "dt_min", lambda: sb.S5Config(d_model=4, n_layers=1, state_sizes=2,
                                                        dt_min=None)),
        (ConfigTypeError, "state_sizes", lambda: sb.S4DConfig(d_model=4, n_layers=1,
                                                              state_sizes=None)),
        (InputTypeError, "path is a int", lambda: load_stack(123)),
        (InputTypeError, "path is a bytes", lambda: save_stack(b"s.npz", [layer])),
        (InputTypeError, r"systems\[0\] is a int", lambda: save_stack(tmp_path / "s.npz", [1])),
    ]
    for error, match, call in cases:
        with pytest.raises(error, match=match) as info:
            call()
        assert isinstance(info.value, TypeError | ValueError)  # old catches still work
        assert isinstance(info.value, mor.MORError)  # and `mor` prints one line for it
    assert list(tmp_path.iterdir()) == []  # nothing was written


# --------------------------------------------------------------------------- the CLI
def test_cli_answers_hostile_files_with_one_line(tmp_path, capsys):
    fifo = tmp_path / "f.msgpack"
    os.mkfifo(fifo)
    with no_hang():
        err = _one_line_error(capsys, ["prune", str(fifo), "--out", str(tmp_path / "o")])
    assert "FIFO" in err
    path = _stack_file(tmp_path / "s.npz", nlayers=np.array("1"))
    assert "'nlayers' must be" in _one_line_error(capsys, ["verify", str(path)])
    ckpt = _checkpoint(tmp_path, {"task": "digits", "data_seed": "0"})
    assert "data_seed" in _one_line_error(capsys, ["prune", str(ckpt), "--out",
                                                   str(tmp_path / "o")])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "f.msgpack", "m.config.json", "m.meta.json", "m.msgpack", "s.npz"]


def test_cli_refuses_a_changed_checkpoint_unless_no_verify(tmp_path, capsys):
    variables = sb.random_variables(CONFIG, seed=1)
    meta = {"task": "digits", "data_seed": 0, "task_options": {"n_train": 32, "n_test": 32}}
    path = sb.save_checkpoint(tmp_path / "m.msgpack", variables, CONFIG, metadata=meta)
    blob = bytearray(path.read_bytes())
    start = bytes(blob).find(np.asarray(variables["params"]["decoder"]["bias"]).tobytes())
    blob[start + 2] ^= 0x01
    path.write_bytes(bytes(blob))
    argv = ["prune", str(path), "--method", "aire", "--ratio", "0.5", "--out",
            str(tmp_path / "o")]
    assert "--no-verify" in _one_line_error(capsys, argv)
    assert not (tmp_path / "o").exists()
    with pytest.warns(ChecksumMismatchWarning, match="the weights changed"):
        assert main([*argv, "--no-verify"]) == 0
    pruned = sb.load_checkpoint(tmp_path / "o" / "model.msgpack")  # verified: written anew
    assert pruned.metadata["task"] == "digits" and pruned.metadata["data_seed"] == 0
    assert 0.0 <= pruned.metadata["test_accuracy"] <= 1.0
