"""One entry point for reducing one linear system: ``mor.reduce(sys, method, order=|tol=)``.

The shape of python-control's ``balred`` and pyMOR's reductors (``BTReductor``):

- any python-control system in (``StateSpace``, ``TransferFunction``) or a
  :class:`~mor.systems.ModalSystem`, a ``StateSpace`` out with the same ``dt``, system
  name and input and output names;
- ``order=r`` gives r states; ``tol=ε`` the smallest order whose *certified* H∞ error
  bound is ≤ ε; :meth:`Reductor.error_bounds` gives the bound for every order at once;
- an unstable system is split as ``control.balred`` splits it (Hsu & Hou 1991): the
  unstable part is kept whole and the stable part reduced; the split is said in the
  returned :class:`ReductionInfo` and by an :class:`~mor.exceptions.UnstableModeWarning`.
  ``alpha`` moves the stability boundary (CT: ``Re λ < alpha ≤ 0``; DT:
  ``|λ| < alpha ≤ 1``), so that slow stable modes can be kept whole as well.

Methods and their certificates (the error ``G − G_r`` is that of the stable part, as the
unstable part is kept exactly):

=================================== ==========================================================
method                              certificate of ``‖G − G_r‖∞`` at order r
=================================== ==========================================================
``"balanced_truncation"``           ``2 Σ_{i>r_s} σ_i`` (Enns 1984; Al-Saggaf & Franklin 1987
                                    for DT), σ the Hankel singular values of the stable part
``"balanced_singular_perturbation"`` the same bound (Liu & Anderson 1989); matches the DC gain
modal rankings (``"aire"``,         the modal triangle bound ``Σ_{removed} m_i‖c_i‖‖b_i‖ /
``"last"``, ``"global_energy"`` …)  dist_i`` (:func:`mor.budgets.modal_unit_bounds`)
=================================== ==========================================================

A modal ranking keeps the best-scored units (mode or conjugate pair) whose states fit in
the order: a pair that does not fit ends the kept set, so the reduced order can be one below
the one asked for (:attr:`ReductionInfo.order` says which).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import control
import numpy as np
import scipy.linalg

from mor._lti import as_statespace, chosen_name
from mor.budgets import check_tolerance, modal_unit_bounds
from mor.exceptions import (
    IllConditionedEigenbasisWarning,
    RatioError,
    StateDimensionError,
    UnknownMethodError,
    UnstableModeWarning,
)
from mor.norms import hankel_singular_values
from mor.systems import ModalSystem

__all__ = [
    "BALANCED_METHODS",
    "REDUCE_METHODS",
    "CertifiedReductor",
    "ErrorAnalysis",
    "ReductionInfo",
    "Reductor",
    "default_orders",
    "error_analysis",
    "error_bounds",
    "reduce",
    "reduction_error",
    "stable_unstable_split",
]

BALANCED_METHODS: tuple[str, ...] = ("balanced_truncation", "balanced_singular_perturbation")
"""Methods that balance the stable part (certificate ``2 Σ σ``)."""

_MODAL_METHODS: tuple[str, ...] = (
    "aire", "last", "global_hinf", "global_energy", "global_magnitude", "lamp")
"""Modal rankings (for one system the global, uniform and prefix forms rank alike)."""

REDUCE_METHODS: tuple[str, ...] = BALANCED_METHODS + _MODAL_METHODS
"""Every ``method`` of :func:`reduce`."""

_SPLIT_WARN = 1e8  # ‖X‖ of the block-diagonalising Sylvester solution above which we warn


@dataclass(frozen=True)
class ReductionInfo:
    """What :func:`reduce` did: order, certificate, and how an unstable part was handled.

    Attributes
    ----------
    method : str
    order : int
        States of the reduced model (unstable part included).
    requested_order : int or None
        The ``order`` asked for (None when chosen by ``tol``).
    tol : float or None
    bound : float
        Certified bound on ``‖G − G_r‖∞`` (0 when nothing was removed).
    bound_source : str
        Where the bound comes from.
    nstates : int
        States of the full system.
    unstable_states : int
        States of the part kept whole (not ``alpha``-stable).
    alpha : float
        The stability boundary used.
    notes : tuple of str
        Sentences for the user (unstable part kept, order lowered ...).
    """

    method: str
    order: int
    requested_order: int | None
    tol: float | None
    bound: float
    bound_source: str
    nstates: int
    unstable_states: int
    alpha: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain JSON-ready data (the bound as ``None`` when infinite)."""
        data = asdict(self)
        data["notes"] = list(self.notes)
        if not math.isfinite(self.bound):
            data["bound"] = None
        return data


