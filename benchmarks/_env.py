"""Benchmark hygiene shared by the scripts: one BLAS thread for both sides, machine load.

Import this module and call :func:`pin_threads` *before* numpy (or anything that imports
it) is imported: OpenBLAS reads ``OPENBLAS_NUM_THREADS`` once, when it is loaded.
"""

from __future__ import annotations

import os
import sys

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(threads: int = 1) -> None:
    """Set the BLAS thread count for this process (and any child processes).

    Raises
    ------
    RuntimeError
        numpy is already imported: the setting would silently not apply.
    """
    if "numpy" in sys.modules:
        raise RuntimeError(
            "pin_threads() must run before numpy is imported (OpenBLAS reads "
            "OPENBLAS_NUM_THREADS when it loads); move the import below the call"
        )
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)


def load_line() -> str:
    """One line describing the machine and its load (1, 5, 15-minute averages)."""
    one, five, fifteen = os.getloadavg()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (f"machine: {os.cpu_count()} CPUs, load average {one:.2f} / {five:.2f} / "
            f"{fifteen:.2f} (1/5/15 min), OPENBLAS_NUM_THREADS={threads}")
