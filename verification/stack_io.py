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
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence

import numpy as np

from mor.exceptions import MORError, StateDimensionError
from mor.plan import atomic_write_bytes
from mor.systems import ModalSystem

__all__ = ["STACK_FORMAT", "STACK_VERSION", "load_stack", "save_stack"]

STACK_FORMAT = "mor-modal-stack"
STACK_VERSION = 1
_REQUIRED = ("poles", "B", "C", "D", "pair", "dt", "output_after_update")


def save_stack(path: str | os.PathLike, systems: ModalSystem | Sequence[ModalSystem]) -> None:
    """Write a stack of :class:`mor.ModalSystem` layers to ``path`` (.npz), atomically."""
    if isinstance(systems, ModalSystem):
        systems = [systems]
    systems = list(systems)
    if not systems or not all(isinstance(s, ModalSystem) for s in systems):
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


def load_stack(path: str | os.PathLike) -> list[ModalSystem]:
    """Read a stack written by :func:`save_stack` (never unpickles).

    Raises
    ------
    MORError
        When the file is not a readable ``.npz`` stack, a key is missing, or a layer's
        data is invalid (the layer is named in the message).
    """
    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise MORError(f"{path}: cannot read as a .npz layer stack ({err})") from err
    if "format" not in arrays or str(arrays["format"]) != STACK_FORMAT:
        raise MORError(f"{path}: not a {STACK_FORMAT!r} file (no or wrong 'format' entry)")
    version = int(arrays.get("version", -1))
    if version != STACK_VERSION:
        raise MORError(f"{path}: stack format version {version}; this reads {STACK_VERSION}")
    nlayers = int(arrays.get("nlayers", 0))
    if nlayers < 1:
        raise MORError(f"{path}: 'nlayers' must be a positive integer")
    systems = []
    for layer in range(nlayers):
        p = f"layer{layer}_"
        missing = [k for k in _REQUIRED if p + k not in arrays]
        if missing:
            raise StateDimensionError(f"{path}: layer {layer} lacks {', '.join(missing)}")
        dt = float(arrays[p + "dt"])
        try:
            systems.append(
                ModalSystem(
                    arrays[p + "poles"],
                    arrays[p + "B"],
                    arrays[p + "C"],
                    arrays[p + "D"],
                    dt,
                    pair=arrays[p + "pair"],
                    C_backward=arrays.get(p + "C_backward"),
                    log_poles=arrays.get(p + "log_poles") if dt > 0 else None,
                    output_after_update=bool(arrays[p + "output_after_update"]),
                    name=f"layer {layer}",
                )
            )
        except MORError as err:
            raise type(err)(f"{path}: {err}") from err
    return systems