def _check_method(method: str) -> str:
    if method not in REDUCE_METHODS:
        raise UnknownMethodError(
            f"unknown reduction method {method!r}; choose one of {', '.join(REDUCE_METHODS)}")
    return method


def _check_alpha(alpha: float | None, discrete: bool) -> float:
    default = 1.0 if discrete else 0.0
    if alpha is None:
        return default
    ok = isinstance(alpha, int | float) and not isinstance(alpha, bool) and math.isfinite(alpha)
    if ok and (0.0 <= alpha <= 1.0 if discrete else alpha <= 0.0):
        return float(alpha)
    rule = "0 ≤ alpha ≤ 1 (|λ| < alpha is stable, discrete time)" if discrete else \
        "alpha ≤ 0 (Re λ < alpha is stable, continuous time)"
    raise RatioError(f"alpha = {alpha!r}; expected {rule}")


def stable_unstable_split(
    sys, *, alpha: float | None = None
) -> tuple[control.StateSpace | None, control.StateSpace | None]:
    """Additive split ``G = G_s + G_u`` into a stable and an unstable part.

    An ordered real Schur form ``A = Z T Zᵀ`` puts the stable eigenvalues first; the
    Sylvester equation ``T₁₁ X − X T₂₂ = −T₁₂`` block-diagonalises T (as SLICOT TB01KD,
    which ``control.balred`` uses through AB09MD).  D stays with the stable part.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem
    alpha : float, optional
        The stability boundary: CT ``Re λ < alpha`` (``alpha ≤ 0``, default 0); DT
        ``|λ| < alpha`` (``0 ≤ alpha ≤ 1``, default 1).

    Returns
    -------
    stable, unstable : `StateSpace` or None
        None for a part without states (then the other part is ``sys`` itself, realised
        as a ``StateSpace``).

    Warns
    -----
    IllConditionedEigenbasisWarning
        Stable and unstable eigenvalues are so close that the split amplifies errors
        (``‖X‖ > 1e8``).
    """
    ss = sys.to_statespace() if isinstance(sys, ModalSystem) else as_statespace(sys)
    A = np.asarray(ss.A, dtype=np.float64)
    B, C, D = (np.asarray(x, dtype=np.float64) for x in (ss.B, ss.C, ss.D))
    discrete = bool(ss.isdtime(strict=True))
    alpha = _check_alpha(alpha, discrete)
    n = A.shape[0]
    if n == 0:
        return ss, None
    if discrete:
        def inside(re, im):
            return np.hypot(re, im) < alpha
    else:
        def inside(re, im):
            return re < alpha
    T, Z, ns = scipy.linalg.schur(A, output="real", sort=inside)
    if ns == n:
        return ss, None
    Bt, Ct = Z.T @ B, C @ Z
    zero_d = np.zeros_like(D)
    if ns == 0:
        return None, control.ss(T, Bt, Ct, D, ss.dt)
    T11, T12, T22 = T[:ns, :ns], T[:ns, ns:], T[ns:, ns:]
    X = scipy.linalg.solve_sylvester(T11, -T22, -T12)
    size = float(np.linalg.norm(X, 2))
    if not np.isfinite(size) or size > _SPLIT_WARN:
        warnings.warn(
            f"the stable/unstable split is ill-conditioned (‖X‖ = {size:.3g}): eigenvalues lie "
            "close to the boundary on both sides; results may lose that factor in accuracy",
            IllConditionedEigenbasisWarning, stacklevel=3)
    # [[I, −X], [0, I]] Tᵀ-transform: B₁ ← B₁ − X B₂, C₂ ← C₂ + C₁ X
    B1 = Bt[:ns] - X @ Bt[ns:]
    C2 = Ct[:, ns:] + Ct[:, :ns] @ X
    stable = control.ss(T11, B1, Ct[:, :ns], D, ss.dt)
    unstable = control.ss(T22, Bt[ns:], C2, zero_d, ss.dt)
    return stable, unstable


