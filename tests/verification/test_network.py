"""The numpy network of verification/network.py: activations and their Lipschitz constants."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification import bounds as B
from verification import network as net


@given(st.floats(-8, 8), st.floats(-8, 8))
def test_gelu_lipschitz_constants(a, b):
    for name in ("gelu", "gelu_tanh"):
        f = net.ACTIVATIONS[name]
        diff = abs(f(np.array(a)) - f(np.array(b)))
        assert diff <= net.LIPSCHITZ[name] * abs(a - b) * (1 + 1e-12) + 1e-15


def test_gelu_constant_is_attained_and_exceeds_one():
    x = math.sqrt(2.0)
    h = 1e-6
    slope = (net.gelu(np.array(x + h)) - net.gelu(np.array(x - h))) / (2 * h)
    assert slope == pytest.approx(B.GELU_LIPSCHITZ, rel=1e-9)
    assert B.GELU_LIPSCHITZ == pytest.approx(net.LIPSCHITZ["gelu"], rel=1e-15)
    grid = np.linspace(1.3, 1.55, 200001)
    slopes = np.gradient(net.gelu_tanh(grid), grid)
    assert slopes.max() == pytest.approx(net.LIPSCHITZ["gelu_tanh"], rel=1e-8)
    assert B.GELU_LIPSCHITZ > 1.128
