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

from mor.exceptions import (
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
        complex.  A unit marked real must have a real pole, B row and C column.
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

    Raises
    ------
    StateDimensionError, NonFiniteError, UnstableSystemError, PairingError, EmptySystemError
        On inconsistent shapes, NaN/inf, a mode that is not strictly stable, a unit marked
        real with complex data, or no units at all.

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
    ) -> None:
        self.name = name
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
            raise StateDimensionError(
                f"{_where(name)}dt = {dt!r}; expected 0 (continuous time), a positive sampling "
                "time, or True"
            )
        self.dt = dt
        self.output_after_update = bool(output_after_update)
        if self.output_after_update and self.isctime:
            raise StateDimensionError(
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
            raise StateDimensionError(f"{_where(name)}log_poles applies to discrete-time systems")
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

    def _check_stable(self) -> None:
        if self.isctime:
            margin = self.poles.real
            rule = "Re λ < 0"
        else:
            margin = self.log_poles.real
            rule = "|λ̄| < 1"
        bad = np.flatnonzero(~(margin < 0))
        if bad.size:
            i = int(bad[0])
            raise UnstableSystemError(
                f"{_where(self.name)}mode {i} has pole {self.poles[i]:.6g}, which violates {rule} "
                f"({bad.size} unstable mode(s) in all); clip the eigenvalues (as S5's clip_eigs "
                "does) or remove the unstable modes before reducing"
            )

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
        return int(self.B.shape[1])

    @property
    def noutputs(self) -> int:
        return int(self.C.shape[0])

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
        """
        if self.isctime:
            return -self.poles.real
        return -np.expm1(self.log_poles.real)

    def energy_gap(self) -> np.ndarray:
        """Per unit, ``1 − |λ̄|² = −expm1(2 Re μ)`` (DT) or ``2|Re λ|`` (CT).  Shape (nunits,)."""
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
        """log of the expanded poles (DT only), in the order of :meth:`expanded_modes`."""
        if self.log_poles is None:
            raise StateDimensionError("log_poles exist for discrete-time systems only")
        return np.concatenate([self.log_poles, np.conj(self.log_poles[self.pair])])

    def lag0_feedthrough(self) -> np.ndarray:
        """The real lag-0 term ``Σ_units (C_i B_i + conj)`` of the S5 recurrence.

        With ``output_after_update`` the impulse response at lag 0 is ``D + Σ C_i B_i``.
        Bidirectional layers add the backward C as well.  Shape (noutputs, ninputs).
        """
        weight = np.where(self.pair, 2.0, 1.0)
        total = self.C if self.C_backward is None else self.C + self.C_backward
        return np.real((total * weight) @ self.B)

    def standard_form(self) -> ModalSystem:
        """The same operator with the output read before the update.

        For ``output_after_update`` systems: ``C ← C Λ``, ``D ← D + lag-0 term``
        (the same for the backward C).  Other systems are returned unchanged.
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
        )

    def after_update_form(self) -> ModalSystem:
        """The same operator with the output read after the update (the S5 recurrence).

        The inverse of :meth:`standard_form`: from ``y[k] = C x[k] + D u[k]``,
        ``x[k+1] = Λ x[k] + B u[k]`` to ``x[k] = Λ x[k−1] + B u[k]``, ``y[k] = C' x[k] + D' u[k]``
        with ``C' = C Λ⁻¹`` and ``D' = D − Σ_units (C'_i B_i + conj)`` (the transfer
        functions agree: ``C'Λ(z − Λ)⁻¹B + C'B + D' = C(z − Λ)⁻¹B + D``).  Discrete-time
        only; systems already in that form are returned unchanged.

        Raises
        ------
        StateDimensionError
            A continuous-time system, or a pole at 0 or so close to it that ``C Λ⁻¹``
            overflows (no after-update form).
        """
        if self.output_after_update:
            return self
        if not self.isdtime:
            raise StateDimensionError(f"{_where(self.name)}after_update_form is for DT systems")
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
            name=self.name,
        )
        return ModalSystem(
            self.poles, self.B, shifted.C, self.D - shifted.lag0_feedthrough(), self.dt,
            pair=self.pair, C_backward=Cb, log_poles=self.log_poles, output_after_update=True,
            name=self.name,
        )

    def unit_states(self) -> list[np.ndarray]:
        """For each unit, the indices of its real states in :meth:`to_statespace`."""
        sizes = np.where(self.pair, 2, 1)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return [np.arange(s, s + k) for s, k in zip(starts, sizes, strict=True)]

    def real_matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Real block-diagonal (A, B, C, D) of the standard form (see :meth:`to_statespace`)."""
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
        function equals the modal one.  States are ordered unit by unit
        (:meth:`unit_states`).  The result has this system's ``dt``.
        """
        A, B, C, D = self.real_matrices()
        return control.ss(A, B, C, D, self.dt)

    def forward_part(self) -> ModalSystem:
        """The forward (causal) half of a bidirectional layer, with D."""
        return ModalSystem(
            self.poles, self.B, self.C, self.D, self.dt, pair=self.pair,
            log_poles=self.log_poles, output_after_update=self.output_after_update,
            name=self.name,
        )

    def backward_part(self) -> ModalSystem:
        """The backward half of a bidirectional layer as a causal system on reversed time, D = 0."""
        if self.C_backward is None:
            raise StateDimensionError(f"{_where(self.name)}the system is not bidirectional")
        return ModalSystem(
            self.poles, self.B, self.C_backward, None, self.dt, pair=self.pair,
            log_poles=self.log_poles, output_after_update=self.output_after_update,
            name=self.name,
        )

    @classmethod
    def from_statespace(
        cls,
        sys: control.StateSpace,
        *,
        warn_condition: float = 1e8,
        max_condition: float = 1e13,
        name: str | None = None,
    ) -> ModalSystem:
        """Modal decomposition of a real stable ``StateSpace``.

        With ``A = V Λ V⁻¹`` the modal data are ``B̃ = V⁻¹ B`` and ``C̃ = C V``.  Real
        eigenvalues become real units; of each complex-conjugate pair the member with
        positive imaginary part is stored as a pair unit.

        Parameters
        ----------
        sys : `StateSpace`
            Real, stable, diagonalisable system.
        warn_condition, max_condition : float
            The 2-norm condition number of the eigenvector matrix above which an
            :class:`IllConditionedEigenbasisWarning` is issued, or an
            :class:`IllConditionedEigenbasisError` raised (defective A).
        name : str, optional
            Label for error messages.

        Raises
        ------
        IllConditionedEigenbasisError
            When A is defective or nearly so; balanced truncation works on such systems.
        """
        A = np.asarray(sys.A, dtype=np.float64)
        B = np.asarray(sys.B, dtype=np.float64)
        C = np.asarray(sys.C, dtype=np.float64)
        D = np.asarray(sys.D, dtype=np.float64)
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
        return cls(poles, Bk, Ck, D, sys.dt, pair=upper[keep], name=name)

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
            raise StateDimensionError(
                f"{_where(name)}unknown discretisation method {method!r}; use 'zoh' or 'bilinear'"
            )
        if not np.all(lam.real < 0):
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
        )

    # ----------------------------------------------------------------- operations
    def subsystem(self, keep: Sequence[int]) -> ModalSystem:
        """The system made of the units ``keep`` (modal truncation), D unchanged."""
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
        )

    def frequency_response(self, omega) -> np.ndarray:
        """Complex frequency response at angular frequencies ``omega`` (rad per time unit).

        CT: ``G(jω)``; DT: ``G(e^{jω·dt})``; a bidirectional layer adds the backward part
        evaluated at the reversed frequency.  Returns an array of shape
        (noutputs, ninputs, len(omega)), python-control's layout.
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
        """
        if self.isctime:
            raise StateDimensionError("impulse_response is defined here for discrete time only")
        s = self.forward_part().standard_form()
        poles, B, C, _ = s.expanded_modes()
        k = np.arange(max(nsteps - 1, 0))
        powers = poles[None, :] ** k[:, None]
        h = np.real(np.einsum("pn,kn,nm->kpm", C, powers, B))
        return np.concatenate([s.D[None], h], axis=0)[:nsteps]