class CertifiedReductor:
    """A reduction whose certified error is known for every order (pyMOR's reductors).

    A subclass sets ``nstates`` and implements :meth:`error_bounds` (the bound for every
    order 0 … nstates, non-increasing) and ``reduce(order=None, *, tol=None)``;
    :meth:`order_for_tolerance` turns the bounds into the order of ``reduce(tol=…)``.
    """

    nstates: int

    def error_bounds(self) -> np.ndarray:
        """The certified bound on ``‖G − G_r‖∞`` for every order r = 0 … nstates."""
        raise NotImplementedError

    def order_for_tolerance(self, tol: float) -> int:
        """The smallest order ≥ 1 whose certified bound is ≤ ``tol`` (pyMOR's ``tol=``).

        Parameters
        ----------
        tol : float
            A positive H∞ error.

        Returns
        -------
        int
            ``nstates`` when no smaller order meets ``tol``.

        Raises
        ------
        RatioError
            ``tol`` is not a positive finite number.
        """
        tol = check_tolerance(tol)
        bounds = self.error_bounds()
        ok = np.flatnonzero(bounds[1:] <= tol)
        return int(ok[0]) + 1 if ok.size else self.nstates


class Reductor(CertifiedReductor):
    """Reduction of one system by one method, with the certificate for every order.

    The pyMOR pattern (``BTReductor(fom).reduce(r=None, tol=None)``, ``error_bounds()``):
    the expensive part (split, Hankel singular values or modal scores) is computed once.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem
        Continuous or discrete time; unstable poles are kept (module docstring).
    method : str
        One of :data:`REDUCE_METHODS` (default ``"balanced_truncation"``).
    alpha : float, optional
        Stability boundary of the split (balanced methods; see
        :func:`stable_unstable_split`).

    Examples
    --------
    >>> import control
    >>> red = Reductor(control.ss([[-1, 0], [0, -10]], [[1], [1]], [[1, 1]], 0))
    >>> bounds = red.error_bounds()      # one per order 0..nstates
    >>> red.order_for_tolerance(0.2), round(float(bounds[1]), 4)
    (1, 0.0647)
    """

    def __init__(self, sys, method: str = "balanced_truncation", *,
                 alpha: float | None = None) -> None:
        self.method = _check_method(method)
        if isinstance(sys, ModalSystem):
            self._modal = sys
            ss = sys.to_statespace() if method in BALANCED_METHODS else None
            self._name, self._inputs, self._outputs = sys.name, sys.input_labels, \
                sys.output_labels
            self.dt = sys.dt
            self.nstates = sys.nstates
        else:
            ss = as_statespace(sys)
            self._modal = None
            self._name, self._inputs, self._outputs = chosen_name(ss), ss.input_labels, \
                ss.output_labels
            self.dt = ss.dt
            self.nstates = ss.nstates
        if self.nstates == 0:
            raise StateDimensionError("the system has no states; there is nothing to reduce")
        if method in BALANCED_METHODS:
            self.alpha = _check_alpha(alpha, bool(ss.isdtime(strict=True)))
            self._stable, self._unstable = stable_unstable_split(ss, alpha=self.alpha)
            self.unstable_states = 0 if self._unstable is None else self._unstable.nstates
            self._hsv = (np.zeros(0) if self._stable is None
                         else hankel_singular_values(self._stable))
        else:
            if alpha is not None:
                raise RatioError(
                    f"alpha applies to the balanced methods ({', '.join(BALANCED_METHODS)}); "
                    f"the modal method {method!r} always keeps the unstable modes")
            self.alpha = 0.0 if self._modal is None or self._modal.isctime else 1.0
            if self._modal is None:
                self._modal = ModalSystem.from_statespace(ss, allow_unstable=True)
            stable = self._modal.stable_part()
            self.unstable_states = self.nstates - (0 if stable is None else stable.nstates)
            self._ranking = self._rank_units()

    # ------------------------------------------------------------------ certificates
    def hankel_singular_values(self) -> np.ndarray:
        """Hankel singular values of the stable part, descending (balanced methods).

        Returns
        -------
        ndarray, shape (nstates − unstable_states,)
        """
        if self.method not in BALANCED_METHODS:
            return hankel_singular_values(self._modal.stable_part()) \
                if self._modal.stable_part() is not None else np.zeros(0)
        return self._hsv.copy()

    def error_bounds(self) -> np.ndarray:
        """The certified bound on ``‖G − G_r‖∞`` for every order r = 0 … nstates.

        Returns
        -------
        ndarray, shape (nstates + 1,)
            Entry r bounds the error of the order-r model; ``inf`` below the unstable
            part's states (which are never removed); 0 at full order; non-increasing.
        """
        out = np.full(self.nstates + 1, np.inf)
        nu = self.unstable_states
        if self.method in BALANCED_METHODS:
            tails = np.concatenate([np.cumsum(self._hsv[::-1])[::-1], [0.0]])
            out[nu:] = 2.0 * tails
            return out
        for r in range(self.nstates + 1):
            out[r] = self._modal_bound(self._kept_units(r))
        return out

    # ------------------------------------------------------------------ reduce
    def reduce(self, order: int | None = None, *, tol: float | None = None
               ) -> tuple[control.StateSpace, ReductionInfo]:
        """The reduced model at ``order`` states, or the smallest certified within ``tol``.

        Parameters
        ----------
        order : int, optional
            States of the reduced model, ``unstable_states ≤ order ≤ nstates`` (and ≥ 1).
        tol : float, optional
            Instead of ``order``: the certified H∞ error allowed.

        Returns
        -------
        sys_r : `StateSpace`
            Same ``dt``, name and signal names as the input.
        info : ReductionInfo

        Raises
        ------
        StateDimensionError
            Neither or both of ``order`` and ``tol``; ``order`` outside its range (the
            message gives the range and why).
        """
        if (order is None) == (tol is None):
            raise StateDimensionError(
                "give exactly one of order= (states of the reduced model) and tol= (the "
                "certified H∞ error allowed)")
        requested = None if order is None else self._check_order(order)
        target = self.order_for_tolerance(tol) if order is None else requested
        notes: list[str] = []
        if self.unstable_states:
            notes.append(
                f"the system has {self.unstable_states} unstable state(s) (not "
                f"{'|λ|' if self._is_discrete() else 'Re λ'} < {self.alpha:g}): they are kept "
                "whole and only the stable part is reduced (as control.balred does)")
            warnings.warn(notes[-1], UnstableModeWarning, stacklevel=3)
        states = None  # balanced states are new coordinates: python-control's x[i]
        if self.method in BALANCED_METHODS:
            reduced, order_got, bound = self._reduce_balanced(target)
            source = "2 Σ σ over the discarded Hankel singular values of the stable part " \
                "(Enns 1984; Al-Saggaf & Franklin 1987)"
        else:
            keep = self._kept_units(target)
            reduced = (self._modal.subsystem(keep).to_statespace() if keep.size else
                       _static(np.asarray(self._modal.D), self.dt))
            labels, blocks = self._modal.state_labels, self._modal.unit_states()
            states = [labels[j] for u in keep for j in blocks[u]]  # the full system's units
            order_got, bound = reduced.nstates, self._modal_bound(keep)
            source = "modal triangle bound Σ m‖c‖‖b‖/dist over the removed units"
        if order_got < target:
            notes.append(f"order {order_got} instead of {target}: "
                         + ("a conjugate pair (2 states) did not fit"
                            if self.method not in BALANCED_METHODS
                            else "the stable part's minimal realisation is smaller"))
        reduced = control.ss(reduced.A, reduced.B, reduced.C, reduced.D, self.dt,
                             name=self._name, inputs=list(self._inputs),
                             outputs=list(self._outputs), states=states)
        info = ReductionInfo(self.method, order_got, requested, None if tol is None else float(tol),
                             float(bound), source, self.nstates, self.unstable_states,
                             self.alpha, tuple(notes))
        return reduced, info

    # ------------------------------------------------------------------ internals
    def _is_discrete(self) -> bool:
        return not (not isinstance(self.dt, bool) and self.dt == 0)

    def _check_order(self, order: int) -> int:
        lo = max(1, self.unstable_states)
        if isinstance(order, bool) or not isinstance(order, int | np.integer) or not (
                lo <= order <= self.nstates):
            why = (f" (the {self.unstable_states} unstable state(s) are kept whole)"
                   if self.unstable_states else "")
            raise StateDimensionError(
                f"order = {order!r}; expected an integer in {lo}..{self.nstates}{why}")
        return int(order)

    def _rank_units(self) -> np.ndarray:
        from mor.selection import get_method

        score = np.asarray(get_method(self.method).score(self._modal), dtype=np.float64)
        return np.lexsort((np.arange(score.size), -score))

    def _kept_units(self, order: int) -> np.ndarray:
        sizes = np.where(self._modal.pair, 2, 1)[self._ranking]
        fits = np.cumsum(sizes) <= order
        count = int(np.argmin(fits)) if not fits.all() else fits.size
        return np.sort(self._ranking[:count])

    def _removed_error(self, keep: Sequence[int]) -> float:
        """Exact ``‖G − G_r‖∞`` of a modal truncation: the H∞ norm of the removed units."""
        from mor.norms import hinf_norm

        removed = np.setdiff1d(np.arange(self._modal.nunits), keep)
        if removed.size == 0:
            return 0.0
        s = self._modal.subsystem(removed)
        return float(hinf_norm(ModalSystem(
            s.poles, s.B, s.C, None, s.dt, pair=s.pair, C_backward=s.C_backward,
            log_poles=s.log_poles, output_after_update=s.output_after_update)))

    def _modal_bound(self, keep: Sequence[int]) -> float:
        removed = np.setdiff1d(np.arange(self._modal.nunits), keep)
        if removed.size == 0:
            return 0.0
        return float(np.sum(modal_unit_bounds(self._modal.subsystem(removed))))

    def _reduce_balanced(self, order: int) -> tuple[control.StateSpace, int, float]:
        from mor.truncation import balanced_singular_perturbation, balanced_truncation

        rs = order - self.unstable_states
        stable = self._stable
        if stable is None or rs == 0:
            part = _static_part(stable, self.method == "balanced_singular_perturbation",
                                self._unstable)
            got = 0
        else:
            with warnings.catch_warnings():
                # a smaller minimal realisation is said in ReductionInfo.notes, once, instead
                # of truncation's own warning
                warnings.filterwarnings("ignore", message="requested order")
                if self.method == "balanced_truncation":
                    part = balanced_truncation(stable, rs)
                else:
                    part = balanced_singular_perturbation(stable, rs)
            got = part.nstates
        bound = 2.0 * float(np.sum(self._hsv[got:]))
        if self._unstable is None:
            return part, got, bound
        u = self._unstable
        combined = control.ss(
            scipy.linalg.block_diag(np.asarray(part.A), np.asarray(u.A)),
            np.vstack([np.asarray(part.B).reshape(got, u.ninputs), u.B]),
            np.hstack([np.asarray(part.C).reshape(u.noutputs, got), u.C]),
            np.asarray(part.D) + np.asarray(u.D), self.dt)
        return combined, got + u.nstates, bound


