"""A plain ``.npz`` file format for a stack of modal layers (what ``mor verify`` reads).

Format (``np.savez``, read with ``allow_pickle=False``; version 1):

==================================== ===================================================
key                                  content
==================================== ===================================================
``format``                           the string ``"mor-modal-stack"``
``version``                          int, 1
``nlayers``                          int L
``layer{l}_poles``                   complex128 (nunits,)
``layer{l}_B``                       complex128 (nunits, ninputs)
``layer{l}_C``                       complex128 (noutputs, nunits)
``layer{l}_D``                       float64 (noutputs, ninputs)
``layer{l}_pair``                    bool (nunits,)
``layer{l}_dt``                      float64 scalar; 0 = continuous time
``layer{l}_output_after_update``     bool scalar
``layer{l}_C_backward``              complex128 (noutputs, nunits), optional
``layer{l}_log_poles``               complex128 (nunits,), optional (DT only)
==================================== ===================================================

Writers other than :func:`save_stack` (e.g. ``ssm_bridge``) may produce the same keys.

Reading is defensive: the file must be a regular file of at most :data:`MAX_STACK_BYTES`
bytes, the arrays it declares may not exceed that size in memory either (a compressed
``.npz`` cannot expand without bound), object arrays are refused (never unpickled), and
every scalar and array must have the dtype and shape above (an ``nlayers`` of ``2.5`` or
``"2"`` is refused, not rounded).
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from mor._files import check_path, format_bytes, read_regular_file
from mor.exceptions import InputFileError, MORError, StateDimensionError
from mor.plan import atomic_write_bytes, modal_layers
from mor.systems import ModalSystem

__all__ = ["MAX_STACK_BYTES", "STACK_FORMAT", "STACK_VERSION", "load_stack", "save_stack"]

STACK_FORMAT = "mor-modal-stack"
STACK_VERSION = 1
_REQUIRED = ("poles", "B", "C", "D", "pair", "dt", "output_after_update")
#: Size limit of a stack file, and of the arrays it declares once loaded.
MAX_STACK_BYTES = 2 * 1024**3
#: Per array key: allowed dtype kinds and number of dimensions.
_ARRAYS: dict[str, tuple[str, int]] = {
    "poles": ("iufc", 1), "B": ("iufc", 2), "C": ("iufc", 2), "D": ("iuf", 2),
    "pair": ("b", 1), "C_backward": ("iufc", 2), "log_poles": ("iufc", 1),
}
_KIND_WORDS = {"iufc": "numeric", "iuf": "real", "b": "boolean"}


def save_stack(path: str | os.PathLike, systems: ModalSystem | Sequence[ModalSystem]) -> None:
    """Write a stack of :class:`mor.ModalSystem` layers to ``path`` (.npz), atomically.

    Raises
    ------
    mor.exceptions.InputTypeError
        ``path`` is not path-like, or ``systems`` is not a ModalSystem or a list of them.
    StateDimensionError
        ``systems`` is empty.
    """
    path = check_path(path)
    systems = modal_layers(systems)
    if not systems:
        raise StateDimensionError("save_stack needs a non-empty list of ModalSystem layers")
    arrays: dict[str, np.ndarray] = {
        "format": np.array(STACK_FORMAT),
        "version": np.array(STACK_VERSION),
        "nlayers": np.array(len(systems)),
    }
    for layer, s in enumerate(systems):
        p = f"layer{layer}_"
        arrays[p + "poles"] = np.asarray(s.poles)
        arrays[p + "B"] = np.asarray(s.B)
        arrays[p + "C"] = np.asarray(s.C)
        arrays[p + "D"] = np.asarray(s.D)
        arrays[p + "pair"] = np.asarray(s.pair)
        arrays[p + "dt"] = np.array(s.sampling_time if s.isdtime else 0.0)
        arrays[p + "output_after_update"] = np.array(s.output_after_update)
        if s.C_backward is not None:
            arrays[p + "C_backward"] = np.asarray(s.C_backward)
        if s.log_poles is not None:
            arrays[p + "log_poles"] = np.asarray(s.log_poles)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _declared_bytes(blob: bytes, where: str) -> int:
    """Bytes the arrays of an ``.npz`` would take in memory, read from their headers only."""
    total = 0
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise InputFileError(
                        f"{where}: entry {name!r} has .npy format version {version}; this "
                        "reader takes 1.0 and 2.0 (np.savez writes them)"
                    )
            if dtype.hasobject:
                raise InputFileError(
                    f"{where}: entry {name!r} is an object array (pickled Python objects); "
                    "layer stacks hold numbers only and are never unpickled"
                )
            total += math.prod(shape) * dtype.itemsize
    return total


def _read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    where = os.fspath(path)
    blob = read_regular_file(path, max_bytes=MAX_STACK_BYTES, what="layer stack (.npz)")
    try:
        size = _declared_bytes(blob, where)
        if size > MAX_STACK_BYTES:
            raise InputFileError(
                f"{where}: its arrays would take {size} bytes in memory, over the "
                f"{format_bytes(MAX_STACK_BYTES)} limit for a layer stack"
            )
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise InputFileError(f"{where}: cannot read as a .npz layer stack ({err})") from err


def _scalar(arrays: dict[str, np.ndarray], key: str, kinds: str, where: str) -> Any:
    """The 0-d entry ``key`` as a Python scalar; InputFileError unless its dtype kind fits."""
    value = arrays[key]
    if value.shape != () or value.dtype.kind not in kinds:
        raise InputFileError(
            f"{where}: {key!r} must be a single {_scalar_words(kinds)}; got an array of "
            f"shape {value.shape} and dtype {value.dtype}"
        )
    return value.item()


def _scalar_words(kinds: str) -> str:
    return {"U": "string", "iu": "integer", "iuf": "real number", "b": "boolean"}[kinds]


def _layer_arrays(arrays: dict[str, np.ndarray], layer: int, where: str) -> dict[str, Any]:
    p = f"layer{layer}_"
    missing = [k for k in _REQUIRED if p + k not in arrays]
    if missing:
        raise StateDimensionError(f"{where}: layer {layer} lacks {', '.join(missing)}")
    out: dict[str, Any] = {}
    for key, (kinds, ndim) in _ARRAYS.items():
        value = arrays.get(p + key)
        if value is None:
            continue
        if value.dtype.kind not in kinds or value.ndim != ndim:
            raise InputFileError(
                f"{where}: {p + key!r} must be a {ndim}-D {_KIND_WORDS[kinds]} array; got "
                f"shape {value.shape} and dtype {value.dtype}"
            )
        out[key] = value
    dt = _scalar(arrays, p + "dt", "iuf", where)
    if not (math.isfinite(dt) and dt >= 0):
        raise InputFileError(f"{where}: {p + 'dt'!r} = {dt!r}; expected 0 (continuous time) "
                             "or a positive sampling time")
    out["dt"] = float(dt)
    out["output_after_update"] = bool(_scalar(arrays, p + "output_after_update", "b", where))
    return out


def load_stack(path: str | os.PathLike) -> list[ModalSystem]:
    """Read a stack written by :func:`save_stack` (never unpickles).

    Raises
    ------
    mor.exceptions.InputTypeError
        ``path`` is not a str or path-like.
    mor.exceptions.InputFileError
        Not a regular file (a directory, FIFO, device), over :data:`MAX_STACK_BYTES`, not
        a readable ``.npz``, an object array, or an entry of the wrong dtype or shape.
    MORError
        Another format or version, a missing key, or a layer's data is invalid (the layer
        is named in the message).
    """
    path = check_path(path)
    where = os.fspath(path)
    arrays = _read_arrays(path)
    if "format" not in arrays or arrays["format"].dtype.kind != "U" or (
        _scalar(arrays, "format", "U", where) != STACK_FORMAT
    ):
        raise MORError(f"{where}: not a {STACK_FORMAT!r} file (no or wrong 'format' entry)")
    for key in ("version", "nlayers"):
        if key not in arrays:
            raise MORError(f"{where}: no {key!r} entry; is it a {STACK_FORMAT!r} file?")
    version = _scalar(arrays, "version", "iu", where)
    if version != STACK_VERSION:
        raise MORError(f"{where}: stack format version {version}; this reads {STACK_VERSION}")
    nlayers = _scalar(arrays, "nlayers", "iu", where)
    if not 1 <= nlayers <= len(arrays):
        raise MORError(f"{where}: 'nlayers' = {nlayers}; expected a positive integer no larger "
                       f"than the number of entries ({len(arrays)})")
    systems = []
    for layer in range(nlayers):
        data = _layer_arrays(arrays, layer, where)
        try:
            systems.append(
                ModalSystem(
                    data["poles"],
                    data["B"],
                    data["C"],
                    data["D"],
                    data["dt"],
                    pair=data["pair"],
                    C_backward=data.get("C_backward"),
                    log_poles=data.get("log_poles") if data["dt"] > 0 else None,
                    output_after_update=data["output_after_update"],
                    name=f"layer {layer}",
                )
            )
        except MORError as err:
            raise type(err)(f"{where}: {err}") from err
    return systems
