"""Random S5-sized discrete-time layers for the benchmarks (deterministic by seed)."""

from __future__ import annotations

import numpy as np

import mor


def s5_like_layer(
    nstates: int, nchannels: int, *, seed: int = 0, name: str | None = None
) -> mor.ModalSystem:
    """A DT layer of ``nstates`` real states (nstates/2 conjugate-pair units), S5-style.

    Continuous-time poles as S5's HiPPO-like init (Re λ = −1/2, Im λ = πk), log-uniform
    steps in [1e-3, 1e-1], ZOH, Gaussian B and C scaled by 1/sqrt(dimension), output read
    after the update as S5 does.
    """
    rng = np.random.default_rng(seed)
    units = nstates // 2
    lam = -0.5 + 1j * np.pi * np.arange(units)
    step = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), units))
    B = (rng.standard_normal((units, nchannels)) + 1j * rng.standard_normal((units, nchannels)))
    C = (rng.standard_normal((nchannels, units)) + 1j * rng.standard_normal((nchannels, units)))
    return mor.ModalSystem.from_continuous_parameters(
        lam,
        B / np.sqrt(2 * nchannels),
        C / np.sqrt(2 * units),
        np.diag(rng.standard_normal(nchannels)),
        step=step,
        name=name,
    )
