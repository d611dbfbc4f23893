"""Random S5-sized discrete-time layers for the benchmarks (deterministic by seed).

Three families of continuous-time poles, so that a speed-up is not a property of one
hand-picked spectrum:

``"hippo"``
    S5's HiPPO-like init: ``Re λ = −1/2``, ``Im λ = πk`` (k = 0 … units − 1).
``"random"``
    ``Re λ = −10^U(−2, 0)``, ``Im λ = U(0, π·units)``: scattered damping and frequencies,
    as after training.
``"lightly_damped"``
    ``Re λ = −10^U(−4, −2)``, ``Im λ = U(0, π·units)``: most modes almost undamped, so
    the discrete poles sit within 1e-7 … 1e-3 of the unit circle and σ_max(G) has many
    sharp resonance peaks (the hard case for level-set methods).

Every family then uses S5's parametrisation: log-uniform steps in [1e-3, 1e-1], ZOH,
Gaussian B and C scaled by 1/sqrt(dimension), a diagonal D, output read after the update.

Also importable by the benchmark scripts only (not part of the package).
"""

from __future__ import annotations

import numpy as np

import mor

FAMILIES = ("hippo", "random", "lightly_damped")


def continuous_poles(family: str, units: int, rng: np.random.Generator) -> np.ndarray:
    """Continuous-time poles of one layer, shape (units,), all with ``Re λ < 0``."""
    if family == "hippo":
        return -0.5 + 1j * np.pi * np.arange(units)
    if family == "random":
        real = -(10.0 ** rng.uniform(-2.0, 0.0, units))
    elif family == "lightly_damped":
        real = -(10.0 ** rng.uniform(-4.0, -2.0, units))
    else:
        raise ValueError(f"unknown pole family {family!r}; use one of {FAMILIES}")
    return real + 1j * rng.uniform(0.0, np.pi * units, units)


def s5_like_layer(
    nstates: int,
    nchannels: int,
    *,
    seed: int = 0,
    family: str = "hippo",
    name: str | None = None,
) -> mor.ModalSystem:
    """A DT layer of ``nstates`` real states (nstates/2 conjugate-pair units), S5-style.

    Parameters
    ----------
    nstates : int
        Real states (twice the number of pair units).
    nchannels : int
        Inputs = outputs (S5's H).
    seed : int
        Seed of the generator: the same (shape, seed, family) gives the same layer.
    family : {"hippo", "random", "lightly_damped"}
        Pole family (module docstring).
    name : str, optional
    """
    rng = np.random.default_rng(seed)
    units = nstates // 2
    lam = continuous_poles(family, units, rng)
    step = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), units))
    B = rng.standard_normal((units, nchannels)) + 1j * rng.standard_normal((units, nchannels))
    C = rng.standard_normal((nchannels, units)) + 1j * rng.standard_normal((nchannels, units))
    return mor.ModalSystem.from_continuous_parameters(
        lam,
        B / np.sqrt(2 * nchannels),
        C / np.sqrt(2 * units),
        np.diag(rng.standard_normal(nchannels)),
        step=step,
        name=name,
    )