def _static(D: np.ndarray, dt) -> control.StateSpace:
    """A system without states: the gain D."""
    p, m = D.shape
    return control.ss(np.zeros((0, 0)), np.zeros((0, m)), np.zeros((p, 0)), D, dt)


def _static_part(stable, match_dc: bool, unstable) -> control.StateSpace:
    """The stable part reduced to no states: its D (truncation) or its DC gain (perturbation)."""
    if stable is None:
        m, p = unstable.ninputs, unstable.noutputs
        return control.ss(np.zeros((0, 0)), np.zeros((0, m)), np.zeros((p, 0)),
                          np.zeros((p, m)), unstable.dt)
    A, B, C, D = (np.asarray(x, dtype=np.float64) for x in (stable.A, stable.B, stable.C,
                                                              stable.D))
    if match_dc:
        M = np.eye(A.shape[0]) - A if stable.isdtime(strict=True) else -A
        D = D + C @ np.linalg.solve(M, B)
    return control.ss(np.zeros((0, 0)), np.zeros((0, B.shape[1])), np.zeros((C.shape[0], 0)),
                      D, stable.dt)


def reduce(
    sys,
    method: str = "balanced_truncation",
    *,
    order: int | None = None,
    tol: float | None = None,
    alpha: float | None = None,
    return_info: bool = False,
):
    """Reduce one linear system: ``order=`` states, or the smallest order certified within ``tol=``.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem
        Continuous or discrete time.  Unstable poles are kept whole and the stable part is
        reduced (``control.balred``'s rule), with an :class:`UnstableModeWarning`.
    method : str
        One of :data:`REDUCE_METHODS`: ``"balanced_truncation"`` (default),
        ``"balanced_singular_perturbation"`` (matches the DC gain), or a modal ranking
        (``"aire"``, ``"last"``, ...: keeps whole modes, the rest of the modal form).
    order : int, optional
        States of the reduced model.
    tol : float, optional
        Instead of ``order``: the smallest order whose certified bound on ``‖G − G_r‖∞``
        is ≤ ``tol`` (:meth:`Reductor.error_bounds`).
    alpha : float, optional
        Stability boundary of the split (balanced methods): CT ``Re λ < alpha ≤ 0``, DT
        ``|λ| < alpha ≤ 1``; modes beyond it are kept whole too.
    return_info : bool
        Also return the :class:`ReductionInfo` (order, bound, unstable part).

    Returns
    -------
    `StateSpace`, or (`StateSpace`, ReductionInfo)
        With the ``dt``, system name and input and output names of ``sys``.

    Raises
    ------
    UnknownMethodError, StateDimensionError, RatioError
        An unknown method; neither or both of ``order``/``tol``, or an order outside
        ``max(1, unstable states)..nstates``; a bad ``tol`` or ``alpha``.

    Examples
    --------
    >>> import control
    >>> sys = control.ss([[-1, 0], [0, -10]], [[1], [1]], [[1, 1]], 0, name="plant")
    >>> r, info = reduce(sys, order=1, return_info=True)
    >>> r.nstates, r.name, round(info.bound, 4)
    (1, 'plant', 0.0647)
    >>> reduce(sys, tol=0.1).nstates
    1
    """
    reduced, info = Reductor(sys, method, alpha=alpha).reduce(order, tol=tol)
    return (reduced, info) if return_info else reduced


