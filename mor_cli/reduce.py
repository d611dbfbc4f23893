"""``mor reduce``: reduce one linear system by several methods and compare exact errors."""

from __future__ import annotations

import argparse
import time

from mor_cli._common import format_table, parse_methods, parse_ratios, resolve_system_argument

DEFAULT_METHODS = "aire,last,global_hinf,balanced_truncation"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reduce",
        help="reduce a linear system (bundled benchmark or .mat) and compare exact errors",
        description=(
            "Reduce a stable linear system by modal (AIRE, LAST, ...) and balanced truncation "
            "at several ratios, and print the exact H∞ and H2 errors of each reduction."
        ),
    )
    parser.add_argument("system", help="bundled benchmark name (build, CDplayer, iss1R, "
                        "heat-cont) or a .mat file with A, B, C[, D][, dt]")
    parser.add_argument("--methods", type=parse_methods, default=DEFAULT_METHODS,
                        help=f"comma-separated methods or 'all' (default {DEFAULT_METHODS})")
    parser.add_argument("--ratios", type=parse_ratios, default="0.25,0.5,0.75",
                        help="pruning ratios, e.g. 0.25,0.5 or 0:1:0.25 (default 0.25,0.5,0.75)")
    parser.set_defaults(handler=run)


def reduction_table(sys_, methods, ratios) -> tuple[list[str], list[list[object]]]:
    """Rows: method, ratio, kept states, exact H∞ and H2 errors (absolute and relative)."""
    import control

    import mor

    modal = mor.ModalSystem.from_statespace(sys_, name="system")
    full_hinf, full_h2 = mor.hinf_norm(modal), mor.h2_norm(modal)
    ss = modal.to_statespace()
    rows = []
    for method in methods:
        for ratio in ratios:
            start = time.perf_counter()
            plan = mor.prune([modal], method, ratio=ratio)
            if plan.kind == "balanced":
                reduced = mor.balanced_truncation(ss, plan.kept_counts[0])
                error = control.parallel(ss, -reduced)
                states = reduced.nstates
                hinf_err = mor.hinf_norm(error, method="slicot")
                h2_err = mor.h2_norm(error)
            else:
                pruned = plan.pruned[0]
                states = plan.apply([modal])[0].nstates
                if pruned:
                    error_sys = modal.subsystem(pruned)
                    error_sys = mor.ModalSystem(
                        error_sys.poles, error_sys.B, error_sys.C, None, error_sys.dt,
                        pair=error_sys.pair,
                    )
                    hinf_err, h2_err = mor.hinf_norm(error_sys), mor.h2_norm(error_sys)
                else:
                    hinf_err = h2_err = 0.0
            seconds = time.perf_counter() - start
            rows.append([method, ratio, f"{states}/{modal.nstates}", hinf_err,
                         hinf_err / full_hinf, h2_err, h2_err / full_h2, f"{seconds:.2f}"])
    header = ["method", "ratio", "states", "H∞ error", "rel. H∞", "H2 error", "rel. H2", "s"]
    return header, rows


def run(args: argparse.Namespace) -> int:
    sys_ = resolve_system_argument(args.system)
    header, rows = reduction_table(sys_, args.methods, args.ratios)
    print(f"{args.system}: {sys_.nstates} states, {sys_.ninputs} inputs, {sys_.noutputs} outputs")
    print(format_table(header, rows))
    return 0
