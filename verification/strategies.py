"""Public hypothesis strategies for stable modal systems and the plans that reduce them.

Import them in your own test suite the way you would ``hypothesis.extra.numpy``::

    from hypothesis import given
    from verification import strategies as mst

    @given(mst.modal_systems(time_domain="dt"), st.data())
    def test_my_bound(sys, data):
        plan = data.draw(mst.keep_plans(sys))
        ...

Every strategy validates its arguments when drawn and raises
:class:`hypothesis.errors.InvalidArgument` on an impossible combination.

What is generated, and what is deliberately excluded
-----------------------------------------------------
* Poles are strictly stable with a distance to the stability boundary of at least
  ``min_gap``: DT ``1 − |λ̄| ≥ min_gap`` (default 1e-3), CT ``|Re λ| ≥ min_gap`` with
  ``|λ| ≤ max_modulus``.  Poles closer to the boundary make every norm ~1/gap and the
  exact H∞ computation ill-conditioned; such systems test floating point, not the bounds.
* B and C entries are 0 or of magnitude in [1e-3, ``max_gain``] (default 2); complex for
  pair units.  Tiny nonzero entries are excluded: the simulated energies the claims compare
  (sums of squares of outputs) would underflow.
* Units: real modes, conjugate pairs (stored once, S5's ``conj_sym``) or both; pair
  angles cover the whole upper half-plane, including near-real pairs, except imaginary
  parts below 1e-90 of the modulus, which are drawn as exactly 0: the pair's two modal
  terms can then cancel beyond what float64 resolves (mor.hinf_norm raises; found by a
  10,000-example run with a subnormal imaginary part).
* Examples shrink toward: one unit, one input, one output, real modes, poles at the
  centre of the stable region (DT λ̄ = 0; CT λ = −1), gains 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mor.plan import KeepPlan
from mor.systems import ModalSystem

__all__ = [
    "input_signals",
    "keep_plans",
    "layer_stacks",
    "modal_systems",
    "pole_sets",
    "seeded_modal_systems",
]

_TIME_DOMAINS = (None, "ct", "dt")


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidArgument(message)


def _check_range(name: str, lo, hi, *, minimum: int = 0) -> None:
    _check(isinstance(lo, int) and lo >= minimum, f"min_{name}={lo!r} must be an int ≥ {minimum}")
    _check(isinstance(hi, int) and hi >= lo, f"max_{name}={hi!r} must be an int ≥ min_{name}={lo}")


_MIN_GAIN = 1e-3


def _gains(max_gain: float) -> st.SearchStrategy[float]:
    # 0, or a magnitude in [1e-3, max_gain]: tiny nonzero gains (1e-113) make every norm
    # underflow when squared, which tests floating point rather than the bounds.
    lo = min(_MIN_GAIN, max_gain)
    return st.one_of(st.just(0.0), st.floats(lo, max_gain), st.floats(-max_gain, -lo))


@st.composite
def pole_sets(
    draw,
    pair: Sequence[bool],
    *,
    time_domain: str = "dt",
    min_gap: float = 1e-3,
    max_modulus: float = 10.0,
) -> np.ndarray:
    """Strictly stable poles, one per unit; pair units get an angle in [0, π].

    DT: radius ``1 − gap`` with gap in ``[min_gap, 1]``; real units may be negative.
    CT: ``Re λ ∈ [−max_modulus, −min_gap]``, ``Im λ ∈ [0, max_modulus]`` for pairs.
    Shrinks toward DT λ̄ = 0 and CT λ = −1.
    """
    _check(time_domain in ("ct", "dt"), f"time_domain={time_domain!r}; expected 'ct' or 'dt'")
    _check(0 < min_gap < 1, f"min_gap={min_gap!r}; expected 0 < min_gap < 1")
    _check(max_modulus > min_gap, f"max_modulus={max_modulus!r} must exceed min_gap")
    poles = np.empty(len(pair), dtype=np.complex128)
    for i, is_pair in enumerate(pair):
        if time_domain == "dt":
            gap = draw(st.floats(min_gap, 1.0))
            radius = 1.0 - gap
            if is_pair:
                angle = _not_nearly_zero(draw(st.floats(0.0, math.pi)))
                poles[i] = radius * complex(math.cos(angle), math.sin(angle))
            else:
                poles[i] = radius * draw(st.sampled_from([1.0, -1.0]))
        else:
            re = -draw(st.one_of(st.just(1.0), st.floats(min_gap, max_modulus)))
            im = _not_nearly_zero(draw(st.floats(0.0, max_modulus)), abs(re)) if is_pair else 0.0
            poles[i] = complex(re, im)
    return poles


_NEARLY_ZERO = 1e-90


def _not_nearly_zero(value: float, scale: float = 1.0) -> float:
    """``value``, or 0 when it is below 1e-90·scale (see the module docstring)."""
    return 0.0 if abs(value) < _NEARLY_ZERO * scale else value


def _complex_array(draw, shape, max_gain, complex_rows) -> np.ndarray:
    real = np.array(draw(st.lists(_gains(max_gain), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape)))), dtype=np.float64)
    out = real.reshape(shape).astype(np.complex128)
    if np.any(complex_rows):
        imag = np.array(draw(st.lists(_gains(max_gain), min_size=int(np.prod(shape)),
                                      max_size=int(np.prod(shape)))), dtype=np.float64)
        out = out + 1j * imag.reshape(shape) * complex_rows
    return out


@st.composite
def modal_systems(
    draw,
    *,
    min_units: int = 1,
    max_units: int = 6,
    min_inputs: int = 1,
    max_inputs: int = 3,
    min_outputs: int = 1,
    max_outputs: int = 3,
    square: bool = False,
    time_domain: str | None = None,
    pairs: bool | None = None,
    bidirectional: bool | None = False,
    output_after_update: bool | None = None,
    with_feedthrough: bool = False,
    min_gap: float = 1e-3,
    max_gain: float = 2.0,
) -> ModalSystem:
    """Stable :class:`mor.ModalSystem` instances (SISO/MIMO, CT/DT, pairs and real modes).

    Parameters
    ----------
    min_units, max_units : int
        Number of units (a conjugate pair is one unit).
    min_inputs, max_inputs, min_outputs, max_outputs : int
        Channel counts; ``square=True`` draws ninputs = noutputs.
    time_domain : {None, "ct", "dt"}
        None draws either; DT systems have ``dt`` 1 or a drawn positive sampling time.
    pairs : bool or None
        True: every unit a conjugate pair (S5); False: every unit real; None: mixed.
    bidirectional : bool or None
        True: a backward C is drawn (DT only); None: either (DT only).
    output_after_update : bool or None
        DT only: the S5 recurrence; None draws either.
    with_feedthrough : bool
        Draw a nonzero D (else D = 0).
    min_gap : float
        Least distance to the stability boundary (see the module docstring).
    max_gain : float
        Largest magnitude of a B or C entry (real and imaginary parts).

    Shrinks toward one real DT/CT unit with λ̄ = 0 (λ = −1), one channel, zero gains.
    """
    _check_range("units", min_units, max_units, minimum=1)
    _check_range("inputs", min_inputs, max_inputs, minimum=1)
    _check_range("outputs", min_outputs, max_outputs, minimum=1)
    _check(time_domain in _TIME_DOMAINS, f"time_domain={time_domain!r}; expected None, 'ct', 'dt'")
    _check(0 < min_gap < 1, f"min_gap={min_gap!r}; expected 0 < min_gap < 1")
    _check(max_gain > 0 and math.isfinite(max_gain), f"max_gain={max_gain!r} must be positive")
    if bidirectional:
        _check(time_domain != "ct", "bidirectional systems are discrete time here; "
               "use time_domain='dt' or None")
    if output_after_update:
        _check(time_domain != "ct", "output_after_update applies to discrete time only")
    if square:
        lo, hi = max(min_inputs, min_outputs), min(max_inputs, max_outputs)
        _check(lo <= hi, "square=True needs overlapping input and output ranges")
    domain = time_domain or draw(st.sampled_from(["dt", "ct"]))
    if domain == "ct" and (bidirectional or output_after_update):
        domain = "dt"
    n = draw(st.integers(min_units, max_units))
    if square:
        m = p = draw(st.integers(max(min_inputs, min_outputs), min(max_inputs, max_outputs)))
    else:
        m = draw(st.integers(min_inputs, max_inputs))
        p = draw(st.integers(min_outputs, max_outputs))
    if pairs is None:
        pair = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    else:
        pair = np.full(n, bool(pairs))
    poles = draw(pole_sets(tuple(pair), time_domain=domain, min_gap=min_gap))
    B = _complex_array(draw, (n, m), max_gain, pair[:, None])
    C = _complex_array(draw, (p, n), max_gain, pair[None, :])
    Cb = None
    is_bidir = bidirectional if bidirectional is not None else (
        domain == "dt" and draw(st.booleans()))
    if is_bidir and domain == "dt":
        Cb = _complex_array(draw, (p, n), max_gain, pair[None, :])
    D = None
    if with_feedthrough:
        D = np.array(draw(st.lists(_gains(max_gain), min_size=p * m, max_size=p * m))).reshape(p, m)
    dt: float | bool = 0
    oau = False
    if domain == "dt":
        dt = draw(st.sampled_from([1.0, True, 0.1]))
        oau = output_after_update if output_after_update is not None else draw(st.booleans())
    return ModalSystem(poles, B, C, D, dt, pair=pair, C_backward=Cb, output_after_update=oau)


@st.composite
def layer_stacks(draw, *, min_layers: int = 1, max_layers: int = 3, min_channels: int = 1,
                 max_channels: int = 3, **system_kwargs) -> list[ModalSystem]:
    """Stacks of square DT layers with a common channel count H (a deep SSM's SSM parts).

    ``system_kwargs`` are passed to :func:`modal_systems` (not the channel counts or the
    time domain).  Shrinks toward one layer with one channel.
    """
    _check_range("layers", min_layers, max_layers, minimum=1)
    _check_range("channels", min_channels, max_channels, minimum=1)
    for key in ("min_inputs", "max_inputs", "min_outputs", "max_outputs", "square", "time_domain"):
        _check(key not in system_kwargs, f"layer_stacks sets {key} itself")
    h = draw(st.integers(min_channels, max_channels))
    nlayers = draw(st.integers(min_layers, max_layers))
    return [
        draw(modal_systems(min_inputs=h, max_inputs=h, min_outputs=h, max_outputs=h,
                           time_domain="dt", **system_kwargs))
        for _ in range(nlayers)
    ]


@st.composite
def keep_plans(
    draw,
    systems: ModalSystem | Sequence[ModalSystem],
    *,
    min_pruned: int = 0,
    max_pruned: int | None = None,
) -> KeepPlan:
    """KeepPlans that fit ``systems``: per layer a non-empty kept subset of units.

    Parameters
    ----------
    systems : ModalSystem or sequence of ModalSystem
    min_pruned, max_pruned : int
        Number of pruned units per layer (clipped to nunits − 1, since a plan keeps at
        least one unit per layer).

    The plan's method is ``"hypothesis"``.  Shrinks toward pruning the last units first
    and toward the fewest pruned units.
    """
    if isinstance(systems, ModalSystem):
        systems = [systems]
    systems = list(systems)
    _check(len(systems) > 0 and all(isinstance(s, ModalSystem) for s in systems),
           "keep_plans needs a ModalSystem or a non-empty sequence of them")
    _check(isinstance(min_pruned, int) and min_pruned >= 0, f"min_pruned={min_pruned!r}")
    _check(max_pruned is None or (isinstance(max_pruned, int) and max_pruned >= min_pruned),
           f"max_pruned={max_pruned!r} must be an int ≥ min_pruned={min_pruned}")
    keep = []
    for sys in systems:
        n = sys.nunits
        _check(min_pruned <= n - 1,
               f"min_pruned={min_pruned} but a layer has only {n} unit(s) and keeps one")
        hi = n - 1 if max_pruned is None else min(max_pruned, n - 1)
        k = draw(st.integers(min_pruned, hi))
        perm = draw(st.permutations(list(range(n - 1, -1, -1))))
        pruned = set(perm[:k])
        keep.append(tuple(i for i in range(n) if i not in pruned))
    return KeepPlan("hypothesis", tuple(keep), tuple(s.nunits for s in systems))


@st.composite
def input_signals(
    draw,
    ninputs: int,
    *,
    min_length: int = 1,
    max_length: int = 64,
    max_amplitude: float = 2.0,
) -> np.ndarray:
    """Finite real input sequences, shape (length, ninputs): a sinusoid plus a perturbation.

    ``u[k] = Re(a e^{jωk}) + e_k`` with a complex amplitude vector a, a frequency ω ∈ [0, π]
    (0 included: constant inputs) and small drawn perturbations e, so that worst-case
    inputs (a long tone at a system's peak frequency) are reachable.  Shrinks toward a
    constant zero input of length one.
    """
    _check(isinstance(ninputs, int) and ninputs >= 1, f"ninputs={ninputs!r} must be ≥ 1")
    _check_range("length", min_length, max_length, minimum=1)
    _check(max_amplitude > 0, f"max_amplitude={max_amplitude!r} must be positive")
    length = draw(st.integers(min_length, max_length))
    amp = _complex_array(draw, (ninputs,), max_amplitude, np.ones(ninputs, dtype=bool))
    omega = draw(st.one_of(st.just(0.0), st.floats(0.0, math.pi)))
    k = np.arange(length)
    u = np.real(amp[None, :] * np.exp(1j * omega * k)[:, None])
    noise = draw(st.lists(_gains(max_amplitude / 4), min_size=0, max_size=length * ninputs))
    flat = u.reshape(-1)
    flat[: len(noise)] += np.asarray(noise, dtype=np.float64)
    return flat.reshape(length, ninputs)


@st.composite
def seeded_modal_systems(
    draw,
    *,
    time_domain: str | None = None,
    max_units: int = 6,
    max_channels: int = 3,
    bidirectional: bool = False,
    output_after_update: bool | None = None,
) -> ModalSystem:
    """Well-conditioned stable modal systems: Gaussian gains and poles from one drawn seed.

    Where :func:`modal_systems` reaches the hard corners (poles ``min_gap`` from the stability
    boundary, zero gains, repeated poles, any sampling time), this strategy draws the
    matrices with numpy from a drawn seed, for accuracy checks that need a well-conditioned
    system and a unit sampling time: DT poles of modulus below 0.995 with pair angles in
    [0.05, π − 0.05], CT poles with ``−Re λ`` in [1e-2, 10] and pair imaginary parts in
    [0.1, 10] (log-uniform), standard normal B and C (complex for pairs), DT systems with
    ``dt = 1`` and a standard normal D, CT systems with D = 0.  The numpy draws do not shrink:
    a failing example shrinks only in its sizes and flags.

    Parameters
    ----------
    time_domain : {None, "ct", "dt"}
        None draws either.
    max_units : int
        Largest number of units (real modes plus conjugate pairs); at least one is drawn.
    max_channels : int
        Largest number of inputs and of outputs (each drawn in 1..max_channels).
    bidirectional : bool
        True: draw a backward C as well (DT only).
    output_after_update : bool or None
        DT only: the S5 recurrence; None draws either.
    """
    _check(time_domain in _TIME_DOMAINS, f"time_domain={time_domain!r}; expected None, 'ct', 'dt'")
    _check(isinstance(max_units, int) and max_units >= 1, f"max_units={max_units!r} must be ≥ 1")
    _check(isinstance(max_channels, int) and max_channels >= 1,
           f"max_channels={max_channels!r} must be ≥ 1")
    _check(not bidirectional or time_domain == "dt", "bidirectional needs time_domain='dt'")
    _check(not output_after_update or time_domain == "dt",
           "output_after_update=True needs time_domain='dt'")
    discrete = draw(st.booleans()) if time_domain is None else time_domain == "dt"
    npairs = draw(st.integers(0, max_units))
    nreal = draw(st.integers(0 if npairs else 1, max_units - npairs))
    p = draw(st.integers(1, max_channels))
    m = draw(st.integers(1, max_channels))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = npairs + nreal
    is_pair = np.arange(n) < npairs
    poles = _seeded_poles(draw, rng, is_pair, discrete)
    B = _seeded_gains(rng, (n, m), is_pair[:, None])
    C = _seeded_gains(rng, (p, n), is_pair[None, :])
    Cb = _seeded_gains(rng, (p, n), is_pair[None, :]) if bidirectional else None
    D = rng.standard_normal((p, m)) if discrete else np.zeros((p, m))
    oau = False
    if discrete:
        oau = draw(st.booleans()) if output_after_update is None else output_after_update
    return ModalSystem(poles, B, C, D, 1.0 if discrete else 0, pair=is_pair, C_backward=Cb,
                       output_after_update=oau)


def _seeded_poles(draw, rng: np.random.Generator, is_pair: np.ndarray,
                  discrete: bool) -> np.ndarray:
    """Poles for :func:`seeded_modal_systems` (a lone DT unit's radius is a shrinking draw)."""
    n = is_pair.size
    if discrete:
        radius = draw(st.floats(0.0, 0.995)) if n == 1 else None
        r = rng.uniform(0.0, 0.995, n) if radius is None else np.full(n, radius)
        theta = rng.uniform(0.05, np.pi - 0.05, n)
        return np.where(is_pair, r * np.exp(1j * theta), r * rng.choice([-1, 1], n))
    re = -np.exp(rng.uniform(np.log(1e-2), np.log(10.0), n))
    im = np.exp(rng.uniform(np.log(1e-1), np.log(10.0), n))
    return np.where(is_pair, re + 1j * im, re)


def _seeded_gains(rng: np.random.Generator, shape: tuple[int, int],
                  complex_entries: np.ndarray) -> np.ndarray:
    """Standard normal gains, complex where ``complex_entries`` (pair units)."""
    complex_draw = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return np.where(complex_entries, complex_draw, rng.standard_normal(shape))
