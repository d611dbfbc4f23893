"""Tests of ssm_bridge.data: offline, deterministic task data and the ListOps generator."""

from __future__ import annotations

import ast
import json
import random
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from ssm_bridge.data import listops as lo
from ssm_bridge.errors import BridgeError

# Small sizes keep every generator call cheap (the whole file runs in seconds).
SMALL = {
    "digits": {},
    "digits32": {"n_train": 200, "n_test": 100},
    "mnist1d": {"n_train": 300, "n_test": 200},
    "listops": {
        "n_train": 150,
        "n_test": 50,
        "min_length": 20,
        "max_length": 200,
        "max_depth": 6,
        "max_args": 5,
    },
}


# Tasks whose data need no optional package (japanese_vowels: test_data_timeseries.py).
CORE_TASKS = tuple(t for t in TASKS if t not in data.TASK_PACKAGES)


def _load(name: str, seed: int = 0) -> TaskData:
    return load_task(name, seed=seed, **SMALL[name])


def _arrays(d: TaskData) -> list[np.ndarray]:
    return [d.x_train, d.y_train, d.x_test, d.y_test, d.lengths_train, d.lengths_test]


def _rows(x: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in x.reshape(x.shape[0], -1)]


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


# --- digits -------------------------------------------------------------------------------


def test_digits_split_partitions_the_bundled_images():
    from sklearn.datasets import load_digits as sk_load

    d = load_task("digits", seed=5)
    assert (d.n_train, d.n_test) == (1437, 360)
    full = sk_load().data.astype(np.float32) / np.float32(16.0)
    together = np.concatenate([d.x_train, d.x_test])[..., 0]
    # the same multiset of rows: disjoint and covering
    assert sorted(_rows(together)) == sorted(_rows(full.astype(np.float32)))
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0


def test_digits32_is_the_same_split_upsampled_with_aligned_corners():
    d8, d32 = load_task("digits", seed=2), load_task("digits32", seed=2)
    assert d32.seq_len == 1024 and d32.x_train.shape == (1437, 1024, 1)
    np.testing.assert_array_equal(d8.y_train, d32.y_train)
    img8 = d8.x_test[..., 0].reshape(-1, 8, 8).astype(np.float64)
    img32 = d32.x_test[..., 0].reshape(-1, 32, 32)
    # bilinear with corners aligned: output pixel i samples input coordinate i·7/31, and the
    # interpolation is separable: img32 = R img8 Rᵀ with R the 32×8 linear-interpolation matrix
    coords = np.arange(32) * 7.0 / 31.0
    r = np.stack([np.interp(coords, np.arange(8), col) for col in np.eye(8)], axis=1)
    np.testing.assert_allclose(img32, r @ img8 @ r.T, atol=1e-6)
    np.testing.assert_array_equal(img32[:, ::31, ::31], img8[:, ::7, ::7].astype(np.float32))
    assert img32.min() >= 0.0 and img32.max() <= 1.0


# --- MNIST-1D -----------------------------------------------------------------------------


def test_mnist1d_default_has_a_test_set_of_5000_and_no_shared_rows():
    d = load_task("mnist1d", seed=0)
    assert d.n_test >= 5000 and d.n_train >= 4000
    assert d.seq_len == 40 and d.d_input == 1
    assert not set(_rows(d.x_train)) & set(_rows(d.x_test))
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() > 400  # roughly balanced: 500 per class expected
    # standardised over the whole generated set
    everything = np.concatenate([d.x_train, d.x_test])
    assert abs(float(everything.mean())) < 1e-3 and abs(float(everything.std()) - 1.0) < 1e-3


# --- ListOps evaluator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[MAX 2 9 [MIN 4 7 ] 0 ]", 9),
        ("[SM 7 8 ]", 5),
        ("[MED 1 5 3 ]", 3),
        ("7", 7),
        ("[MIN 4 7 ]", 4),
        ("[MED 1 2 ]", 1),  # even count: mean of the middle two, rounded down
        ("[MED 3 8 1 6 ]", 4),
        ("[SM [MAX 9 9 ] [SM 9 9 9 ] 5 ]", 1),  # 9 + 7 + 5 = 21
        ("[MIN [MED 9 8 7 ] [MAX 0 [SM 3 3 ] ] 9 ]", 6),  # min(8, 6, 9)
        ("( ( ( [SM 7 ) 8 ) ] )", 5),  # LRA text with round brackets
    ],
)
def test_evaluator_on_hand_worked_examples(text, value):
    assert lo.evaluate(text) == value
    ids = lo.tokenize(text)
    assert lo.evaluate(ids) == value
    assert lo.evaluate(np.concatenate([ids, np.zeros(5, np.int32)])) == value  # padded


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[MAX 2", "unclosed"),
        ("]", "closes no operator"),
        ("[MAX ]", "no argument"),
        ("3 4", "after the end"),
        ("[FOO 1 ]", "unknown ListOps word"),
        ("", "empty"),
    ],
)
def test_evaluator_rejects_malformed_expressions(text, match):
    with pytest.raises(DataError, match=match):
        lo.evaluate(text)


def test_padding_inside_an_expression_is_rejected():
    with pytest.raises(DataError, match="not a digit"):
        lo.evaluate([lo.OPERATOR_OFFSET, 0, 3, lo.CLOSE])


