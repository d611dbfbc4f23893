"""The UCR/UEA time-series task: offline, deterministic, and a clear refusal without aeon."""

from __future__ import annotations

import socket
import sys

import numpy as np
import pytest

from ssm_bridge.data import (
    TASK_PACKAGES,
    TASKS,
    DataError,
    MissingDataPackageError,
    load_task,
    ucr_uea,
)
from ssm_bridge.errors import BridgeError

try:
    import aeon  # noqa: F401
except ImportError:
    HAVE_AEON = False
else:
    HAVE_AEON = True

needs_aeon = pytest.mark.skipif(not HAVE_AEON, reason="aeon (extra 'timeseries') missing")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test reads the files itself (the parsed problems are cached per process)."""
    ucr_uea._read_problem.cache_clear()
    yield
    ucr_uea._read_problem.cache_clear()


# --- without the package ------------------------------------------------------------------


def test_missing_package_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)  # `import aeon` now raises ImportError
    with pytest.raises(MissingDataPackageError, match=r"'aeon'.*pip install") as info:
        load_task("japanese_vowels")
    err = info.value
    assert isinstance(err, ImportError) and isinstance(err, DataError)
    assert isinstance(err, BridgeError) and isinstance(err, ValueError)
    assert "ssm-mor[timeseries]" in str(err)


def test_registry_names_the_optional_package():
    assert "japanese_vowels" in TASKS
    assert TASK_PACKAGES == {"japanese_vowels": "aeon"}


# --- the parser, on files written here (no aeon needed) ------------------------------------

TOY_HEADER = """# a comment
@problemName Toy
@timeStamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""


def _toy_archive(tmp_path, monkeypatch, train_body: str, test_body: str) -> None:
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN.ts").write_text(TOY_HEADER + train_body, encoding="utf-8")
    (folder / "Toy_TEST.ts").write_text(TOY_HEADER + test_body, encoding="utf-8")
    monkeypatch.setattr(ucr_uea, "archive_directory", lambda: tmp_path)
    monkeypatch.setitem(ucr_uea.BUNDLED_PROBLEMS, "Toy", (2, 1, 2, 2))


def test_parser_reads_multivariate_ragged_cases(tmp_path, monkeypatch):
    _toy_archive(tmp_path, monkeypatch,
                 "1,2,3:4,5,6:up\n0,2:1,1:down\n", "5:7:down\n")
    d = ucr_uea.load_ucr_uea("Toy")
    assert (d.n_train, d.n_test, d.seq_len, d.d_input, d.n_classes) == (2, 1, 3, 2, 2)
    order = np.argsort(d.lengths_train)  # the split's order is seeded; sort by length
    np.testing.assert_array_equal(d.lengths_train[order], [2, 3])
    np.testing.assert_array_equal(d.y_train[order], [1, 0])  # classes in @classLabel order
    # per-channel standardisation with the 5 real training steps: channel 0 = 1,2,3,0,2
    mean, std = np.mean([1, 2, 3, 0, 2]), np.std([1, 2, 3, 0, 2])
    np.testing.assert_allclose(d.x_train[order[1], :, 0], (np.array([1, 2, 3]) - mean) / std,
                               rtol=1e-6)
    np.testing.assert_allclose(d.x_test[0, 0, 0], (5 - mean) / std, rtol=1e-6)
    assert d.x_train[order[0], 2].tolist() == [0.0, 0.0]  # zero padding after the length
    assert d.x_test[0, 1:].tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize(
    ("train_body", "match"),
    [
        ("1,?,3:4,5,6:up\n", "missing values"),
        ("1,2,3:4,5:up\n", "different lengths"),
        ("1,2,3:4,5,6:sideways\n", "not declared"),
        ("1,x,3:4,5,6:up\n", "could not convert"),
        ("", "no cases"),
    ],
)
def test_parser_refuses_malformed_files(tmp_path, monkeypatch, train_body, match):
    _toy_archive(tmp_path, monkeypatch, train_body, "5:7:down\n")
    with pytest.raises(DataError, match=match):
        ucr_uea.load_ucr_uea("Toy")


def test_unknown_problem_lists_the_shipped_ones():
    with pytest.raises(DataError, match="JapaneseVowels"):
        ucr_uea.load_ucr_uea("Beef")


