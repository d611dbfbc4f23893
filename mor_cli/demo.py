"""``mor demo``: the main job on the bundled defaults, no arguments needed.

Runs ``mor compare`` on every bundled trained checkpoint (coarse grid 0:1:0.1) and certifies
the reduction of a bundled SLICOT benchmark (``mor verify``), writes one report
(default ``reports/demo/``, the demo's own folder, replaced by each run) and prints a
summary and where the report is.  The Python API is :func:`ssm_bridge.pipeline.run_demo`.
"""

from __future__ import annotations

import argparse

from mor_cli._common import add_figure_arguments, format_table, parse_ratios


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the main job on the bundled defaults (no arguments needed)",
        description="Compare every pruning method on the bundled trained S5/S4D checkpoints, "
        "certify the reduction of a SLICOT benchmark, write a report and print where it is.",
    )
    parser.add_argument("--out", default="reports/demo",
                        help="report directory (default reports/demo; a previous demo report "
                        "there is replaced, any other existing directory needs --force)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out written by mor (it holds "
                        ".mor-output.json)")
    parser.add_argument("--ratios", type=parse_ratios, default="0:1:0.1",
                        help="pruning ratios of the sweep (default 0:1:0.1)")
    parser.add_argument("--checkpoints", default=None,
                        help="comma-separated bundled names (default: all bundled)")
    parser.add_argument("--benchmark", default="CDplayer",
                        help="SLICOT benchmark to certify (default CDplayer)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_figure_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.pipeline import demo_summary_rows, run_demo

    names = None if args.checkpoints is None else [
        n.strip() for n in args.checkpoints.split(",") if n.strip()]
    result = run_demo(args.out, names=names, ratios=args.ratios, benchmark=args.benchmark,
                      force=args.force, progress=False if args.no_progress else None,
                      command=getattr(args, "command_line", None),
                      figure_format=args.fig_format)
    header, rows = demo_summary_rows(result)
    print("== pruning the bundled checkpoints (largest ratio within 1 point of the full model)")
    print(format_table(header, rows))
    if result.missing:
        print(f"(not run, checkpoint file absent: {', '.join(result.missing)})")
    print()
    print(f"== certified reduction of the SLICOT benchmark {result.benchmark}")
    print(format_table(
        ["method", "ratio", "states", "exact H∞ error", "tightest proved bound", "holds"],
        [[r["method"], r["ratio"], f"{r['kept_states']}/{r['states']}", r["exact_hinf"],
          r["best_bound"], {True: "yes", False: "NO", None: "unknown"}[
              r["all_proved_bounds_hold"]]] for r in result.verify_rows]))
    print()
    print(f"report: {result.report_path}")
    return 0