def test_vocabulary_and_round_trip():
    assert lo.VOCAB_SIZE == 16 and lo.VOCAB[lo.PAD] == "<pad>" and lo.VOCAB[lo.CLOSE] == "]"
    text = "[MAX 2 9 [MIN 4 7 ] 0 ]"
    assert lo.detokenize(lo.tokenize(text)) == text
    assert lo.nesting_depth(lo.tokenize(text)) == 2
    assert lo.max_reachable_length(3, 2) == 2 + 2 * (2 + 2 * 1)


# --- ListOps generator ---------------------------------------------------------------------


def _argument_counts(row) -> list[int]:
    """Number of arguments of each operator of an expression."""
    counts, stack = [], []
    for i in row.tolist():
        if i == lo.PAD:
            break
        if stack and i != lo.CLOSE:
            stack[-1] += 1
        if lo.OPERATOR_OFFSET <= i < lo.CLOSE:
            stack.append(0)
        elif i == lo.CLOSE:
            counts.append(stack.pop())
    return counts


def _check_generated(tokens, labels, lengths, *, min_length, max_length, max_depth, max_args):
    assert len(set(_rows(tokens))) == tokens.shape[0]  # distinct
    for row, label, length in zip(tokens, labels, lengths, strict=True):
        assert min_length <= length <= max_length
        assert np.all(row[:length] != lo.PAD) and np.all(row[length:] == lo.PAD)
        assert lo.evaluate(row) == label
        assert lo.nesting_depth(row) <= max_depth - 1
        assert all(2 <= k <= max_args for k in _argument_counts(row))


def test_lra_sized_generation_respects_the_limits():
    tokens, labels, lengths = lo.generate(60, rng=np.random.default_rng(0))
    assert tokens.shape == (60, 2000) and tokens.dtype == np.int32
    _check_generated(
        tokens, labels, lengths, min_length=500, max_length=2000, max_depth=10, max_args=10
    )


def test_loaded_listops_train_and_test_are_disjoint_and_correct():
    d = _load("listops", seed=2)
    assert d.seq_len == 200 and d.vocab_size == 16
    assert not set(_rows(d.x_train)) & set(_rows(d.x_test))
    both = np.concatenate([d.x_train, d.x_test])
    _check_generated(
        both,
        np.concatenate([d.y_train, d.y_test]),
        np.concatenate([d.lengths_train, d.lengths_test]),
        min_length=20,
        max_length=200,
        max_depth=6,
        max_args=5,
    )
    # all four operators and all ten digits occur
    used = set(np.unique(both).tolist())
    assert set(range(1, 16)) <= used


@given(
    seed=st.integers(0, 2**32 - 1),
    max_depth=st.integers(4, 8),
    max_args=st.integers(3, 6),
    min_length=st.integers(1, 8),
    span=st.integers(0, 150),
    p_operator=st.sampled_from([0.25, 0.4, 0.6]),
    pad=st.integers(0, 5),
)
def test_generator_respects_every_limit(
    seed, max_depth, max_args, min_length, span, p_operator, pad
):
    max_length = min_length + span
    options = {
        "min_length": min_length,
        "max_length": max_length,
        "max_depth": max_depth,
        "max_args": max_args,
        "p_operator": p_operator,
        "seq_len": max_length + pad,
        "max_attempts": 200_000,
    }
    possible = set(lo.achievable_lengths(max_depth, max_args, max_length))
    if not any(ell >= min_length for ell in possible):
        with pytest.raises(DataError, match="unreachable"):
            lo.generate(8, rng=np.random.default_rng(seed), **options)
        return
    tokens, labels, lengths = lo.generate(8, rng=np.random.default_rng(seed), **options)
    assert tokens.shape == (8, max_length + pad)
    _check_generated(
        tokens,
        labels,
        lengths,
        min_length=min_length,
        max_length=max_length,
        max_depth=max_depth,
        max_args=max_args,
    )
    assert set(lengths.tolist()) <= possible
    again = lo.generate(8, rng=np.random.default_rng(seed), **options)  # same seed, same data
    np.testing.assert_array_equal(again[0], tokens)


def _lengths_by_recursion(depth: int, max_depth: int, max_args: int, cap: int) -> set[int]:
    if depth == max_depth:
        return {1}
    sub = _lengths_by_recursion(depth + 1, max_depth, max_args, cap)
    out = {1}
    sums = {0}
    for k in range(1, max_args + 1):
        sums = {a + b for a in sums for b in sub if a + b + 2 <= cap}
        if k >= 2:
            out |= {2 + a for a in sums}
    return out


@pytest.mark.parametrize(("max_depth", "max_args"), [(1, 2), (2, 2), (3, 2), (3, 4), (5, 3)])
def test_achievable_lengths_match_the_recursive_definition(max_depth, max_args):
    got = lo.achievable_lengths(max_depth, max_args, 80)
    assert set(got) == _lengths_by_recursion(1, max_depth, max_args, 80)
    assert max(lo.achievable_lengths(max_depth, max_args, 10_000)) == lo.max_reachable_length(
        max_depth, max_args
    )


def test_lra_lengths_are_all_achievable():
    possible = set(lo.achievable_lengths(10, 10, 2000))
    assert set(range(500, 2001)) <= possible
    assert 2 not in possible and 3 not in possible  # an operator takes ≥ 2 arguments


def test_generator_gives_up_with_a_clear_error():
    # depth 2, 2 arguments: only 10·10·4 = 400 distinct length-4 expressions exist
    with pytest.raises(DataError, match="found only"):
        lo.generate(
            500,
            rng=np.random.default_rng(0),
            min_length=4,
            max_length=4,
            max_depth=2,
            max_args=2,
            max_attempts=20_000,
        )
