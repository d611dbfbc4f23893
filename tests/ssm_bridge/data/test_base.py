"""The task registry (ssm_bridge.data) and what every loader shares (ssm_bridge/data/_base.py):
errors, shapes, dtypes, labels, determinism, metadata, offline, no JAX."""


from __future__ import annotations

import ast
import json
import random
import socket
from pathlib import Path

import numpy as np
import pytest

import ssm_bridge.data as data
from mor.exceptions import MORError
from ssm_bridge.data import (
    TASKS,
    DataError,
    TaskData,
    UnknownTaskError,
    UnknownTaskOptionError,
    load_task,
    mnist_1d,
    task_options,
)
from ssm_bridge.errors import BridgeError

from ._small import SMALL, _load

# Tasks whose data need no optional package (japanese_vowels: test_ucr_uea.py).
CORE_TASKS = tuple(t for t in TASKS if t not in data.TASK_PACKAGES)


def _arrays(d: TaskData) -> list[np.ndarray]:
    return [d.x_train, d.y_train, d.x_test, d.y_test, d.lengths_train, d.lengths_test]


# --- the registry ---------------------------------------------------------------------


def test_tasks_are_the_bundled_ones():
    assert set(TASKS) == {"digits", "digits32", "mnist1d", "listops", "japanese_vowels"}
    assert set(CORE_TASKS) == set(SMALL)


def test_unknown_task_names_the_valid_ones():
    with pytest.raises(UnknownTaskError, match="valid tasks: digits, digits32, mnist1d, listops"):
        load_task("cifar")
    with pytest.raises(ValueError, match="unknown task"):
        task_options("mnist")


def test_unknown_option_is_a_clear_error_and_a_type_error():
    with pytest.raises(UnknownTaskOptionError, match=r"'max_length'.*options are seed, n_train"):
        load_task("digits", max_length=10)
    assert issubclass(UnknownTaskOptionError, ValueError)
    assert issubclass(UnknownTaskOptionError, TypeError)
    assert issubclass(UnknownTaskError, MORError) and issubclass(DataError, BridgeError)


def test_task_options_list_the_loader_keywords():
    assert task_options("digits32") == {"seed": 0, "n_train": None, "n_test": None}
    opts = task_options("listops")
    assert opts["max_length"] == 2000 and opts["min_length"] == 500
    assert opts["max_depth"] == 10 and opts["max_args"] == 10


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("digits", {"seed": -1}, "seed must be at least 0"),
        ("digits", {"n_train": 1500, "n_test": 360}, "exceeds the 1797 images"),
        ("digits", {"n_test": 1797}, "leaves no training images"),
        ("digits", {"size": 4}, "size must be at least 8"),
        ("mnist1d", {"n_test": 0}, "n_test must be at least 1"),
        ("mnist1d", {"n_train": 2.5}, "n_train must be an integer"),
        ("listops", {"min_length": 50, "max_length": 40}, "exceeds max_length"),
        ("listops", {"max_depth": 2, "max_args": 3, "min_length": 6}, "unreachable"),
        ("listops", {"seq_len": 100}, "shorter than max_length"),
        ("listops", {"p_operator": 0.0}, "p_operator"),
        ("listops", {"max_args": 1}, "max_args must be at least 2"),
    ],
)
def test_bad_arguments_raise_data_errors(name, kwargs, match):
    with pytest.raises(DataError, match=match):
        load_task(name, **kwargs)


# --- shapes, dtypes, labels, determinism ----------------------------------------------


@pytest.mark.parametrize("name", CORE_TASKS)
def test_shapes_dtypes_and_labels(name):
    d = _load(name)
    assert d.name == name
    assert d.n_classes == 10
    for x, y, lengths in (
        (d.x_train, d.y_train, d.lengths_train),
        (d.x_test, d.y_test, d.lengths_test),
    ):
        n = y.shape[0]
        assert y.dtype == np.int32 and y.shape == (n,)
        assert y.min() >= 0 and y.max() < d.n_classes
        assert lengths.dtype == np.int32 and lengths.shape == (n,)
        assert np.all((lengths >= 1) & (lengths <= d.seq_len))
        if d.is_tokens:
            assert x.dtype == np.int32 and x.shape == (n, d.seq_len)
            assert x.min() >= 0 and x.max() < d.vocab_size
        else:
            assert x.dtype == np.float32 and x.shape == (n, d.seq_len, d.d_input)
            assert np.all(np.isfinite(x))
            assert np.all(lengths == d.seq_len)
    # every class is present in training
    assert set(np.unique(d.y_train).tolist()) == set(range(10))


@pytest.mark.parametrize("name", CORE_TASKS)
def test_same_seed_same_arrays_other_seed_other_split(name):
    if name == "mnist1d":
        mnist_1d._generate.cache_clear()  # make the second call really regenerate
    a, b = _load(name, seed=3), _load(name, seed=3)
    if name == "mnist1d":
        mnist_1d._generate.cache_clear()
    c = _load(name, seed=4)
    for u, v in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(u, v)
        assert u.dtype == v.dtype
    assert _arrays(a)[0].shape == _arrays(c)[0].shape
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.y_test, c.y_test)


@pytest.mark.parametrize("name", CORE_TASKS)
def test_metadata_is_json_and_regenerates_the_arrays(name):
    d = _load(name, seed=1)
    meta = json.loads(json.dumps(d.metadata()))
    again = load_task(meta["name"], seed=meta["seed"], **meta["options"])
    for u, v in zip(_arrays(d), _arrays(again), strict=True):
        np.testing.assert_array_equal(u, v)
    assert meta["seq_len"] == d.seq_len and meta["n_test"] == d.n_test


def test_loading_leaves_the_global_random_state_alone():
    mnist_1d._generate.cache_clear()
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    _load("mnist1d", seed=7)
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)  # noqa: NPY002
    assert random.getstate() == py_before


# --- offline ----------------------------------------------------------------------------


def test_no_network_is_used(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted while loading data")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    mnist_1d._generate.cache_clear()  # make mnist1d generate under the patch
    for name in CORE_TASKS:
        d = load_task(name, seed=11, **SMALL[name])
        assert d.n_train > 0


def test_data_package_never_imports_jax_or_flax():
    for path in Path(data.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for mod in names:
                assert mod.split(".")[0] not in {"jax", "flax", "requests"}, (path.name, mod)
