"""``mor prune``: prune a trained checkpoint's states and write the smaller model.

    mor prune CHECKPOINT --method aire --ratio 0.6 --out DIR [--force]

CHECKPOINT is a bundled name (``s5_digits``, ``s5_mnist1d``, ``s4d_digits``), a ``.msgpack``
checkpoint (with ``<stem>.config.json`` beside it), a run directory of ``mor train`` or an
Orbax directory.  The Python API is :func:`ssm_bridge.pipeline.prune_checkpoint`.
"""

from __future__ import annotations

import argparse

from mor_cli._common import format_table


def parse_ratio(text: str) -> float:
    """One pruning ratio in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid ratio {text!r}; expected a number in [0, 1]"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"ratio must lie in [0, 1]; got {value}")
    return value


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """CHECKPOINT, --out, --force, --task, --batch-size (shared with ``mor compare``)."""
    parser.add_argument("checkpoint", help="bundled name (s5_digits, s5_mnist1d, s4d_digits), "
                        ".msgpack file, `mor train` run directory or Orbax directory")
    parser.add_argument("--out", required=True, help="output directory (must not exist)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    parser.add_argument("--task", default=None,
                        help="the checkpoint's task when no metadata JSON lies beside it "
                        "(digits, digits32, mnist1d, listops)")
    parser.add_argument("--batch-size", type=int, default=256, help="evaluation batch size")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="prune a checkpoint's states (dimension-reduced checkpoint + certificates)",
        description="Select states by METHOD at RATIO, remove the others, and write the "
        "dimension-reduced checkpoint, its KeepPlan, the certificate report per layer and "
        "the test accuracy before and after.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument("--method", default="aire", help="selection method (default aire)")
    parser.add_argument("--ratio", type=parse_ratio, default=0.6,
                        help="fraction of state units to remove, in [0, 1] (default 0.6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random method")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.pipeline import prune_checkpoint

    result = prune_checkpoint(args.checkpoint, args.method, args.ratio, args.out,
                              force=args.force, task=args.task, seed=args.seed,
                              batch_size=args.batch_size)
    rows = [
        ["full", f"{100 * result.accuracy_before:.2f}", f"{result.loss_before:.4f}",
         str(list(result.state_sizes_before))],
        [f"{args.method} @ {args.ratio:g}", f"{100 * result.accuracy_after:.2f}",
         f"{result.loss_after:.4f}", str(list(result.state_sizes_after))],
    ]
    print(format_table(["model", "test accuracy (%)", "test loss", "stored modes per layer"],
                       rows))
    verdict = {True: "every proved bound holds", False: "a proved bound FAILS",
               None: "unknown"}[result.certificate.all_valid_bounds_hold]
    print(f"certificates: {verdict} (certificates.md)")
    print(f"wrote {result.out_dir} (report.md, {result.checkpoint_path.name})")
    return 0
