"""``mor demo``: run the main job on the bundled defaults (no arguments needed).

Compare every pruning method on the bundled trained S5/S4D checkpoints, certify the
reduction of a SLICOT benchmark, write a report and print where it is.

Runs ``mor compare`` on every bundled trained checkpoint (coarse grid 0:1:0.1) and certifies
the reduction of a bundled SLICOT benchmark (``mor verify``), writes one report
(default ``reports/demo/``, the demo's own folder, replaced by each run) and prints a
summary and where the report is.  ``--full`` also compares the paper-shaped bundled
checkpoints (``ssm_bridge.bundled.PAPER_SHAPED``: S5 and S4D models of the papers' shapes; slower).
The Python API is :func:`ssm_bridge.jobs.run_demo`.
"""

from __future__ import annotations

import argparse

from mor.io import markdown_table
from mor_cli._common import add_figure_arguments, parse_ratios


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mor demo``."""
    parser.add_argument("--out", default="reports/demo",
                        help="report directory (default reports/demo; a previous demo report "
                        "there is replaced, any other existing directory needs --force)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out written by mor (it holds "
                        ".mor-output.json)")
    parser.add_argument("--ratios", type=parse_ratios, default="0:1:0.1",
                        help="pruning ratios of the sweep (default 0:1:0.1)")
    parser.add_argument("--checkpoints", default=None,
                        help="comma-separated bundled names (default: all bundled but the "
                        "paper-shaped ones)")
    parser.add_argument("--full", action="store_true",
                        help="also compare the paper-shaped bundled checkpoints (S5 and S4D "
                        "models of the papers' shapes; slower)")
    parser.add_argument("--benchmark", default="CDplayer",
                        help="SLICOT benchmark to certify (default CDplayer)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_figure_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ssm_bridge.jobs import run_demo
    from ssm_bridge.jobs.report import demo_summary_rows, full_mode_note

    names = None if args.checkpoints is None else [
        n.strip() for n in args.checkpoints.split(",") if n.strip()]
    result = run_demo(args.out, names=names, ratios=args.ratios, benchmark=args.benchmark,
                      full=args.full, force=args.force,
                      progress=False if args.no_progress else None,
                      command=getattr(args, "command_line", None),
                      figure_format=args.fig_format)
    header, rows = demo_summary_rows(result)
    print("== pruning the bundled checkpoints (largest ratio within 1 point of the full model)")
    print(markdown_table(header, rows, padded=True))
    if result.missing:
        print(f"(not run, checkpoint file absent: {', '.join(result.missing)})")
    print()
    print(f"== certified reduction of the SLICOT benchmark {result.benchmark}")
    print(markdown_table(
        ["method", "ratio", "states", "exact H∞ error", "tightest proved bound", "holds"],
        [[r["method"], r["ratio"], f"{r['kept_states']}/{r['states']}", r["exact_hinf"],
          r["best_bound"], {True: "yes", False: "NO", None: "unknown"}[
              r["all_proved_bounds_hold"]]] for r in result.verify_rows], padded=True))
    print()
    print(f"report: {result.report_path}")
    print(full_mode_note(result).replace("`", ""))
    return 0
