"""Fast modal H∞ norm against SLICOT AB13DD, on several pole families and seeds, in one run.

Run: ``.venv/bin/python benchmarks/bench_hinf.py`` (``--quick``: the small shape, one seed).

For every shape (real states × channels), pole family (``benchmarks/_layers.py``) and seed,
three things are timed on the same layer, with one BLAS thread for all of them, by CPU time
(``--clock cpu``, the default: all three are single-threaded, so the load of a shared machine
does not enter; ``--clock wall`` for elapsed time):

- ``mor.hinf_norm(layer)`` (modal method, tol 1e-10), median of ``--repeats`` calls;
- SLICOT AB13DD (``slycot.ab13dd``, tol 1e-10) on the layer's real state-space matrices,
  once (it is the slow side, seconds to a minute);
- one ``np.linalg.eigvals`` of a random 2n × 2n matrix, median of ``--repeats``: the cost of
  one dense eigen-solve of the Hamiltonian's size, the floor of a level-set method that
  solves it with LAPACK.

Printed: the machine load before and after, then a Markdown table per (shape, family) with the
median over seeds and the [min – max] spread of the speed-up and of modal / floor, the largest
relative difference to AB13DD, and the modal method's Hamiltonian solves and frequency
evaluations (median over seeds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _env

SHAPES = ((256, 128), (384, 512))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(256, 128) only, one seed")
    parser.add_argument("--shapes", default=None,
                        help="comma-separated n×m shapes, e.g. 256x128,384x512")
    parser.add_argument("--families", default="hippo,random,lightly_damped")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per (shape, family)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls of the fast sides")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--clock", choices=list(CLOCK), default="cpu",
                        help="cpu: process time (single-threaded sides: robust to the load of "
                             "a shared machine; default); wall: elapsed time")
    parser.add_argument("--before", default=None, metavar="FILE",
                        help="also time the modal_hinf of FILE (e.g. an older copy of "
                             "mor/_hinf_modal.py) on the same layers, in the same run")
    return parser.parse_args()


def load_before(path: str):
    """``modal_hinf`` of an older copy of mor/_hinf_modal.py (for before/after figures)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_hinf_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.modal_hinf


CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCK["cpu"]


def timed(fn, repeats: int) -> tuple[float, object]:
    """(median seconds, last value) of ``repeats`` calls, by the chosen clock."""
    times, value = [], None
    for _ in range(repeats):
        start = clock()
        value = fn()
        times.append(clock() - start)
    return statistics.median(times), value


def spread(values: list[float], fmt: str) -> str:
    """'median [min – max]' of the values."""
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{med:{fmt}} [{min(values):{fmt}} – {max(values):{fmt}}]"


def measure(layer, repeats: int, rng, before=None) -> dict:
    """Time the three sides on one layer (see the module docstring)."""
    import numpy as np
    from slycot import ab13dd

    import mor
    from mor import _hinf_modal

    n2 = 2 * layer.nstates
    A, B, C, D = layer.real_matrices()
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    H = rng.standard_normal((n2, n2))
    t_eig, _ = timed(lambda: np.linalg.eigvals(H), repeats)
    t_modal, v_modal = timed(lambda: mor.hinf_norm(layer, tol=1e-10), repeats)
    start = clock()
    v_ref = float(ab13dd("D", "I", "N", "D", n, m, p, A, np.eye(n), B, C, D, 1e-10)[0])
    t_ref = clock() - start
    stats = getattr(_hinf_modal, "modal_hinf_stats", None)
    solves = evaluations = float("nan")
    if stats is not None:
        info = stats(layer, tol=1e-10)
        solves, evaluations = info.solves, info.evaluations
    out = dict(modal=t_modal, ref=t_ref, eig=t_eig, rel=abs(v_modal - v_ref) / v_ref,
               speedup=t_ref / t_modal, floor=t_modal / t_eig, solves=solves,
               evaluations=evaluations)
    if before is not None:
        t_before, v_before = timed(lambda: before(layer, tol=1e-10)[0], repeats)
        out.update(before=t_before, before_speedup=t_ref / t_before, before_floor=t_before / t_eig,
                   before_rel=abs(v_before - v_ref) / v_ref)
    return out


def main() -> None:
    global clock
    args = parse_args()
    _env.pin_threads(args.threads)
    clock = CLOCK[args.clock]
    import numpy as np  # after pin_threads
    from _layers import s5_like_layer

    if args.shapes:
        shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
    else:
        shapes = SHAPES[:1] if args.quick else SHAPES
    seeds = 1 if args.quick else args.seeds
    families = args.families.split(",")
    print(_env.load_line())
    print(f"clock: {args.clock} ({'process CPU time' if args.clock == 'cpu' else 'elapsed'}); "
          f"median of {args.repeats} calls (modal, eig floor), one AB13DD call")
    print()
    before = load_before(args.before) if args.before else None
    print("| states × channels | poles | seeds | modal H∞ (s) | AB13DD (s) | speed-up "
          "[min – max] | eig(2n) floor (s) | modal / floor [min – max] | max rel. diff | "
          "Hamiltonian solves | σ evaluations |" + (" before: modal H∞ (s) | before: speed-up | "
                                                  "before: modal / floor | before: max rel. "
                                                  "diff |" if before else ""))
    print("|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" * 4 if before else ""))
    rng = np.random.default_rng(0)
    for nstates, nchannels in shapes:
        for family in families:
            rows = []
            for seed in range(seeds):
                layer = s5_like_layer(nstates, nchannels, seed=1000 * seed + nstates + nchannels,
                                      family=family)
                rows.append(measure(layer, args.repeats, rng, before))
            col = {k: [r[k] for r in rows] for k in rows[0]}
            extra = ""
            if before is not None:
                extra = (f" {statistics.median(col['before']):.3f} "
                         f"| {spread(col['before_speedup'], '.1f')} "
                         f"| {spread(col['before_floor'], '.2f')} | {max(col['before_rel']):.1e} |")
            print(f"| {nstates} × {nchannels} | {family} | {seeds} "
                  f"| {statistics.median(col['modal']):.3f} | {statistics.median(col['ref']):.2f} "
                  f"| {spread(col['speedup'], '.1f')} | {statistics.median(col['eig']):.3f} "
                  f"| {spread(col['floor'], '.2f')} | {max(col['rel']):.1e} "
                  f"| {statistics.median(col['solves']):.0f} "
                  f"| {statistics.median(col['evaluations']):.0f} |" + extra, flush=True)
    print()
    print(_env.load_line())


if __name__ == "__main__":
    main()
