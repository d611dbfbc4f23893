"""Benchmark: certify a 6-layer stack of S5-sized layers at 10 ratios, vs control.norm.

Stack: 6 DT layers, 128 conjugate-pair units each (256 real states), 128 channels, random
stable poles with |λ̄| in [0.5, 0.999].  ``certify`` at 10 AIRE ratios computes every bound
and the exact H∞ and H2 errors of each layer (modal H∞ method).  The same exact H∞ errors
through ``control.norm(err, 'inf')`` (SLICOT AB13DD) are timed on a subset of the
(ratio, layer) error systems and extrapolated linearly (stated in the output).

    .venv/bin/python benchmarks/bench_certify.py [--subset 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import control
import numpy as np

import mor
from verification import certify, error_system


def s5_stack(rng: np.random.Generator, nlayers=6, npairs=128, channels=128):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=6,
                        help="error systems timed through control.norm (default 6)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        stack = s5_stack(np.random.default_rng(0))
        ratios = [round(0.09 * k, 2) for k in range(1, 11)]
        plans = [mor.prune(stack, "aire", ratio=r) for r in ratios]
        t0 = time.perf_counter()
        reports = [certify(stack, plan) for plan in plans]
        t_certify = time.perf_counter() - t0
        assert all(r.all_valid_bounds_hold for r in reports)
        cases = [(i, j) for i in range(len(plans)) for j in range(len(stack))
                 if plans[i].pruned[j]]
        picks = [cases[k] for k in np.linspace(0, len(cases) - 1, args.subset).astype(int)]
        t0 = time.perf_counter()
        worst = 0.0
        for i, j in picks:
            err = error_system(stack[j], plans[i].pruned[j])
            value = control.norm(err.to_statespace(), "inf")
            mine = reports[i].layers[j].exact_hinf
            worst = max(worst, abs(value - mine) / mine)
        t_subset = time.perf_counter() - t0
        t_control = t_subset / len(picks) * len(cases)
    print("| quantity | value |")
    print("|---|---|")
    print("| stack | 6 layers × 128 pairs (256 real states) × 128 channels, DT |")
    print(f"| certify, 10 ratios (all bounds + exact H∞/H2 errors) | {t_certify:.2f} s |")
    print(f"| control.norm(err, 'inf'), {len(picks)} of {len(cases)} error systems | "
          f"{t_subset:.2f} s |")
    print(f"| control.norm, extrapolated to all {len(cases)} | {t_control:.1f} s |")
    print(f"| ratio control.norm / certify | {t_control / t_certify:.1f}× |")
    print(f"| max relative difference of the H∞ errors (subset) | {worst:.1e} |")
    print(f"| BLAS threads | {args.threads} |")


if __name__ == "__main__":
    main()
