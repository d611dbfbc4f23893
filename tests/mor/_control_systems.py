"""python-control systems shared by the mor tests (the oracle side of the interop tests)."""

import control
import numpy as np


def _plant() -> control.TransferFunction:
    """1/((s+1)(s+2)) named as a control user names it."""
    return control.tf([1], [1, 3, 2], name="plant", inputs="f", outputs="tau")


def _mimo(n: int = 8, dt=0, seed: int = 0) -> control.StateSpace:
    """A stable, generic 2×2 system with distinct real and complex poles."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k in range(n // 2):
        a, b = -0.3 - 0.4 * k, 0.5 + k
        blocks.append(np.array([[a, -b], [b, a]]) if k % 2 else np.diag([a, 2 * a - 0.1]))
    A = np.zeros((n, n))
    for k, blk in enumerate(blocks):
        A[2 * k:2 * k + 2, 2 * k:2 * k + 2] = blk
    T = rng.standard_normal((n, n)) + 3 * np.eye(n)
    A = T @ A @ np.linalg.inv(T)
    B, C = rng.standard_normal((n, 2)), rng.standard_normal((2, n))
    D = 0.1 * rng.standard_normal((2, 2))
    sys = control.ss(A, B, C, D, name="rig", inputs=["force", "torque"],
                     outputs=["pos", "angle"])
    if dt:
        sys = control.c2d(sys, dt, method="zoh")
        sys = control.ss(sys.A, sys.B, sys.C, sys.D, dt, name="rig",
                         inputs=["force", "torque"], outputs=["pos", "angle"])
    return sys


def _response(sys, w: np.ndarray) -> np.ndarray:
    """Frequency response by python-control (the oracle), shape (p, m, len(w))."""
    return np.asarray(control.frequency_response(sys, w).complex).reshape(
        sys.noutputs, sys.ninputs, w.size)
