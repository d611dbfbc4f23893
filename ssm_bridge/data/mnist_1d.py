"""MNIST-1D (Greydanus & Steinbach), made locally by the ``mnist1d`` package's generator.

The ``mnist1d`` package's convenience entry point ``get_dataset`` downloads a pickle
from GitHub (and unpickles it) unless told otherwise; we never call it. We call the local
generator ``mnist1d.data.make_dataset(args)`` with explicit arguments: it turns the ten
1-D digit templates into sequences by random padding, scaling, translation, correlated and
i.i.d. noise, shear and resampling to ``final_seq_length`` = 40 points (the package
default), then centres and scales the whole set to mean 0 and standard deviation 1.

We keep every generator argument at the package default except the seed and the number
of samples, ``10 · ceil((n_train + n_test) / 10)`` (ten classes, equal counts before the
package's shuffle). The package's own shuffled order is split: the first ``n_train``
sequences are the training set, the next ``n_test`` the test set. Defaults 5,000 + 5,000
(the original release is 4,000 + 1,000 with seed 42; a test set of 5,000 makes accuracy
differences of one point resolvable). The arrays depend on ``seed`` and on
``n_train + n_test``.

The package seeds Python's and numpy's *global* random generators (``set_seed``); we save
and restore both around the call, so loading leaves the caller's random state untouched.
"""

from __future__ import annotations

import functools
import random

import numpy as np

from ._base import TaskData, check_seed, check_split, split_task

__all__ = ["SEQ_LEN", "load_mnist1d"]

#: Length of an MNIST-1D sequence (the package's ``final_seq_length``).
SEQ_LEN = 40


@functools.lru_cache(maxsize=4)
def _generate(seed: int, num_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``num_samples`` sequences (float64, (n, 40)) and labels, in the package's order.

    Cached (read-only arrays); :func:`load_mnist1d` copies what it returns.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # a fresh ObjectView of the package defaults
    args.num_samples = num_samples
    args.train_split = 1.0  # we split ourselves
    args.seed = seed
    args.shuffle_seq = False
    args.final_seq_length = SEQ_LEN
    # The package seeds the global generators; save and restore the caller's state.
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        dataset = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    x = np.asarray(dataset["x"], dtype=np.float64)
    y = np.asarray(dataset["y"], dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_mnist1d(
    *, seed: int = 0, n_train: int | None = None, n_test: int | None = None
) -> TaskData:
    """MNIST-1D: sequences of length 40 with one channel, 10 classes.

    Parameters as in :func:`ssm_bridge.data.load_task`: the seed drives the ``mnist1d``
    generator, and each split holds 5,000 sequences by default.

    Returns
    -------
    TaskData
        ``x`` float32 of shape ``(n, 40, 1)`` (standardised over the whole generated set),
        ``y`` int32 in [0, 10).

    Raises
    ------
    DataError
        For a negative seed or a non-positive split size.
    """
    seed = check_seed(seed)
    n_train, n_test = check_split(n_train, n_test, default_train=5000, default_test=5000)
    num_samples = 10 * -(-(n_train + n_test) // 10)
    x, y = _generate(seed, num_samples)
    return split_task(
        "mnist1d", x.reshape(num_samples, SEQ_LEN, 1).astype(np.float32), y,
        slice(0, n_train), slice(n_train, n_train + n_test), seed=seed,
        description=(
            "MNIST-1D made locally by mnist1d.data.make_dataset (package defaults; length 40, "
            "1 channel, standardised), 10 classes"
        ),
        options={"n_train": n_train, "n_test": n_test},
    )
