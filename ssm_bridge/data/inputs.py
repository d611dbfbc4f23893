"""What a model takes as input from a task's arrays: the one home of the one-hot encoding.

Continuous tasks are fed as they are (float32, ``(n, L, d_input)``); token tasks (ListOps,
``vocab_size`` not None) as one-hot vectors, float32 ``(n, L, vocab_size)``, padding id 0
being its own vector.  Training, fine-tuning, evaluation and the budgets all go through
:func:`encode_inputs`, so a model always sees its task encoded the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import DataError

__all__ = ["INPUT_ENCODINGS", "encode_inputs", "input_encoding", "input_width", "one_hot"]

INPUT_ENCODINGS: tuple[str, ...] = ("none", "one_hot")
"""Values of :func:`input_encoding` (recorded as ``input_encoding`` in run metadata)."""


def one_hot(tokens: Any, vocab_size: int) -> np.ndarray:
    """Token ids → one-hot vectors.

    Parameters
    ----------
    tokens : array_like of int, any shape
        Ids in ``[0, vocab_size)``.
    vocab_size : int
        Number of ids (padding id 0 included).

    Returns
    -------
    ndarray of float32, shape ``tokens.shape + (vocab_size,)``

    Raises
    ------
    DataError
        A non-integer array, or an id outside ``[0, vocab_size)``.

    Examples
    --------
    >>> one_hot([[2, 0]], 3).tolist()
    [[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]
    """
    ids = np.asarray(tokens)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise DataError(f"token ids must be integers; got an array of {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise DataError(
            f"token ids lie in [{ids.min()}, {ids.max()}]; expected ids in [0, {vocab_size})")
    return np.eye(int(vocab_size), dtype=np.float32)[ids]


def encode_inputs(x: Any, vocab_size: int | None) -> np.ndarray:
    """A split's inputs as the model takes them: one-hot for token tasks, else float32.

    Parameters
    ----------
    x : array_like
        ``TaskData.x_train`` or ``x_test`` (or a part of them).
    vocab_size : int or None
        ``TaskData.vocab_size``: None for continuous tasks.

    Returns
    -------
    ndarray of float32
        ``(n, L, d_input)`` unchanged, or ``(n, L, vocab_size)`` one-hot.
    """
    if vocab_size is None:
        return np.asarray(x, np.float32)
    return one_hot(x, int(vocab_size))


def input_width(data: Any) -> int:
    """Channels per step of the encoded inputs: ``vocab_size`` for tokens, else ``d_input``."""
    return data.d_input if data.vocab_size is None else int(data.vocab_size)


def input_encoding(data: Any) -> str:
    """``"one_hot"`` for a token task, ``"none"`` otherwise (see :data:`INPUT_ENCODINGS`)."""
    return "one_hot" if getattr(data, "vocab_size", None) is not None else "none"
