"""``mor verify``: certify a reduction of a system or a layer stack, print the table, write JSON.

    mor verify SYSTEM --method aire --ratio 0.5 [--ratios 0.1,0.3,...] [--json OUT.json]

SYSTEM is a bundled benchmark name (``build``, ``CDplayer``, ``iss1R``, ``heat-cont``), a
MATLAB ``.mat`` file with A, B, C[, D] (continuous time unless it holds a scalar ``dt``),
or a layer stack saved by :func:`verification.save_stack` (``.npz``).  On a broken input
the command exits with status 2 and a message naming the problem; nothing is written.  The
``--json`` file is checked before any work; each ratio's certification is announced on stderr
for systems of 200 states or more (``--progress`` / ``--no-progress`` to choose).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mor_cli._common import (
    MAX_RATIOS,
    Progress,
    add_progress_argument,
    check_output_file,
    progress_wanted,
)

__all__ = ["load_systems", "register", "run_verify"]


def _ratios(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"--ratios expects numbers separated by commas: {err}"
        ) from err
    if not values:
        raise argparse.ArgumentTypeError("--ratios expects at least one number")
    if len(values) > MAX_RATIOS:
        raise argparse.ArgumentTypeError(
            f"{len(values)} ratios; at most {MAX_RATIOS} (MAX_RATIOS) in one run")
    return values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify",
        help="certify a reduction: bounds vs exact error norms",
        description="Reduce SYSTEM by METHOD at one or more pruning ratios and certify each "
        "layer: every applicable bound on the truncation error next to the exact H∞ and H2 "
        "errors.",
    )
    p.add_argument("system", help="benchmark name, .mat file (A, B, C[, D][, dt]) or .npz stack")
    p.add_argument("--method", default="aire",
                   help=f"selection method, one of {', '.join(_methods())} (default aire)")
    p.add_argument("--ratio", type=float, default=0.5, help="pruning ratio (default 0.5)")
    p.add_argument("--ratios", type=_ratios, default=None,
                   help="comma-separated ratios to sweep (overrides --ratio)")
    p.add_argument("--json", dest="json_path", default=None, help="write the report here")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the reduced model (one system, one ratio) to FILE: .mat (A, B, "
                   "C, D, Ts and the signal names, as MATLAB's ss) or .json")
    add_progress_argument(p)
    p.set_defaults(handler=run_verify)


def load_systems(spec: str):
    """The ModalSystem layers named by ``spec`` (benchmark name, .mat or .npz path)."""
    import mor
    from mor.benchmarks import load_mat_system
    from mor.exceptions import MORError
    from verification.stack_io import load_stack

    path = Path(spec)
    if spec in mor.BENCHMARKS and not path.is_file():  # e.g. a ./build folder is no system
        return [mor.ModalSystem.from_statespace(mor.load_benchmark(spec), name=spec)]
    if not path.exists():
        raise MORError(
            f"{spec}: no such file, and not a bundled benchmark ({', '.join(mor.BENCHMARKS)})"
        )
    if path.suffix == ".npz":
        return load_stack(path)
    if path.suffix.lower() == ".json":
        from mor.system_io import load_system

        ss = load_system(path)
    else:
        ss = load_mat_system(path)
    return [mor.ModalSystem.from_statespace(ss, name=path.stem)]


def run_verify(args) -> int:
    import mor
    from mor.exceptions import RatioError
    from mor.plan import atomic_write_text
    from verification import certify

    ratios = args.ratios if args.ratios is not None else [args.ratio]
    for r in ratios:
        if not 0.0 <= r <= 1.0:
            raise RatioError(f"ratio {r!r} is outside [0, 1]")
    if args.json_path is not None:
        check_output_file(args.json_path, "--json")
    if args.out is not None:
        from mor_cli._common import check_system_output

        check_system_output(args.out, "--out")
        if len(ratios) != 1:
            raise RatioError(f"--out writes one reduced model: give one --ratio (got "
                             f"{len(ratios)} ratios)")
    systems = load_systems(args.system)
    if args.out is not None and len(systems) != 1:
        from mor_cli._common import CommandError

        raise CommandError(
            f"--out writes one system, and {args.system} is a stack of {len(systems)} layers; "
            "save the --json report (it holds the kept units per layer) instead")
    nstates = sum(s.nstates for s in systems)
    with Progress("mor verify", len(ratios),
                  enabled=progress_wanted(getattr(args, "progress", None), nstates)) as progress:
        reports = []
        for r in ratios:
            progress.step(f"{args.method} at ratio {r:g}: certify {len(systems)} layer(s), "
                          f"{nstates} states")
            plan = mor.prune(systems, args.method, ratio=r)
            reports.append(certify(systems, plan))
    for report in reports:
        print(report.render())
        print()
    if args.json_path:
        layers, summaries = [], []
        for report in reports:
            data = report.to_dict()
            layers.extend(data["layers"])
            summaries.append(data["summary"])
        payload = {
            "system": args.system,
            "method": args.method,
            "ratios": ratios,
            "layers": layers,
            "summaries": summaries,
        }
        atomic_write_text(args.json_path, json.dumps(payload, indent=1, allow_nan=False))
        print(f"wrote {args.json_path}", file=sys.stderr)
    if args.out is not None:
        reduced = plan.apply(systems)[0]
        path = mor.save_system(args.out, reduced)
        print(f"wrote {path}: {reduced.nstates} of {systems[0].nstates} states "
              "(read it back with mor.load_system)", file=sys.stderr)
    return 0


def _methods() -> tuple[str, ...]:
    from mor.selection import METHODS

    return METHODS
