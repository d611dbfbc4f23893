"""Offline, seeded data sets for the bundled tasks.

Nothing is downloaded: every task is read from a file shipped inside an installed package
or generated here, and the same ``(task, seed, options)`` gives identical arrays.

=============== ======= ======= ============================================================
task            length  input   source
=============== ======= ======= ============================================================
digits          64      1 ch.   scikit-learn's bundled 8×8 digits, pixel by pixel
digits32        1,024   1 ch.   the same, upsampled to 32×32 (bilinear)
mnist1d         40      1 ch.   the ``mnist1d`` package's local generator
listops         ≤ 2,000 tokens  ListOps generator written here (LRA structure), 16 tokens
japanese_vowels ≤ 29    12 ch.  UEA archive JapaneseVowels: the ``.ts`` files inside the
                                ``aeon`` package (optional extra ``timeseries``)
=============== ======= ======= ============================================================

All have 10 classes but ``japanese_vowels`` (9 speakers). :data:`TASK_PACKAGES` names the
optional package a task's data come from; without it the loader raises
:class:`MissingDataPackageError` (an :class:`ImportError`) with the install command. See
``docs/data.md`` and each module's docstring.

Examples
--------
>>> from ssm_bridge.data import load_task
>>> data = load_task("digits", seed=0)
>>> data.x_train.shape, data.x_test.shape, data.n_classes
((1437, 64, 1), (360, 64, 1), 10)
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from . import listops, ucr_uea
from ._base import (
    DataError,
    MissingDataPackageError,
    TaskData,
    UnknownTaskError,
    UnknownTaskOptionError,
)
from .digits import load_digits
from .inputs import encode_inputs, input_encoding, input_width, one_hot
from .listops import load_listops
from .mnist_1d import load_mnist1d
from .ucr_uea import load_japanese_vowels, load_ucr_uea

__all__ = [
    "TASKS",
    "TASK_PACKAGES",
    "DataError",
    "MissingDataPackageError",
    "TaskData",
    "UnknownTaskError",
    "UnknownTaskOptionError",
    "encode_inputs",
    "input_encoding",
    "input_width",
    "listops",
    "load_digits",
    "load_japanese_vowels",
    "load_listops",
    "load_mnist1d",
    "load_task",
    "load_ucr_uea",
    "one_hot",
    "task_options",
    "ucr_uea",
]


def _load_digits32(
    *, seed: int = 0, n_train: int | None = None, n_test: int | None = None
) -> TaskData:
    return load_digits(seed=seed, n_train=n_train, n_test=n_test, size=32)


_LOADERS: dict[str, Callable[..., TaskData]] = {
    "digits": load_digits,
    "digits32": _load_digits32,
    "mnist1d": load_mnist1d,
    "listops": load_listops,
    "japanese_vowels": load_japanese_vowels,
}

#: Names accepted by :func:`load_task`.
TASKS: tuple[str, ...] = tuple(_LOADERS)

#: Tasks whose data files ship inside an optional package: task → package.
TASK_PACKAGES: dict[str, str] = {"japanese_vowels": ucr_uea.PACKAGE}

#: Loaders taking ``**options``: the dataclass whose fields (and defaults) those options are.
_OPTION_FIELDS: dict[str, type] = {"listops": listops.ListOpsShape}


def _loader(name: str) -> Callable[..., TaskData]:
    if not isinstance(name, str) or name not in _LOADERS:
        raise UnknownTaskError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
    return _LOADERS[name]


def task_options(name: str) -> dict[str, Any]:
    """Keyword options of task ``name`` and their defaults (``None``: chosen by the loader).

    ``name``, and the error for one not in :data:`TASKS`, are as in :func:`load_task`.
    Returns a dict option name → default, ``seed``, ``n_train`` and ``n_test`` included.
    """
    params = inspect.signature(_loader(name)).parameters
    options = {key: p.default for key, p in params.items() if p.kind is not p.VAR_KEYWORD}
    if name in _OPTION_FIELDS:
        options.update((f.name, f.default) for f in dataclasses.fields(_OPTION_FIELDS[name]))
    return options


def load_task(
    name: str,
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    **options: Any,
) -> TaskData:
    """Load (or generate) a task's train and test sets.

    The parameters ``seed``, ``n_train`` and ``n_test`` are documented here once: every
    loader of :data:`TASKS` takes them, and its docstring says only what they mean for
    its data (what the seed draws, the default sizes) and which further options it has.

    Parameters
    ----------
    name : str
        One of :data:`TASKS`: ``"digits"``, ``"digits32"``, ``"mnist1d"``, ``"listops"``,
        ``"japanese_vowels"``.
    seed : int
        Seed of everything random in the task (split, generator). Same seed and options:
        identical arrays.
    n_train, n_test : int, optional
        Split sizes (task defaults when None).
    **options
        Task-specific options (see :func:`task_options`), e.g. ``max_length`` for ListOps.

    Returns
    -------
    TaskData

    Raises
    ------
    UnknownTaskError
        For an unknown name (the message lists the valid ones).
    UnknownTaskOptionError
        For an option the task does not have (the message lists those it has).
    DataError
        For an invalid option value.
    MissingDataPackageError
        The optional package holding the task's data (:data:`TASK_PACKAGES`) is missing.
    """
    loader = _loader(name)
    valid = task_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UnknownTaskOptionError(
            f"task {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(valid)}"
        )
    return loader(seed=seed, n_train=n_train, n_test=n_test, **options)
