"""Writing output files: atomic writes, JSON-safe data and Markdown tables.

Every file the toolkit writes (plans, stacks, reports, certificates, checkpoints) goes
through :func:`atomic_write_bytes` / :func:`atomic_write_text`, or through
:func:`write_temporary` plus one ``os.replace`` per file when several files make one
write, so that no reader ever sees a half-written file.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "format_cell",
    "json_safe",
    "markdown_table",
    "match_umask",
    "write_temporary",
]


def match_umask(path: str | os.PathLike) -> None:
    """Give a file made by ``tempfile.mkstemp`` (mode 0600) the mode the umask allows."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_temporary(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a synced temporary file beside ``path`` and return its path.

    The caller renames it onto ``path`` (``os.replace``) when every file of a write is ready;
    on error here nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        match_umask(tmp)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = write_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(obj: Any) -> Any:
    """``obj`` with every part :func:`json.dumps` accepts under ``allow_nan=False``.

    Dicts keep their structure with keys turned into ``str``; lists and tuples become
    lists; numpy arrays become (nested) lists and numpy scalars Python scalars; a float
    that is NaN or infinite becomes ``None`` (JSON ``null``: "unknown"). Anything else
    is returned as it is.

    Parameters
    ----------
    obj : Any
        Nested dicts, lists, tuples, numpy arrays and scalars.

    Returns
    -------
    Any
        A fresh structure of plain Python values; ``obj`` is not modified.

    Examples
    --------
    >>> json_safe({"a": np.float64(1.5), 2: [np.inf, np.arange(2)]})
    {'a': 1.5, '2': [None, [0, 1]]}
    """
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def format_cell(value: Any) -> str:
    """One table cell: ``None`` → ``"n/a"``, a float to 4 significant digits, else ``str``."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *,
                   padded: bool = False) -> str:
    """A Markdown table: columns right-aligned, cells as :func:`format_cell` writes them.

    Parameters
    ----------
    header : sequence of str
        The column titles.
    rows : sequence of sequences
        One sequence of cell values per row, as many as ``header`` has titles.
    padded : bool, optional
        Pad every column to its widest cell (for reading in a terminal); by default
        cells are not padded (for Markdown files).

    Returns
    -------
    str
        The table, lines joined by ``"\\n"``, no trailing newline.

    Examples
    --------
    >>> print(markdown_table(["x", "y"], [[1, 0.123456], ["a", None]]))
    | x | y |
    |---:|---:|
    | 1 | 0.1235 |
    | a | n/a |
    >>> print(markdown_table(["x", "y"], [[1, 0.123456]], padded=True))
    | x |      y |
    |--:|-------:|
    | 1 | 0.1235 |
    """
    cells = [[str(h) for h in header]] + [[format_cell(v) for v in row] for row in rows]
    if not padded:
        lines = ["| " + " | ".join(r) + " |" for r in cells]
        lines.insert(1, "|" + "---:|" * len(header))
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "".join("-" * (w + 1) + ":|" for w in widths))
    return "\n".join(lines)
