"""The bundled SLICOT model-reduction benchmark systems (continuous time).

Chahlaoui & Van Dooren, "A collection of benchmark examples for model reduction of
linear time invariant dynamical systems", SLICOT Working Note 2002-2.  The ``.mat`` files
in ``mor/data`` are copied unchanged from that collection (see ``mor/data/PROVENANCE.md``).
"""

from __future__ import annotations

import math
import os
from importlib import resources
from pathlib import Path

import control
import numpy as np
import scipy.io
import scipy.linalg
import scipy.sparse

from mor.exceptions import MORError, NonFiniteError, PairingError, StateDimensionError

__all__ = ["BENCHMARKS", "load_benchmark", "load_mat_system", "read_mat_arrays"]

BENCHMARKS: tuple[str, ...] = ("build", "CDplayer", "iss1R", "heat-cont")
"""Names of the bundled benchmark systems."""


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
    properties, as :func:`mor.system_io.save_system` writes them) are kept.  Every matrix is
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


def benchmark_path(name: str) -> Path:
    if name not in BENCHMARKS:
        raise MORError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    return Path(str(resources.files("mor") / "data" / f"{name}.mat"))


def load_benchmark(name: str) -> control.StateSpace:
    """One of :data:`BENCHMARKS` as a continuous-time ``StateSpace`` (float64).

    Parameters
    ----------
    name : str
        One of :data:`BENCHMARKS`.

    Returns
    -------
    `StateSpace`

    Examples
    --------
    >>> sys = load_benchmark("build")
    >>> sys.nstates, sys.ninputs, sys.noutputs
    (48, 1, 1)
    """
    return load_mat_system(benchmark_path(name))
