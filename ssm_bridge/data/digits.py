"""Sequential digits: scikit-learn's bundled 8×8 handwritten digits read pixel by pixel.

The images are the UCI "Optical Recognition of Handwritten Digits" test set (1,797
images, 10 classes) that scikit-learn ships inside its wheel as
``sklearn/datasets/data/digits.csv.gz``; :func:`sklearn.datasets.load_digits` reads that
file and never downloads.

Each image (pixel values 0–16) is scaled to [0, 1] by dividing by 16 and read in raster
order (row by row, left to right) as a sequence of ``size²`` steps with one input channel —
the sequential-MNIST protocol on a smaller image. ``size=32`` upsamples each image to
32×32 by bilinear interpolation (``scipy.ndimage.zoom`` with ``order=1``, corner pixels
aligned), a sequence of 1,024 steps: the length of LRA Image and Pathfinder. Linear
interpolation of values in [0, 1] stays in [0, 1].

The train/test split is a random permutation of the 1,797 images drawn from
``numpy.random.default_rng(seed)``: the first ``n_train`` indices are the training set, the
next ``n_test`` the test set (disjoint). Defaults: 360 test images (20 %), the rest for
training.
"""

from __future__ import annotations

import numpy as np

from ._base import DataError, TaskData, check_int, check_seed, split_task

__all__ = ["N_IMAGES", "load_digits"]

#: Number of images in scikit-learn's bundled digits set.
N_IMAGES = 1797
_DEFAULT_TEST = 360


def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """Images (1797, 8, 8) float64 in [0, 16] and labels (1797,), from the bundled file."""
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    if images.shape != (N_IMAGES, 8, 8):  # pragma: no cover - guards a changed sklearn
        raise DataError(f"scikit-learn digits have shape {images.shape}; expected (1797, 8, 8)")
    return images, labels


def load_digits(
    *, seed: int = 0, n_train: int | None = None, n_test: int | None = None, size: int = 8
) -> TaskData:
    """Sequential digits (``size=8``: length 64; ``size=32``: length 1,024).

    ``seed``, ``n_train`` and ``n_test`` are as in :func:`ssm_bridge.data.load_task`: the
    seed draws the train/test permutation of the 1,797 images, ``n_train + n_test ≤ 1797``,
    and by default ``n_test = 360`` and ``n_train = 1797 − n_test``.

    Parameters
    ----------
    size : int
        Image side after upsampling (≥ 8; 8 keeps the original images).

    Returns
    -------
    TaskData
        ``x`` float32 of shape ``(n, size², 1)`` in [0, 1], ``y`` int32 in [0, 10).

    Raises
    ------
    DataError
        For a negative seed, a split larger than the 1,797 images, or ``size < 8``.
    """
    seed = check_seed(seed)
    size = check_int(size, "size", minimum=8)
    n_test = _DEFAULT_TEST if n_test is None else check_int(n_test, "n_test", minimum=1)
    if n_test >= N_IMAGES:
        raise DataError(f"n_test={n_test} leaves no training images; the digits set has 1797")
    n_train = N_IMAGES - n_test if n_train is None else check_int(n_train, "n_train", minimum=1)
    if n_train + n_test > N_IMAGES:
        raise DataError(
            f"n_train + n_test = {n_train} + {n_test} = {n_train + n_test} exceeds the "
            f"{N_IMAGES} images of the digits set; lower n_train or n_test"
        )

    images, labels = _raw_digits()
    images = images / 16.0
    if size != 8:
        from scipy.ndimage import zoom

        images = zoom(images, (1.0, size / 8.0, size / 8.0), order=1, mode="nearest")
        if images.shape[1:] != (size, size):  # pragma: no cover - zoom rounding guard
            raise DataError(f"upsampling to {size}×{size} gave {images.shape[1:]}")
    seq = images.reshape(N_IMAGES, size * size, 1).astype(np.float32)

    perm = np.random.default_rng(seed).permutation(N_IMAGES)
    train, test = perm[:n_train], perm[n_train : n_train + n_test]
    seq_len = size * size
    # ``load_task(name, seed=seed, **options)`` regenerates these arrays.
    name, options = ("digits32", {}) if size == 32 else ("digits", {"size": size})
    how = "" if size == 8 else f", upsampled bilinearly to {size}×{size}"
    return split_task(
        name, seq, labels, train, test, seed=seed,
        description=(
            f"scikit-learn 8×8 digits{how}, read pixel by pixel (length {seq_len}, "
            "1 channel, values in [0, 1]), 10 classes"
        ),
        options={"n_train": n_train, "n_test": n_test, **options},
    )
