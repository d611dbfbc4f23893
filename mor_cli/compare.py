"""``mor compare``: every pruning method at every ratio on a checkpoint, with a report.

    mor compare CHECKPOINT --methods all --ratios 0:1:0.05 --out DIR [--force]

Writes report.md, PNG figures, accuracy.csv and results.json into DIR.  The Python API is
:func:`ssm_bridge.pipeline.compare_checkpoint`.
"""

from __future__ import annotations

import argparse

from mor_cli._common import format_table, parse_methods, parse_ratios
from mor_cli.prune import add_checkpoint_arguments, parse_ratio


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
                        help="comma-separated methods or 'all' (default all)")
    parser.add_argument("--ratios", type=parse_ratios, default="0:1:0.05",
                        help="pruning ratios, e.g. 0:1:0.05 or 0.1,0.5 (default 0:1:0.05)")
    parser.add_argument("--reference-ratio", type=parse_ratio, default=0.5,
                        help="ratio of the pole, energy and certificate figures (default 0.5)")
    parser.add_argument("--points", type=float, default=1.0,
                        help="accuracy tolerance of the 'largest ratio' table, in points")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random method")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def largest_ratio_table(result) -> str:
    """Table 1 of a CompareResult, best method first."""
    order = sorted(result.methods, key=lambda m: -result.largest_ratio[m])
    rows = []
    for m in order:
        r = result.largest_ratio[m]
        j = result.ratios.index(r)
        rows.append([m, f"{r:g}", f"{100 * result.accuracy[result.methods.index(m), j]:.2f}"])
    return format_table(["method", "largest ratio within 1 pt", "accuracy there (%)"], rows)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.pipeline import compare_checkpoint

    result = compare_checkpoint(
        args.checkpoint, args.out, methods=args.methods, ratios=args.ratios, force=args.force,
        task=args.task, reference_ratio=args.reference_ratio, points=args.points,
        seed=args.seed, batch_size=args.batch_size,
        progress=False if args.no_progress else None,
    )
    print(f"{result.label}: full model {100 * result.full_accuracy:.2f} % test accuracy")
    print(largest_ratio_table(result))
    for method, why in result.skipped.items():
        print(f"not swept: {method} ({why.split(';')[0]})")
    print(f"report: {result.report_path}")
    return 0
