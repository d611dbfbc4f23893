"""``mor prune``: prune a checkpoint's states (dimension-reduced checkpoint + certificates).

Select states by METHOD at RATIO, remove the others, and write the dimension-reduced
checkpoint, its KeepPlan, the certificate report per layer and the test accuracy before and
after.

    mor prune CHECKPOINT --method aire --ratio 0.6 --out DIR [--force]
    mor prune CHECKPOINT --method balanced_truncation --max-drop 1.0 --out DIR
    mor prune CHECKPOINT --method aire --tol 0.5 --out DIR

CHECKPOINT is a bundled name (``s5_digits``, ``s5_mnist1d``, ``s4d_digits``), a ``.msgpack``
checkpoint (with ``<stem>.config.json`` beside it), a run directory of ``mor train`` or an
Orbax directory.  The Python API is :func:`ssm_bridge.jobs.prune_checkpoint`.
"""

from __future__ import annotations

import argparse

from mor.io import markdown_table
from mor_cli import _common as cli

__all__ = ["add_arguments", "run", "warn_accuracy_drop"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mor prune``."""
    from mor.selection import METHOD_KINDS

    cli.add_checkpoint_arguments(parser)
    cli.add_method_argument(parser, list(METHOD_KINDS))
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--ratio", type=cli.parse_ratio, default=None,
                        help="fraction of state units to remove, in [0, 1] (default 0.6)")
    budget.add_argument("--max-drop", type=float, default=None, metavar="POINTS",
                        help="choose the largest ratio whose accuracy on a validation split "
                        "of the TRAINING data stays within POINTS accuracy points of the full "
                        "model; the test set is evaluated once, on the chosen model")
    budget.add_argument("--tol", type=cli.parse_tolerance, default=None, metavar="EPS",
                        help="per layer, prune while the certified H-infinity error of the "
                        "layer stays <= EPS")
    cli.add_seed_argument(parser, "the random method")
    parser.add_argument("--points", type=float, default=1.0,
                        help="warn when the test accuracy falls by more than this many points, "
                        "and name the largest ratio within it (default 1.0)")
    parser.add_argument("--finetune", type=cli.positive_int, default=None, metavar="STEPS",
                        help="then fine-tune the pruned model for STEPS optimiser steps on the "
                        "TRAINING split (never the test set) and write it to OUT/finetuned")
    cli.add_compat_argument(parser)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.jobs import prune_checkpoint

    result = prune_checkpoint(args.checkpoint, args.method, args.ratio, args.out,
                              force=args.force, task=args.task, seed=args.seed,
                              batch_size=args.batch_size, verify=not args.no_verify,
                              compat=args.compat, command=getattr(args, "command_line", None),
                              max_drop=args.max_drop, tol=args.tol, points=args.points)
    rows = [
        ["full", f"{100 * result.accuracy_before:.2f}", f"{result.loss_before:.4f}",
         str(list(result.state_sizes_before))],
        [f"{args.method} @ {result.plan.achieved_ratio:.3g}", f"{100 * result.accuracy_after:.2f}",
         f"{result.loss_after:.4f}", str(list(result.state_sizes_after))],
    ]
    print(markdown_table(["model", "test accuracy (%)", "test loss", "stored modes per layer"],
                         rows, padded=True))
    verdict = {True: "every proved bound holds", False: "a proved bound FAILS",
               None: "unknown"}[result.certificate.all_valid_bounds_hold]
    print(f"certificates: {verdict} (certificates.md)")
    sel = result.selection
    if sel.get("by") == "max_drop":
        print(f"ratio {sel['ratio']:g} chosen on {sel['validation_examples']} validation "
              f"examples of the training data (within {sel['max_drop_points']:g} point(s))")
    print(f"wrote {result.out_dir} (report.md, {result.checkpoint_path.name})")
    warn_accuracy_drop(result, args)
    if args.finetune:
        _finetune(args, result)
    return 0


def _finetune(args: argparse.Namespace, result) -> None:
    """``--finetune STEPS``: fine-tune the pruned checkpoint into OUT/finetuned."""
    from mor_cli.train import print_finetune
    from ssm_bridge.finetune import finetune_checkpoint

    res = finetune_checkpoint(result.checkpoint_path, args.finetune,
                              result.out_dir / "finetuned", source=args.checkpoint,
                              task=args.task, seed=args.seed,
                              command=f"mor prune {args.checkpoint} ... --finetune "
                              f"{args.finetune}")
    print_finetune(res)


def warn_accuracy_drop(result, args: argparse.Namespace) -> None:
    """A loud warning on stderr when accuracy fell by more than ``--points``, with the fix.

    Names the largest ratio within the budget (chosen on a validation split of the training
    data, :attr:`PruneResult.advice`) and the command that gets it.
    """
    import sys

    advice = result.advice
    if not advice.get("over_budget"):
        return
    lines = [
        "",
        f"WARNING: the test accuracy fell by {advice['drop_points']:.2f} points "
        f"({100 * result.accuracy_before:.2f} % -> {100 * result.accuracy_after:.2f} %), more "
        f"than the {advice['points']:g} point(s) allowed (--points).  The certificates bound "
        "each layer's error, not the accuracy.",
    ]
    if advice.get("suggested_ratio") is not None:
        lines.append(
            f"  The largest ratio within {advice['points']:g} point(s) for {advice['method']} "
            f"is {advice['suggested_ratio']:g} (on {advice['validation_examples']} validation "
            "examples of the training data).  Run:")
    elif advice.get("reason"):
        lines.append(f"  No ratio could be suggested: {advice['reason']}.  Try:")
    lines += [f"    {cmd}" for cmd in advice.get("commands", [])]
    print("\n".join(lines), file=sys.stderr)
