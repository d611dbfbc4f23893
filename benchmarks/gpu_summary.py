"""Markdown summary of a ``bench_inference.py --json`` run against aire-prune Table 3.

    python benchmarks/gpu_summary.py inference.json > table.md

One row per shape: our full model and our pruned model at the paper's ratio against the
official-style full model, timed in the same run, next to the paper's speed-up.  A speed-up
is printed as "≈" where the interquartile ranges of the two call-time samples overlap.
Standard library only (runs before or without the project's dependencies).
"""

from __future__ import annotations

import json
import statistics
import sys


def quartiles(times: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile) of the call times."""
    if len(times) < 2:
        return times[0], times[0], times[0]
    q1, q2, q3 = statistics.quantiles(times, n=4, method="inclusive")
    return q1, q2, q3


def speedup(base: list[float], other: list[float]) -> str:
    """'2.31×' (ratio of medians), or '≈ 1.05×' when the interquartile ranges overlap."""
    b1, b2, b3 = quartiles(base)
    o1, o2, o3 = quartiles(other)
    real = b1 > o3 or b3 < o1
    return f"{b2 / o2:.2f}×" if real else f"≈ {b2 / o2:.2f}×"


def ms(times: list[float]) -> str:
    q1, q2, q3 = quartiles(times)
    return f"{1e3 * q2:.1f} ms [{1e3 * q1:.1f} – {1e3 * q3:.1f}]"


def summary(data: dict) -> str:
    meta, rows = data["meta"], data["rows"]
    lines = [
        f"device: {meta['device']} ({meta['backend']}), jax {meta['jax']}, scan method "
        f"{meta['method']}, {meta['repeats']} timed calls per model (median [q1 – q3]), "
        "compile excluded",
        "",
        "| shape (batch, L) | official-style full | ours full | ours full vs official | "
        "paper ratio | ours pruned (padded / unpadded) | ours pruned vs official full "
        "(padded / unpadded) | ours pruned vs ours full | aire-prune Table 3 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for shape in dict.fromkeys(r["shape"] for r in rows):
        rs = {round(r["ratio"], 4): r for r in rows if r["shape"] == shape}
        full = rs[0.0]
        paper = meta["paper"].get(shape)
        cells = [f"{shape} ({full['batch']}, {full['length']})", ms(full["times_base"]),
                 ms(full["times_fast"]), speedup(full["times_base"], full["times_fast"])]
        pruned = rs.get(round(paper[0], 4)) if paper else None
        if pruned is None:
            cells += ["–", "–", "–", "–", "–" if not paper else f"{paper[1]}× at "
                      f"{round(100 * paper[0])} % (ratio not run)"]
        else:
            nopad = pruned.get("times_nopad")
            cells += [
                f"{round(100 * paper[0])} %",
                ms(pruned["times_fast"]) + ("" if not nopad else " / " + ms(nopad)),
                speedup(full["times_base"], pruned["times_fast"])
                + ("" if not nopad else " / " + speedup(full["times_base"], nopad)),
                speedup(full["times_fast"], pruned["times_fast"]),
                f"{paper[1]}×",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as fh:
        print(summary(json.load(fh)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
