"""Scoring and selecting a 6-layer stack, for every method (target: under 5 ms).

Run: ``.venv/bin/python benchmarks/bench_selection.py``.  Prints a Markdown table of the
median time of ``mor.prune(stack, method, ratio=0.5)`` (scores included) per method, for
6 layers of 256 units × 128 channels.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _layers import s5_like_layer

import mor


def main() -> None:
    stack = [s5_like_layer(512, 128, seed=i, name=f"layer {i}") for i in range(6)]
    units = stack[0].nunits
    print(f"6 layers × {units} units (pairs) × 128 channels, ratio 0.5\n")
    print("| method | median (ms) | min (ms) |")
    print("|---|---|---|")
    for method in mor.METHODS:
        if method == "balanced_truncation":
            continue  # Hankel singular values: a Lyapunov solve per layer, not a score
        times = []
        for _ in range(50):
            start = time.perf_counter()
            mor.prune(stack, method, ratio=0.5)
            times.append(1e3 * (time.perf_counter() - start))
        print(f"| {method} | {statistics.median(times):.2f} | {min(times):.2f} |")


if __name__ == "__main__":
    main()
