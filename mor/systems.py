"""The modal (diagonal) linear system, the object every other module works on.

A :class:`ModalSystem` stores one *unit* per entry: either a real mode (real pole,
real B row, real C column) or a conjugate pair stored once, as S5 stores it with
``conj_sym=True``.  A pair unit with pole λ, row b and column c contributes

    G_i(z) = c b / (z − λ) + conj(c) conj(b) / (z − conj(λ))           (MATH.md §1)

to the transfer function, i.e. the output ``2·Re(c x)`` of the complex state x.
Units are what pruning keeps or removes: a pair is never split.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import control
import numpy as np

from mor._lti import as_statespace, check_labels, chosen_name, default_labels
from mor.exceptions import (
    ArgumentError,
    EmptySystemError,
    IllConditionedEigenbasisError,
    IllConditionedEigenbasisWarning,
    NonFiniteError,
    PairingError,
    StateDimensionError,
    UnstableSystemError,
)

__all__ = ["ModalSystem", "real_block_form"]

DiscretizationMethod = Literal["zoh", "bilinear"]


def _where(name: str | None) -> str:
    return f"{name}: " if name else ""


def _finite_array(x, label: str, *, dtype, ndim: int, name: str | None) -> np.ndarray:
    """Convert ``x`` to a read-only array of ``dtype`` and ``ndim`` dimensions, or raise."""
    arr = np.array(x, dtype=dtype, copy=True)
    if arr.ndim != ndim:
        raise StateDimensionError(
            f"{_where(name)}{label} has {arr.ndim} dimensions (shape {arr.shape}); expected {ndim}"
        )
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise NonFiniteError(
            f"{_where(name)}{label} holds a non-finite value at index "
            f"{tuple(int(i) for i in bad)}; "
            "check the parameters for NaN/inf (e.g. a diverged training run)"
        )
    arr.setflags(write=False)
    return arr


def _real_matrix(x, label: str, *, name: str | None) -> np.ndarray:
    """``x`` as float64, refusing a non-zero imaginary part instead of discarding it."""
    arr = np.asarray(x)
    if np.iscomplexobj(arr):
        imag = np.argwhere(arr.imag != 0)
        if imag.size:
            i = tuple(int(k) for k in imag[0])
            raise PairingError(
                f"{_where(name)}{label} of the state-space system is complex (e.g. "
                f"{complex(arr[i]):.6g} at index {i}); from_statespace takes a real system (a "
                "real LTI system maps real inputs to real outputs).  For complex modal data "
                "build ModalSystem(poles, B, C, pair=...) directly (each pair unit stands for "
                "a mode and its conjugate); if the imaginary part is round-off, pass the real "
                "part explicitly"
            )
        arr = arr.real
    return np.asarray(arr, dtype=np.float64)


_CONJUGATE_RTOL = 1e-8


def _close_conjugate(x: np.ndarray, y: np.ndarray) -> bool:
    """``y ≈ conj(x)`` entrywise, relative to the larger magnitude (exact zeros match)."""
    scale = np.maximum(np.abs(x), np.abs(y))
    return bool(np.all(np.abs(y - np.conj(x)) <= _CONJUGATE_RTOL * scale))


def _conjugate_partners(poles: np.ndarray, units: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (i, j), i ≠ j among ``units``, with ``poles[j] ≈ conj(poles[i])``.

    Only units in the closed upper half plane are matched against the closed lower half
    plane, in blocks, so that the usual storage (one member per pair, Im λ > 0) costs O(n).
    """
    upper = units[poles[units].imag >= 0]
    lower = units[poles[units].imag <= 0]
    found = []
    if upper.size == 0 or lower.size == 0:
        return found
    target = np.conj(poles[lower])
    for start in range(0, upper.size, 256):
        rows = upper[start : start + 256]
        p = poles[rows][:, None]
        close = np.abs(p - target[None, :]) <= _CONJUGATE_RTOL * np.maximum(
            np.abs(p), np.abs(target)[None, :])
        for a, b in np.argwhere(close):
            i, j = int(rows[a]), int(lower[b])
            if i != j:
                found.append((min(i, j), max(i, j)))
    return sorted(set(found))


def _stable_log1p_ratio(w: np.ndarray) -> np.ndarray:
    """log((1 + w) / (1 − w)) for complex w, accurate when Re w is tiny.

    The real part is 0.5·log1p(4 Re w / |1 − w|²), which has no cancellation; the
    imaginary part is the angle of the ratio.
    """
    a = w.real
    denom = (1.0 - a) ** 2 + w.imag**2
    real = 0.5 * np.log1p(4.0 * a / denom)
    imag = np.angle((1.0 + w) / (1.0 - w))
    return real + 1j * imag