def error_bounds(sys, method: str = "balanced_truncation", *,
                 alpha: float | None = None) -> np.ndarray:
    """The certified H∞ error bound of :func:`reduce` for every order 0 … nstates.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem
    method : str
    alpha : float, optional

    Returns
    -------
    ndarray, shape (nstates + 1,)
        See :meth:`Reductor.error_bounds`.
    """
    return Reductor(sys, method, alpha=alpha).error_bounds()


def reduction_error(sys, reduced) -> float:
    """The exact ``‖G − G_r‖∞``, also when G has an unstable part kept by the reduction.

    Parameters
    ----------
    sys, reduced : `StateSpace`, `TransferFunction` or ModalSystem
        The full and the reduced system (same ``dt``, inputs and outputs).

    Returns
    -------
    float
        For a stable G, ``mor.hinf_norm(G − G_r)``.  Otherwise the H∞ norm of the stable
        part of ``G − G_r``: the unstable parts, kept exactly, cancel (their residue is
        round-off; what remains of it is not an error of the reduction).
    """
    from mor.norms import hinf_norm

    full = sys.to_statespace() if isinstance(sys, ModalSystem) else as_statespace(sys)
    red = reduced.to_statespace() if isinstance(reduced, ModalSystem) else as_statespace(reduced)
    diff = full - red
    stable, unstable = stable_unstable_split(diff)
    if stable is None:
        return 0.0
    if unstable is None:
        return float(hinf_norm(diff))
    return float(hinf_norm(stable))


