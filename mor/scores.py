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

A unit that is not strictly stable (``|λ̄| ≥ 1``, ``Re λ ≥ 0``; systems built with
``allow_unstable=True``) has no finite energy or H∞ norm: ``energy``, ``hinf`` and
``hinf_gain`` are +∞ for it, and :func:`prefix_normalize` gives it +∞ (always kept).

The released code of both papers (LAST, AIRE-Prune) scores differently;
:func:`released_score` and :func:`released_prefix_normalize` reproduce it exactly (in
float64), for ``mor.prune(..., compat="released")``.
"""

from __future__ import annotations

import numpy as np

from mor.exceptions import RatioError
from mor.systems import ModalSystem

__all__ = [
    "RELEASED_GAP_OFFSET",
    "energy",
    "finite_horizon_energy",
    "gains",
    "hinf",
    "hinf_gain",
    "magnitude",
    "prefix_normalize",
    "released_prefix_normalize",
    "released_score",
    "unit_multiplicity",
]

RELEASED_GAP_OFFSET = 1e-8
"""What the released LAST and AIRE-Prune code adds to the pole gap of its scores."""


def unit_multiplicity(sys: ModalSystem) -> np.ndarray:
    """2 for a conjugate-pair unit, 1 for a real mode.  Shape (nunits,)."""
    return np.where(sys.pair, 2.0, 1.0)


def _over_gap(sys: ModalSystem, numerator: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """``numerator / gap``, +∞ for the units that are not strictly stable."""
    unstable = sys.unstable
    if not unstable.any():
        return numerator / gap
    safe = np.where(unstable, 1.0, gap)
    return np.where(unstable, np.inf, numerator / safe)


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
    return _over_gap(sys, unit_multiplicity(sys) * gains(sys) ** 2, sys.energy_gap())


def hinf_gain(sys: ModalSystem) -> np.ndarray:
    """H∞ norm of each stored complex mode, ``α_i / (1 − |λ̄_i|)`` (last eq. 5); CT ``α/|Re λ|``.

    This is the gain of one complex mode, not summed over a pair (a pair's real
    transfer function has H∞ norm at most twice this value).  +∞ for an unstable unit.
    """
    return _over_gap(sys, gains(sys), sys.decay_gap())


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
    # finite for every pole; a pole on the stability boundary (rate 0) gives the limit α²·T
    if sys.isctime:
        rate = sys.poles.real
        safe = np.where(rate == 0, -1.0, rate)
        return np.where(rate == 0, alpha2 * horizon,
                        alpha2 * (-np.expm1(2.0 * safe * horizon)) / (-2.0 * safe))
    mu = sys.log_poles.real
    safe = np.where(mu == 0, -1.0, mu)
    return np.where(mu == 0, alpha2 * horizon,
                    alpha2 * np.expm1(2.0 * horizon * safe) / np.expm1(2.0 * safe))


def _score_vector(scores) -> np.ndarray:
    """``scores`` as a float64 vector; RatioError unless 1-D and non-empty."""
    v = np.asarray(scores, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise RatioError(f"scores must be a non-empty 1-D array; got shape {v.shape}")
    return v


def prefix_normalize(scores, *, eps: float = 0.0) -> np.ndarray:
    """Layer-wise prefix (energy) normalisation of one layer's scores.

    Sort the scores v descending; then ``s_(i) = v_(i) / (Σ_{j≤i} v_(j) + eps)``
    (aire-prune eq. 11, last eq. 9), written back in the original order.  With eps = 0,
    ``s`` is non-increasing along the sorted order and the top unit gets exactly 1
    (0 when every score is 0).  Ties are ordered by index.

    A score of +∞ (an unstable unit) normalises to +∞, and the finite scores are
    normalised among themselves, so an unstable unit is always kept and does not push the
    layer's stable units to 0.

    Parameters
    ----------
    scores : array_like, shape (n,)
        Non-negative local scores, finite or +∞.
    eps : float
        Added to the prefix sums (the papers' ε → 0).  The released code adds nothing to
        the prefix sums (it adds 1e-8 to the *pole gap* of the local score instead; see
        :func:`released_score` and :func:`released_prefix_normalize`).

    Returns
    -------
    ndarray, shape (n,)
    """
    v = _score_vector(scores)
    if np.any(v < 0) or np.any(np.isnan(v)):
        raise RatioError("scores must be non-negative numbers (finite, or +inf for an "
                         "unstable unit)")
    infinite = np.isposinf(v)
    finite = np.where(infinite, 0.0, v)
    order = np.lexsort((np.arange(v.size), -finite))
    sorted_v = finite[order]
    cumsum = np.cumsum(sorted_v) + eps
    normalized = np.divide(sorted_v, cumsum, out=np.zeros_like(sorted_v), where=cumsum > 0)
    out = np.empty_like(v)
    out[order] = normalized
    out[infinite] = np.inf
    return out


def released_score(sys: ModalSystem, method: str) -> np.ndarray:
    """The local score of the released LAST / AIRE-Prune code, in float64.

    Per stored mode, with ``c2 = ‖C_{:,i}‖²`` and ``b2 = ‖B̄_{i,:}‖²``:

    - ``method="last"``: ``c2·b2 / ((1 − |λ̄|)² + 1e-8)``;
    - ``method="aire"``: ``c2·b2 / ((1 − |λ̄|²) + 1e-8)``;
    - bidirectional layers replace ``c2`` by ``(‖C_f,i‖ + ‖C_b,i‖)/2**2``, which Python
      parses as ``(‖C_f,i‖ + ‖C_b,i‖)/4``: linear in ‖C‖ (the released line's
      operator-precedence defect; the papers state the average of the squares).

    The gap is taken from the stable forms (``−expm1``) and 1e-8 added, as the released
    code does to ``1 − |λ̄|`` computed in float32.  Not multiplied by the pair multiplicity:
    the prefix normalisation is invariant to a layer-wide factor.  Unlike :func:`hinf` and
    :func:`energy`, unstable units get the released code's finite (for AIRE possibly
    negative) value, not +∞.

    Parameters
    ----------
    sys : ModalSystem
        A discrete-time layer.
    method : {"last", "aire"}

    Returns
    -------
    ndarray, shape (nunits,)
    """
    if method not in ("last", "aire"):
        raise RatioError(f"released scores exist for 'last' and 'aire'; got {method!r}")
    if sys.isctime:
        raise RatioError("the released scores are defined for discrete-time layers")
    b2 = np.sum(np.abs(sys.B) ** 2, axis=1)
    c_norm = np.sqrt(np.sum(np.abs(sys.C) ** 2, axis=0))
    if sys.C_backward is not None:
        c2 = (c_norm + np.sqrt(np.sum(np.abs(sys.C_backward) ** 2, axis=0))) / 2**2
    else:
        c2 = c_norm**2
    if method == "last":
        gap = sys.decay_gap() ** 2 + RELEASED_GAP_OFFSET
    else:
        gap = sys.energy_gap() + RELEASED_GAP_OFFSET
    return c2 * b2 / gap


def released_prefix_normalize(scores) -> np.ndarray:
    """The released code's prefix normalisation, ``sort(v) / cumsum(sort(v)[::-1])[::-1]``.

    Sorted ascending (stable, so of equal scores the lower index comes first), each score
    is divided by the sum of itself and every score after it in that order, and the result
    is written back in the original order.  For distinct scores this is
    :func:`prefix_normalize` with ``eps = 0``; of tied scores the *higher* index gets the
    larger normalised score (the toolkit's rule favours the lower index).  A zero prefix
    sum (every remaining score 0) gives 0 where the released code gives NaN (a state it
    never keeps).

    Parameters
    ----------
    scores : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
    """
    v = _score_vector(scores)
    if not np.all(np.isfinite(v)):
        raise RatioError("released scores must be finite")
    order = np.argsort(v, kind="stable")
    ascending = v[order]
    tails = np.cumsum(ascending[::-1])[::-1]
    normalized = np.divide(ascending, tails, out=np.zeros_like(ascending), where=tails != 0)
    out = np.empty_like(v)
    out[order] = normalized
    return out
