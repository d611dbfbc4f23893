"""The bundled SLICOT model-reduction benchmark systems (continuous time).

Chahlaoui & Van Dooren, "A collection of benchmark examples for model reduction of
linear time invariant dynamical systems", SLICOT Working Note 2002-2.  The ``.mat`` files
in ``mor/data`` are copied unchanged from that collection (see ``mor/data/PROVENANCE.md``).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import control
import numpy as np
import scipy.io
import scipy.sparse

from mor.exceptions import MORError, NonFiniteError, StateDimensionError

__all__ = ["BENCHMARKS", "load_benchmark", "load_mat_system", "read_mat_arrays"]

BENCHMARKS: tuple[str, ...] = ("build", "CDplayer", "iss1R", "heat-cont")
"""Names of the bundled benchmark systems."""


def _dense_float64(value) -> np.ndarray:
    # heat-cont stores B and C as uint8 sparse matrices: cast everything (ANCHORS.md).
    if scipy.sparse.issparse(value):
        value = value.toarray()
    return np.asarray(value, dtype=np.float64)


def read_mat_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All numeric arrays of a MATLAB ``.mat`` file, dense float64."""
    try:
        raw = scipy.io.loadmat(os.fspath(path))
    except Exception as err:  # scipy raises MatReadError, ValueError, OSError, ...
        raise MORError(f"{path}: cannot read as a MATLAB .mat file ({err})") from err
    out = {}
    for key, value in raw.items():
        if key.startswith("__"):
            continue
        try:
            out[key] = _dense_float64(value)
        except (TypeError, ValueError):
            continue
    return out


def load_mat_system(path: str | os.PathLike) -> control.StateSpace:
    """A ``StateSpace`` from a ``.mat`` file holding A, B, C[, D] (and optionally scalar ``dt``).

    Continuous time unless the file holds a scalar ``dt``.  Every matrix is cast to
    float64.

    Raises
    ------
    MORError
        When A, B or C is missing, shapes disagree or values are not finite.
    """
    arrays = read_mat_arrays(path)
    missing = [k for k in ("A", "B", "C") if k not in arrays]
    if missing:
        raise StateDimensionError(
            f"{path}: the file lacks {', '.join(missing)}; a system file holds matrices A, B, C "
            "and optionally D and a scalar dt"
        )
    A, B, C = arrays["A"], arrays["B"], arrays["C"]
    n = A.shape[0]
    if A.ndim != 2 or A.shape != (n, n):
        raise StateDimensionError(f"{path}: A has shape {A.shape}; expected square")
    if B.ndim != 2 or B.shape[0] != n:
        raise StateDimensionError(f"{path}: B has shape {B.shape}; expected ({n}, ninputs)")
    if C.ndim != 2 or C.shape[1] != n:
        raise StateDimensionError(f"{path}: C has shape {C.shape}; expected (noutputs, {n})")
    D = arrays.get("D", np.zeros((C.shape[0], B.shape[1])))
    if D.shape != (C.shape[0], B.shape[1]):
        raise StateDimensionError(
            f"{path}: D has shape {D.shape}; expected ({C.shape[0]}, {B.shape[1]})"
        )
    for label, arr in (("A", A), ("B", B), ("C", C), ("D", D)):
        if not np.all(np.isfinite(arr)):
            raise NonFiniteError(f"{path}: {label} holds NaN or inf")
    dt = 0
    if "dt" in arrays:
        dt_arr = arrays["dt"].ravel()
        if dt_arr.size != 1 or not np.isfinite(dt_arr[0]) or dt_arr[0] < 0:
            raise StateDimensionError(f"{path}: dt must be a non-negative scalar")
        dt = float(dt_arr[0])
    return control.ss(A, B, C, D, dt)


def benchmark_path(name: str) -> Path:
    if name not in BENCHMARKS:
        raise MORError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    return Path(str(resources.files("mor") / "data" / f"{name}.mat"))


def load_benchmark(name: str) -> control.StateSpace:
    """One of :data:`BENCHMARKS` as a continuous-time ``StateSpace`` (float64).

    Examples
    --------
    >>> sys = load_benchmark("build")
    >>> sys.nstates, sys.ninputs, sys.noutputs
    (48, 1, 1)
    """
    return load_mat_system(benchmark_path(name))
