"""Error budgets: per layer, prune as much as a certified H∞ error ≤ ε allows.

For modal plans the certificate is the modal triangle bound (aire-prune eq. 12–13, last eq. 5
and 18, each conjugate written out): pruning the units T of a layer leaves the error
``Σ_{i∈T} G_i``, and

    ‖Σ_{i∈T} G_i‖∞ ≤ Σ_{i∈T} m_i (‖C_i‖ + ‖C_b,i‖) ‖B_i‖ / (1 − |λ̄_i|)

(m_i = 2 for a conjugate pair, C_b = 0 for one direction; CT: ``|Re λ_i|`` for
``1 − |λ̄_i|``; the after-update factor ``z`` has modulus 1 on the unit circle).  With a
method's local ranking, :func:`tolerance_keep` removes the lowest-ranked units for as long as
their summed bound stays ≤ ε, so the plan's per-layer certified error is ≤ ε.  Balanced plans
use the balanced-truncation certificate instead (:mod:`mor.balanced_selection`).
"""

from __future__ import annotations

import math

import numpy as np

from mor.exceptions import RatioError
from mor.systems import ModalSystem

__all__ = ["check_tolerance", "modal_unit_bounds", "tolerance_keep"]


def check_tolerance(tol: float) -> float:
    """``tol`` as a positive finite float, or :class:`RatioError`."""
    if not isinstance(tol, int | float) or isinstance(tol, bool) or not (
            math.isfinite(tol) and tol > 0):
        raise RatioError(f"tol = {tol!r}; expected a positive finite number (an H∞ error)")
    return float(tol)


def modal_unit_bounds(sys: ModalSystem) -> np.ndarray:
    """Per unit, its term of the modal triangle bound (module docstring).  +inf if unstable.

    Returns
    -------
    ndarray, shape (nunits,)
    """
    b = np.linalg.norm(sys.B, axis=1)
    c = np.linalg.norm(sys.C, axis=0)
    if sys.C_backward is not None:
        c = c + np.linalg.norm(sys.C_backward, axis=0)
    gap = sys.decay_gap()
    mult = np.where(sys.pair, 2.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mult * c * b / gap
    return np.where(sys.unstable, np.inf, np.where(c * b == 0, 0.0, out))


def tolerance_keep(sys: ModalSystem, local: np.ndarray, tol: float) -> np.ndarray:
    """Kept units of one layer: remove the lowest-ranked while their bound sum is ≤ ``tol``.

    Units are ranked by ``local`` descending (ties by index); the layer's best unit is
    always kept.  Returns the kept indices, ascending.
    """
    tol = check_tolerance(tol)
    bounds = modal_unit_bounds(sys)
    order = np.lexsort((np.arange(local.size), -np.asarray(local, dtype=np.float64)))
    worst_first = order[::-1][:-1]  # the best unit is never removed
    spent = np.cumsum(bounds[worst_first])
    nremove = int(np.count_nonzero(spent <= tol * (1.0 - 1e-12)))
    # cumsum is non-decreasing: the first nremove of the worst units fit the budget
    removed = worst_first[:nremove]
    return np.setdiff1d(np.arange(sys.nunits), removed)
