"""The ``mor`` command line: a thin layer over mor, verification and ssm_bridge.

Each sub-command lives in its own module of this package, which exposes
``register(subparsers)``; heavy imports (JAX) happen inside the handlers, so
``mor --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Sub-command modules, in the order ``mor --help`` lists them.
COMMAND_MODULES = ("demo", "reduce", "verify", "train", "prune", "compare")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mor",
        description="Model-order reduction for state-space layers and deep SSMs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"mor_cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"mor_cli.{name}":
                continue  # sub-command not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from mor.exceptions import MORError

    try:
        return int(args.handler(args) or 0)
    except (MORError, FileExistsError, FileNotFoundError) as err:
        print(f"mor {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
