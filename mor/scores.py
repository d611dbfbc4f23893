"""Per-unit importance scores of a modal system, and the layer-wise prefix normalisation.

Every score returns a float64 array of shape ``(nunits,)``; higher means keep.  Scores
are defined per complex mode as in the papers; a conjugate-pair unit scores the sum
over its two members (twice the stored mode's score).  For a stack of S5 layers, where
every unit is a pair, this is a uniform factor 2 and changes no ranking or normalised
score; for a real system mixing real modes and pairs it keeps units comparable.

With α_i = ‖C_{:,i}‖₂ ‖B_{i,:}‖₂ (bidirectional: ‖C_i‖² replaced by
(‖C_f,i‖² + ‖C_b,i‖²)/2, as both papers do) and, in discrete time, μ_i = log λ̄_i:

=================== ===================================== ============================
score               discrete time                          continuous time
=================== ===================================== ============================
energy              α² / (1 − |λ̄|²)   (aire-prune eq. 8)   α² / (2|Re λ|)
hinf                α² / (1 − |λ̄|)²   (last eq. 6)          α² / |Re λ|²
hinf_gain           α / (1 − |λ̄|)     (last eq. 5)          α / |Re λ|
magnitude           |λ̄| α              (last D.2)           |λ| α
finite_horizon      α² (1 − |λ̄|^{2T}) / (1 − |λ̄|²)        α² (1 − e^{2 Re λ T}) / (2|Re λ|)
=================== ===================================== ============================

All gaps are evaluated in the stable forms ``1 − |λ̄|² = −expm1(2 Re μ)`` and
``1 − |λ̄| = −expm1(Re μ)`` (MATH.md §1).
"""

from __future__ import annotations

import numpy as np

from mor.exceptions import RatioError
from mor.systems import ModalSystem

__all__ = [
    "energy",
    "finite_horizon_energy",
    "gains",
    "hinf",
    "hinf_gain",
    "magnitude",
    "prefix_normalize",
    "unit_multiplicity",
]


def unit_multiplicity(sys: ModalSystem) -> np.ndarray:
    """2 for a conjugate-pair unit, 1 for a real mode.  Shape (nunits,)."""
    return np.where(sys.pair, 2.0, 1.0)


def gains(sys: ModalSystem) -> np.ndarray:
    """α_i = ‖C_{:,i}‖₂ ‖B_{i,:}‖₂, the spectral norm of the rank-one C_i B_i.

    For a bidirectional layer ‖C_i‖² is the average (‖C_f,i‖² + ‖C_b,i‖²)/2
    (aire-prune §4, last §4).  Shape (nunits,).
    """
    c2 = np.sum(np.abs(sys.C) ** 2, axis=0)
    if sys.C_backward is not None:
        c2 = 0.5 * (c2 + np.sum(np.abs(sys.C_backward) ** 2, axis=0))
    b2 = np.sum(np.abs(sys.B) ** 2, axis=1)
    return np.sqrt(c2 * b2)


def energy(sys: ModalSystem) -> np.ndarray:
    """Asymptotic impulse-response energy (squared H2 norm) of each unit.

    ``E_i = α_i² / (1 − |λ̄_i|²)`` (aire-prune eq. 8, 10), summed over a pair's two
    members; CT: ``α_i² / (2|Re λ_i|)``.

    Examples
    --------
    >>> s = ModalSystem([0.5], [[1.0]], [[1.0]], dt=1)
    >>> float(energy(s)[0])  # 1 / (1 - 0.25)
    1.3333333333333333
    """
    return unit_multiplicity(sys) * gains(sys) ** 2 / sys.energy_gap()


def hinf_gain(sys: ModalSystem) -> np.ndarray:
    """H∞ norm of each stored complex mode, ``α_i / (1 − |λ̄_i|)`` (last eq. 5); CT ``α/|Re λ|``.

    This is the gain of one complex mode, not summed over a pair (a pair's real
    transfer function has H∞ norm at most twice this value).
    """
    return gains(sys) / sys.decay_gap()


def hinf(sys: ModalSystem) -> np.ndarray:
    """LAST's H∞ score ``α_i² / (1 − |λ̄_i|)²`` (last eq. 6), summed over a pair's members."""
    return unit_multiplicity(sys) * hinf_gain(sys) ** 2


def magnitude(sys: ModalSystem) -> np.ndarray:
    """Magnitude score ``|λ̄_i| ‖B̄_i‖ ‖C_i‖`` (last appendix D.2), summed over a pair's members.

    In continuous time the CT pole's modulus is used.
    """
    return unit_multiplicity(sys) * np.abs(sys.poles) * gains(sys)


def finite_horizon_energy(sys: ModalSystem, horizon: float) -> np.ndarray:
    """Energy of the first ``horizon`` samples of each unit's impulse response.

    ``E_i(T) = α_i² (1 − |λ̄_i|^{2T}) / (1 − |λ̄_i|²)`` (aire-prune eq. 7), computed as
    ``α² expm1(2T Re μ) / expm1(2 Re μ)``; CT: ``α² (1 − e^{2 Re λ T}) / (2|Re λ|)`` with
    T in time units.

    Parameters
    ----------
    sys : ModalSystem
    horizon : float
        T > 0: number of samples (DT) or a duration (CT).
    """
    if not np.isfinite(horizon) or horizon <= 0:
        raise RatioError(f"horizon = {horizon!r}; expected a positive finite number")
    alpha2 = unit_multiplicity(sys) * gains(sys) ** 2
    if sys.isctime:
        rate = sys.poles.real
        return alpha2 * (-np.expm1(2.0 * rate * horizon)) / (-2.0 * rate)
    mu = sys.log_poles.real
    return alpha2 * np.expm1(2.0 * horizon * mu) / np.expm1(2.0 * mu)


def prefix_normalize(scores, *, eps: float = 0.0) -> np.ndarray:
    """Layer-wise prefix (energy) normalisation of one layer's scores.

    Sort the scores v descending; then ``s_(i) = v_(i) / (Σ_{j≤i} v_(j) + eps)``
    (aire-prune eq. 11, last eq. 9), written back in the original order.  With eps = 0,
    ``s`` is non-increasing along the sorted order and the top unit gets exactly 1
    (0 when every score is 0).  Ties are ordered by index.

    Parameters
    ----------
    scores : array_like, shape (n,)
        Non-negative local scores.
    eps : float
        Added to the denominators (the released code uses 1e-8).

    Returns
    -------
    ndarray, shape (n,)
    """
    v = np.asarray(scores, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise RatioError(f"scores must be a non-empty 1-D array; got shape {v.shape}")
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise RatioError("scores must be finite and non-negative")
    order = np.lexsort((np.arange(v.size), -v))
    sorted_v = v[order]
    cumsum = np.cumsum(sorted_v) + eps
    normalized = np.divide(sorted_v, cumsum, out=np.zeros_like(sorted_v), where=cumsum > 0)
    out = np.empty_like(v)
    out[order] = normalized
    return out
