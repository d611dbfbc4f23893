"""The error classes of mor/exceptions.py: built-in bases and the old classes kept."""

import numpy as np
import pytest

import mor
from mor import ModalSystem, prune


def stack(sizes=(6, 9, 4), seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, n in enumerate(sizes):
        poles = rng.uniform(0.1, 0.99, n) * np.exp(1j * rng.uniform(0.1, 3.0, n))
        B = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
        C = rng.standard_normal((2, n)) + 1j * rng.standard_normal((2, n))
        layers.append(ModalSystem(poles, B * (i + 1), C, dt=1, name=f"layer {i}"))
    return layers


def test_argument_error_is_a_value_error_and_keeps_the_old_classes():
    assert issubclass(mor.ArgumentError, ValueError)
    assert issubclass(mor.ArgumentError, mor.MORError)
    assert issubclass(mor.ArgumentError, mor.StateDimensionError)  # raised as such before
    assert issubclass(mor.RatioError, mor.ArgumentError)
    assert issubclass(mor.UnknownMethodError, mor.ArgumentError)
    with pytest.raises(mor.ArgumentError):
        prune(stack(), "nope", ratio=0.5)
