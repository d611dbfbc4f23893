"""Systems on disk: one system as MATLAB ``.mat`` or JSON, a stack of modal layers as ``.npz``.

One system
    A reduced model leaves the toolkit in a form other tools read:

    - ``.mat``: ``A``, ``B``, ``C``, ``D``, ``Ts`` (MATLAB's sample time: 0 continuous time,
      -1 for python-control's ``dt=True``) and the names as MATLAB's ``ss`` properties
      ``Name``, ``InputName``, ``OutputName``, ``StateName`` (cell arrays of text).  Read
      back by :func:`load_mat_system` (which also reads any ``.mat`` holding A, B, C), or in
      MATLAB with ``s = load('model.mat'); sys = ss(s.A, s.B, s.C, s.D, s.Ts)``.
    - ``.json``: ``{"format": "mor.statespace", "version": 1, "A": [[...]], ..., "dt": ...,
      "name": ..., "inputs": [...], "outputs": [...], "states": [...]}``; numbers are
      written with Python's shortest round-trip repr, so the matrices come back bit for bit.

A stack of modal layers (what ``mor verify`` reads)
    ``np.savez`` archive, read with ``allow_pickle=False``; version 1:

    ==================================== ===============================================
    key                                  content
    ==================================== ===============================================
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
    ==================================== ===============================================

    Writers other than :func:`save_stack` (e.g. ``ssm_bridge``) may produce the same keys.

Files are written atomically (:mod:`mor.io`).  Reading is defensive: regular files only,
with a size limit (:mod:`mor._files`); a stack's arrays may not exceed
:data:`MAX_STACK_BYTES` in memory either (a compressed ``.npz`` cannot expand without
bound), object arrays are refused (never unpickled), and every scalar and array must have
the dtype and shape above (an ``nlayers`` of ``2.5`` or ``"2"`` is refused, not rounded).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import control
import numpy as np
import scipy.io
import scipy.linalg
import scipy.sparse

from mor._files import MAX_JSON_BYTES, check_path, format_bytes, read_json_file, read_regular_file
from mor._lti import as_statespace, chosen_name
from mor.exceptions import (
    InputFileError,
    InputTypeError,
    MORError,
    NonFiniteError,
    PairingError,
    StateDimensionError,
)
from mor.io import atomic_write_bytes, atomic_write_text
from mor.plan import modal_layers
from mor.systems import ModalSystem

__all__ = [
    "FORMATS",
    "MAX_STACK_BYTES",
    "STACK_FORMAT",
    "STACK_VERSION",
    "load_mat_system",
    "load_stack",
    "load_system",
    "read_mat_arrays",
    "save_stack",
    "save_system",
    "system_to_dict",
]

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
        ``.mat`` (read by :func:`load_mat_system`: case-insensitive names, ``Ts``/``dt``,
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
    return load_mat_system(path)


# ------------------------------------------------------------------ .mat reading
_NUMERIC_KINDS = "biufc"  # bool, signed/unsigned integer, float, complex


def _numeric_array(value) -> np.ndarray | None:
    """A dense float64 array (complex128 when an imaginary part is non-zero), or None.

    Text (MATLAB char), cell and struct variables are not numeric and give None: their
    contents are never coerced (``np.asarray(["0.1"], float)`` would parse text).
    """
    # heat-cont stores B and C as uint8 sparse matrices: cast everything (ANCHORS.md).
    if scipy.sparse.issparse(value):
        value = value.toarray()
    if not isinstance(value, np.ndarray) or value.dtype.kind not in _NUMERIC_KINDS:
        return None
    if value.dtype.kind == "c":
        value = np.asarray(value, dtype=np.complex128)
        if np.any(value.imag != 0):
            return value
        return np.array(value.real, dtype=np.float64)  # an all-zero imaginary part: lossless
    return np.asarray(value, dtype=np.float64)


def _load(path: str | os.PathLike) -> dict:
    try:
        return scipy.io.loadmat(os.fspath(path))
    except Exception as err:  # scipy raises MatReadError, ValueError, OSError, ...
        raise MORError(f"{path}: cannot read as a MATLAB .mat file ({err})") from err


def read_mat_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All numeric arrays of a MATLAB ``.mat`` file, dense float64.

    An array whose imaginary part is non-zero is returned as complex128 (never cut to its
    real part); text, cell and struct variables are left out.
    """
    out = {}
    for key, value in _load(path).items():
        if key.startswith("__"):
            continue
        arr = _numeric_array(value)
        if arr is not None:
            out[key] = arr
    return out


_MATLAB_UNSPECIFIED_DT = -1.0  # MATLAB's Ts = -1: discrete time, sampling time unspecified


