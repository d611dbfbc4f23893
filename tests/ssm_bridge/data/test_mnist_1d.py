"""The MNIST-1D task (ssm_bridge/data/mnist_1d.py): default split sizes, no shared rows."""


from __future__ import annotations

import numpy as np

from ssm_bridge.data import load_task

from ._small import _rows

# --- MNIST-1D -----------------------------------------------------------------------------


def test_mnist1d_default_has_a_test_set_of_5000_and_no_shared_rows():
    d = load_task("mnist1d", seed=0)
    assert d.n_test >= 5000 and d.n_train >= 4000
    assert d.seq_len == 40 and d.d_input == 1
    assert not set(_rows(d.x_train)) & set(_rows(d.x_test))
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() > 400  # roughly balanced: 500 per class expected
    # standardised over the whole generated set
    everything = np.concatenate([d.x_train, d.x_test])
    assert abs(float(everything.mean())) < 1e-3 and abs(float(everything.std()) - 1.0) < 1e-3
