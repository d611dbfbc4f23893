"""``mor demo``: the main job on the bundled defaults, no arguments needed."""

from __future__ import annotations

import argparse

from mor_cli._common import format_table


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the main job on the bundled defaults",
        description="Reduce the bundled CDplayer benchmark by AIRE, LAST and balanced "
        "truncation and print the exact errors.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import mor
    from mor_cli.reduce import reduction_table

    name = "CDplayer"
    sys_ = mor.load_benchmark(name)
    print(f"== {name}: {sys_.nstates} states, {sys_.ninputs}×{sys_.noutputs} (SLICOT benchmark)")
    header, rows = reduction_table(
        sys_, ["aire", "last", "balanced_truncation"], [0.5, 0.75, 0.9]
    )
    print(format_table(header, rows))
    return 0