def real_block_form(poles, B, C, pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real (A, B, C) of modal data: a pair unit a + jb becomes ``[[a, −b], [b, a]]``.

    B rows ``[Re b; Im b]`` and C columns ``[2 Re c, −2 Im c]``, so that the real transfer
    function equals ``Σ c b/(z − λ) + conj`` (MATH.md §1).  No stability check.
    """
    pair = np.asarray(pair, dtype=bool)
    sizes = np.where(pair, 2, 1)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nx = int(sizes.sum())
    A = np.zeros((nx, nx))
    Br = np.zeros((nx, B.shape[1]))
    Cr = np.zeros((C.shape[0], nx))
    real_idx, pair_idx = np.flatnonzero(~pair), np.flatnonzero(pair)
    j = first[real_idx]
    A[j, j] = poles[real_idx].real
    Br[j] = B[real_idx].real
    Cr[:, j] = C[:, real_idx].real
    j, k = first[pair_idx], first[pair_idx] + 1
    lam = poles[pair_idx]
    A[j, j], A[j, k], A[k, j], A[k, k] = lam.real, -lam.imag, lam.imag, lam.real
    Br[j], Br[k] = B[pair_idx].real, B[pair_idx].imag
    Cr[:, j], Cr[:, k] = 2.0 * C[:, pair_idx].real, -2.0 * C[:, pair_idx].imag
    return A, Br, Cr


class ModalSystem:
    """A stable linear system in modal (diagonal) form.

    Continuous time (``dt == 0``): ``x' = Λ x + B u``, ``y = C x + D u``.
    Discrete time (``dt > 0`` or ``True``): ``x[k+1] = Λ x[k] + B u[k]``,
    ``y[k] = C x[k] + D u[k]``;
    with ``output_after_update=True`` the S5/S4D convention
    ``x[k] = Λ x[k−1] + B u[k]``, ``y[k] = C x[k] + D u[k]`` is used instead.

    Parameters
    ----------
    poles : array_like, shape (nunits,)
        One pole per unit (λ in CT, λ̄ in DT).  Pair units store one member of the pair.
    B : array_like, shape (nunits, ninputs)
        Input rows, one per unit.
    C : array_like, shape (noutputs, nunits)
        Output columns, one per unit.  A pair unit contributes ``2·Re(c x)``.
    D : array_like, shape (noutputs, ninputs), optional
        Real feed-through; zeros by default.
    dt : float or True, optional
        Sampling time as in python-control: 0 for continuous time (the default).
    pair : bool or array_like of bool, shape (nunits,), optional
        Which units are conjugate pairs.  Default: units whose pole, B row or C column is
        complex; then two units that are conjugates of each other (pole, B row and C
        column) are refused with a :class:`PairingError`, as that would count the pair
        twice.  A unit marked real must have a real pole, B row and C column.
    C_backward : array_like, shape (noutputs, nunits), optional
        Output columns of the backward (time-reversed) scan of a bidirectional layer:
        ``y = C x_fwd + C_backward x_bwd + D u``.
    log_poles : array_like, shape (nunits,), optional
        Discrete time only: μ with ``exp(μ) = λ̄``, known accurately when the system was
        discretised from CT parameters (μ = λΔ for ZOH).  Used for the stable forms
        ``1 − |λ̄|² = −expm1(2 Re μ)``.  Default: ``log(poles)``.
    output_after_update : bool, optional
        Discrete time only: the output reads the state after the update (S5/S4D), so the
        transfer function is ``z·C(zI − Λ)⁻¹B + D``.  Default False.
    name : str, optional
        A label (e.g. ``"layer 3"``) used in error messages.
    allow_unstable : bool, optional
        Accept modes that are not strictly stable (``Re λ ≥ 0``, ``|λ̄| ≥ 1``), as a trained
        network without eigenvalue clipping may hold.  Such units are listed by
        :attr:`unstable`; their energy and H∞ scores are +∞ (:mod:`mor.scores`), selection
        always keeps them, norms of a system holding one raise
        :class:`UnstableSystemError` and balanced methods reduce the stable part only.
        Default False: an unstable mode is an error.
    inputs, outputs : sequence of str, optional
        Names of the input and output signals (python-control's ``inputs``/``outputs``);
        default ``u[i]`` / ``y[i]``.  Kept by every operation that keeps the signals
        (:meth:`subsystem`, :meth:`standard_form`, arithmetic ...) and passed on by
        :meth:`to_statespace`, so a python-control system keeps its names through
        :meth:`from_statespace` and back.

    Raises
    ------
    StateDimensionError, NonFiniteError, UnstableSystemError, PairingError, EmptySystemError
        On inconsistent shapes, NaN/inf, a mode that is not strictly stable (unless
        ``allow_unstable``), a unit marked real with complex data, or no units at all.

    Examples
    --------
    >>> import numpy as np
    >>> s = ModalSystem([-1.0, -1.0 + 2.0j], [[1.0], [1.0]], [[1.0, 0.5]])
    >>> s.nunits, s.nstates
    (2, 3)
    """

    def __init__(
        self,
        poles,
        B,
        C,
        D=None,
        dt: float | bool = 0,
        *,
        pair=None,
        C_backward=None,
        log_poles=None,
        output_after_update: bool = False,
        name: str | None = None,
        allow_unstable: bool = False,
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.allow_unstable = bool(allow_unstable)
        self.poles = _finite_array(poles, "poles", dtype=np.complex128, ndim=1, name=name)
        n = self.poles.shape[0]
        if n == 0:
            raise EmptySystemError(
                f"{_where(name)}the system has no modes; keep at least one unit per layer"
            )
        self.B = _finite_array(B, "B", dtype=np.complex128, ndim=2, name=name)
        self.C = _finite_array(C, "C", dtype=np.complex128, ndim=2, name=name)
        if self.B.shape[0] != n:
            raise StateDimensionError(
                f"{_where(name)}B has shape {self.B.shape}; expected (nunits, ninputs) = ({n}, m)"
            )
        if self.C.shape[1] != n:
            raise StateDimensionError(
                f"{_where(name)}C has shape {self.C.shape}; expected (noutputs, nunits) = (p, {n})"
            )
        p, m = self.C.shape[0], self.B.shape[1]
        if D is None:
            D = np.zeros((p, m))
        D_arr = np.asarray(D)
        if np.iscomplexobj(D_arr) and np.any(D_arr.imag != 0):
            raise PairingError(f"{_where(name)}D must be real (the system maps real to real)")
        self.D = _finite_array(np.real(D_arr), "D", dtype=np.float64, ndim=2, name=name)
        if self.D.shape != (p, m):
            raise StateDimensionError(
                f"{_where(name)}D has shape {self.D.shape}; "
                f"expected (noutputs, ninputs) = ({p}, {m})"
            )
        self._inputs = check_labels(inputs, m, "inputs", name=name)
        self._outputs = check_labels(outputs, p, "outputs", name=name)
        self.C_backward = None
        if C_backward is not None:
            self.C_backward = _finite_array(
                C_backward, "C_backward", dtype=np.complex128, ndim=2, name=name
            )
            if self.C_backward.shape != self.C.shape:
                raise StateDimensionError(
                    f"{_where(name)}C_backward has shape {self.C_backward.shape}; "
                    f"expected the shape of C, {self.C.shape}"
                )
        if dt is None or (not isinstance(dt, bool) and (not np.isfinite(dt) or dt < 0)):
            raise ArgumentError(
                f"{_where(name)}dt = {dt!r}; expected 0 (continuous time), a positive sampling "
                "time, or True"
            )
        self.dt = dt
        self.output_after_update = bool(output_after_update)
        if self.output_after_update and self.isctime:
            raise ArgumentError(
                f"{_where(name)}output_after_update applies to discrete-time systems only"
            )
        self.pair = self._resolve_pairs(pair)
        self.log_poles = None
        if self.isdtime:
            zero = self.poles == 0
            if log_poles is None:
                lp = np.log(np.where(zero, 1.0, self.poles))
            else:
                lp = np.where(zero, 0.0, np.asarray(log_poles, dtype=np.complex128))
            lp = _finite_array(lp, "log_poles", dtype=np.complex128, ndim=1, name=name).copy()
            lp[zero] = -np.inf  # a pole at 0 (pure delay): exp(−inf) = 0, gaps stay exact
            lp.setflags(write=False)
            self.log_poles = lp
            if self.log_poles.shape != (n,):
                raise StateDimensionError(
                    f"{_where(name)}log_poles has shape {self.log_poles.shape}; expected ({n},)"
                )
        elif log_poles is not None:
            raise ArgumentError(f"{_where(name)}log_poles applies to discrete-time systems")
        if not self.allow_unstable:
            self._check_stable()

    # ----------------------------------------------------------------- validation
    def _resolve_pairs(self, pair) -> np.ndarray:
        n = self.nunits
        complex_data = (
            (self.poles.imag != 0)
            | np.any(self.B.imag != 0, axis=1)
            | np.any(self.C.imag != 0, axis=0)
        )
        if self.C_backward is not None:
            complex_data |= np.any(self.C_backward.imag != 0, axis=0)
        if pair is None:
            result = complex_data.copy()
            self._refuse_both_members(np.flatnonzero(complex_data))
        else:
            result = np.broadcast_to(np.asarray(pair, dtype=bool), (n,)).copy()
            broken = np.flatnonzero(complex_data & ~result)
            if broken.size:
                i = int(broken[0])
                raise PairingError(
                    f"{_where(self.name)}mode {i} is marked real but its pole, B row or C column "
                    f"is complex (pole {self.poles[i]:.6g}); mark it as a conjugate pair "
                    "(pair=True) or give real data"
                )
        result.setflags(write=False)
        return result

    def _refuse_both_members(self, units: np.ndarray) -> None:
        """Raise PairingError when two inferred pair units are conjugates of each other.

        With ``pair=None`` every unit with complex data is a conjugate pair stored once (its
        conjugate implied), so a unit whose pole, B row and C column(s) are the conjugates of
        another's is the implied member given a second time: the pair would count twice.
        Whether that was meant (two equal pair units) or is the expanded form of one pair
        cannot be told from the data, so it is an error rather than a guess; an explicit
        ``pair`` accepts it.  Matching is to a relative ``_CONJUGATE_RTOL`` (modal data
        from an eigen-decomposition are conjugate only to round-off).
        """
        found = _conjugate_partners(self.poles, units)
        for i, j in found:
            cols = [self.C] + ([] if self.C_backward is None else [self.C_backward])
            rows = [self.B[i : i + 1].T, *(c[:, i : i + 1] for c in cols)]
            partners = [self.B[j : j + 1].T, *(c[:, j : j + 1] for c in cols)]
            if all(_close_conjugate(x, y) for x, y in zip(rows, partners, strict=True)):
                raise PairingError(
                    f"{_where(self.name)}units {i} and {j} are complex conjugates of each other "
                    f"(poles {self.poles[i]:.6g} and {self.poles[j]:.6g}, conjugate B rows and C "
                    "columns): with pair=None each complex unit is a conjugate pair stored once "
                    "(the conjugate is implied and the output is 2·Re(C x)), so giving both "
                    "members would count the pair twice and double its transfer function.  "
                    "Keep one member of each pair (e.g. the one with Im λ > 0), or pass pair= "
                    "explicitly if two separate pair units are meant"
                )

    def _check_stable(self) -> None:
        rule = "Re λ < 0" if self.isctime else "|λ̄| < 1"
        bad = self.unstable_units
        if bad.size:
            i = int(bad[0])
            raise UnstableSystemError(
                f"{_where(self.name)}mode {i} has pole {self.poles[i]:.6g}, which violates {rule} "
                f"({bad.size} unstable mode(s) in all); clip the eigenvalues (as S5's clip_eigs "
                "does), remove the unstable modes, or pass allow_unstable=True to keep them "
                "(they are then always kept by selection)"
            )

    # ----------------------------------------------------------------- stability
    @property
    def unstable(self) -> np.ndarray:
        """Per unit, True when the mode is not strictly stable.

        CT: ``Re λ ≥ 0``; DT: ``|λ̄| ≥ 1`` (``Re μ ≥ 0``).  Shape (nunits,), bool.
        """
        margin = self.poles.real if self.isctime else self.log_poles.real
        return ~(margin < 0)

    @property
    def unstable_units(self) -> np.ndarray:
        """Indices of the units that are not strictly stable (ascending)."""
        return np.flatnonzero(self.unstable)

    @property
    def is_stable(self) -> bool:
        """True when every mode is strictly stable."""
        return not bool(np.any(self.unstable))

    def stable_part(self) -> ModalSystem | None:
        """The system made of the strictly stable units, D unchanged (None if there is none).

        A stable system is returned unchanged.

        Returns
        -------
        ModalSystem or None
        """
        if self.is_stable:
            return self
        keep = np.flatnonzero(~self.unstable)
        return None if keep.size == 0 else self.subsystem(keep)

    # ----------------------------------------------------------------- shape facts
    @property
    def nunits(self) -> int:
        """Number of units (real modes plus conjugate pairs)."""
        return int(self.poles.shape[0])

    @property
    def nstates(self) -> int:
        """Number of real states of the real realisation (2 per pair, 1 per real mode)."""
        return int(self.nunits + np.count_nonzero(self.pair))

    @property
    def ninputs(self) -> int:
        """Number of inputs (columns of B)."""
        return self.B.shape[1]

    @property
    def noutputs(self) -> int:
        """Number of outputs (rows of C)."""
        return self.C.shape[0]

    @property
    def isctime(self) -> bool:
        return not isinstance(self.dt, bool) and self.dt == 0

    @property
    def isdtime(self) -> bool:
        return not self.isctime

    @property
    def bidirectional(self) -> bool:
        return self.C_backward is not None

    @property
    def input_labels(self) -> tuple[str, ...]:
        """Names of the inputs (python-control's ``input_labels``; default ``u[i]``)."""
        return self._inputs or default_labels("u", self.ninputs)

    @property
    def output_labels(self) -> tuple[str, ...]:
        """Names of the outputs (python-control's ``output_labels``; default ``y[i]``)."""
        return self._outputs or default_labels("y", self.noutputs)

    @property
    def state_labels(self) -> tuple[str, ...]:
        """Names of the real states of :meth:`to_statespace`, after the units they belong to.

        A real unit k is the state ``unit[k]``; a pair unit k the two states ``unit[k].re``
        and ``unit[k].im``.  (The modal decomposition of :meth:`from_statespace` changes the
        state basis, so a python-control system's own state names cannot be carried over.)
        """
        names: list[str] = []
        for k, is_pair in enumerate(self.pair):
            names += [f"unit[{k}].re", f"unit[{k}].im"] if is_pair else [f"unit[{k}]"]
        return tuple(names)

    def _signal_names(self) -> dict:
        """The ``inputs``/``outputs`` keywords that rebuild this system with its names."""
        return {"inputs": self._inputs, "outputs": self._outputs}

    @property
    def sampling_time(self) -> float:
        """The sampling time as a number (1 when ``dt is True``, 0 in continuous time)."""
        return 1.0 if self.dt is True else float(self.dt)

    def __repr__(self) -> str:
        kind = "CT" if self.isctime else f"DT(dt={self.dt})"
        extra = ", bidirectional" if self.bidirectional else ""
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"ModalSystem({label}{kind}, nunits={self.nunits}, nstates={self.nstates}, "
            f"ninputs={self.ninputs}, noutputs={self.noutputs}{extra})"
        )

    # ----------------------------------------------------------------- stable gaps
    def decay_gap(self) -> np.ndarray:
        """Per unit, the distance to the stability boundary used by the scores.

        DT: ``1 − |λ̄| = −expm1(Re μ)``; CT: ``|Re λ|``.  Shape (nunits,), positive.

        Returns
        -------
        ndarray, shape (nunits,)
        """
        if self.isctime:
            return -self.poles.real
        return -np.expm1(self.log_poles.real)

    def energy_gap(self) -> np.ndarray:
        """Per unit, ``1 − |λ̄|² = −expm1(2 Re μ)`` (DT) or ``2|Re λ|`` (CT).  Shape (nunits,).

        Returns
        -------
        ndarray, shape (nunits,)
        """
        if self.isctime:
            return -2.0 * self.poles.real
        return -np.expm1(2.0 * self.log_poles.real)

    # ----------------------------------------------------------------- conversions
    def expanded_modes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """All complex modes, each pair written out as its two members.

        Returns
        -------
        poles : ndarray, shape (nstates,)
        B : ndarray, shape (nstates, ninputs)
        C : ndarray, shape (noutputs, nstates)
        C_backward : ndarray, shape (noutputs, nstates), or None

        The transfer function is ``Σ_k C[:, k] B[k] / (z − poles[k]) + D`` (standard form).
        """
        idx = np.flatnonzero(self.pair)
        poles = np.concatenate([self.poles, np.conj(self.poles[idx])])
        B = np.concatenate([self.B, np.conj(self.B[idx])], axis=0)
        C = np.concatenate([self.C, np.conj(self.C[:, idx])], axis=1)
        Cb = None
        if self.C_backward is not None:
            Cb = np.concatenate([self.C_backward, np.conj(self.C_backward[:, idx])], axis=1)
        return poles, B, C, Cb

    def expanded_log_poles(self) -> np.ndarray:
        """log of the expanded poles (DT only), in the order of :meth:`expanded_modes`.

        Returns
        -------
        ndarray, shape (nstates,)
        """
        if self.log_poles is None:
            raise ArgumentError("log_poles exist for discrete-time systems only")
        return np.concatenate([self.log_poles, np.conj(self.log_poles[self.pair])])

    def lag0_feedthrough(self) -> np.ndarray:
        """The real lag-0 term ``Σ_units (C_i B_i + conj)`` of the S5 recurrence.

        With ``output_after_update`` the impulse response at lag 0 is ``D + Σ C_i B_i``.
        Bidirectional layers add the backward C as well.  Shape (noutputs, ninputs).

        Returns
        -------
        ndarray, shape (noutputs, ninputs)
        """
        weight = np.where(self.pair, 2.0, 1.0)
        total = self.C if self.C_backward is None else self.C + self.C_backward
        return np.real((total * weight) @ self.B)

    def standard_form(self) -> ModalSystem:
        """The same operator with the output read before the update.

        For ``output_after_update`` systems: ``C ← C Λ``, ``D ← D + lag-0 term``
        (the same for the backward C).  Other systems are returned unchanged.

        Returns
        -------
        ModalSystem
        """
        if not self.output_after_update:
            return self
        Cb = None if self.C_backward is None else self.C_backward * self.poles
        return ModalSystem(
            self.poles,
            self.B,
            self.C * self.poles,
            self.D + self.lag0_feedthrough(),
            self.dt,
            pair=self.pair,
            C_backward=Cb,
            log_poles=self.log_poles,
            name=self.name,
            allow_unstable=self.allow_unstable, **self._signal_names(),
        )

    def after_update_form(self) -> ModalSystem:
        """The same operator with the output read after the update (the S5 recurrence).

        The inverse of :meth:`standard_form`: from ``y[k] = C x[k] + D u[k]``,
        ``x[k+1] = Λ x[k] + B u[k]`` to ``x[k] = Λ x[k−1] + B u[k]``, ``y[k] = C' x[k] + D' u[k]``
        with ``C' = C Λ⁻¹`` and ``D' = D − Σ_units (C'_i B_i + conj)`` (the transfer
        functions agree: ``C'Λ(z − Λ)⁻¹B + C'B + D' = C(z − Λ)⁻¹B + D``).  Discrete-time
        only; systems already in that form are returned unchanged.

        Returns
        -------
        ModalSystem

        Raises
        ------
        StateDimensionError
            A continuous-time system, or a pole at 0 or so close to it that ``C Λ⁻¹``
            overflows (no after-update form).
        """
        if self.output_after_update:
            return self
        if not self.isdtime:
            raise ArgumentError(f"{_where(self.name)}after_update_form is for DT systems")
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            shifted_c = self.C / self.poles
            Cb = None if self.C_backward is None else self.C_backward / self.poles
        if not (np.all(np.isfinite(shifted_c)) and (Cb is None or np.all(np.isfinite(Cb)))):
            raise StateDimensionError(
                f"{_where(self.name)}a pole at (or within float64 range of) 0 has no "
                "output-after-update realisation: C Λ⁻¹ overflows")
        shifted = ModalSystem(
            self.poles, self.B, shifted_c, self.D, self.dt, pair=self.pair,
            C_backward=Cb, log_poles=self.log_poles, output_after_update=True,
            name=self.name, allow_unstable=self.allow_unstable, **self._signal_names(),
        )
        return ModalSystem(
            self.poles, self.B, shifted.C, self.D - shifted.lag0_feedthrough(), self.dt,
            pair=self.pair, C_backward=Cb, log_poles=self.log_poles, output_after_update=True,
            name=self.name, allow_unstable=self.allow_unstable, **self._signal_names(),
        )

    def unit_states(self) -> list[np.ndarray]:
        """For each unit, the indices of its real states in :meth:`to_statespace`.

        Returns
        -------
        list of ndarray
            One array of state indices (1 for a real unit, 2 for a pair) per unit.
        """
        sizes = np.where(self.pair, 2, 1)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return [np.arange(s, s + k) for s, k in zip(starts, sizes, strict=True)]

    def real_matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Real block-diagonal (A, B, C, D) of the standard form (see :meth:`to_statespace`).

        Returns
        -------
        A, B, C, D : ndarray
            Shapes (nstates, nstates), (nstates, ninputs), (noutputs, nstates), (noutputs, ninputs).
        """
        if self.bidirectional:
            raise StateDimensionError(
                f"{_where(self.name)}a bidirectional layer is non-causal and has no causal "
                "state-space realisation; use forward_part() and backward_part()"
            )
        s = self.standard_form()
        A, B, C = real_block_form(s.poles, s.B, s.C, s.pair)
        return A, B, C, np.array(s.D)

    def to_statespace(self) -> control.StateSpace:
        """The real block-diagonal realisation as a python-control ``StateSpace``.

        A pair with pole a + jb becomes the block ``[[a, −b], [b, a]]`` with B rows
        ``[Re b; Im b]`` and C columns ``[2 Re c, −2 Im c]`` (MATH.md §1), so the transfer
        function equals the modal one.  An after-update (S5/S4D) system is realised in its
        :meth:`standard_form`.

        Returns
        -------
        `StateSpace`
            With this system's ``dt``, its name (python-control's generic ``sys[k]`` when
            it has none), input and output names, and states ordered unit by unit
            (:meth:`unit_states`) and named after them (:attr:`state_labels`).

        Raises
        ------
        StateDimensionError
            A bidirectional layer (non-causal: no state-space realisation).

        Examples
        --------
        >>> s = ModalSystem([-1.0, -1.0 + 2.0j], [[1.0], [1.0]], [[1.0, 0.5]],
        ...                 inputs=["f"], outputs=["tau"], name="plant")
        >>> ss = s.to_statespace()
        >>> ss.name, ss.input_labels, ss.output_labels, ss.nstates
        ('plant', ['f'], ['tau'], 3)
        """
        A, B, C, D = self.real_matrices()
        return control.ss(A, B, C, D, self.dt, name=self.name, inputs=list(self.input_labels),
                          outputs=list(self.output_labels), states=list(self.state_labels))

    def to_frd(self, omega) -> control.FrequencyResponseData:
        """The frequency response as python-control ``FrequencyResponseData``.

        The adapter for python-control's frequency-domain tools:
        ``control.bode_plot(s.to_frd(w))``, ``control.singular_values_plot`` of the result,
        or ``control.nyquist_plot``.  Evaluated in modal form (:meth:`frequency_response`),
        which also works for bidirectional layers; for anything else (interconnection,
        simulation) use :meth:`to_statespace`.

        Parameters
        ----------
        omega : array_like, shape (nfreq,)
            Angular frequencies (rad per time unit), positive and increasing.

        Returns
        -------
        `FrequencyResponseData`
            With this system's ``dt`` and signal names.
        """
        w = np.atleast_1d(np.asarray(omega, dtype=np.float64))
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise StateDimensionError(
                f"{_where(self.name)}omega must be a non-empty 1-D array of finite frequencies "
                "≥ 0 (rad per time unit)")
        return control.FrequencyResponseData(
            self.frequency_response(w), w, dt=self.dt, name=self.name,
            inputs=list(self.input_labels), outputs=list(self.output_labels))

    # ----------------------------------------------------------------- arithmetic
    def __neg__(self) -> ModalSystem:
        """``−G``: C (and C_backward) and D negated; the modes are unchanged."""
        return ModalSystem(
            self.poles, self.B, -self.C, -self.D, self.dt, pair=self.pair,
            C_backward=None if self.C_backward is None else -self.C_backward,
            log_poles=self.log_poles, output_after_update=self.output_after_update,
            name=self.name, allow_unstable=self.allow_unstable, **self._signal_names(),
        )

    def __add__(self, other):
        """``G₁ + G₂`` (parallel connection).

        Two modal systems give a modal system holding the units of both (exact, no
        realisation is formed): so ``G − G_r`` is the error system of a truncation, whose
        norms :func:`mor.h2_norm` / :func:`mor.hinf_norm` evaluate.  Anything else
        (a python-control system, a number, an array) is added to :meth:`to_statespace`
        and gives a ``StateSpace``.
        """
        if not isinstance(other, ModalSystem):
            return self.to_statespace() + other
        return _parallel(self, other)

    def __radd__(self, other):
        return other + self.to_statespace()

    def __sub__(self, other):
        """``G₁ − G₂``: see :meth:`__add__`."""
        if not isinstance(other, ModalSystem):
            return self.to_statespace() - other
        return _parallel(self, -other)

    def __rsub__(self, other):
        return other - self.to_statespace()

    def forward_part(self) -> ModalSystem:
        """The forward (causal) half of a bidirectional layer, with D.

        Returns
        -------
        ModalSystem
        """
        return ModalSystem(
            self.poles, self.B, self.C, self.D, self.dt, pair=self.pair,
            log_poles=self.log_poles, output_after_update=self.output_after_update,
            name=self.name, allow_unstable=self.allow_unstable, **self._signal_names(),
        )

    def backward_part(self) -> ModalSystem:
        """The backward half of a bidirectional layer as a causal system on reversed time, D = 0.

        Returns
        -------
        ModalSystem
        """
        if self.C_backward is None:
            raise StateDimensionError(f"{_where(self.name)}the system is not bidirectional")
        return ModalSystem(
            self.poles, self.B, self.C_backward, None, self.dt, pair=self.pair,
            log_poles=self.log_poles, output_after_update=self.output_after_update,
            name=self.name, allow_unstable=self.allow_unstable, **self._signal_names(),
        )

    @classmethod
    def from_statespace(
        cls,
        sys: control.LTI,
        *,
        warn_condition: float = 1e8,
        max_condition: float = 1e13,
        name: str | None = None,
        allow_unstable: bool = False,
    ) -> ModalSystem:
        """Modal decomposition of a real stable python-control system.

        With ``A = V Λ V⁻¹`` the modal data are ``B̃ = V⁻¹ B`` and ``C̃ = C V``.  Real
        eigenvalues become real units; of each complex-conjugate pair the member with
        positive imaginary part is stored as a pair unit.

        Parameters
        ----------
        sys : `StateSpace`, `TransferFunction` or another `LTI`
            Real, stable, diagonalisable system; a transfer function is realised first
            (``control.ss``).  A :class:`ModalSystem` is returned unchanged.
        warn_condition, max_condition : float
            The 2-norm condition number of the eigenvector matrix above which an
            :class:`IllConditionedEigenbasisWarning` is issued, or an
            :class:`IllConditionedEigenbasisError` raised (defective A).
        name : str, optional
            Label for error messages; default the name of ``sys`` (unless python-control
            made it up, ``sys[k]``).
        allow_unstable : bool
            Accept unstable modes (see :class:`ModalSystem`).

        Returns
        -------
        ModalSystem
            With the ``dt``, input and output names of ``sys``; its states are modal
            coordinates (named after the units, :attr:`state_labels`).

        Raises
        ------
        IllConditionedEigenbasisError
            When A is defective or nearly so; balanced truncation works on such systems.
        PairingError
            When A, B, C or D has a non-zero imaginary part (never silently discarded).
        UnstableSystemError
            A pole is not strictly stable (and not ``allow_unstable``);
            :func:`mor.reduce` reduces such systems (it keeps the unstable part).
        InputTypeError
            ``sys`` is not an LTI system with a state-space realisation.

        Examples
        --------
        >>> import control
        >>> tf = control.tf([1], [1, 3, 2], name="plant", inputs="f", outputs="tau")
        >>> s = ModalSystem.from_statespace(tf)
        >>> s.name, s.input_labels, s.output_labels, s.nunits
        ('plant', ('f',), ('tau',), 2)
        """
        if isinstance(sys, ModalSystem):
            return sys
        sys = as_statespace(sys)
        name = chosen_name(sys) if name is None else name
        A, B, C, D = (_real_matrix(getattr(sys, label), label, name=name)
                      for label in ("A", "B", "C", "D"))
        for label, arr in (("A", A), ("B", B), ("C", C), ("D", D)):
            if not np.all(np.isfinite(arr)):
                raise NonFiniteError(f"{_where(name)}{label} holds NaN or inf")
        if A.shape[0] == 0:
            raise EmptySystemError(f"{_where(name)}the system has no states")
        if np.array_equal(A, A.T):
            # Symmetric A: orthogonal eigenvectors, all modes real, condition number 1.
            eigvals, V = np.linalg.eigh(A)
        else:
            eigvals, V = np.linalg.eig(A)
        cond = np.linalg.cond(V)
        if not np.isfinite(cond) or cond > max_condition:
            raise IllConditionedEigenbasisError(
                f"{_where(name)}the eigenvector matrix of A has condition number {cond:.3g} "
                f"(limit {max_condition:.3g}): A is defective or nearly so and has no reliable "
                "modal form; reduce it with balanced_truncation instead"
            )
        if cond > warn_condition:
            warnings.warn(
                f"{_where(name)}the eigenvector matrix of A has condition number {cond:.3g}; "
                "modal quantities may lose up to that factor in accuracy",
                IllConditionedEigenbasisWarning,
                stacklevel=2,
            )
        eigvals = np.asarray(eigvals, dtype=np.complex128)
        Bm = np.linalg.solve(V, B.astype(np.complex128))
        Cm = C @ V
        real = eigvals.imag == 0
        upper = eigvals.imag > 0
        if np.count_nonzero(upper) != np.count_nonzero(eigvals.imag < 0):
            raise PairingError(f"{_where(name)}complex eigenvalues of A do not pair up")
        keep = real | upper
        poles = np.where(real, eigvals.real, eigvals)[keep]
        Bk = np.where(real[:, None], Bm.real, Bm)[keep]
        Ck = np.where(real[None, :], Cm.real, Cm)[:, keep]
        try:
            return cls(poles, Bk, Ck, D, sys.dt, pair=upper[keep], name=name,
                       allow_unstable=allow_unstable, inputs=sys.input_labels,
                       outputs=sys.output_labels)
        except UnstableSystemError:
            raise _unstable_statespace_error(eigvals, sys.dt, name) from None

    @classmethod
    def from_continuous_parameters(
        cls,
        Lambda,
        B,
        C,
        D=None,
        *,
        step,
        method: DiscretizationMethod = "zoh",
        C_backward=None,
        pair=True,
        output_after_update: bool = True,
        name: str | None = None,
        allow_unstable: bool = False,
    ) -> ModalSystem:
        """Discretise S5/S4D-style continuous-time parameters with per-mode steps.

        ZOH: ``λ̄ = exp(λΔ)``, ``B̄ = (λ̄ − 1)/λ · B`` computed as ``Δ·expm1(λΔ)/(λΔ)·B``
        (limit ``Δ·B`` at λ = 0).  Bilinear: ``λ̄ = (1 + Δλ/2)/(1 − Δλ/2)``,
        ``B̄ = Δ/(1 − Δλ/2)·B``.  (MATH.md §1; S5, Smith et al. 2023, eq. 6.)  The logs of
        the poles are kept exactly (``λΔ`` for ZOH), so ``1 − |λ̄|²`` stays accurate for
        slow modes.

        Parameters
        ----------
        Lambda : array_like, shape (nunits,)
            Continuous-time poles, ``Re λ < 0``.
        B : array_like, shape (nunits, ninputs)
        C : array_like, shape (noutputs, nunits)
            As stored: with ``pair=True`` (S5's ``conj_sym``) the output is ``2·Re(C x)``.
        D : array_like, shape (noutputs, ninputs), optional
        step : float or array_like, shape (nunits,)
            Step Δ per mode, positive.
        method : {"zoh", "bilinear"}
        C_backward : array_like, shape (noutputs, nunits), optional
            Backward C of a bidirectional layer.
        pair : bool or array_like of bool
            Units that stand for a conjugate pair (default: all, as S5 with conj_sym).
        output_after_update : bool
            The S5/S4D recurrence ``x[k] = Λ̄x[k−1] + B̄u[k]``, ``y[k] = Cx[k] + Du[k]``
            (default True).
        name : str, optional
        allow_unstable : bool
            Accept poles with ``Re λ ≥ 0`` (a network trained without ``clip_eigs``); see
            :class:`ModalSystem`.  Default False: such a pole is an error.

        Returns
        -------
        ModalSystem
            Discrete time with ``dt = 1`` (steps are per mode).
        """
        lam = _finite_array(Lambda, "Lambda", dtype=np.complex128, ndim=1, name=name)
        delta = np.broadcast_to(np.asarray(step, dtype=np.float64), lam.shape)
        if not np.all(np.isfinite(delta)) or np.any(delta <= 0):
            raise StateDimensionError(f"{_where(name)}step must be positive and finite per mode")
        Bc = np.asarray(B, dtype=np.complex128)
        if Bc.ndim != 2 or Bc.shape[0] != lam.shape[0]:
            raise StateDimensionError(
                f"{_where(name)}B has shape {Bc.shape}; expected (nunits, ninputs) = "
                f"({lam.shape[0]}, m)"
            )
        x = lam * delta
        if method == "zoh":
            log_poles = x
            poles = np.exp(x)
            safe = np.where(x == 0, 1.0, x)
            phi = np.where(x == 0, 1.0, np.expm1(x) / safe)
            gain = delta * phi
        elif method == "bilinear":
            w = x / 2.0
            poles = (1.0 + w) / (1.0 - w)
            log_poles = _stable_log1p_ratio(w)
            gain = delta / (1.0 - w)
        else:
            raise ArgumentError(
                f"{_where(name)}unknown discretisation method {method!r}; use 'zoh' or 'bilinear'"
            )
        if not allow_unstable and not np.all(lam.real < 0):
            i = int(np.flatnonzero(~(lam.real < 0))[0])
            raise UnstableSystemError(
                f"{_where(name)}mode {i} has continuous-time pole {lam[i]:.6g} with Re λ ≥ 0; "
                "clip the eigenvalues (S5's clip_eigs keeps Re λ ≤ −1e-4)"
            )
        return cls(
            poles,
            gain[:, None] * Bc,
            C,
            D,
            1.0,
            pair=pair,
            C_backward=C_backward,
            log_poles=log_poles,
            output_after_update=output_after_update,
            name=name,
            allow_unstable=allow_unstable,
        )

    # ----------------------------------------------------------------- operations
    def subsystem(self, keep: Sequence[int]) -> ModalSystem:
        """The system made of the units ``keep`` (modal truncation), D unchanged.

        Parameters
        ----------
        keep : sequence of int
            Indices of the units to keep, distinct, in 0..nunits−1.

        Returns
        -------
        ModalSystem
        """
        idx = np.asarray(keep, dtype=np.int64)
        if idx.ndim != 1 or np.any(idx < 0) or np.any(idx >= self.nunits):
            raise StateDimensionError(
                f"{_where(self.name)}unit indices {list(map(int, np.ravel(idx)))[:8]} are outside "
                f"0..{self.nunits - 1}"
            )
        if np.unique(idx).size != idx.size:
            raise StateDimensionError(f"{_where(self.name)}unit indices repeat")
        return ModalSystem(
            self.poles[idx],
            self.B[idx],
            self.C[:, idx],
            self.D,
            self.dt,
            pair=self.pair[idx],
            C_backward=None if self.C_backward is None else self.C_backward[:, idx],
            log_poles=None if self.log_poles is None else self.log_poles[idx],
            output_after_update=self.output_after_update,
            name=self.name,
            allow_unstable=self.allow_unstable, **self._signal_names(),
        )

    def frequency_response(self, omega) -> np.ndarray:
        """Complex frequency response at angular frequencies ``omega`` (rad per time unit).

        CT: ``G(jω)``; DT: ``G(e^{jω·dt})``; a bidirectional layer adds the backward part
        evaluated at the reversed frequency.  Returns an array of shape
        (noutputs, ninputs, len(omega)), python-control's layout.

        Parameters
        ----------
        omega : array_like
            Angular frequencies (rad per time unit).

        Returns
        -------
        ndarray, shape (noutputs, ninputs, len(omega)), complex
            For python-control's ``FrequencyResponseData`` use :meth:`to_frd`.
        """
        w = np.atleast_1d(np.asarray(omega, dtype=np.float64))
        s = self.standard_form()
        poles, B, C, Cb = s.expanded_modes()
        if s.isctime:
            z_fwd, z_bwd = 1j * w, -1j * w
        else:
            z_fwd = np.exp(1j * w * s.sampling_time)
            z_bwd = np.conj(z_fwd)
        resp = np.einsum("pn,kn,nm->pmk", C, 1.0 / (z_fwd[:, None] - poles[None, :]), B)
        if Cb is not None:
            resp += np.einsum("pn,kn,nm->pmk", Cb, 1.0 / (z_bwd[:, None] - poles[None, :]), B)
        return resp + s.D[:, :, None]

    def impulse_response(self, nsteps: int) -> np.ndarray:
        """Discrete-time impulse response ``h[k]``, k = 0..nsteps−1, shape (nsteps, p, m).

        Causal part only (a bidirectional layer's backward part is excluded).  Standard
        form: ``h[0] = D``, ``h[k] = Σ C λ̄^{k−1} B`` (real).

        Parameters
        ----------
        nsteps : int
            Number of samples.

        Returns
        -------
        ndarray, shape (nsteps, noutputs, ninputs)
        """
        if self.isctime:
            raise ArgumentError("impulse_response is defined here for discrete time only")
        s = self.forward_part().standard_form()
        poles, B, C, _ = s.expanded_modes()
        k = np.arange(max(nsteps - 1, 0))
        powers = poles[None, :] ** k[:, None]
        h = np.real(np.einsum("pn,kn,nm->kpm", C, powers, B))
        return np.concatenate([s.D[None], h], axis=0)[:nsteps]

    def simulate(self, u) -> np.ndarray:
        """Output for the input sequence ``u`` from a zero initial state (discrete time).

        Standard: ``x[k+1] = Λx[k] + Bu[k]``, ``y[k] = Cx[k] + Du[k]``.  Output after the
        update (S5): ``x[k] = Λx[k−1] + Bu[k]``, ``y[k] = Cx[k] + Du[k]``.  Pairs are written
        out, so a pair unit contributes ``2·Re(c x)``.  A bidirectional layer adds ``C_b``
        times the same recurrence run on the reversed input, reversed back.  Float64, the
        exact recurrence (no FFT).

        Parameters
        ----------
        u : array_like, shape (length, ninputs)
            One input sequence.

        Returns
        -------
        ndarray, shape (length, noutputs)

        Raises
        ------
        ArgumentError
            The system is continuous time.

        Examples
        --------
        >>> ModalSystem([0.5], [[1.0]], [[1.0]], dt=1).simulate([[1.0], [0.0], [0.0]]).ravel()
        array([0. , 1. , 0.5])
        """
        if self.isctime:
            raise ArgumentError(f"{_where(self.name)}simulate needs a discrete-time system; "
                                "discretise it first")
        u = np.asarray(u, dtype=np.float64)
        poles, B, C, Cb = self.expanded_modes()
        after = self.output_after_update
        y = _modal_recurrence(poles, B, C, u, after) + u @ self.D.T
        if Cb is not None:
            y = y + _modal_recurrence(poles, B, Cb, u[::-1], after)[::-1]
        return y


def _modal_recurrence(poles: np.ndarray, B: np.ndarray, C: np.ndarray, u: np.ndarray,
                      after_update: bool) -> np.ndarray:
    """``Re(C x[k])`` for the complex modes ``x[k+1] = Λx[k] + Bu[k]``, x₀ = 0, read before
    the update (or after it, S5): :meth:`ModalSystem.simulate`, one direction."""
    x = np.zeros(poles.shape[0], dtype=np.complex128)
    out = np.empty((u.shape[0], C.shape[0]))
    for k in range(u.shape[0]):
        if after_update:
            x = poles * x + B @ u[k]
            out[k] = (C @ x).real
        else:
            out[k] = (C @ x).real
            x = poles * x + B @ u[k]
    return out


def _same_time_base(a: ModalSystem, b: ModalSystem) -> bool:
    if a.isctime or b.isctime:
        return a.isctime and b.isctime
    return (a.dt is True) == (b.dt is True) and a.sampling_time == b.sampling_time


def _parallel(a: ModalSystem, b: ModalSystem) -> ModalSystem:
    """``a + b`` as one modal system holding the units of both (see ModalSystem.__add__)."""
    if not _same_time_base(a, b):
        raise StateDimensionError(
            f"{_where(a.name)}cannot add systems with dt = {a.dt!r} and dt = {b.dt!r}; "
            "both must be continuous time or have the same sampling time")
    if (a.noutputs, a.ninputs) != (b.noutputs, b.ninputs):
        raise StateDimensionError(
            f"{_where(a.name)}cannot add a system with (noutputs, ninputs) = "
            f"{(a.noutputs, a.ninputs)} to one with {(b.noutputs, b.ninputs)}")
    if a.output_after_update != b.output_after_update:
        a, b = a.standard_form(), b.standard_form()
    cb = None
    if a.bidirectional or b.bidirectional:
        cb = np.hstack([np.zeros_like(s.C) if s.C_backward is None else s.C_backward
                        for s in (a, b)])
    logs = None if a.isctime else np.concatenate([a.log_poles, b.log_poles])
    return ModalSystem(
        np.concatenate([a.poles, b.poles]), np.vstack([a.B, b.B]), np.hstack([a.C, b.C]),
        a.D + b.D, a.dt, pair=np.concatenate([a.pair, b.pair]), C_backward=cb,
        log_poles=logs, output_after_update=a.output_after_update, name=a.name,
        allow_unstable=a.allow_unstable or b.allow_unstable, **a._signal_names(),
    )


def _unstable_statespace_error(eigvals: np.ndarray, dt, name: str | None) -> UnstableSystemError:
    """The error for a python-control system with poles that are not strictly stable."""
    ct = not isinstance(dt, bool) and dt == 0
    bad = eigvals[eigvals.real >= 0] if ct else eigvals[np.abs(eigvals) >= 1]
    rule = "Re λ < 0 (continuous time, dt = 0)" if ct else f"|λ| < 1 (discrete time, dt = {dt})"
    return UnstableSystemError(
        f"{_where(name)}the pole {bad[0]:.6g} violates {rule} ({bad.size} unstable pole(s) in "
        "all).  "
        "Check the sampling time first (a .mat file stores it as Ts or dt).  mor.reduce "
        "reduces an unstable system by keeping its unstable part and reducing the stable "
        "one (as control.balred does); for the modal form of the whole system pass "
        "allow_unstable=True"
    )
