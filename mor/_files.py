"""Reading input files defensively: regular files only, a size limit, strict UTF-8 JSON.

Every reader of the toolkit (plans, stacks, model configs, checkpoints, metadata) goes
through :func:`read_regular_file`, so that a FIFO or ``/dev/zero`` given as an input is
refused at once instead of blocking or filling memory, and a file over its size limit gets
an error naming the limit.  The file is opened with ``O_NONBLOCK`` and checked with
``fstat`` on the open descriptor, so opening a FIFO never blocks and the check cannot be
raced by swapping the path.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from mor.exceptions import InputFileError, InputTypeError

__all__ = [
    "MAX_JSON_BYTES",
    "check_path",
    "format_bytes",
    "parse_json",
    "read_json_file",
    "read_regular_file",
]

#: Size limit of a JSON input (plan, model config, metadata).
MAX_JSON_BYTES = 64 * 1024**2

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def format_bytes(count: int) -> str:
    """``67108864`` → ``"64 MiB"``; a count that is no whole number of KiB stays in bytes."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def check_path(path: Any, name: str = "path", *, error: type[Exception] = InputTypeError) -> Path:
    """``path`` as a :class:`~pathlib.Path`; ``error`` (a TypeError subclass) unless path-like.

    Parameters
    ----------
    path : str or os.PathLike
    name : str
        The argument's name, for the message.
    error : exception class
        Raised for anything else (bytes, numbers, None).
    """
    if isinstance(path, str | os.PathLike) and not isinstance(path, bytes):
        text = os.fspath(path)
        if isinstance(text, str):
            if not text or "\x00" in text:
                raise error(f"{name} = {text!r}; expected a non-empty file path")
            return Path(text)
    raise error(f"{name} is a {type(path).__name__}; expected a str or os.PathLike file path")


def _kind(mode: int) -> str:
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def read_regular_file(
    path: str | os.PathLike,
    *,
    max_bytes: int,
    what: str,
    error: type[Exception] = InputFileError,
) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes`` bytes.

    Parameters
    ----------
    path : path-like
    max_bytes : int
        The size limit; a larger file raises ``error`` naming the limit.
    what : str
        What the file is (``"KeepPlan file"``), for the messages.
    error : exception class
        Raised (with the path in the message) when the file is missing, unreadable, not a
        regular file or too large.

    Returns
    -------
    bytes
    """
    path = check_path(path)
    where = f"{what} {str(path)!r}"
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{where} does not exist") from None
    except OSError as err:
        raise error(f"cannot open {where}: {err.strerror or err}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{where} is {_kind(info.st_mode)}, not a regular file; give a file")
        if info.st_size > max_bytes:
            raise error(
                f"{where} is {info.st_size} bytes, over the {format_bytes(max_bytes)} limit for "
                f"a {what}; is it the right file?"
            )
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1  # the file object owns it now
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise error(f"cannot read {where}: {err.strerror or err}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:  # grew while being read
        raise error(f"{where} is over the {format_bytes(max_bytes)} limit for a {what}")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid strict JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def parse_json(
    data: bytes | str,
    *,
    what: str,
    error: type[Exception] = InputFileError,
    allow_nan: bool = False,
) -> Any:
    """Decode strict JSON: UTF-8, no duplicate keys, no NaN/Infinity unless ``allow_nan``.

    Invalid UTF-8, invalid JSON, nesting too deep for Python's parser and integers with
    thousands of digits all raise ``error`` with ``what`` in the message.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as err:
            raise error(
                f"{what} is not UTF-8 text (byte {err.start} is {bytes(data)[err.start]:#04x}); "
                "is it a binary file?"
            ) from None
    elif isinstance(data, str):
        text = data
    else:
        raise InputTypeError(f"{what}: expected JSON text (str or bytes); got "
                             f"{type(data).__name__}")
    hooks: dict[str, Any] = {"object_pairs_hook": _unique_keys}
    if not allow_nan:
        hooks["parse_constant"] = _refuse_constant
    try:
        return json.loads(text, **hooks)
    except RecursionError:
        raise error(f"{what} is nested too deeply to parse") from None
    except ValueError as err:  # JSONDecodeError, duplicate keys, NaN, huge integers
        raise error(f"{what} is not valid JSON: {err}") from None


def read_json_file(
    path: str | os.PathLike,
    *,
    what: str,
    max_bytes: int = MAX_JSON_BYTES,
    error: type[Exception] = InputFileError,
    allow_nan: bool = False,
) -> Any:
    """:func:`read_regular_file` then :func:`parse_json` (``error`` for every failure)."""
    data = read_regular_file(path, max_bytes=max_bytes, what=what, error=error)
    return parse_json(data, what=f"{what} {os.fspath(path)!r}", error=error,
                      allow_nan=allow_nan)
