"""``mor prune``: prune a trained checkpoint's states and write the smaller model.

    mor prune CHECKPOINT --method aire --ratio 0.6 --out DIR [--force]
    mor prune CHECKPOINT --method balanced_truncation --max-drop 1.0 --out DIR
    mor prune CHECKPOINT --method aire --tol 0.5 --out DIR

CHECKPOINT is a bundled name (``s5_digits``, ``s5_mnist1d``, ``s4d_digits``), a ``.msgpack``
checkpoint (with ``<stem>.config.json`` beside it), a run directory of ``mor train`` or an
Orbax directory.  The Python API is :func:`ssm_bridge.pipeline.prune_checkpoint`.
"""

from __future__ import annotations

import argparse

from mor_cli._common import (
    format_table,
    network_methods,
    nonnegative_int,
    parse_method,
    parse_ratio,
    positive_int,
)

__all__ = ["add_checkpoint_arguments", "add_compat_argument", "parse_ratio", "register", "run"]


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """CHECKPOINT, --out, --force, --task, --batch-size, --no-verify (shared with compare)."""
    parser.add_argument("checkpoint", help="bundled name (s5_digits, s5_mnist1d, s4d_digits), "
                        ".msgpack file, `mor train` run directory or Orbax directory")
    parser.add_argument("--out", required=True,
                        help="output directory to create; an existing one is replaced only "
                        "with --force, and only if mor wrote it")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out written by mor (it holds "
                        ".mor-output.json); never the current, home or input folder")
    parser.add_argument("--task", default=None,
                        help="the checkpoint's task when no metadata JSON lies beside it "
                        "(digits, digits32, mnist1d, listops)")
    parser.add_argument("--batch-size", type=positive_int, default=256,
                        help="evaluation batch size (default 256)")
    parser.add_argument("--no-verify", action="store_true",
                        help="load a checkpoint whose files differ from the SHA-256 checksums "
                        "in its metadata, with a warning (default: refuse it)")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="prune a checkpoint's states (dimension-reduced checkpoint + certificates)",
        description="Select states by METHOD at RATIO, remove the others, and write the "
        "dimension-reduced checkpoint, its KeepPlan, the certificate report per layer and "
        "the test accuracy before and after.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument("--method", default="aire",
                        help=f"selection method, one of {', '.join(network_methods())} "
                        "(default aire)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--ratio", type=parse_ratio, default=None,
                        help="fraction of state units to remove, in [0, 1] (default 0.6)")
    budget.add_argument("--max-drop", type=float, default=None, metavar="POINTS",
                        help="choose the largest ratio whose accuracy on a validation split "
                        "of the TRAINING data stays within POINTS accuracy points of the full "
                        "model; the test set is evaluated once, on the chosen model")
    budget.add_argument("--tol", type=float, default=None, metavar="EPS",
                        help="per layer, prune while the certified H-infinity error of the "
                        "layer stays <= EPS")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the random method (>= 0)")
    parser.add_argument("--points", type=_points, default=1.0,
                        help="warn when the test accuracy falls by more than this many points, "
                        "and name the largest ratio within it (default 1.0)")
    parser.add_argument("--finetune", type=positive_int, default=None, metavar="STEPS",
                        help="then fine-tune the pruned model for STEPS optimiser steps on the "
                        "TRAINING split (never the test set) and write it to OUT/finetuned")
    add_compat_argument(parser)
    parser.set_defaults(handler=run)


def add_compat_argument(parser: argparse.ArgumentParser) -> None:
    """--compat (shared with ``mor compare``)."""
    parser.add_argument("--compat", choices=["released"], default=None,
                        help="'released': select aire/last states exactly as the released "
                        "LAST / AIRE-Prune code does (1e-8 on the pole gap, its bidirectional "
                        "score, K = max(floor(N(1-ratio)), 1), keep score >= K-th largest); "
                        "default: the toolkit's rules")


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.pipeline import prune_checkpoint

    if args.method.strip() == "all":
        parse_method(args.method)  # the message that names `mor compare --methods all`

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
    print(format_table(["model", "test accuracy (%)", "test loss", "stored modes per layer"],
                       rows))
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


def _points(text: str) -> float:
    from mor_cli.compare import parse_points

    return parse_points(text)


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
