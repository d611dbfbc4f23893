"""The bundled SLICOT model-reduction benchmark systems (continuous time).

Chahlaoui & Van Dooren, "A collection of benchmark examples for model reduction of
linear time invariant dynamical systems", SLICOT Working Note 2002-2.  The ``.mat`` files
in ``mor/data`` are copied unchanged from that collection (see ``mor/data/PROVENANCE.md``)
and read by :func:`mor.system_io.load_mat_system`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import control

from mor.exceptions import MORError
from mor.system_io import load_mat_system

__all__ = ["BENCHMARKS", "benchmark_path", "load_benchmark"]

BENCHMARKS: tuple[str, ...] = ("build", "CDplayer", "iss1R", "heat-cont")
"""Names of the bundled benchmark systems."""


def benchmark_path(name: str) -> Path:
    """The ``.mat`` file of bundled benchmark ``name`` (one of :data:`BENCHMARKS`)."""
    if name not in BENCHMARKS:
        raise MORError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    return Path(str(resources.files("mor") / "data" / f"{name}.mat"))


def load_benchmark(name: str) -> control.StateSpace:
    """One of :data:`BENCHMARKS` as a continuous-time ``StateSpace`` (float64).

    Parameters
    ----------
    name : {"build", "CDplayer", "iss1R", "heat-cont"}
        The benchmark's name in the SLICOT collection (:data:`BENCHMARKS`).

    Returns
    -------
    `StateSpace`
        A, B, C, D as the collection stores them, cast to float64.

    Raises
    ------
    MORError
        For any other name.

    Examples
    --------
    >>> sys = load_benchmark("build")
    >>> sys.nstates, sys.ninputs, sys.noutputs
    (48, 1, 1)
    """
    return load_mat_system(benchmark_path(name))
