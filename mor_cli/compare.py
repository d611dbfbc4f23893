"""``mor compare``: sweep every method × ratio on a checkpoint and write a report.

Evaluate every selection method at every pruning ratio (one fast pass over the test set) and
write a report: accuracy against ratio, the largest ratio within 1 point of the full model,
kept fraction per layer, poles, energies, certificates and inference speed-up (Markdown +
PNG + CSV + JSON).

    mor compare CHECKPOINT --methods all --ratios 0:1:0.05 --out DIR [--force]

Writes report.md, PNG figures, accuracy.csv and results.json into DIR.  The Python API is
:func:`ssm_bridge.jobs.compare_checkpoint`.
"""

from __future__ import annotations

import argparse

from mor.io import markdown_table
from mor_cli import _common as cli

__all__ = ["add_arguments", "largest_ratio_table", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mor compare``."""
    from mor.selection import METHODS

    cli.add_checkpoint_arguments(parser)
    parser.add_argument("--methods", type=cli.parse_methods, default="all",
                        help=f"comma-separated methods or 'all' ({', '.join(METHODS)}) "
                        "(default all)")
    parser.add_argument("--ratios", type=cli.parse_ratios, default="0:1:0.05",
                        help="pruning ratios, e.g. 0:1:0.05 or 0.1,0.5 (default 0:1:0.05)")
    parser.add_argument("--reference-ratio", type=cli.parse_ratio, default=0.5,
                        help="ratio in (0, 1] of the pole, energy and certificate figures, "
                        "evaluated even if not in --ratios (default 0.5)")
    parser.add_argument("--points", type=float, default=1.0,
                        help="accuracy tolerance of the 'largest ratio' table, of the "
                        "speed-ups shown and of the recommendation, in points (default 1.0)")
    cli.add_seed_argument(parser, "the random method")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    cli.add_compat_argument(parser)
    cli.add_figure_arguments(parser)


def largest_ratio_table(result, points: float = 1.0) -> str:
    """Table 1 of a CompareResult, best method first."""
    order = sorted(result.methods, key=lambda m: -result.largest_ratio[m])
    rows = []
    for m in order:
        r = result.largest_ratio[m]
        j = result.ratios.index(r)
        rows.append([m, f"{r:g}", f"{100 * result.accuracy[result.methods.index(m), j]:.2f}"])
    return markdown_table(["method", f"largest ratio within {points:g} pt",
                           "accuracy there (%)"], rows, padded=True)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.jobs import compare_checkpoint

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