def _system_matrix(path, raw: dict, label: str) -> np.ndarray | None:
    """``raw[label]`` as a real float64 array (None when absent), or a clear error."""
    if label not in raw:
        return None
    arr = _numeric_array(raw[label])
    if arr is None:
        raise StateDimensionError(
            f"{path}: {label} is {_matlab_kind(raw[label])}, not a numeric matrix; store it as a "
            "real double matrix"
        )
    if np.iscomplexobj(arr):
        i = tuple(int(k) for k in np.argwhere(arr.imag != 0)[0])
        if label == "dt":
            raise PairingError(
                f"{path}: dt = {complex(arr[i]):.6g} is complex; expected one real number"
            )
        raise PairingError(
            f"{path}: {label} holds complex entries (e.g. {complex(arr[i]):.6g} at index {i}); a "
            "state-space system file must be real (a real LTI system maps real inputs to real "
            "outputs).  Save the real realisation (for complex modal data, the real block form "
            "[[a, -b], [b, a]] of each conjugate pair), or build a mor.ModalSystem from the "
            "complex modes in Python"
        )
    return arr


def _matlab_kind(value) -> str:
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return {"U": "text (char)", "S": "text (char)", "O": "a cell array",
            "V": "a struct"}.get(kind, f"of type {type(value).__name__}")


def _sampling_time(path, raw: dict) -> float | bool:
    """The file's ``dt`` in python-control's convention: 0 (CT), a positive float, or True."""
    arr = _system_matrix(path, raw, "dt")
    if arr is None:
        return 0
    value = float(arr.ravel()[0]) if arr.size == 1 else math.nan
    if value == _MATLAB_UNSPECIFIED_DT:
        return True
    if arr.size != 1 or not math.isfinite(value) or value < 0:
        shown = arr.ravel()[:4].tolist() if arr.size else "[] (empty)"
        raise StateDimensionError(
            f"{path}: dt = {shown}; expected one number: 0 for continuous time, a positive "
            "finite sampling time, or -1 (MATLAB's unspecified sampling time)"
        )
    return 0 if value == 0 else value  # continuous time as python-control writes it


def load_mat_system(path: str | os.PathLike) -> control.StateSpace:
    """A ``StateSpace`` from a ``.mat`` file holding A, B, C[, D][, E] and optionally ``dt``/``Ts``.

    Variable names are matched without regard to case (``a``, ``b``, ``c`` as well as
    ``A``, ``B``, ``C``).  Continuous time unless the file holds a scalar ``dt`` or ``Ts``
    (MATLAB's name): 0 is continuous time, a positive number the sampling time, and -1
    (MATLAB's convention for an unspecified sampling time) gives python-control's
    ``dt = True``.  A descriptor matrix ``E`` (``E x' = A x + B u``) is applied when it is
    nonsingular (``A ← E⁻¹A``, ``B ← E⁻¹B``; the same transfer function).  Signal and system
    names saved as ``InputName``, ``OutputName``, ``StateName`` and ``Name`` (MATLAB's
    properties, as :func:`save_system` writes them) are kept.  Every matrix is
    cast to float64.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    `StateSpace`

    Raises
    ------
    StateDimensionError
        When A, B or C is missing or not numeric, shapes disagree, a name is given twice in
        different cases (``A`` and ``a``), E is singular (a descriptor system with algebraic
        constraints), ``dt`` and ``Ts`` disagree, or the sampling time is not one such
        number (text, NaN, inf, a negative number other than -1, several numbers).
    PairingError
        When a matrix or ``dt`` holds complex entries (never silently cut to the real part).
    NonFiniteError
        When a matrix holds NaN or inf.
    MORError
        When the file cannot be read as a ``.mat`` file.
    """
    raw = _canonical_keys(path, _load(path))
    matrices = {k: _system_matrix(path, raw, k) for k in ("A", "B", "C", "D", "E")}
    missing = [k for k in ("A", "B", "C") if matrices[k] is None]
    if missing:
        found = sorted(k for k in raw if not k.startswith("__"))
        raise StateDimensionError(
            f"{path}: the file lacks {', '.join(missing)} (it holds {found or 'no variables'}); "
            "a system file holds matrices A, B, C and optionally D, E and a scalar dt or Ts"
        )
    A, B, C = matrices["A"], matrices["B"], matrices["C"]
    n = A.shape[0]
    if A.ndim != 2 or A.shape != (n, n):
        raise StateDimensionError(f"{path}: A has shape {A.shape}; expected square")
    if B.ndim != 2 or B.shape[0] != n:
        raise StateDimensionError(f"{path}: B has shape {B.shape}; expected ({n}, ninputs)")
    if C.ndim != 2 or C.shape[1] != n:
        raise StateDimensionError(f"{path}: C has shape {C.shape}; expected (noutputs, {n})")
    D = matrices["D"]
    if D is None:
        D = np.zeros((C.shape[0], B.shape[1]))
    if D.shape != (C.shape[0], B.shape[1]):
        raise StateDimensionError(
            f"{path}: D has shape {D.shape}; expected ({C.shape[0]}, {B.shape[1]})"
        )
    for label, arr in (("A", A), ("B", B), ("C", C), ("D", D)):
        if not np.all(np.isfinite(arr)):
            raise NonFiniteError(f"{path}: {label} holds NaN or inf")
    if matrices["E"] is not None:
        A, B = _apply_descriptor(path, matrices["E"], A, B)
    names = _signal_names(path, raw, ninputs=B.shape[1], noutputs=C.shape[0], nstates=n)
    return control.ss(A, B, C, D, _sampling_time(path, raw), **names)


