"""Fast modal H∞ norm against SLICOT AB13DD (``control.norm(sys, 'inf')``), in one run.

Run: ``.venv/bin/python benchmarks/bench_hinf.py`` (add ``--quick`` for the small shape only).
Prints a Markdown table: per layer shape, the median time of each method, the speed ratio,
the relative difference of the two values, and the time of one real eigenvalue solve of
size 2n (the floor of any exact level-set method).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import control
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _layers import s5_like_layer

import mor


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the (256, 128) shape")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shapes = [(256, 128)] if args.quick else [(256, 128), (384, 512)]
    print("| real states × channels | modal H∞ (s) | AB13DD (s) | speed-up | rel. diff | "
          "eig(2n) floor (s) | modal / floor |")
    print("|---|---|---|---|---|---|---|")
    for nstates, nchannels in shapes:
        layer = s5_like_layer(nstates, nchannels, seed=nstates + nchannels)
        ss = layer.to_statespace()
        t_modal, v_modal = median_time(lambda s=layer: mor.hinf_norm(s), args.repeats)
        t_ref, v_ref = median_time(lambda s=ss: control.norm(s, "inf"), args.repeats)
        H = np.random.default_rng(0).standard_normal((2 * nstates, 2 * nstates))
        t_eig, _ = median_time(lambda m=H: np.linalg.eigvals(m), args.repeats)
        rel = abs(v_modal - v_ref) / v_ref
        print(f"| {nstates} × {nchannels} | {t_modal:.3f} | {t_ref:.3f} | {t_ref / t_modal:.1f}× "
              f"| {rel:.1e} | {t_eig:.3f} | {t_modal / t_eig:.2f} |")


if __name__ == "__main__":
    main()
