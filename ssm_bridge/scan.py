"""The diagonal linear recurrence at the heart of S5/S4D layers, as pure JAX functions.

``x[k] = λ̄ ⊙ x[k−1] + bu[k]`` (forward) or ``x[k] = λ̄ ⊙ x[k+1] + bu[k]`` (reverse),
with a zero state before the first step.  The reference implementation is
``jax.lax.associative_scan`` in complex arithmetic, exactly as the official S5 code computes
it (S5 paper, Smith et al. 2023, eq. 6 and appendix H).  Faster kernels compute the same
states:

``"associative"``
    The reference: one ``jax.lax.associative_scan`` (log-depth, about ``2·log2(L)`` passes
    over the data, each a separate small kernel).
``"sequential"``
    ``jax.lax.scan`` over time, real arithmetic (``L`` dependent steps).
``"chunked"``
    Two-level scan in real arithmetic.  The sequence is cut into chunks of ``T`` steps;
    every chunk is scanned from a zero state, all chunks at once (``T`` steps, vectorised
    over the ``L/T`` chunks); the chunk-end states are combined by the same recurrence with
    pole ``λ̄^T`` (recursively chunked when there are many chunks); and the carried state is
    added back, ``x[cT + t] = h[c, t] + λ̄^{t+1} s[c − 1]``.  About ``T + L/T`` dependent
    steps instead of ``L``, and two passes over the data instead of ``2·log2(L)``.
``"chunked_matmul"``
    Same two levels, but the within-chunk scan is a dense lower-triangular Toeplitz product,
    ``h[c, t] = Σ_{s≤t} λ̄^{t−s} bu[c, s]`` (one batched matrix product per chunk, no
    dependent steps: suited to matrix units; ``T`` times more arithmetic).
``"auto"``
    ``"sequential"`` on CPU, where it was measured fastest (one pass over the data, well
    vectorised over states; ``benchmarks/bench_inference.py --method``), and
    ``"chunked_matmul"`` on accelerators, where one step per kernel launch would be slow
    and the few large batched products suit the hardware (expected, not yet measured).

:func:`s5_ssm_apply` is the whole SSM part of an S5 layer (``B̄u``, both scan directions,
``2·Re(C x)`` and ``D ⊙ u``) in real arithmetic with padded state sizes: two real matrix
products and one scan over the stacked forward and time-reversed backward states.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = [
    "SCAN_ALGORITHMS",
    "ScanMethodError",
    "apply_readout_matrix",
    "check_method",
    "diagonal_recurrence",
    "recurrence_features",
    "s5_readout_matrix",
    "s5_ssm_apply",
    "s5_state_features",
]

#: Recurrence kernels accepted by ``method=`` (plus ``"auto"``).
SCAN_ALGORITHMS = ("associative", "sequential", "chunked", "chunked_matmul")

#: Default chunk length of the chunked kernels.
DEFAULT_CHUNK = 32


class ScanMethodError(ValueError):
    """An unknown scan method, a chunk length below 2, or a padding below 1."""


# --------------------------------------------------------------------------------------------
# complex numbers as (real, imaginary) pairs; ``None`` stands for an exact zero imaginary part
# --------------------------------------------------------------------------------------------

_Pair = tuple[jax.Array, "jax.Array | None"]


def _mul(a: _Pair, x: _Pair) -> _Pair:
    ar, ai = a
    xr, xi = x
    if ai is None and xi is None:
        return ar * xr, None
    if ai is None:
        return ar * xr, ar * xi
    if xi is None:
        return ar * xr, ai * xr
    return ar * xr - ai * xi, ar * xi + ai * xr


def _add(x: _Pair, y: _Pair) -> _Pair:
    xr, xi = x
    yr, yi = y
    if xi is None and yi is None:
        return xr + yr, None
    if xi is None:
        return xr + yr, yi
    if yi is None:
        return xr + yr, xi
    return xr + yr, xi + yi


def _map(fn: Callable[[jax.Array], jax.Array], x: _Pair) -> _Pair:
    return fn(x[0]), (None if x[1] is None else fn(x[1]))


def _split(z: jax.Array) -> _Pair:
    if jnp.iscomplexobj(z):
        return jnp.real(z), jnp.imag(z)
    return z, None


def _join(x: _Pair) -> jax.Array:
    return x[0] if x[1] is None else jax.lax.complex(x[0], x[1])


def _powers(a: _Pair, n: int) -> _Pair:
    """``a^k`` for ``k = 1..n``, stacked on a new leading axis (shape ``(n, *a.shape)``)."""
    z = _join(a)
    zs = jnp.cumprod(jnp.broadcast_to(z, (n, *z.shape)), axis=0)
    return _split(zs)


# --------------------------------------------------------------------------------------------
# kernels: forward recurrence along axis 0 from a zero state; ``a`` broadcasts against b[0]
# --------------------------------------------------------------------------------------------


def _combine(left, right):
    a_l, b_l = left
    a_r, b_r = right
    return a_r * a_l, a_r * b_l + b_r


def _associative(a: jax.Array, b: jax.Array) -> jax.Array:
    """The official S5 form: complex (or real) ``jax.lax.associative_scan``."""
    aa = jnp.broadcast_to(a, b.shape)
    _, xs = jax.lax.associative_scan(_combine, (aa, b))
    return xs


def _sequential(a: _Pair, b: _Pair, *, unroll: int = 1) -> _Pair:
    """``jax.lax.scan`` over axis 0 (real arithmetic on (re, im) pairs)."""
    zero = jnp.zeros_like(b[0][0])
    if a[1] is None and b[1] is None:

        def step_real(x, bk):
            x = a[0] * x + bk
            return x, x

        _, xr = jax.lax.scan(step_real, zero, b[0], unroll=unroll)
        return xr, None
    bi = b[1] if b[1] is not None else jnp.zeros_like(b[0])

    def step_pair(x, bk):
        x = _add(_mul(a, x), bk)
        return x, x

    _, xs = jax.lax.scan(step_pair, (zero, zero), (b[0], bi), unroll=unroll)
    return xs


def _toeplitz_within(a: _Pair, bc: _Pair, t: int) -> _Pair:
    """``h[c, t] = Σ_{s≤t} a^{t−s} b[c, s]`` for b of shape (C, T, *rest) (dense form)."""
    ones = jnp.ones((1, *a[0].shape), a[0].dtype)
    if t > 1:
        pw = _powers(a, t - 1)
        lag_r = jnp.concatenate([ones, pw[0]])
        lag_i = None if pw[1] is None else jnp.concatenate([jnp.zeros_like(ones), pw[1]])
    else:
        lag_r, lag_i = ones, (None if a[1] is None else jnp.zeros_like(ones))
    # M[t, s] = a^(t−s) for t ≥ s, else 0: one gather from the lags a^0 .. a^(T−1)
    diff = jnp.arange(t)[:, None] - jnp.arange(t)[None, :]
    lower = (diff >= 0).reshape(t, t, *(1,) * a[0].ndim)

    # contract over s; the axes where ``a`` varies are batch axes of the product, the axes
    # where it is broadcast (size 1, e.g. a batch of sequences) stay free: M is never
    # materialised over them
    shared = [i for i in range(a[0].ndim) if a[0].shape[i] != 1]
    letters = "abdefghijklmnopqruvwxyz"[: bc[0].ndim - 2]
    spec = f"ts{''.join(letters[i] for i in shared)},cs{letters}->ct{letters}"

    def build(lags):
        m = jnp.where(lower, lags[jnp.clip(diff, 0, None)], 0)  # (T, T, *a.shape)
        return m.reshape(t, t, *(a[0].shape[i] for i in shared))

    m = (build(lag_r), None if lag_i is None else build(lag_i))

    def mm(x, y):
        return jnp.einsum(spec, x, y, precision=jax.lax.Precision.HIGHEST)

    if m[1] is None and bc[1] is None:
        return mm(m[0], bc[0]), None
    if m[1] is None:
        return mm(m[0], bc[0]), mm(m[0], bc[1])
    if bc[1] is None:
        return mm(m[0], bc[0]), mm(m[1], bc[0])
    return mm(m[0], bc[0]) - mm(m[1], bc[1]), mm(m[0], bc[1]) + mm(m[1], bc[0])


def _chunked(a: _Pair, b: _Pair, *, chunk: int, inner: str) -> _Pair:
    """Two-level (recursively chunked) scan; see the module docstring."""
    n = b[0].shape[0]
    if n <= chunk:
        if inner == "matmul":
            h = _toeplitz_within(a, _map(lambda z: z[None], b), n)
            return _map(lambda z: z[0], h)
        return _sequential(a, b, unroll=1)
    nchunks = -(-n // chunk)
    pad = nchunks * chunk - n
    if pad:
        b = _map(lambda z: jnp.pad(z, [(0, pad)] + [(0, 0)] * (z.ndim - 1)), b)
    rest = b[0].shape[1:]
    bc = _map(lambda z: z.reshape(nchunks, chunk, *rest), b)
    if inner == "matmul":
        h = _toeplitz_within(a, bc, chunk)  # (C, T, *rest)
        ends = _map(lambda z: z[:, -1], h)
    else:
        bt = _map(lambda z: jnp.swapaxes(z, 0, 1), bc)  # (T, C, *rest)
        ht = _sequential(a, bt, unroll=1)
        ends = _map(lambda z: z[-1], ht)
        h = _map(lambda z: jnp.swapaxes(z, 0, 1), ht)
    pw = _powers(a, chunk)  # a^1 .. a^T
    a_chunk = _map(lambda z: z[-1], pw)
    # state at the end of every chunk, from a zero state: same recurrence with pole a^T
    s = _chunked(a_chunk, ends, chunk=chunk, inner=inner)
    s_prev = _map(lambda z: jnp.concatenate([jnp.zeros_like(z[:1]), z[:-1]], axis=0), s)
    carry = _mul(_map(lambda z: z[None], pw), _map(lambda z: z[:, None], s_prev))
    x = _add(h, carry)
    return _map(lambda z: z.reshape(nchunks * chunk, *rest)[:n], x)


def check_method(method: str, chunk: int | None = None) -> tuple[str, int]:
    """The kernel ``method`` resolves to (``"auto"`` by backend) and the chunk length.

    Raises :class:`ScanMethodError` for an unknown method or a chunk below 2.
    """
    if method == "auto":
        method = "sequential" if jax.default_backend() == "cpu" else "chunked_matmul"
    if method not in SCAN_ALGORITHMS:
        raise ScanMethodError(
            f"unknown scan method {method!r}; expected one of {(*SCAN_ALGORITHMS, 'auto')}"
        )
    if chunk is None:
        chunk = DEFAULT_CHUNK
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 2:
        raise ScanMethodError(f"chunk must be an integer ≥ 2; got {chunk!r}")
    return method, chunk


def _recurrence_pairs(a: _Pair, b: _Pair, *, method: str, chunk: int) -> _Pair:
    lead = b[0].ndim - 1 - a[0].ndim  # give ``a`` the rank of one time step of ``b``
    a = _map(lambda z: z.reshape((1,) * max(lead, 0) + z.shape), a)
    if method == "sequential":
        return _sequential(a, b)
    return _chunked(a, b, chunk=chunk, inner="matmul" if method == "chunked_matmul" else "scan")


def diagonal_recurrence(
    lambda_bar: jax.Array,
    bu: jax.Array,
    *,
    reverse: bool = False,
    method: str = "associative",
    chunk: int | None = None,
) -> jax.Array:
    """States of the diagonal recurrence ``x[k] = λ̄ ⊙ x[k−1] + bu[k]`` for one sequence.

    The discretised S5/S4D state recursion (S5 paper, Smith et al. 2023, eq. 2; LAST eq. 1)
    with a zero state before the first step; ``reverse=True`` runs it backwards in time,
    ``x[k] = λ̄ ⊙ x[k+1] + bu[k]`` (the backward half of a bidirectional layer).

    Parameters
    ----------
    lambda_bar : complex or real array, shape (P,) (or broadcastable to ``bu.shape[1:]``)
        Discrete-time poles.
    bu : complex or real array, shape (L, P) (or (L, ...))
        Input term ``B̄ u[k]`` per step; time is axis 0.
    reverse : bool
        Run the recurrence backwards in time.
    method : {"associative", "sequential", "chunked", "chunked_matmul", "auto"}
        Kernel (see the module docstring).  The default is the official S5 form; all give
        the same states up to float32 rounding.
    chunk : int, optional
        Chunk length (≥ 2) of the chunked kernels (default 32).  Any ``L`` is accepted (the last
        chunk is zero-padded internally).

    Returns
    -------
    array, shape ``bu.shape``, dtype of ``λ̄ · bu``

    Raises
    ------
    ScanMethodError
        Unknown ``method`` or a ``chunk`` below 2.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> diagonal_recurrence(jnp.array([0.5]), jnp.ones((3, 1)), method="chunked", chunk=2)[:, 0]
    Array([1.  , 1.5 , 1.75], dtype=float32)
    """
    method, chunk = check_method(method, chunk)
    lambda_bar = jnp.asarray(lambda_bar)
    bu = jnp.asarray(bu)
    dtype = jnp.result_type(lambda_bar, bu)
    if bu.shape[0] == 0:
        return jnp.zeros(bu.shape, dtype)
    if reverse:
        bu = jnp.flip(bu, axis=0)
    if method == "associative":
        xs = _associative(lambda_bar.astype(dtype), bu.astype(dtype))
    else:
        a = _split(lambda_bar.astype(dtype))
        xs = _join(_recurrence_pairs(a, _split(bu.astype(dtype)), method=method, chunk=chunk))
        xs = xs.astype(dtype)
    if reverse:
        xs = jnp.flip(xs, axis=0)
    return xs


def _padded_size(nstates: int, pad_multiple: int) -> int:
    if isinstance(pad_multiple, bool) or not isinstance(pad_multiple, int) or pad_multiple < 1:
        raise ScanMethodError(f"pad_multiple must be a positive integer; got {pad_multiple!r}")
    return pad_multiple * -(-nstates // pad_multiple)


def recurrence_features(lambda_bar: jax.Array, bu_re: jax.Array, bu_im: jax.Array, *,
                        bidirectional: bool, method: str = "auto",
                        chunk: int | None = None) -> jax.Array:
    """States of ``x[k] = λ̄ ⊙ x[k−1] + bu[k]`` (and backwards) as real features.

    The forward states and, when ``bidirectional``, the backward ones
    (``x_b[k] = λ̄ ⊙ x_b[k+1] + bu[k]``, S5 appendix C.1) come out of one recurrence over
    the forward and the time-reversed input stacked side by side.

    Parameters
    ----------
    lambda_bar : complex array, shape (U,)
        Discrete-time poles.
    bu_re, bu_im : real arrays, shape (L, ..., U)
        Real and imaginary parts of ``B̄ u[k]``; **time is axis 0**.
    bidirectional : bool
        Also compute the backward states.
    method, chunk
        Recurrence kernel, as in :func:`diagonal_recurrence` (default ``"auto"``).

    Returns
    -------
    real array, shape (L, ..., 2·U·d) with d = 2 when bidirectional, else 1
        ``[Re x_f, Im x_f, Re x_b, Im x_b]`` along the last axis.
    """
    method, chunk = check_method(method, chunk)
    a_r = jnp.real(lambda_bar).astype(bu_re.dtype)
    a_i = jnp.imag(lambda_bar).astype(bu_re.dtype)
    units = a_r.shape[0]
    width = 2 * units * (2 if bidirectional else 1)
    if bu_re.shape[0] == 0 or units == 0:
        return jnp.zeros((*bu_re.shape[:-1], width), bu_re.dtype)
    if bidirectional:
        bu_re = jnp.concatenate([bu_re, jnp.flip(bu_re, 0)], axis=-1)
        bu_im = jnp.concatenate([bu_im, jnp.flip(bu_im, 0)], axis=-1)
        a_r = jnp.concatenate([a_r, a_r])
        a_i = jnp.concatenate([a_i, a_i])
    if method == "associative":
        xs = _associative(jax.lax.complex(a_r, a_i), jax.lax.complex(bu_re, bu_im))
        x_r, x_i = jnp.real(xs), jnp.imag(xs)
    else:
        x_r, x_i = _recurrence_pairs((a_r, a_i), (bu_re, bu_im), method=method, chunk=chunk)
    if not bidirectional:
        return jnp.concatenate([x_r, x_i], axis=-1)
    return jnp.concatenate(
        [x_r[..., :units], x_i[..., :units],
         jnp.flip(x_r[..., units:], 0), jnp.flip(x_i[..., units:], 0)],
        axis=-1,
    )


def s5_state_features(
    lambda_bar: jax.Array,
    b_bar: jax.Array,
    u: jax.Array,
    *,
    bidirectional: bool,
    method: str = "auto",
    chunk: int | None = None,
    pad_multiple: int = 8,
    precision: jax.lax.PrecisionLike = None,
) -> jax.Array:
    """The states of an S5 layer in real arithmetic (first half of :func:`s5_ssm_apply`).

    One real product ``u @ [Re B̄; Im B̄]ᵀ`` and :func:`recurrence_features`, with the state
    count padded by inert modes (``λ̄ = 0``, zero ``B̄`` rows) to ``P'``, a multiple of
    ``pad_multiple``.

    Parameters
    ----------
    lambda_bar : complex array, shape (P,)
    b_bar : complex array, shape (P, H)
    u : real array, shape (..., L, H)
    bidirectional : bool
    method, chunk, pad_multiple, precision
        As in :func:`s5_ssm_apply`.

    Returns
    -------
    real array, shape (L, ..., 2·P'·d) (time first; d = 2 when bidirectional)
        ``[Re x_f, Im x_f, Re x_b, Im x_b]``, to be read out by :func:`s5_readout_matrix`
        built with the same ``pad_multiple``.
    """
    nstates = lambda_bar.shape[0]
    extra = _padded_size(nstates, pad_multiple) - nstates
    rdtype = jnp.result_type(jnp.real(b_bar).dtype, u.dtype)
    bb = jnp.pad(b_bar, ((0, extra), (0, 0)))
    w_in = jnp.concatenate([jnp.real(bb), jnp.imag(bb)], axis=0).astype(rdtype)  # (2P', H)
    ut = jnp.moveaxis(u, -2, 0).astype(rdtype)  # (L, ..., H): time first for the scan
    bu = jnp.matmul(ut, w_in.T, precision=precision)  # (L, ..., 2P')
    half = nstates + extra
    return recurrence_features(
        jnp.pad(lambda_bar, (0, extra)), bu[..., :half], bu[..., half:],
        bidirectional=bidirectional, method=method, chunk=chunk,
    )


def s5_readout_matrix(
    c: jax.Array,
    c_backward: jax.Array | None = None,
    *,
    conj_sym: bool = True,
    pad_multiple: int = 8,
    mask: jax.Array | None = None,
    dtype=jnp.float32,
) -> jax.Array:
    """Real matrix ``W`` with ``features @ W = s·Re(C x_f + C_b x_b)`` (S5 eq. 3).

    ``W = s·[Re Cᵀ; −Im Cᵀ; Re C_bᵀ; −Im C_bᵀ]`` with ``s = 2`` under ``conj_sym``, the
    columns of C zero-padded to ``P'`` as in :func:`s5_state_features`.

    Parameters
    ----------
    c : complex array, shape (H, P)
    c_backward : complex array, shape (H, P), optional
    conj_sym : bool
    pad_multiple : int
    mask : real array, shape (P,), optional
        Multiplies the columns of C (and C_b): 0 drops a mode from the output.
    dtype : real dtype of W

    Returns
    -------
    real array, shape (2·P'·d, H)
    """
    extra = _padded_size(c.shape[1], pad_multiple) - c.shape[1]
    scale = 2.0 if conj_sym else 1.0
    blocks = []
    for cm in [c] if c_backward is None else [c, c_backward]:
        if mask is not None:
            cm = cm * mask.astype(jnp.real(cm).dtype)
        cp = jnp.pad(cm, ((0, 0), (0, extra)))
        blocks += [scale * jnp.real(cp).T, -scale * jnp.imag(cp).T]
    return jnp.concatenate(blocks, axis=0).astype(dtype)


def s5_ssm_apply(
    lambda_bar: jax.Array,
    b_bar: jax.Array,
    c: jax.Array,
    d: jax.Array,
    u: jax.Array,
    *,
    c_backward: jax.Array | None = None,
    conj_sym: bool = True,
    method: str = "auto",
    chunk: int | None = None,
    pad_multiple: int = 8,
    precision: jax.lax.PrecisionLike = None,
) -> jax.Array:
    """The SSM part of an S5 layer, fused, in real arithmetic.

    ``x_f[k] = Λ̄ x_f[k−1] + B̄ u[k]``, ``x_b[k] = Λ̄ x_b[k+1] + B̄ u[k]`` and
    ``y[k] = s·Re(C x_f[k] + C_b x_b[k]) + D ⊙ u[k]`` with ``s = 2`` when ``conj_sym``
    (S5 paper, Smith et al. 2023, eq. 2–3 and appendix C.1; the official ``apply_ssm``).
    Without ``c_backward`` the layer is unidirectional (``x_b`` absent).

    Computed as: one real product ``u @ [Re B̄; Im B̄]ᵀ``; one recurrence over the forward
    and time-reversed backward states stacked side by side (so one kernel serves both
    directions); one real product of ``[Re x_f, Im x_f, Re x_b, Im x_b]`` with
    ``s·[Re Cᵀ; −Im Cᵀ; Re C_bᵀ; −Im C_bᵀ]`` (:func:`s5_state_features` then
    :func:`s5_readout_matrix`).  The state count is padded with inert modes (``λ̄ = 0``,
    zero ``B̄`` rows and ``C`` columns) to a multiple of ``pad_multiple``, which changes no
    output.

    Parameters
    ----------
    lambda_bar : complex array, shape (P,)
        Discrete-time poles ``Λ̄``.
    b_bar : complex array, shape (P, H)
        Discretised input matrix ``B̄``.
    c : complex array, shape (H, P)
        Output matrix ``C̃`` (the forward one, ``C1``, of a bidirectional layer).
    d : real array, shape (H,)
        Diagonal feed-through.
    u : real array, shape (..., L, H)
        Input sequence(s); leading axes are batch axes.
    c_backward : complex array, shape (H, P), optional
        Output matrix of the backward scan (``C2``); ``None`` for a unidirectional layer.
    conj_sym : bool
        Output ``2·Re(·)`` (one stored mode per conjugate pair) instead of ``Re(·)``.
    method, chunk
        Recurrence kernel, as in :func:`diagonal_recurrence` (default ``"auto"``).
    pad_multiple : int
        Pad the state count to a multiple of this (1 = no padding).
    precision : jax.lax.PrecisionLike
        Precision of the two matrix products (default: JAX's default for float32).

    Returns
    -------
    real array, shape ``u.shape``, dtype float32 for float32 inputs

    Raises
    ------
    ScanMethodError
        Unknown ``method``, a ``chunk`` below 2 or a non-positive ``pad_multiple``.
    ValueError
        Shapes of ``lambda_bar``, ``b_bar``, ``c``, ``c_backward``, ``d``, ``u`` disagree.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> y = s5_ssm_apply(jnp.array([0.5 + 0j]), jnp.ones((1, 1), jnp.complex64),
    ...                  jnp.ones((1, 1), jnp.complex64), jnp.zeros(1), jnp.ones((3, 1)))
    >>> y[:, 0]
    Array([2. , 3. , 3.5], dtype=float32)
    """
    check_method(method, chunk)
    _padded_size(0, pad_multiple)
    lambda_bar, b_bar, c, d, u = (jnp.asarray(a) for a in (lambda_bar, b_bar, c, d, u))
    c_backward = None if c_backward is None else jnp.asarray(c_backward)
    _check_shapes(lambda_bar, b_bar, c, d, u, c_backward)
    rdtype = jnp.result_type(jnp.real(b_bar).dtype, u.dtype)
    features = s5_state_features(
        lambda_bar, b_bar, u, bidirectional=c_backward is not None, method=method,
        chunk=chunk, pad_multiple=pad_multiple, precision=precision,
    )
    w_out = s5_readout_matrix(c, c_backward, conj_sym=conj_sym, pad_multiple=pad_multiple,
                              dtype=rdtype)
    return apply_readout_matrix(features, w_out, d, u, precision=precision)


def apply_readout_matrix(
    features: jax.Array,
    w_out: jax.Array,
    d: jax.Array,
    u: jax.Array,
    *,
    precision: jax.lax.PrecisionLike = None,
) -> jax.Array:
    """``y = features @ W + D ⊙ u`` (second half of :func:`s5_ssm_apply`).

    ``features`` (L, ..., F) from :func:`s5_state_features`, ``w_out`` (F, H) from
    :func:`s5_readout_matrix`, ``u`` (..., L, H); returns (..., L, H).
    """
    y_d = (d * u).astype(w_out.dtype)
    y = jnp.matmul(features, w_out, precision=precision)
    return jnp.moveaxis(y, 0, -2) + y_d


def _check_shapes(lambda_bar, b_bar, c, d, u, c_backward) -> None:
    if lambda_bar.ndim != 1:
        raise ValueError(f"lambda_bar has shape {lambda_bar.shape}; expected (P,)")
    p = lambda_bar.shape[0]
    if u.ndim < 2:
        raise ValueError(f"u has shape {u.shape}; expected (..., L, H)")
    h = u.shape[-1]
    if b_bar.shape != (p, h):
        raise ValueError(f"b_bar has shape {b_bar.shape}; expected (P, H) = {(p, h)}")
    if c.shape != (h, p):
        raise ValueError(f"c has shape {c.shape}; expected (H, P) = {(h, p)}")
    if c_backward is not None and jnp.shape(c_backward) != (h, p):
        raise ValueError(
            f"c_backward has shape {jnp.shape(c_backward)}; expected (H, P) = {(h, p)}"
        )
    if d.shape != (h,):
        raise ValueError(f"d has shape {d.shape}; expected (H,) = {(h,)}")