# --- the real data (aeon's wheel) ------------------------------------------------------------


@needs_aeon
def test_japanese_vowels_is_the_archive_split():
    d = load_task("japanese_vowels")
    assert d.x_train.shape == (270, 29, 12) and d.x_test.shape == (370, 29, 12)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    assert d.n_classes == 9 and d.d_input == 12 and d.vocab_size is None
    # 30 utterances per speaker in training; the archive's uneven test counts
    np.testing.assert_array_equal(np.bincount(d.y_train), [30] * 9)
    np.testing.assert_array_equal(np.bincount(d.y_test), [31, 35, 88, 44, 29, 24, 40, 50, 29])
    assert d.lengths_train.min() == 7 and d.lengths_test.max() == 29
    # training statistics: each channel has mean 0 and std 1 over the real steps
    steps = np.concatenate([x[:n] for x, n in zip(d.x_train, d.lengths_train, strict=True)])
    np.testing.assert_allclose(steps.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(steps.std(axis=0), 1.0, atol=1e-5)
    for x, n in zip(d.x_test, d.lengths_test, strict=True):
        assert not x[n:].any()  # zero padding


@needs_aeon
def test_values_are_the_file_values():
    train, _ = ucr_uea._read_problem("JapaneseVowels")
    # the first case of JapaneseVowels_TRAIN.ts starts 1.860936 (channel 1) and -0.207383
    # (channel 2) and is speaker 1
    first = train.series[0]
    assert first[0, 0] == 1.860936 and first[0, 1] == -0.207383 and train.labels[0] == "1"
    d = load_task("japanese_vowels")
    raw = np.concatenate(train.series)
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    i = int(np.flatnonzero((d.lengths_train == first.shape[0])
                           & np.isclose(d.x_train[:, 0, 0], (first[0, 0] - mean[0]) / std[0],
                                        atol=1e-6))[0])
    np.testing.assert_allclose(d.x_train[i, : first.shape[0]] * std + mean, first, atol=1e-5)


@needs_aeon
def test_same_seed_same_arrays_other_seed_a_stratified_resample():
    a = load_task("japanese_vowels", seed=2)
    ucr_uea._read_problem.cache_clear()
    b = load_task("japanese_vowels", seed=2)
    for name in ("x_train", "y_train", "x_test", "y_test", "lengths_train", "lengths_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    c = load_task("japanese_vowels", seed=0)
    assert not np.array_equal(np.sort(a.x_test.ravel()), np.sort(c.x_test.ravel()))
    np.testing.assert_array_equal(np.bincount(a.y_train), np.bincount(c.y_train))
    np.testing.assert_array_equal(np.bincount(a.y_test), np.bincount(c.y_test))
    again = load_task(a.name, seed=a.seed, **a.options)  # metadata regenerates the arrays
    np.testing.assert_array_equal(again.x_train, a.x_train)


@needs_aeon
def test_subsets_and_bad_sizes():
    d = load_task("japanese_vowels", n_train=40, n_test=20)
    assert (d.n_train, d.n_test) == (40, 20) and d.seq_len == 29
    assert len(np.unique(d.y_train)) > 5  # a seeded random subset, not the first speakers
    with pytest.raises(DataError, match="270 training and 370 test"):
        load_task("japanese_vowels", n_train=271)
    with pytest.raises(DataError, match="seed must be at least 0"):
        load_task("japanese_vowels", seed=-1)


@needs_aeon
def test_no_network_is_used(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted while loading data")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for problem in ucr_uea.BUNDLED_PROBLEMS:
        assert ucr_uea.load_ucr_uea(problem).n_train > 0


@needs_aeon
@pytest.mark.parametrize("problem", sorted(ucr_uea.BUNDLED_PROBLEMS))
def test_bundled_problem_table_matches_the_files(problem):
    n_train, n_test, channels, classes = ucr_uea.BUNDLED_PROBLEMS[problem]
    d = ucr_uea.load_ucr_uea(problem)
    assert (d.n_train, d.n_test, d.d_input, d.n_classes) == (n_train, n_test, channels,
                                                             classes)
    assert np.all(np.isfinite(d.x_train)) and np.all(np.isfinite(d.x_test))
