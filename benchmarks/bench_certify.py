"""Benchmark: certify a 6-layer stack of S5-sized layers at 10 ratios, vs control.norm.

Stack: 6 DT layers, 128 conjugate-pair units each (256 real states), 128 channels, random
stable poles with |λ̄| in [0.5, 0.999].  At 10 AIRE ratios, every bound and the exact H∞ and
H2 errors of each layer (modal H∞ method) are computed three ways, in one run:

- ``certify(stack, plan)`` once per plan (what a user calling it in a loop gets);
- ``certify_many(stack, plans)``: shared per-layer work (the layer's H2 once, H∞ warm
  starts across the nested ratios), one process;
- the same with ``processes=2`` (the layers in two worker processes).

Each is timed by the wall clock and by CPU time (this process and its children), with the
machine load printed before and after: on a shared machine the wall clock of the parallel
run depends on what else is running.  The same exact H∞ errors through
``control.norm(err, 'inf')`` (SLICOT AB13DD) are timed on a subset of the (ratio, layer)
error systems and extrapolated linearly (stated in the output).

    .venv/bin/python benchmarks/bench_certify.py [--subset 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _env


def s5_stack(rng, nlayers=6, npairs=128, channels=128):
    """The benchmark stack: 6 DT layers of random S5-sized modal systems."""
    import numpy as np

    import mor

    stack = []
    for layer in range(nlayers):
        radius = rng.uniform(0.5, 0.999, npairs)
        angle = rng.uniform(0.0, np.pi, npairs)
        poles = radius * np.exp(1j * angle)
        B = (rng.standard_normal((npairs, channels)) + 1j * rng.standard_normal((npairs, channels)))
        C = (rng.standard_normal((channels, npairs)) + 1j * rng.standard_normal((channels, npairs)))
        stack.append(mor.ModalSystem(poles, B / np.sqrt(channels), C / np.sqrt(2 * npairs),
                                     np.eye(channels), 1.0, pair=True,
                                     output_after_update=True, name=f"layer {layer}"))
    return stack


def clocks() -> tuple[float, float]:
    """(wall, CPU of this process and its finished children) in seconds."""
    t = os.times()
    return time.perf_counter(), t.user + t.system + t.children_user + t.children_system


def timed(fn):
    wall0, cpu0 = clocks()
    value = fn()
    wall1, cpu1 = clocks()
    return value, wall1 - wall0, cpu1 - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=6,
                        help="error systems timed through control.norm (default 6)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each certify variant")
    args = parser.parse_args()
    _env.pin_threads(args.threads)
    import control
    import numpy as np

    import mor
    from mor.truncation import error_system
    from verification import certify, certify_many

    print(_env.load_line())
    stack = s5_stack(np.random.default_rng(0))
    ratios = [round(0.09 * k, 2) for k in range(1, 11)]
    plans = [mor.prune(stack, "aire", ratio=r) for r in ratios]
    variants = {
        "certify, once per plan": lambda: [certify(stack, plan) for plan in plans],
        "certify_many, 1 process": lambda: certify_many(stack, plans),
        "certify_many, 2 processes": lambda: certify_many(stack, plans, processes=2),
    }
    results = {}
    for name, fn in variants.items():
        runs = [timed(fn) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r[1])
        results[name] = best
    reports = results["certify, once per plan"][0]
    assert all(r.all_valid_bounds_hold for r in reports)
    worst_same = 0.0
    for other, _, _ in results.values():
        for a, b in zip(reports, other, strict=True):
            for la, lb in zip(a.layers, b.layers, strict=True):
                for x, y in ((la.exact_hinf, lb.exact_hinf), (la.exact_h2, lb.exact_h2)):
                    worst_same = max(worst_same, abs(x - y) / x if x else abs(y))
    cases = [(i, j) for i in range(len(plans)) for j in range(len(stack)) if plans[i].pruned[j]]
    picks = [cases[k] for k in np.linspace(0, len(cases) - 1, args.subset).astype(int)]
    wall0, _ = clocks()
    worst = 0.0
    for i, j in picks:
        err = error_system(stack[j], plans[i].pruned[j])
        value = control.norm(err.to_statespace(), "inf")
        mine = reports[i].layers[j].exact_hinf
        worst = max(worst, abs(value - mine) / mine)
    t_subset = clocks()[0] - wall0
    t_control = t_subset / len(picks) * len(cases)
    print()
    print("| quantity | value |")
    print("|---|---|")
    print("| stack | 6 layers × 128 pairs (256 real states) × 128 channels, DT |")
    for name, (_, wall, cpu) in results.items():
        print(f"| {name}: 10 ratios, all bounds + exact H∞/H2 errors | {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU |")
    print(f"| largest relative difference of the exact norms between the variants | "
          f"{worst_same:.1e} |")
    print(f"| control.norm(err, 'inf'), {len(picks)} of {len(cases)} error systems | "
          f"{t_subset:.2f} s |")
    print(f"| control.norm, extrapolated to all {len(cases)} | {t_control:.1f} s |")
    for name, (_, wall, _) in results.items():
        print(f"| ratio control.norm / {name} (wall) | {t_control / wall:.1f}× |")
    print(f"| max relative difference of the H∞ errors (subset, control.norm tol 1e-6) | "
          f"{worst:.1e} |")
    print(f"| BLAS threads | {args.threads} |")
    print()
    print(_env.load_line())


if __name__ == "__main__":
    main()
