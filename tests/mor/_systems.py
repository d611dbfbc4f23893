"""Hypothesis strategies for small random modal systems used by the mor tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from mor import ModalSystem

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@st.composite
def modal_systems(
    draw,
    *,
    discrete: bool | None = None,
    max_units: int = 6,
    max_channels: int = 3,
    bidirectional: bool = False,
    output_after_update: bool | None = None,
):
    """Stable modal systems with real modes and conjugate pairs, CT or DT."""
    if discrete is None:
        discrete = draw(st.booleans())
    npairs = draw(st.integers(0, max_units))
    nreal = draw(st.integers(0 if npairs else 1, max_units - npairs if max_units > npairs else 1))
    p = draw(st.integers(1, max_channels))
    m = draw(st.integers(1, max_channels))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = npairs + nreal
    if discrete:
        radius = draw(st.floats(0.0, 0.995)) if n == 1 else None
        r = rng.uniform(0.0, 0.995, n) if radius is None else np.full(n, radius)
        theta = rng.uniform(0.05, np.pi - 0.05, n)
        poles = np.where(np.arange(n) < npairs, r * np.exp(1j * theta), r * rng.choice([-1, 1], n))
    else:
        re = -np.exp(rng.uniform(np.log(1e-2), np.log(10.0), n))
        im = np.exp(rng.uniform(np.log(1e-1), np.log(10.0), n))
        poles = np.where(np.arange(n) < npairs, re + 1j * im, re)
    is_pair = np.arange(n) < npairs

    def cplx(shape):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    B = np.where(is_pair[:, None], cplx((n, m)), rng.standard_normal((n, m)))
    C = np.where(is_pair[None, :], cplx((p, n)), rng.standard_normal((p, n)))
    Cb = None
    if bidirectional:
        Cb = np.where(is_pair[None, :], cplx((p, n)), rng.standard_normal((p, n)))
    D = rng.standard_normal((p, m)) if discrete else np.zeros((p, m))
    oau = False
    if discrete:
        oau = draw(st.booleans()) if output_after_update is None else output_after_update
    return ModalSystem(
        poles, B, C, D, 1.0 if discrete else 0, pair=is_pair, C_backward=Cb,
        output_after_update=oau,
    )
