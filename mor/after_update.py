"""Balanced truncation that keeps the diagonal structure of an S5 / S4D / LRU layer.

A trained diagonal layer computes, after discretisation,

    x[k] = Λ x[k−1] + B̄ u[k],    y[k] = C x[k] + D u[k]        (output after the update)

with Λ and D diagonal: its transfer function is ``z·H(z) + D`` with
``H(z) = C(zI − Λ)⁻¹B̄``.  Balancing the triple (Λ, B̄, C) with the Gramians of ``H``
(not of the standard form ``CΛ(zI − Λ)⁻¹B̄ + D + CB̄``), truncating, and diagonalising the
reduced state matrix again gives a layer (Λ_r, B̄_r, C_r) of the same kind with the *same*
D.  Its error ``z·(H − H_r)`` has, on |z| = 1, exactly the H∞ and H2 norms of ``H − H_r``,
so the classical bound ``‖H − H_r‖∞ ≤ 2 Σ_{i>r} σ_i`` (Enns 1984; Al-Saggaf & Franklin
1987 for discrete time) certifies the layer as it runs (docs/mor.md, "After-update
balanced truncation").

The same function works for any :class:`~mor.systems.ModalSystem`: it balances the stored
triple (Λ, B, C), keeps D and the output convention.  For a standard-form system that is
ordinary balanced truncation.

Details that matter for networks:

- **Real layers.**  The triple is balanced in its real block form (each conjugate pair a
  2×2 block, as :func:`mor.systems.real_block_form`), so the Hankel singular values and the
  bound are those of the real layer, ``2·Re(C x)`` included.  The reduced real state matrix
  is diagonalised again: complex eigenvalues come in exact conjugate pairs (stored once, as
  pair units), real eigenvalues are real units.
- **Bidirectional layers** ``y = C x_fwd + C_b x_bwd + D u``: one basis for both
  directions, from the observability Gramian of the stacked output ``[C; C_b]``.  The stacked
  error ``S − S_r`` obeys ``2 Σ σ``; the layer's error is ``e^{jω}E_f(e^{jω}) +
  e^{−jω}E_b(e^{−jω})``, so its certificate is ``2·(2 Σ σ)`` in general and ``√2·(2 Σ σ)``
  for a single input (``2 Σ σ`` alone can fail: see :func:`error_bound_factor`).
- **Decoupled blocks** (S4D: H independent SISO channels): a layer whose units split into
  groups with disjoint inputs and outputs is balanced block by block, so every reduced mode
  stays in one channel.  The layer's order is shared out by one ranking of all the blocks'
  Hankel singular values (what balancing the whole layer would keep), and the layer's error
  is block-diagonal: its H∞ norm is the largest block's, and so is its certificate.
- **Unstable units** (``allow_unstable``) are kept whole; the stable part is reduced.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from mor.exceptions import (
    IllConditionedEigenbasisError,
    IllConditionedEigenbasisWarning,
    StateDimensionError,
)
from mor.norms import _cholesky_factor
from mor.systems import ModalSystem, real_block_form

__all__ = [
    "BalancedRealisation",
    "BalancedReduction",
    "Block",
    "after_update_balanced_truncation",
    "after_update_error_bounds",
    "after_update_hankel_singular_values",
    "balance",
    "decoupled_blocks",
    "error_bound_factor",
    "reduction_error",
]

WARN_CONDITION = 1e8
"""Condition number of the reduced eigenvector matrix above which a warning is issued."""
MAX_CONDITION = 1e13
"""... and above which the reduced layer has no reliable diagonal form (an error)."""


def _where(sys: ModalSystem) -> str:
    return f"{sys.name}: " if sys.name else ""


# ---------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Block:
    """A group of units coupled to no input or output of any other group.

    Attributes
    ----------
    units : ndarray of int
        Unit indices (ascending) in the layer.
    inputs, outputs : ndarray of int
        The input and output indices the group uses (ascending; may be empty for units
        with a zero B row and zero C columns, which contribute nothing).
    """

    units: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray


def decoupled_blocks(sys: ModalSystem) -> list[Block]:
    """Split a layer into groups of units with disjoint inputs and outputs.

    Unit i uses input j when ``B[i, j] ≠ 0`` and output k when ``C[k, i] ≠ 0`` (or
    ``C_backward[k, i] ≠ 0``); units sharing an input or an output are in one group
    (connected components).  An S5 layer is one block; an S4D layer (one-hot B rows and C
    columns, channel-major) has one block per channel.  Blocks are ordered by their first
    unit.

    Returns
    -------
    list of Block
    """
    n, m = sys.nunits, sys.ninputs
    parent = list(range(n + m + sys.noutputs))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    used_c = sys.C != 0
    if sys.C_backward is not None:
        used_c = used_c | (sys.C_backward != 0)
    for i, j in np.argwhere(sys.B != 0):
        union(int(i), n + int(j))
    for k, i in np.argwhere(used_c):
        union(int(i), n + m + int(k))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    blocks = []
    for units in sorted(groups.values(), key=lambda u: u[0]):
        u = np.asarray(units, dtype=np.int64)
        inputs = np.flatnonzero(np.any(sys.B[u] != 0, axis=0))
        outputs = np.flatnonzero(np.any(used_c[:, u], axis=1))
        blocks.append(Block(u, inputs, outputs))
    return blocks


# ---------------------------------------------------------------------- one block
@dataclass(frozen=True)
class _BalancedBlock:
    """The real triple of one stable block and its Gramian factors."""

    sys: ModalSystem  # the block (its inputs and outputs only), stable units
    block: Block
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray  # stacked [C; C_b] (real block form)
    Lc: np.ndarray | None  # P = Lc Lcᵀ (None: zero Gramian product)
    Lo: np.ndarray | None
    hsv: np.ndarray  # descending, length nstates of the block


def _block_system(sys: ModalSystem, block: Block) -> ModalSystem:
    u, i, o = block.units, block.inputs, block.outputs
    cb = None if sys.C_backward is None else sys.C_backward[np.ix_(o, u)]
    return ModalSystem(
        sys.poles[u], sys.B[np.ix_(u, i)], sys.C[np.ix_(o, u)],
        np.zeros((o.size, i.size)), sys.dt, pair=sys.pair[u], C_backward=cb,
        log_poles=None if sys.log_poles is None else sys.log_poles[u],
        output_after_update=sys.output_after_update, name=sys.name,
        allow_unstable=sys.allow_unstable,
    )


def _stacked_real_triple(sys: ModalSystem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real block form (A, B, [C; C_b]) of the stored triple (no output shift)."""
    A, B, C = real_block_form(sys.poles, sys.B, sys.C, sys.pair)
    if sys.C_backward is not None:
        _, _, Cb = real_block_form(sys.poles, sys.B, sys.C_backward, sys.pair)
        C = np.vstack([C, Cb])
    return A, B, C


