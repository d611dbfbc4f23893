"""Save and load one state-space system: MATLAB ``.mat`` or JSON, names and ``dt`` kept.

A reduced model leaves the toolkit in a form other tools read:

- ``.mat``: ``A``, ``B``, ``C``, ``D``, ``Ts`` (MATLAB's sample time: 0 continuous time,
  -1 for python-control's ``dt=True``) and the names as MATLAB's ``ss`` properties
  ``Name``, ``InputName``, ``OutputName``, ``StateName`` (cell arrays of text).  Read back
  by :func:`mor.load_mat_system`, or in MATLAB with
  ``s = load('model.mat'); sys = ss(s.A, s.B, s.C, s.D, s.Ts)``.
- ``.json``: ``{"format": "mor.statespace", "version": 1, "A": [[...]], ..., "dt": ...,
  "name": ..., "inputs": [...], "outputs": [...], "states": [...]}``; numbers are written
  with Python's shortest round-trip repr, so the matrices come back bit for bit.

Files are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import control
import numpy as np
import scipy.io

from mor._files import MAX_JSON_BYTES, check_path, read_json_file
from mor._lti import as_statespace, chosen_name
from mor.exceptions import InputFileError, InputTypeError, NonFiniteError, StateDimensionError
from mor.plan import atomic_write_bytes, atomic_write_text
from mor.systems import ModalSystem

__all__ = ["FORMATS", "load_system", "save_system", "system_to_dict"]

FORMATS: tuple[str, ...] = ("mat", "json")
"""File formats of :func:`save_system` (chosen by the file's suffix)."""

_JSON_FORMAT = "mor.statespace"
_JSON_VERSION = 1


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputFileError(
            f"{str(path)!r}: unknown system file type {path.suffix or '(no suffix)'!r}; name "
            "it .mat (MATLAB) or .json")
    return fmt


def _matrices(ss: control.StateSpace) -> dict[str, np.ndarray]:
    out = {}
    for label in ("A", "B", "C", "D"):
        arr = np.asarray(getattr(ss, label))
        if np.iscomplexobj(arr):
            raise InputTypeError(f"{label} is complex; a system file holds a real system")
        arr = np.asarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise NonFiniteError(f"{label} holds NaN or inf; nothing was written")
        out[label] = arr
    return out


def _dt_number(dt) -> float:
    """python-control's dt as a number: True (unspecified sampling time) is MATLAB's -1."""
    return -1.0 if dt is True else float(dt)


def system_to_dict(sys) -> dict:
    """The JSON form of a system (see the module docstring).

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem

    Returns
    -------
    dict
        Plain lists and numbers, ready for ``json.dumps``.
    """
    ss = sys.to_statespace() if isinstance(sys, ModalSystem) else as_statespace(sys)
    mats = _matrices(ss)
    return {
        "format": _JSON_FORMAT,
        "version": _JSON_VERSION,
        **{k: v.tolist() for k, v in mats.items()},
        "nstates": int(ss.nstates),
        "dt": True if ss.dt is True else float(ss.dt),
        "name": chosen_name(ss),
        "inputs": list(ss.input_labels),
        "outputs": list(ss.output_labels),
        "states": list(ss.state_labels),
    }


def save_system(path: str | os.PathLike, sys) -> Path:
    """Write ``sys`` to ``path`` (``.mat`` or ``.json``, by the suffix), atomically.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.  An existing file is replaced.
    sys : `StateSpace`, `TransferFunction` or ModalSystem
        A real system (a ModalSystem is written as its :meth:`~ModalSystem.to_statespace`).

    Returns
    -------
    Path

    Raises
    ------
    InputFileError
        An unknown suffix.
    NonFiniteError, InputTypeError
        A matrix holds NaN/inf or complex entries (nothing is written).
    """
    path = check_path(path)
    fmt = _format_of(path)
    data = system_to_dict(sys)
    if fmt == "json":
        atomic_write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
        return path
    content = {k: np.asarray(data[k], dtype=np.float64).reshape(shape) for k, shape in (
        ("A", (data["nstates"], data["nstates"])),
        ("B", (data["nstates"], len(data["inputs"]))),
        ("C", (len(data["outputs"]), data["nstates"])),
        ("D", (len(data["outputs"]), len(data["inputs"]))))}
    content["Ts"] = np.array([[_dt_number(data["dt"])]])
    for key, names in (("InputName", data["inputs"]), ("OutputName", data["outputs"]),
                       ("StateName", data["states"])):
        cell = np.empty((len(names), 1), dtype=object)
        cell[:, 0] = names
        content[key] = cell
    if data["name"]:
        content["Name"] = data["name"]
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, content, do_compression=True, oned_as="column")
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _json_matrix(data: dict, label: str, shape: tuple[int, int], where: str) -> np.ndarray:
    value = data.get(label)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(f"{where}: {label} is not a matrix of numbers") from None
    if arr.size == 0:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise StateDimensionError(f"{where}: {label} has shape {arr.shape}; expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"{where}: {label} holds NaN or inf")
    return arr


def _json_system(path: Path) -> control.StateSpace:
    where = f"system file {str(path)!r}"
    data = read_json_file(path, max_bytes=MAX_JSON_BYTES, what="system file")
    if not isinstance(data, dict) or data.get("format") != _JSON_FORMAT:
        raise InputFileError(f"{where} is not a {_JSON_FORMAT!r} JSON file (written by "
                             "mor.save_system)")
    if data.get("version") != _JSON_VERSION:
        raise InputFileError(f"{where} has version {data.get('version')!r}; this mor reads "
                             f"version {_JSON_VERSION}")
    names = {k: data.get(k) for k in ("inputs", "outputs", "states")}
    for k, v in names.items():
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise InputFileError(f"{where}: {k} must be a list of names")
    n, m, p = len(names["states"]), len(names["inputs"]), len(names["outputs"])
    mats = [_json_matrix(data, label, shape, where) for label, shape in (
        ("A", (n, n)), ("B", (n, m)), ("C", (p, n)), ("D", (p, m)))]
    dt = data.get("dt")
    if not (dt is True or (isinstance(dt, int | float) and not isinstance(dt, bool)
                           and math.isfinite(dt) and dt >= 0)):
        raise InputFileError(f"{where}: dt = {dt!r}; expected 0, a positive number or true")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InputFileError(f"{where}: name must be text or null")
    return control.ss(*mats, dt, name=name, **names)


def load_system(path: str | os.PathLike) -> control.StateSpace:
    """Read a system written by :func:`save_system` (or any ``.mat`` with A, B, C).

    Parameters
    ----------
    path : str or path-like
        ``.mat`` (read by :func:`mor.load_mat_system`: case-insensitive names, ``Ts``/``dt``,
        a descriptor ``E``) or ``.json``.

    Returns
    -------
    `StateSpace`
        With the saved ``dt`` and names.

    Raises
    ------
    InputFileError, StateDimensionError, NonFiniteError
        The file is missing, of an unknown type or not a system file.
    """
    path = check_path(path)
    if _format_of(path) == "json":
        return _json_system(path)
    from mor.benchmarks import load_mat_system

    return load_mat_system(path)
