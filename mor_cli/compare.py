"""``mor compare``: every pruning method at every ratio on a checkpoint, with a report.

    mor compare CHECKPOINT --methods all --ratios 0:1:0.05 --out DIR [--force]

Writes report.md, PNG figures, accuracy.csv and results.json into DIR.  The Python API is
:func:`ssm_bridge.pipeline.compare_checkpoint`.
"""

from __future__ import annotations

import argparse
import math

from mor_cli._common import (
    add_figure_arguments,
    format_table,
    nonnegative_int,
    parse_methods,
    parse_ratios,
)
from mor_cli.prune import add_checkpoint_arguments, add_compat_argument, parse_ratio


def parse_reference_ratio(text: str) -> float:
    """The reference ratio: a number in (0, 1] (ratio 0 prunes nothing to show)."""
    value = parse_ratio(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(
            "reference ratio 0 prunes nothing, so there is no pruned pole or certificate to "
            "show; choose a ratio in (0, 1], e.g. 0.5")
    return value


def parse_points(text: str) -> float:
    """The accuracy tolerance in percentage points: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"invalid tolerance {text!r}; expected a number of accuracy points >= 0, e.g. 1")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="sweep every method × ratio on a checkpoint and write a report",
        description="Evaluate every selection method at every pruning ratio (one fast pass "
        "over the test set) and write a report: accuracy against ratio, the largest ratio "
        "within 1 point of the full model, kept fraction per layer, poles, energies, "
        "certificates and inference speed-up (Markdown + PNG + CSV + JSON).",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument("--methods", type=parse_methods, default="all",
                        help=f"comma-separated methods or 'all' ({', '.join(_methods())}) "
                        "(default all)")
    parser.add_argument("--ratios", type=parse_ratios, default="0:1:0.05",
                        help="pruning ratios, e.g. 0:1:0.05 or 0.1,0.5 (default 0:1:0.05)")
    parser.add_argument("--reference-ratio", type=parse_reference_ratio, default=0.5,
                        help="ratio in (0, 1] of the pole, energy and certificate figures, "
                        "evaluated even if not in --ratios (default 0.5)")
    parser.add_argument("--points", type=parse_points, default=1.0,
                        help="accuracy tolerance of the 'largest ratio' table, of the "
                        "speed-ups shown and of the recommendation, in points (default 1.0)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the random method (>= 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_compat_argument(parser)
    add_figure_arguments(parser)
    parser.set_defaults(handler=run)


def _methods() -> tuple[str, ...]:
    from mor.selection import METHODS

    return METHODS


def largest_ratio_table(result, points: float = 1.0) -> str:
    """Table 1 of a CompareResult, best method first."""
    order = sorted(result.methods, key=lambda m: -result.largest_ratio[m])
    rows = []
    for m in order:
        r = result.largest_ratio[m]
        j = result.ratios.index(r)
        rows.append([m, f"{r:g}", f"{100 * result.accuracy[result.methods.index(m), j]:.2f}"])
    return format_table(["method", f"largest ratio within {points:g} pt",
                         "accuracy there (%)"], rows)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.pipeline import compare_checkpoint

    result = compare_checkpoint(
        args.checkpoint, args.out, methods=args.methods, ratios=args.ratios, force=args.force,
        task=args.task, reference_ratio=args.reference_ratio, points=args.points,
        seed=args.seed, batch_size=args.batch_size,
        progress=False if args.no_progress else None, verify=not args.no_verify,
        compat=args.compat, command=getattr(args, "command_line", None),
        figure_format=args.fig_format,
    )
    print(f"{result.label}: full model {100 * result.full_accuracy:.2f} % test accuracy")
    added = sorted(set(result.ratios) - set(args.ratios))
    if added:
        print(f"also evaluated: ratio {', '.join(f'{r:g}' for r in added)} (the full model and "
              "the reference ratio are always evaluated)")
    print(largest_ratio_table(result, args.points))
    for method, why in result.skipped.items():
        print(f"not swept: {method} ({why.split(';')[0]})")
    print(f"report: {result.report_path}")
    rec = result.recommendation
    if rec:
        print("next: " + " ".join(rec["text"].replace("**", "").split()))
        for command in rec["commands"]:
            print(f"  {command}")
    return 0
