"""The bundled digits task and its 32×32 upsampling (ssm_bridge/data/digits.py)."""


from __future__ import annotations

import numpy as np

from ssm_bridge.data import load_task

from ._small import _rows

# --- digits -------------------------------------------------------------------------------


def test_digits_split_partitions_the_bundled_images():
    from sklearn.datasets import load_digits as sk_load

    d = load_task("digits", seed=5)
    assert (d.n_train, d.n_test) == (1437, 360)
    full = sk_load().data.astype(np.float32) / np.float32(16.0)
    together = np.concatenate([d.x_train, d.x_test])[..., 0]
    # the same multiset of rows: disjoint and covering
    assert sorted(_rows(together)) == sorted(_rows(full.astype(np.float32)))
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0


def test_digits32_is_the_same_split_upsampled_with_aligned_corners():
    d8, d32 = load_task("digits", seed=2), load_task("digits32", seed=2)
    assert d32.seq_len == 1024 and d32.x_train.shape == (1437, 1024, 1)
    np.testing.assert_array_equal(d8.y_train, d32.y_train)
    img8 = d8.x_test[..., 0].reshape(-1, 8, 8).astype(np.float64)
    img32 = d32.x_test[..., 0].reshape(-1, 32, 32)
    # bilinear with corners aligned: output pixel i samples input coordinate i·7/31, and the
    # interpolation is separable: img32 = R img8 Rᵀ with R the 32×8 linear-interpolation matrix
    coords = np.arange(32) * 7.0 / 31.0
    r = np.stack([np.interp(coords, np.arange(8), col) for col in np.eye(8)], axis=1)
    np.testing.assert_allclose(img32, r @ img8 @ r.T, atol=1e-6)
    np.testing.assert_array_equal(img32[:, ::31, ::31], img8[:, ::7, ::7].astype(np.float32))
    assert img32.min() >= 0.0 and img32.max() <= 1.0
