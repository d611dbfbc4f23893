"""The container every task loader returns, the data errors, and argument checks.

Plain numpy only: nothing here (or anywhere in :mod:`ssm_bridge.data`) imports JAX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ssm_bridge.errors import BridgeError

__all__ = [
    "DataError",
    "MissingDataPackageError",
    "TaskData",
    "UnknownTaskError",
    "UnknownTaskOptionError",
]


class DataError(BridgeError):
    """A data-set argument is invalid or a generator cannot satisfy it.

    A :class:`ssm_bridge.errors.BridgeError`, hence a :class:`mor.MORError` and a
    :class:`ValueError`.
    """


class MissingDataPackageError(DataError, ImportError):
    """The package that ships a task's data files is not installed.

    Also an :class:`ImportError`; the message names the package and the install command.
    """


class UnknownTaskError(DataError):
    """The task name is not one of :data:`ssm_bridge.data.TASKS`."""


class UnknownTaskOptionError(DataError, TypeError):
    """A keyword argument is not an option of the chosen task.

    Subclasses both :class:`ValueError` (like every data error) and :class:`TypeError`
    (what Python raises for an unexpected keyword argument).
    """


@dataclass(frozen=True, eq=False)
class TaskData:
    """A classification data set split into train and test, as plain numpy arrays.

    Attributes
    ----------
    name : str
        Task name (one of :data:`ssm_bridge.data.TASKS`).
    x_train, x_test : ndarray
        Inputs. Continuous tasks: float32, shape ``(n, seq_len, d_input)``. Token tasks
        (``vocab_size`` is not None): int32 token ids, shape ``(n, seq_len)``, right-padded
        with id 0.
    y_train, y_test : ndarray of int32, shape (n,)
        Class labels in ``[0, n_classes)``.
    lengths_train, lengths_test : ndarray of int32, shape (n,)
        Number of non-padding steps of each sequence (``seq_len`` for unpadded tasks).
    n_classes : int
        Number of classes.
    seq_len : int
        Sequence length L (after padding).
    d_input : int
        Input channels per step (1 for token tasks: one id per step).
    vocab_size : int or None
        Number of token ids including padding id 0, for token tasks; None otherwise.
    seed : int
        The seed the data were made with.
    description : str
        One line saying what the data are.
    options : dict
        Every option the loader used (defaults filled in), for provenance: together with
        ``name`` and ``seed`` it regenerates identical arrays.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    lengths_train: np.ndarray
    lengths_test: np.ndarray
    n_classes: int
    seq_len: int
    d_input: int
    vocab_size: int | None
    seed: int
    description: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        """Number of training sequences."""
        return int(self.y_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test sequences."""
        return int(self.y_test.shape[0])

    @property
    def is_tokens(self) -> bool:
        """True for token tasks (integer ids to embed), False for continuous inputs."""
        return self.vocab_size is not None

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable description (no arrays): what a checkpoint config records.

        Returns
        -------
        dict
            ``name, seed, options, n_train, n_test, n_classes, seq_len, d_input,
            vocab_size, description``.
        """
        return {
            "name": self.name,
            "seed": self.seed,
            "options": dict(self.options),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_classes": self.n_classes,
            "seq_len": self.seq_len,
            "d_input": self.d_input,
            "vocab_size": self.vocab_size,
            "description": self.description,
        }


def check_int(value: Any, name: str, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise :class:`DataError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DataError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise DataError(f"{name} must be at least {minimum}; got {value}")
    return int(value)


def check_seed(seed: Any) -> int:
    """Seeds are non-negative integers (what ``numpy.random.default_rng`` accepts)."""
    return check_int(seed, "seed", minimum=0)


def check_split(
    n_train: Any, n_test: Any, *, default_train: int, default_test: int
) -> tuple[int, int]:
    """``(n_train, n_test)``: each given size a positive integer, None → the default."""
    return (default_train if n_train is None else check_int(n_train, "n_train", minimum=1),
            default_test if n_test is None else check_int(n_test, "n_test", minimum=1))


def split_task(
    name: str, x: np.ndarray, y: np.ndarray, train: Any, test: Any, *, seed: int,
    description: str, options: dict[str, Any], n_classes: int = 10,
    lengths: np.ndarray | None = None, vocab_size: int | None = None,
) -> TaskData:
    """The :class:`TaskData` of the examples ``x[train]`` and ``x[test]`` (copies).

    Parameters
    ----------
    name : str
        Task name.
    x : ndarray, shape (n, seq_len, d_input), or (n, seq_len) token ids
        Every example, padded to one length.
    y : ndarray, shape (n,)
        Class labels (stored as int32).
    train, test : slice or index array
        The examples of each split.
    seed, description, options, n_classes, vocab_size
        As the :class:`TaskData` fields.
    lengths : ndarray, shape (n,), optional
        Unpadded lengths (default: ``seq_len`` for every example).
    """
    x, y = np.asarray(x), np.asarray(y, dtype=np.int32)
    seq_len = int(x.shape[1])
    steps = np.full(y.shape[0], seq_len, dtype=np.int32) if lengths is None else np.asarray(
        lengths, dtype=np.int32)
    return TaskData(
        name=name, x_train=np.array(x[train]), y_train=np.array(y[train]),
        x_test=np.array(x[test]), y_test=np.array(y[test]), lengths_train=np.array(steps[train]),
        lengths_test=np.array(steps[test]), n_classes=int(n_classes), seq_len=seq_len,
        d_input=1 if vocab_size is not None else int(x.shape[2]), vocab_size=vocab_size,
        seed=int(seed), description=description, options=dict(options),
    )
