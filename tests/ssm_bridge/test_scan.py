"""The recurrence kernels of ``ssm_bridge.scan`` against the reference scan and float64 numpy.

Tolerances are float32 ones, scaled by the natural magnitude of each state,
``S[k] = Σ_j |λ̄|^{k−j} |bu[j]|`` (float64): every kernel sums the same terms in float32, so
its error is a modest multiple of ``eps32 · S``.  Measured worst cases (L = 1000, |λ̄| within
1e-6 of 1): 5.1e-7·S for the reference associative scan, 2.1e-7·S for the other kernels.
``RTOL = 5e-6`` (≈ 80 eps32) leaves a 10× margin over the reference and is still ~10⁵× smaller
than any real mistake (a missing carry or a wrong power moves states by O(S)).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssm_bridge.scan import (
    SCAN_ALGORITHMS,
    ScanMethodError,
    diagonal_recurrence,
    s5_ssm_apply,
)

RTOL = 5e-6
FAST = [m for m in SCAN_ALGORITHMS if m != "associative"]

# jitted once per (shape, options): one XLA compilation instead of op-by-op dispatch
recur = jax.jit(diagonal_recurrence, static_argnames=("reverse", "method", "chunk"))
fused = jax.jit(s5_ssm_apply, static_argnames=("conj_sym", "method", "chunk", "pad_multiple"))


def recurrence64(lam, bu, *, reverse=False):
    """x[k] = λ̄ x[k−1] + bu[k] in float64/complex128 (the plain loop), and the scale S."""
    lam = np.asarray(lam, np.complex128)
    bu = np.asarray(bu, np.complex128)
    order = range(bu.shape[0] - 1, -1, -1) if reverse else range(bu.shape[0])
    x = np.zeros(bu.shape[1:], np.complex128)
    s = np.zeros(bu.shape[1:])
    xs = np.zeros(bu.shape, np.complex128)
    ss = np.zeros(bu.shape)
    for k in order:
        x = lam * x + bu[k]
        s = np.abs(lam) * s + np.abs(bu[k])
        xs[k] = x
        ss[k] = s
    return xs, ss


def poles(rng, p, *, kind):
    """Discrete poles: ``stiff`` (|λ̄| within 1e-6 of 1 and near 0), ``mixed``, ``real``."""
    if kind == "stiff":
        mags = np.array([1 - 1e-6, 1 - 1e-4, 0.999, 1e-3, 1e-6, 0.0, 0.5, 0.9])
        mags = np.resize(mags, p)
    else:
        mags = rng.uniform(0.0, 0.999, p)
    if kind == "real":
        return (mags * rng.choice([-1.0, 1.0], p)).astype(np.float32)
    phase = rng.uniform(-np.pi, np.pi, p)
    return (mags * np.exp(1j * phase)).astype(np.complex64)


def inputs(rng, length, p, *, complex_=True):
    bu = rng.standard_normal((length, p))
    if complex_:
        bu = bu + 1j * rng.standard_normal((length, p))
        return bu.astype(np.complex64)
    return bu.astype(np.float32)


CASES = [  # (L, P, chunk, pole kind): L below, equal to, not a multiple of, and far above chunk
    (1, 3, 8, "mixed"),
    (7, 5, 8, "stiff"),
    (75, 6, 4, "stiff"),  # 19 chunks > chunk: the carry is itself chunked (three levels)
    (1000, 8, 32, "stiff"),
    (100, 4, 16, "real"),
]


@partial(jax.jit, static_argnames=("chunk",))
def every_method(lam, bu, *, chunk):
    """All kernels, both directions, in one compilation: {(method, reverse): states}."""
    return {(m, r): diagonal_recurrence(lam, bu, reverse=r, method=m, chunk=chunk)
            for m in SCAN_ALGORITHMS for r in (False, True)}


@pytest.mark.parametrize(("length", "p", "chunk", "kind"), CASES)
def test_every_method_equals_reference_and_float64(length, p, chunk, kind):
    rng = np.random.default_rng(length * 31 + p)
    lam = poles(rng, p, kind=kind)
    bu = inputs(rng, length, p, complex_=kind != "real")
    out = every_method(lam, bu, chunk=chunk)
    for reverse in (False, True):
        exact, scale = recurrence64(lam, bu, reverse=reverse)
        ref = np.asarray(out["associative", reverse])
        assert np.all(np.abs(ref - exact) <= RTOL * scale)  # the reference itself
        for method in FAST:
            got = np.asarray(out[method, reverse])
            assert got.shape == bu.shape
            assert got.dtype == ref.dtype, method
            assert np.all(np.abs(got - exact) <= RTOL * scale), (method, reverse)
            assert np.all(np.abs(got - ref) <= 2 * RTOL * scale), (method, reverse)


_HYP_L, _HYP_P, _HYP_CHUNK = 45, 4, 4  # fixed shapes: every example reuses one compilation


@given(
    mags=st.lists(
        st.one_of(st.floats(0, 0.999), st.floats(1 - 1e-3, 1 - 1e-7), st.floats(0, 1e-3)),
        min_size=_HYP_P, max_size=_HYP_P),
    phases=st.lists(st.floats(-np.pi, np.pi), min_size=_HYP_P, max_size=_HYP_P),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_every_method_matches_float64(mags, phases, seed):
    lam = (np.array(mags) * np.exp(1j * np.array(phases))).astype(np.complex64)
    bu = inputs(np.random.default_rng(seed), _HYP_L, _HYP_P)
    exact = {r: recurrence64(lam, bu, reverse=r) for r in (False, True)}
    for (method, reverse), got in every_method(lam, bu, chunk=_HYP_CHUNK).items():
        want, scale = exact[reverse]
        assert np.all(np.abs(np.asarray(got) - want) <= RTOL * scale), (method, reverse)


def test_batched_layout_and_broadcast_poles():
    # bu (L, batch, P) with λ̄ (P,): one recurrence per batch row
    rng = np.random.default_rng(3)
    lam = poles(rng, 5, kind="mixed")
    bu = (rng.standard_normal((20, 3, 5)) + 1j * rng.standard_normal((20, 3, 5))).astype(
        np.complex64)
    ref = np.stack([recurrence64(lam, bu[:, i])[0] for i in range(3)], axis=1)
    for method in SCAN_ALGORITHMS:
        got = np.asarray(recur(lam, bu, method=method, chunk=4))
        np.testing.assert_allclose(got, ref, rtol=0, atol=RTOL * np.max(np.abs(ref)))


def test_auto_and_default_are_known_methods():
    lam = np.array([0.5], np.float32)
    bu = np.ones((3, 1), np.float32)
    want = np.array([1.0, 1.5, 1.75])
    np.testing.assert_allclose(diagonal_recurrence(lam, bu)[:, 0], want, rtol=1e-7)
    np.testing.assert_allclose(diagonal_recurrence(lam, bu, method="auto")[:, 0], want,
                               rtol=1e-7)


def test_empty_sequence():
    lam = np.array([0.5 + 0.1j], np.complex64)
    for method in SCAN_ALGORITHMS:
        out = diagonal_recurrence(lam, np.zeros((0, 1), np.complex64), method=method)
        assert out.shape == (0, 1)


def test_gradients_match_reference():
    # the chunked kernel (inner scan, chunked carry) differentiates like the plain scan
    rng = np.random.default_rng(4)
    lam = jnp.asarray(poles(rng, 3, kind="mixed"))
    bu = jnp.asarray(inputs(rng, 20, 3))

    def loss(lam, bu, m):
        x = diagonal_recurrence(lam, bu, method=m, chunk=4)
        return jnp.sum(jnp.abs(x) ** 2)

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)
    g_ref = grad(lam, bu, "sequential")
    g = grad(lam, bu, "chunked")
    for a, b in zip(g, g_ref, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4,
                                   atol=1e-4 * float(jnp.max(jnp.abs(b))))


def test_bad_method_and_chunk_raise_value_errors():
    lam = np.array([0.5], np.float32)
    bu = np.ones((3, 1), np.float32)
    with pytest.raises(ScanMethodError, match="unknown scan method 'fft'"):
        diagonal_recurrence(lam, bu, method="fft")
    for chunk in (0, 1, 2.0, True):  # chunk 1 would never shorten the sequence
        with pytest.raises(ValueError, match="chunk must be an integer ≥ 2"):
            diagonal_recurrence(lam, bu, method="chunked", chunk=chunk)
    assert issubclass(ScanMethodError, ValueError)


# ----------------------------------------------------------------------------------------
# the fused S5 SSM
# ----------------------------------------------------------------------------------------


def s5_ssm64(lam, b, c, d, u, *, c_backward=None, conj_sym=True):
    """y = s·Re(C x_f + C_b x_b) + D u, by the plain float64 loop, one sequence (L, H)."""
    bu = np.asarray(u, np.float64) @ np.asarray(b, np.complex128).T  # (L, P)
    xf, _ = recurrence64(lam, bu)
    y = xf @ np.asarray(c, np.complex128).T
    if c_backward is not None:
        xb, _ = recurrence64(lam, bu, reverse=True)
        y = y + xb @ np.asarray(c_backward, np.complex128).T
    return (2.0 if conj_sym else 1.0) * y.real + np.asarray(d, np.float64) * u


def random_layer(rng, p, h):
    lam = (rng.uniform(0.3, 0.999, p) * np.exp(1j * rng.uniform(-np.pi, np.pi, p)))
    lam[: min(2, p)] = np.array([1 - 1e-5, 1e-4])[: min(2, p)]  # slow and fast modes

    def cplx(*shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)

    return (lam.astype(np.complex64), cplx(p, h) / np.sqrt(h), cplx(h, p) / np.sqrt(p),
            rng.standard_normal(h).astype(np.float32), cplx(h, p) / np.sqrt(p))


@partial(jax.jit, static_argnames=("conj_sym",))
def fused_every_method(lam, b, c, d, u, cb, *, conj_sym):
    return {m: s5_ssm_apply(lam, b, c, d, u, c_backward=cb, conj_sym=conj_sym, method=m, chunk=16)
            for m in SCAN_ALGORITHMS}


@pytest.mark.parametrize(("bidirectional", "conj_sym", "p"), [
    (True, True, 13),   # padded to 16
    (False, True, 8),   # no padding needed
    (True, False, 1),
])
def test_fused_ssm_equals_float64_loop(bidirectional, conj_sym, p):
    rng = np.random.default_rng(p)
    h, length, batch = 6, 70, 2  # L = 70: not a multiple of the chunk (16)
    lam, b, c, d, cb = random_layer(rng, p, h)
    cb = cb if bidirectional else None
    u = rng.standard_normal((batch, length, h)).astype(np.float32)
    want = np.stack([s5_ssm64(lam, b, c, d, u[i], c_backward=cb, conj_sym=conj_sym)
                     for i in range(batch)])
    # scale: the output magnitude the float32 products and sums work at
    tol = 1e-5 * (np.max(np.abs(want)) + 1.0) * np.sqrt(p)
    for method, y in fused_every_method(lam, b, c, d, u, cb, conj_sym=conj_sym).items():
        y = np.asarray(y)
        assert y.shape == u.shape
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, want, rtol=0, atol=tol, err_msg=method)


def test_fused_ssm_unbatched_and_padding_are_inert():
    rng = np.random.default_rng(9)
    lam, b, c, d, cb = random_layer(rng, 7, 5)
    u = rng.standard_normal((33, 5)).astype(np.float32)
    y1 = np.asarray(fused(lam, b, c, d, u, c_backward=cb, pad_multiple=1))
    y16 = np.asarray(fused(lam, b, c, d, u, c_backward=cb, pad_multiple=16))
    yb = np.asarray(fused(lam, b, c, d, u[None], c_backward=cb))[0]
    want = s5_ssm64(lam, b, c, d, u, c_backward=cb)
    tol = 1e-5 * (np.max(np.abs(want)) + 1.0) * np.sqrt(7)
    for y in (y1, y16, yb):
        np.testing.assert_allclose(y, want, rtol=0, atol=tol)


def test_fused_ssm_without_states_is_feedthrough():
    u = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    d = np.array([1.0, -2.0, 0.5], np.float32)
    y = s5_ssm_apply(np.zeros(0, np.complex64), np.zeros((0, 3), np.complex64),
                     np.zeros((3, 0), np.complex64), d, u)
    np.testing.assert_array_equal(np.asarray(y), d * u)


def test_fused_ssm_shape_errors_name_the_argument():
    rng = np.random.default_rng(1)
    lam, b, c, d, cb = random_layer(rng, 4, 3)
    u = np.ones((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"b_bar has shape \(4, 2\); expected \(P, H\)"):
        s5_ssm_apply(lam, b[:, :2], c, d, u)
    with pytest.raises(ValueError, match=r"c has shape \(3, 3\)"):
        s5_ssm_apply(lam, b, c[:, :3], d, u)
    with pytest.raises(ValueError, match="c_backward has shape"):
        s5_ssm_apply(lam, b, c, d, u, c_backward=cb[:2])
    with pytest.raises(ValueError, match=r"d has shape \(2,\)"):
        s5_ssm_apply(lam, b, c, d[:2], u)
    with pytest.raises(ScanMethodError, match="pad_multiple"):
        s5_ssm_apply(lam, b, c, d, u, pad_multiple=0)