def _balance_block(sys: ModalSystem, block: Block, lc: np.ndarray | None = None,
                   ) -> _BalancedBlock:
    """Gramian factors and Hankel singular values of one stable block.

    Factors by :func:`mor.norms._cholesky_factor`; ``lc`` replaces the controllability
    factor (a calibrated, empirical Gramian).
    """
    bsys = _block_system(sys, block)
    A, B, C = _stacked_real_triple(bsys)
    n = A.shape[0]
    if block.inputs.size == 0 or block.outputs.size == 0 or not np.any(B) or not np.any(C):
        return _BalancedBlock(bsys, block, A, B, C, None, None, np.zeros(n))
    discrete = sys.isdtime
    Lc = _cholesky_factor(A, B, discrete) if lc is None else lc
    Lo = _cholesky_factor(A.T, C.T, discrete)
    if Lc.shape[0] != n:
        raise StateDimensionError(
            f"{_where(sys)}a controllability factor has {Lc.shape[0]} rows for a block of {n} "
            "real states"
        )
    hsv = scipy.linalg.svd(Lo.T @ Lc, compute_uv=False)
    hsv = np.concatenate([hsv, np.zeros(n - hsv.size)])  # a factor with fewer columns
    return _BalancedBlock(bsys, block, A, B, C, Lc, Lo, hsv)


def _numerical_rank(hsv: np.ndarray) -> int:
    """Hankel singular values above ``n·eps·σ_1`` (AB09AD's default tolerance)."""
    if hsv.size == 0 or hsv[0] <= 0:
        return 0
    return int(np.count_nonzero(hsv > hsv.size * np.finfo(float).eps * hsv[0]))


