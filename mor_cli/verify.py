"""``mor verify``: certify a reduction: bounds vs exact error norms.

Reduce SYSTEM by METHOD at one or more pruning ratios and certify each layer: every
applicable bound on the truncation error next to the exact H∞ and H2 errors.

    mor verify SYSTEM --method aire --ratio 0.5 [--ratios 0.1,0.3,...] [--json OUT.json]

SYSTEM is a bundled benchmark name (``build``, ``CDplayer``, ``iss1R``, ``heat-cont``), a
MATLAB ``.mat`` file with A, B, C[, D] (continuous time unless it holds a scalar ``dt``),
or a layer stack saved by :func:`mor.save_stack` (``.npz``).  On a broken input
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
    CommandError,
    Progress,
    add_method_argument,
    add_progress_argument,
    check_output_file,
    check_system_output,
    parse_ratios,
    progress_wanted,
    resolve_system_argument,
)

__all__ = ["add_arguments", "load_systems", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``mor verify``."""
    from mor.selection import METHODS

    p.add_argument("system", help="benchmark name, .mat file (A, B, C[, D][, dt]) or .npz stack")
    add_method_argument(p, METHODS)
    p.add_argument("--ratio", type=float, default=0.5, help="pruning ratio (default 0.5)")
    p.add_argument("--ratios", type=parse_ratios, default=None,
                   help="ratios to sweep, e.g. 0.1,0.5 or 0:1:0.25 (overrides --ratio)")
    p.add_argument("--json", dest="json_path", default=None, help="write the report here")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the reduced model (one system, one ratio) to FILE: .mat (A, B, "
                   "C, D, Ts and the signal names, as MATLAB's ss) or .json")
    add_progress_argument(p)


def load_systems(spec: str):
    """The ModalSystem layers named by ``spec`` (benchmark name, .mat, .json or .npz path)."""
    import mor

    path = Path(spec)
    if path.suffix == ".npz" and path.exists():
        from mor.system_io import load_stack

        return load_stack(path)
    return [mor.ModalSystem.from_statespace(resolve_system_argument(spec), name=path.stem)]


def run(args: argparse.Namespace) -> int:
    import mor
    from mor.exceptions import RatioError
    from mor.io import atomic_write_text
    from mor.selection import check_ratio
    from verification import certify

    ratios = args.ratios if args.ratios is not None else [check_ratio(args.ratio)]
    if args.json_path is not None:
        check_output_file(args.json_path, "--json")
    if args.out is not None:
        check_system_output(args.out, "--out")
        if len(ratios) != 1:
            raise RatioError(f"--out writes one reduced model: give one --ratio (got "
                             f"{len(ratios)} ratios)")
    systems = load_systems(args.system)
    if args.out is not None and len(systems) != 1:
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
        from mor.balanced_selection import apply_plan

        reduced = apply_plan(plan, systems)[0]
        path = mor.save_system(args.out, reduced)
        print(f"wrote {path}: {reduced.nstates} of {systems[0].nstates} states "
              "(read it back with mor.load_system)", file=sys.stderr)
    return 0