@dataclass(frozen=True)
class ErrorAnalysis:
    """Certificate against exact error per order (pyMOR's ``reduction_error_analysis``).

    Attributes
    ----------
    method : str
    orders : ndarray of int
        The orders asked for.
    achieved : ndarray of int
        States of each reduced model (a modal method can land one below).
    bounds : ndarray
        Certified bound on ``‖G − G_r‖∞`` per order.
    errors : ndarray
        Exact ``‖G − G_r‖∞`` per order (:func:`reduction_error`).
    hsv : ndarray
        Hankel singular values of the stable part.
    all_bounds : ndarray, shape (nstates + 1,)
        The bound for every order (:meth:`Reductor.error_bounds`).
    resolution : float
        How small an exact error can be measured: for the balanced methods the error is
        ``G − G_r`` formed from two realisations, so it carries round-off of about
        ``eps·‖G‖∞`` times the conditioning; ``resolution`` is the error measured for the
        full-order balanced model (exactly 0 in exact arithmetic).  Modal errors are the
        removed units themselves (no cancellation): 0.
    """

    method: str
    orders: np.ndarray
    achieved: np.ndarray
    bounds: np.ndarray
    errors: np.ndarray
    hsv: np.ndarray
    all_bounds: np.ndarray
    resolution: float = 0.0

    @property
    def effectivities(self) -> np.ndarray:
        """Exact error / bound per order (≤ 1 when the certificate holds; nan for 0/0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.bounds > 0, self.errors / self.bounds, np.nan)

    @property
    def resolved(self) -> np.ndarray:
        """Per order, whether the bound is above the measurement's :attr:`resolution`."""
        return self.bounds > 2.0 * self.resolution

    @property
    def holds(self) -> bool:
        """Every exact error is within its bound, up to the measurement's resolution."""
        slack = self.bounds * 1e-9 + 2.0 * self.resolution
        return bool(np.all(self.errors <= self.bounds + slack))

    def to_dict(self) -> dict:
        """Plain JSON-ready data."""
        return {"method": self.method, "orders": self.orders.tolist(),
                "achieved": self.achieved.tolist(), "bounds": self.bounds.tolist(),
                "errors": self.errors.tolist(), "effectivities": [
                    None if not np.isfinite(x) else float(x) for x in self.effectivities],
                "hsv": self.hsv.tolist(), "resolution": self.resolution,
                "resolved": self.resolved.tolist(), "holds": self.holds}