_CANONICAL = {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E", "dt": "dt", "ts": "dt",
              "name": "Name", "inputname": "InputName", "outputname": "OutputName",
              "statename": "StateName"}


def _canonical_keys(path, raw: dict) -> dict:
    """``raw`` with the system's variable names matched without regard to case.

    ``a`` → ``A`` …, ``Ts`` (MATLAB's sample time) and ``dt`` → ``dt``.  Two variables for
    the same name (``A`` and ``a``; ``dt`` and ``Ts`` of different values) are an error.
    """
    out = {k: v for k, v in raw.items() if k.lower() not in _CANONICAL}
    sources: dict[str, str] = {}
    for key, value in raw.items():
        canon = _CANONICAL.get(key.lower())
        if canon is None:
            continue
        if canon in sources:
            same = canon == "dt" and np.array_equal(np.asarray(raw[sources[canon]]),
                                                    np.asarray(value))
            if not same:
                raise StateDimensionError(
                    f"{path}: both {sources[canon]!r} and {key!r} are given for {canon}; keep "
                    "one of them")
            continue
        sources[canon] = key
        out[canon] = value
    return out


_SINGULAR_E = 1e12  # condition number of E above which it is treated as singular


def _apply_descriptor(path, E: np.ndarray, A: np.ndarray, B: np.ndarray):
    """(E⁻¹A, E⁻¹B) for a nonsingular descriptor matrix E, or a clear error."""
    n = A.shape[0]
    if E.shape != (n, n):
        raise StateDimensionError(f"{path}: E has shape {E.shape}; expected ({n}, {n}) as A")
    if not np.all(np.isfinite(E)):
        raise NonFiniteError(f"{path}: E holds NaN or inf")
    if np.array_equal(E, np.eye(n)):
        return A, B
    cond = np.linalg.cond(E) if n else 1.0
    if not np.isfinite(cond) or cond > _SINGULAR_E:
        rank = int(np.linalg.matrix_rank(E))
        raise StateDimensionError(
            f"{path}: E is singular (rank {rank} of {n}, condition number {cond:.3g}): a "
            "descriptor system E x' = A x + B u with algebraic constraints, which has no "
            "equivalent x' = A x + B u.  Eliminate the algebraic states first (e.g. a "
            "Weierstrass or Schur-complement reduction to an ODE), or use a descriptor "
            "reduction tool (pyMOR's LTIModel with E)"
        )
    lu = scipy.linalg.lu_factor(E)
    return scipy.linalg.lu_solve(lu, A), scipy.linalg.lu_solve(lu, B)


def _text_list(value) -> list[str] | None:
    """Strings of a MATLAB char array or cell array of char (None if it is neither)."""
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        if arr.size == 0:  # MATLAB's '' (an unnamed signal)
            return [""]
        return [str(s).rstrip() for s in np.atleast_1d(arr).ravel()]
    if arr.dtype.kind == "O":
        out = []
        for item in arr.ravel():
            texts = _text_list(item)
            if texts is None or len(texts) != 1:
                return None
            out.append(texts[0])
        return out
    return None


def _signal_names(path, raw: dict, *, ninputs: int, noutputs: int, nstates: int) -> dict:
    """python-control keywords ``name``, ``inputs``, ``outputs``, ``states`` found in the file."""
    out: dict = {}
    for key, word, count in (("InputName", "inputs", ninputs), ("OutputName", "outputs",
                                                                 noutputs),
                             ("StateName", "states", nstates), ("Name", "name", 1)):
        if key not in raw:
            continue
        texts = _text_list(raw[key])
        if texts is not None and len(texts) == count and word != "name":
            # MATLAB leaves unnamed signals '': python-control's default names instead
            prefix = {"inputs": "u", "outputs": "y", "states": "x"}[word]
            texts = [s or f"{prefix}[{i}]" for i, s in enumerate(texts)]
        if texts is not None and word == "name" and texts == [""]:
            continue
        if texts is None or len(texts) != count or any(not s for s in texts) or (
                len(set(texts)) != len(texts)):
            raise StateDimensionError(
                f"{path}: {key} should hold {count} distinct non-empty name(s) (text or a cell "
                f"array of text); got {texts if texts is not None else _matlab_kind(raw[key])}")
        out[word] = texts[0] if word == "name" else texts
    return out


# ------------------------------------------------------------------ layer stacks (.npz)
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

    Parameters
    ----------
    path : str or path-like
        The file to write (the format of the module docstring); an existing file is
        replaced, a missing folder is made.
    systems : ModalSystem or sequence of ModalSystem
        The layers, in order.

    Returns
    -------
    None

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

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` file in the format of the module docstring.

    Returns
    -------
    list of ModalSystem
        The layers, in order, named ``"layer 0"``, ``"layer 1"``, ...

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
