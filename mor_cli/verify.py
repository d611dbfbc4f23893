"""``mor verify``: certify a reduction of a system or a layer stack, print the table, write JSON.

    mor verify SYSTEM --method aire --ratio 0.5 [--ratios 0.1,0.3,...] [--json OUT.json]

SYSTEM is a bundled benchmark name (``build``, ``CDplayer``, ``iss1R``, ``heat-cont``), a
MATLAB ``.mat`` file with A, B, C[, D] (continuous time unless it holds a scalar ``dt``),
or a layer stack saved by :func:`verification.save_stack` (``.npz``).  On a broken input
the command exits with status 2 and a message naming the problem; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    p.add_argument("--method", default="aire", help="selection method (default aire)")
    p.add_argument("--ratio", type=float, default=0.5, help="pruning ratio (default 0.5)")
    p.add_argument("--ratios", type=_ratios, default=None,
                   help="comma-separated ratios to sweep (overrides --ratio)")
    p.add_argument("--json", dest="json_path", default=None, help="write the report here")
    p.set_defaults(handler=run_verify)


def load_systems(spec: str):
    """The ModalSystem layers named by ``spec`` (benchmark name, .mat or .npz path)."""
    import mor
    from mor.benchmarks import load_mat_system
    from mor.exceptions import MORError
    from verification.stack_io import load_stack

    path = Path(spec)
    if spec in mor.BENCHMARKS and not path.exists():
        return [mor.ModalSystem.from_statespace(mor.load_benchmark(spec), name=spec)]
    if not path.exists():
        raise MORError(
            f"{spec}: no such file, and not a bundled benchmark ({', '.join(mor.BENCHMARKS)})"
        )
    if path.suffix == ".npz":
        return load_stack(path)
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
    systems = load_systems(args.system)
    reports = [certify(systems, mor.prune(systems, args.method, ratio=r)) for r in ratios]
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
    return 0