def _block_svd(bb: _BalancedBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``svd(Loᵀ Lc) = U Σ Vᵀ`` of one block (thin), the basis of every truncation."""
    return scipy.linalg.svd(bb.Lo.T @ bb.Lc, full_matrices=False)


def _truncate(bb: _BalancedBlock, svd: tuple[np.ndarray, np.ndarray, np.ndarray], order: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Square-root balanced truncation of the block's real triple to ``order`` states.

    With ``svd = svd(Loᵀ Lc) = U Σ Vᵀ`` (:func:`_block_svd`): ``T = Lc V_r Σ_r^{-1/2}``,
    ``T⁺ = Σ_r^{-1/2} U_rᵀ Loᵀ``, ``(A_r, B_r, C_r) = (T⁺ A T, T⁺ B, C T)`` (Laub et al.
    1987; Tombs & Postlethwaite 1987).
    """
    U, s, Vt = svd
    scale = 1.0 / np.sqrt(s[:order])
    T = bb.Lc @ Vt[:order].T * scale[None, :]
    Ti = (U[:, :order] * scale[None, :]).T @ bb.Lo.T
    return Ti @ bb.A @ T, Ti @ bb.B, bb.C @ T


def _diagonalise(A: np.ndarray, B: np.ndarray, C: np.ndarray, *, name: str | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Modal data (poles, B rows, C columns, pair flags) of a real triple ``(A, B, C)``.

    ``A = V Λ V⁻¹``; of each complex-conjugate pair of eigenvalues the member with
    ``Im λ > 0`` is kept as a pair unit (``c b/(z − λ) + conj``), real eigenvalues are real
    units.  C may be the stacked ``[C; C_b]``.
    """
    where = f"{name}: " if name else ""
    eigvals, V = np.linalg.eig(A)
    cond = float(np.linalg.cond(V))
    if not cond <= MAX_CONDITION:  # NaN and inf included
        raise IllConditionedEigenbasisError(
            f"{where}the balanced-truncated layer's state matrix has an eigenvector matrix of "
            f"condition number {cond:.3g} (limit {MAX_CONDITION:.3g}): it is defective or nearly "
            "so and has no reliable diagonal form; choose another order"
        )
    if cond > WARN_CONDITION:
        warnings.warn(
            f"{where}the balanced-truncated layer's eigenvector matrix has condition number "
            f"{cond:.3g}; its diagonal form may lose up to that factor in accuracy",
            IllConditionedEigenbasisWarning, stacklevel=5,
        )
    Bm = np.linalg.solve(V, B.astype(np.complex128))
    Cm = C @ V
    real = eigvals.imag == 0
    upper = eigvals.imag > 0
    keep = real | upper
    poles = np.where(real, eigvals.real, eigvals)[keep]
    Bk = np.where(real[:, None], Bm.real, Bm)[keep]
    Ck = np.where(real[None, :], Cm.real, Cm)[:, keep]
    return poles, Bk, Ck, upper[keep]


# ---------------------------------------------------------------------- the layer
@dataclass(frozen=True)
class BalancedReduction:
    """A balanced truncation of one layer that keeps its diagonal structure.

    Attributes
    ----------
    system : ModalSystem
        The reduced layer: same D, ``dt``, output convention and direction(s).
    requested_order : int
        Real states asked for.
    hsv : ndarray
        Hankel singular values of the stable part, all blocks, descending.
    block_hsv : tuple of ndarray
        Per decoupled block, its values, descending.
    block_orders : tuple of int
        Per block, the real states kept.
    bound : float
        Certified bound on ``‖G − G_r‖∞`` of the layer as it runs (for after-update
        layers, ``z·(H − H_r)``): the largest block's ``factor · Σ_{discarded} σ``
        (:func:`error_bound_factor`).
    factor : float
        2 (one direction), 2√2 (bidirectional, one input per block) or 4 (bidirectional).
    """

    system: ModalSystem
    requested_order: int
    hsv: np.ndarray
    block_hsv: tuple[np.ndarray, ...]
    block_orders: tuple[int, ...]
    bound: float
    factor: float

    @property
    def order(self) -> int:
        """Real states of the reduced layer (unstable units included)."""
        return self.system.nstates


def error_bound_factor(bidirectional: bool, ninputs: int) -> float:
    """Factor f of the certificate ``‖G − G_r‖∞ ≤ f · Σ_{i>r} σ_i`` of one (block of a) layer.

    One direction: f = 2 (Enns 1984; Al-Saggaf & Franklin 1987).  Bidirectional, balanced
    with the stacked output ``[C; C_b]``: on the unit circle the error is
    ``e^{jω}X + e^{−jω} conj(Y)`` with ``[X; Y]`` the stacked error at ω, whose norm is at
    most ``2 Σ σ``.  So ``‖E‖ ≤ ‖X‖ + ‖Y‖ ≤ 2·max(‖X‖, ‖Y‖)``: f = 4; with one input X and Y
    are columns and ``‖X‖ + ‖Y‖ ≤ √2·‖[X; Y]‖``: f = 2√2.  Not f = 2: one real mode
    λ = 0.9, b = 1, c = c_b = 1 truncated to nothing has ``2σ = 2√2/(1 − λ²) ≈ 14.9`` and
    error ``2/(1 − λ) = 20`` at ω = 0 (tested).
    """
    if not bidirectional:
        return 2.0
    return 2.0 * math.sqrt(2.0) if ninputs == 1 else 4.0


def _check_order(order: int, sys: ModalSystem) -> int:
    n = sys.nstates
    if not isinstance(order, int | np.integer) or isinstance(order, bool) or not 1 <= order <= n:
        raise StateDimensionError(
            f"{_where(sys)}order = {order!r}; expected an integer in 1..{n} (nstates)"
        )
    return int(order)


def _stable_blocks(sys: ModalSystem, lc_blocks: Sequence[np.ndarray] | None = None
                   ) -> tuple[ModalSystem | None, list[_BalancedBlock]]:
    stable = sys.stable_part()
    if stable is None:
        return None, []
    blocks = decoupled_blocks(stable)
    if lc_blocks is not None and len(lc_blocks) != len(blocks):
        raise StateDimensionError(
            f"{_where(sys)}{len(lc_blocks)} controllability factors for {len(blocks)} blocks"
        )
    return stable, [
        _balance_block(stable, b, None if lc_blocks is None else lc_blocks[k])
        for k, b in enumerate(blocks)
    ]


def _ranking(block_hsv: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Block of each state in the global order (σ descending, then block, then index)."""
    sigma = np.concatenate([h for h in block_hsv]) if block_hsv else np.zeros(0)
    owner = np.concatenate([np.full(h.size, k) for k, h in enumerate(block_hsv)]) \
        if block_hsv else np.zeros(0, dtype=np.int64)
    index = np.concatenate([np.arange(h.size) for h in block_hsv]) \
        if block_hsv else np.zeros(0, dtype=np.int64)
    order = np.lexsort((index, owner, -sigma))
    return owner[order].astype(np.int64), sigma[order]


def _block_orders(block_hsv: Sequence[np.ndarray], order: int) -> list[int]:
    owner, _ = _ranking(block_hsv)
    counts = np.bincount(owner[:order], minlength=len(block_hsv))
    return [int(c) for c in counts]


def _bound(block_hsv: Sequence[np.ndarray], orders: Sequence[int], factors: Sequence[float]
           ) -> float:
    tails = [f * float(np.sum(h[r:])) for h, r, f in zip(block_hsv, orders, factors,
                                                          strict=True)]
    return max(tails, default=0.0)


def _factors(stable: ModalSystem | None, blocks: Sequence[_BalancedBlock]) -> list[float]:
    bidi = stable is not None and stable.bidirectional
    return [error_bound_factor(bidi, max(b.block.inputs.size, 1)) for b in blocks]


class BalancedRealisation:
    """A layer balanced once, truncated to any order cheaply (pyMOR's ``BTReductor`` idea).

    Holds what does not depend on the order: the stable part's decoupled blocks, their
    Gramian factors and Hankel singular values, and (computed on first use, then kept) each
    block's ``svd(Loᵀ Lc)``.  :meth:`truncate` is then a few small matrix products and an
    eigendecomposition per block.  Made by :func:`balance`.

    Attributes
    ----------
    sys : ModalSystem
        The layer.
    calibrated : bool
        Balanced with given controllability factors (no certificate: bounds are NaN).
    unstable_states : int
        Real states of the unstable part (kept whole).
    """

    def __init__(self, sys: ModalSystem,
                 controllability_factors: Sequence[np.ndarray] | None = None) -> None:
        self.sys = sys
        self.calibrated = controllability_factors is not None
        self._stable, self._blocks = _stable_blocks(sys, controllability_factors)
        self.unstable_states = sys.nstates - (
            0 if self._stable is None else self._stable.nstates)
        self._svds: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = \
            [None] * len(self._blocks)

    def hankel_singular_values(self) -> np.ndarray:
        """All blocks' Hankel singular values, descending (stable part only)."""
        values = np.concatenate([b.hsv for b in self._blocks]) if self._blocks else np.zeros(0)
        return np.sort(values)[::-1]

    def error_bounds(self) -> np.ndarray:
        """The certificate for every order 0..nstates (:func:`after_update_error_bounds`)."""
        hsv = [b.hsv for b in self._blocks]
        factors = _factors(self._stable, self._blocks)
        out = np.full(self.sys.nstates + 1, np.inf)
        for r in range(self.unstable_states, self.sys.nstates + 1):
            out[r] = _bound(hsv, _block_orders(hsv, r - self.unstable_states), factors)
        return out

    def _svd(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._svds[k] is None:
            self._svds[k] = _block_svd(self._blocks[k])
        return self._svds[k]

    def truncate(self, order: int) -> BalancedReduction:
        """The truncation to ``order`` real states (:func:`after_update_balanced_truncation`)."""
        sys, nu = self.sys, self.unstable_states
        order = _check_order(order, sys)
        if order < nu:
            raise StateDimensionError(
                f"{_where(sys)}order = {order} is below the {nu} states of the unstable part, "
                f"which is kept whole; ask for at least {nu}"
            )
        hsv = [b.hsv for b in self._blocks]
        orders = _block_orders(hsv, order - nu)
        factors = _factors(self._stable, self._blocks)
        parts = [_reduce_block(sys, self._stable, bb, r, lambda k=k: self._svd(k))
                 for k, (bb, r) in enumerate(zip(self._blocks, orders, strict=True))]
        achieved = [p[4] for p in parts]
        if sum(achieved) < sum(orders):
            warnings.warn(
                f"{_where(sys)}requested order {order} but the numerically minimal balanced "
                f"realisation has order {sum(achieved) + nu}; returning order "
                f"{sum(achieved) + nu}", stacklevel=3,
            )
        if nu:
            unstable = sys.subsystem(sys.unstable_units)
            parts.append((unstable.poles, unstable.B, unstable.C, unstable.C_backward,
                          unstable.nstates, unstable.pair))
        return BalancedReduction(
            system=_assemble(sys, parts), requested_order=order,
            hsv=np.sort(np.concatenate(hsv))[::-1] if hsv else np.zeros(0),
            block_hsv=tuple(hsv), block_orders=tuple(achieved),
            bound=math.nan if self.calibrated else _bound(hsv, achieved, factors),
            factor=max(factors, default=2.0),
        )


def balance(sys: ModalSystem, *, controllability_factors: Sequence[np.ndarray] | None = None
            ) -> BalancedRealisation:
    """Balance a layer once (:class:`BalancedRealisation`); truncate it to any order after.

    ``controllability_factors`` as :func:`after_update_balanced_truncation`.

    Examples
    --------
    >>> s = ModalSystem([0.9, 0.5, 0.1], [[1.0], [1.0], [1.0]], [[1.0, 1.0, 1.0]], dt=1,
    ...                 output_after_update=True)
    >>> bal = balance(s)
    >>> [bal.truncate(r).order for r in (1, 2)]
    [1, 2]
    """
    return BalancedRealisation(sys, controllability_factors)


def after_update_hankel_singular_values(
    sys: ModalSystem, *, controllability_factors: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """Hankel singular values of the stored triple (Λ, B, [C; C_b]), descending.

    For an after-update layer these are the values of ``H(z) = C(zI − Λ)⁻¹B̄``; the stable
    part only (unstable units are kept whole by the reduction).  A layer of decoupled
    blocks has the union of its blocks' values.  Shape (stable nstates,).
    ``controllability_factors`` as :func:`after_update_balanced_truncation` (calibrated).
    """
    return balance(sys, controllability_factors=controllability_factors
                   ).hankel_singular_values()


def after_update_error_bounds(sys: ModalSystem) -> np.ndarray:
    """The certificate of :func:`after_update_balanced_truncation` for every order.

    Returns
    -------
    ndarray, shape (nstates + 1,)
        Entry r bounds ``‖G − G_r‖∞`` at order r (0 below the unstable part's states, which
        is kept whole: those entries are +inf).  Non-increasing; 0 at full order.
    """
    return balance(sys).error_bounds()


def after_update_balanced_truncation(
    sys: ModalSystem,
    order: int,
    *,
    controllability_factors: Sequence[np.ndarray] | None = None,
) -> BalancedReduction:
    """Balanced truncation of a diagonal layer that returns a diagonal layer with the same D.

    Balances the stored triple (Λ, B, C) — for an S5/S4D layer (``output_after_update``)
    the triple of ``H(z) = C(zI − Λ)⁻¹B̄`` whose layer is ``z·H(z) + D`` — truncates it to
    ``order`` real states and diagonalises the reduced state matrix again (module
    docstring).  The reduced system has the same D, ``dt``, output convention and
    direction(s).

    Parameters
    ----------
    sys : ModalSystem
        Continuous or discrete time; with or without ``output_after_update``; bidirectional
        layers are balanced with the stacked output ``[C; C_backward]``.
    order : int
        Real states to keep, 1..nstates; unstable units count and are kept whole.
    controllability_factors : sequence of ndarray, optional
        Per decoupled block (:func:`decoupled_blocks` of the stable part), a factor ``L``
        with ``P = L Lᵀ`` of the controllability Gramian in the block's real coordinates,
        replacing the white-noise one (calibrated balanced truncation).  The certificate
        then no longer applies; ``bound`` is NaN.

    Returns
    -------
    BalancedReduction

    Raises
    ------
    StateDimensionError
        An order outside 1..nstates, or below the unstable part's states.
    IllConditionedEigenbasisError
        The reduced state matrix has no reliable diagonal form.

    Warns
    -----
    UserWarning
        A block's numerical rank (Hankel singular values above ``n·eps·σ_1``) is below its
        share of the order: the reduction is smaller than asked.

    Examples
    --------
    >>> import numpy as np
    >>> s = ModalSystem([0.9, 0.5 + 0.3j, -0.2], [[1.0], [0.3], [0.1]],
    ...                 [[1.0, 0.2, 0.05]], [[0.5]], dt=1, output_after_update=True)
    >>> red = after_update_balanced_truncation(s, 2)
    >>> red.system.nstates, red.system.output_after_update, float(red.system.D[0, 0])
    (2, True, 0.5)
    """
    _check_order(order, sys)
    return balance(sys, controllability_factors=controllability_factors).truncate(order)


def _reduce_block(sys: ModalSystem, stable: ModalSystem, bb: _BalancedBlock, order: int, svd):
    """(poles, B, C, C_b, nstates, pair) of one block at ``order``, in the layer's shapes.

    ``svd()`` gives the block's :func:`_block_svd` (called only when a truncation is needed).
    """
    n_in, n_out = sys.ninputs, sys.noutputs
    blk = bb.block
    full_n = bb.A.shape[0]
    if order == full_n:  # kept whole: the original units, exactly
        s = stable.subsystem(blk.units)
        return s.poles, s.B, s.C, s.C_backward, full_n, s.pair
    order = min(order, _numerical_rank(bb.hsv))
    if order == 0:
        empty_c = np.zeros((n_out, 0), dtype=np.complex128)
        return (np.zeros(0, dtype=np.complex128), np.zeros((0, n_in), dtype=np.complex128),
                empty_c, None if sys.C_backward is None else empty_c, 0, np.zeros(0, bool))
    Ar, Br, Cr = _truncate(bb, svd(), order)
    # A = V Λ V⁻¹: C V (zI − Λ)⁻¹ V⁻¹ B = Σ c_i b_i / (z − λ_i), and the two members of a
    # conjugate pair give conjugate terms: the stored pair unit is (λ, b_i, c_i) as it is.
    poles, Bm, Cm, pair = _diagonalise(Ar, Br, Cr, name=sys.name)
    p = blk.outputs.size
    B = np.zeros((poles.size, n_in), dtype=np.complex128)
    B[:, blk.inputs] = Bm
    C = np.zeros((n_out, poles.size), dtype=np.complex128)
    C[blk.outputs] = Cm[:p]
    Cb = None
    if sys.C_backward is not None:
        Cb = np.zeros((n_out, poles.size), dtype=np.complex128)
        Cb[blk.outputs] = Cm[p:]
    return poles, B, C, Cb, order, pair


def _assemble(sys: ModalSystem, parts) -> ModalSystem:
    poles = np.concatenate([p[0] for p in parts])
    if poles.size == 0:
        raise StateDimensionError(
            f"{_where(sys)}the balanced truncation kept no state (every Hankel singular value "
            "is zero: the layer's SSM part is zero); remove the layer's SSM instead"
        )
    B = np.concatenate([p[1] for p in parts], axis=0)
    C = np.concatenate([p[2] for p in parts], axis=1)
    Cb = None if sys.C_backward is None else np.concatenate([p[3] for p in parts], axis=1)
    pair = np.concatenate([p[5] for p in parts])
    return ModalSystem(
        poles, B, C, sys.D, sys.dt, pair=pair, C_backward=Cb,
        output_after_update=sys.output_after_update, name=sys.name,
        allow_unstable=sys.allow_unstable,
    )


def reduction_error(full: ModalSystem, reduced: ModalSystem) -> ModalSystem:
    """The error system ``G − G_r`` of two layers with the same D, as one modal system.

    Units of both, the reduced ones with negated C (and C_backward), D = 0, the layers'
    output convention: for after-update layers its transfer function is ``z·(H − H_r)``.
    Units present identically in both (blocks and unstable units kept whole) cancel
    exactly and are left out.  Its H∞ norm (:func:`mor.hinf_norm`) is the exact error of the
    reduction.

    Raises
    ------
    StateDimensionError
        The two systems differ in D, time domain, output convention or direction, or are
        equal (a zero error).
    """
    same = (full.D.shape == reduced.D.shape and np.array_equal(full.D, reduced.D)
            and full.dt == reduced.dt and full.output_after_update == reduced.output_after_update
            and full.bidirectional == reduced.bidirectional)
    if not same:
        raise StateDimensionError(
            f"{_where(full)}the reduced system differs from the full one in D, dt, output "
            "convention or direction; reduction_error compares layers of one kind"
        )

    f_keep, r_keep = _unmatched_units(full, reduced)
    if f_keep.size == 0:
        raise StateDimensionError(
            f"{_where(full)}the reduced layer equals the full one: the error is zero"
        )
    f, r = full.subsystem(f_keep), (None if r_keep.size == 0 else reduced.subsystem(r_keep))
    parts = [f] if r is None else [f, r]
    signs = [1.0, -1.0][: len(parts)]
    Cb = None
    if full.bidirectional:
        Cb = np.concatenate([sg * p.C_backward for sg, p in zip(signs, parts, strict=True)],
                            axis=1)
    return ModalSystem(
        np.concatenate([p.poles for p in parts]),
        np.concatenate([p.B for p in parts], axis=0),
        np.concatenate([sg * p.C for sg, p in zip(signs, parts, strict=True)], axis=1),
        np.zeros_like(full.D), full.dt,
        pair=np.concatenate([p.pair for p in parts]), C_backward=Cb,
        log_poles=None if full.isctime else np.concatenate([p.log_poles for p in parts]),
        output_after_update=full.output_after_update, name=full.name,
        allow_unstable=full.allow_unstable or reduced.allow_unstable,
    )


def _unit_keys(sys: ModalSystem) -> list[bytes]:
    cb = sys.C_backward
    return [
        b"".join(np.ascontiguousarray(x).tobytes() for x in (
            sys.poles[i], sys.B[i], sys.C[:, i], sys.pair[i],
            np.zeros(0) if cb is None else cb[:, i]))
        for i in range(sys.nunits)
    ]


def _unmatched_units(full: ModalSystem, reduced: ModalSystem) -> tuple[np.ndarray, np.ndarray]:
    """Units of each system without an identical unit in the other (kept-whole units cancel)."""
    free: dict[bytes, list[int]] = {}
    for j, key in enumerate(_unit_keys(reduced)):
        free.setdefault(key, []).append(j)
    f_keep, matched = [], set()
    for i, key in enumerate(_unit_keys(full)):
        if free.get(key):
            matched.add(free[key].pop())
        else:
            f_keep.append(i)
    r_keep = [j for j in range(reduced.nunits) if j not in matched]
    return np.asarray(f_keep, dtype=np.int64), np.asarray(r_keep, dtype=np.int64)
