"""Helpers shared by the sub-commands: argument parsing and plain-text tables."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def parse_ratios(text: str) -> list[float]:
    """``"0.1,0.5"`` or a range ``"start:stop:step"`` (stop included) → ratios in [0, 1]."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError
            count = round((stop - start) / step) + 1
            ratios = [round(start + i * step, 10) for i in range(count)]
        else:
            ratios = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid ratio list {text!r}; use e.g. 0.1,0.5,0.9 or 0:1:0.05"
        ) from None
    bad = [r for r in ratios if not 0.0 <= r <= 1.0]
    if not ratios or bad:
        raise argparse.ArgumentTypeError(f"ratios must lie in [0, 1]; got {bad or ratios}")
    return ratios


def parse_methods(text: str) -> list[str]:
    from mor.selection import METHODS

    methods = list(METHODS) if text == "all" else [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {unknown}; choose from {', '.join(METHODS)} or 'all'"
        )
    return methods


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table with right-aligned columns."""
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def resolve_system_argument(text: str):
    """A bundled benchmark name or a path to a .mat file → control.StateSpace."""
    import mor
    from mor.benchmarks import load_mat_system

    if text in mor.BENCHMARKS:
        return mor.load_benchmark(text)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(
            f"{text}: no such file, and not a bundled benchmark ({', '.join(mor.BENCHMARKS)})"
        )
    return load_mat_system(path)