def default_orders(nstates: int, unstable_states: int = 0, count: int = 8) -> list[int]:
    """About ``count`` orders spread geometrically over ``max(1, unstable)..nstates − 1``.

    Parameters
    ----------
    nstates, unstable_states : int
    count : int

    Returns
    -------
    list of int
        Ascending and distinct.
    """
    lo, hi = max(1, unstable_states), max(nstates - 1, 1)
    if hi <= lo:
        return [lo]
    grid = np.unique(np.round(np.geomspace(lo, hi, count)).astype(int))
    return [int(r) for r in grid]


def error_analysis(sys, method: str = "balanced_truncation", *,
                   orders: Sequence[int] | None = None,
                   alpha: float | None = None) -> ErrorAnalysis:
    """Reduce at several orders and put each certificate next to the exact error.

    Parameters
    ----------
    sys : `StateSpace`, `TransferFunction` or ModalSystem
    method : str
        One of :data:`REDUCE_METHODS`.
    orders : sequence of int, optional
        Default :func:`default_orders` (about 8 orders); each costs one reduction and one
        H∞ norm of a system of about ``nstates + order`` states.
    alpha : float, optional

    Returns
    -------
    ErrorAnalysis
    """
    red = Reductor(sys, method, alpha=alpha)
    orders = default_orders(red.nstates, red.unstable_states) if orders is None else [
        red._check_order(r) for r in orders]
    if red.unstable_states:
        warnings.warn(f"the system has {red.unstable_states} unstable state(s): every order "
                      "keeps them whole and the errors are the stable part's",
                      UnstableModeWarning, stacklevel=2)
    achieved, bounds, errors = [], [], []
    resolution = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnstableModeWarning)  # said once, above
        for r in orders:
            reduced, info = red.reduce(r)
            achieved.append(info.order)
            bounds.append(info.bound)
            if method in BALANCED_METHODS:
                errors.append(reduction_error(sys, reduced))
            else:
                errors.append(red._removed_error(red._kept_units(r)))
        if method in BALANCED_METHODS:
            resolution = reduction_error(sys, red.reduce(red.nstates)[0])
    return ErrorAnalysis(method, np.asarray(orders), np.asarray(achieved),
                         np.asarray(bounds, dtype=float), np.asarray(errors, dtype=float),
                         red.hankel_singular_values(), red.error_bounds(), float(resolution))
