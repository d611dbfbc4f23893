"""``mor demo``: compare on the bundled checkpoints and certify a SLICOT benchmark.

:func:`run_demo` runs the compare job (:func:`~ssm_bridge.jobs.compare.compare_into`) on
every bundled checkpoint, the paper-shaped ones only with ``full=True``
(``ssm_bridge.bundled.PAPER_SHAPED``, slower), certifies the reductions of a bundled
SLICOT benchmark (:func:`verify_benchmark`) and writes one report
(:func:`ssm_bridge.jobs.report.write_demo`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mor
from mor.selection import check_ratios
from ssm_bridge._staging import check_output_dir
from ssm_bridge.errors import JobError, OutputExistsError
from ssm_bridge.jobs import report
from ssm_bridge.jobs.compare import CompareResult, compare_into
from ssm_bridge.jobs.options import CompareOptions
from ssm_bridge.jobs.resolve import (
    available_bundled,
    bundled_module,
    input_paths,
    resolve_checkpoint,
)

__all__ = ["DEFAULT_DEMO_DIR", "DEMO_RATIOS", "DemoResult", "run_demo", "verify_benchmark"]

log = logging.getLogger(__name__)

DEMO_RATIOS: tuple[float, ...] = tuple(round(0.1 * i, 10) for i in range(11))
"""The demo's coarser grid 0, 0.1, ..., 1."""

DEFAULT_DEMO_DIR = Path("reports") / "demo"
DEMO_MARKER = ".mor-demo"
"""The file that marks a folder as the demo's own (replaced by the next demo)."""


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote.

    Attributes
    ----------
    out_dir, report_path : Path
    compares : dict name → CompareResult
        One compare report per bundled checkpoint, in ``out_dir/<name>/``.
    benchmark : str
        The SLICOT benchmark certified.
    verify_rows : list of dict
        Per (method, ratio): kept states, exact H∞/H2 errors, bounds, verdict.
    missing : tuple of str
        Bundled names whose checkpoint file is absent.
    benchmark_states : int
        States of the benchmark.
    verify_reports : tuple of CertificateReport
        The benchmark's certificate reports, one per row.
    full : bool
        Whether the paper-shaped checkpoints were compared (``mor demo --full``).
    paper_shaped : tuple of str
        The paper-shaped bundled checkpoints installed: those ``--full`` adds (or added).
    """

    out_dir: Path
    report_path: Path
    compares: dict[str, CompareResult]
    benchmark: str
    verify_rows: list[dict]
    missing: tuple[str, ...]
    benchmark_states: int = 0
    verify_reports: tuple = ()
    full: bool = False
    paper_shaped: tuple[str, ...] = ()


def verify_benchmark(name: str, methods: Sequence[str], ratios: Sequence[float]):
    """Certify every (method, ratio) reduction of the SLICOT benchmark ``name``.

    Returns
    -------
    modal : ModalSystem
        The benchmark.
    rows : list of dict
        Per (method, ratio): kept states, exact errors, the tightest proved bound, verdict.
    reports : list of CertificateReport
    """
    from verification import certify

    modal = mor.ModalSystem.from_statespace(mor.load_benchmark(name), name=name)
    rows, reports = [], []
    for m in methods:
        for r in ratios:
            plan = mor.prune([modal], m, ratio=r)
            rep = certify([modal], plan)
            reports.append(rep)
            lc = rep.layers[0]
            valid = [b for b in lc.bounds if b.valid and b.norm == "hinf" and b.value is not None]
            best = min(valid, key=lambda b: b.value) if valid else None
            kept = plan.kept_counts[0] if plan.kind == "balanced" else sum(
                2 if modal.pair[i] else 1 for i in plan.keep[0])
            rows.append({
                "method": m, "ratio": r, "kept_states": kept, "states": modal.nstates,
                "exact_hinf": lc.exact_hinf, "exact_h2": lc.exact_h2,
                "best_bound": None if best is None else best.value,
                "best_bound_name": None if best is None else best.name,
                "all_proved_bounds_hold": rep.all_valid_bounds_hold,
            })
    return modal, rows, reports


def paper_shaped() -> tuple[str, ...]:
    """``ssm_bridge.bundled.PAPER_SHAPED`` (empty when the bundle names none)."""
    module = bundled_module()
    return tuple(getattr(module, "PAPER_SHAPED", ())) if module is not None else ()


def _demo_names(names: Sequence[str] | None, full: bool) -> tuple[list[str], tuple[str, ...],
                                                                   tuple[str, ...]]:
    """(names to run, names whose file is absent, paper-shaped names installed).

    By default every bundled checkpoint but the paper-shaped ones; ``full`` adds those
    installed.
    """
    module = bundled_module()
    shaped = paper_shaped()
    default = [n for n in getattr(module, "BUNDLED", ()) if n not in shaped]
    chosen = list(dict.fromkeys(names)) if names is not None else default
    if module is None or not chosen:
        raise JobError(
            "no bundled checkpoints are installed (ssm_bridge.bundled); train them with "
            "`python scripts/train_bundled.py`, or run `mor compare CHECKPOINT` on your own"
        )
    unknown = [n for n in chosen if n not in module.BUNDLED]
    if unknown:
        raise JobError(
            f"unknown bundled checkpoint(s) {unknown}; bundled: {', '.join(module.BUNDLED)}"
        )
    present = available_bundled()
    installed_shaped = tuple(n for n in shaped if n in present)
    if full:
        chosen += [n for n in installed_shaped if n not in chosen]
    run = [n for n in chosen if n in present]
    if not run:
        raise JobError(
            f"none of the bundled checkpoint files ({', '.join(chosen)}) is present; make "
            "them with `python scripts/train_bundled.py`"
        )
    return run, tuple(n for n in chosen if n not in run), installed_shaped


def _demo_out(out_dir: str | os.PathLike, force: bool, inputs: list[Path]) -> tuple[Path, bool]:
    """(absolute output folder, whether it may be replaced), checked before any work."""
    if not os.fspath(out_dir).strip():  # the clear error for an empty --out
        check_output_dir(out_dir, force=force, error=OutputExistsError)
    out = Path(out_dir).absolute()
    replace = force or (out / DEMO_MARKER).is_file()  # the demo's own folder is replaced
    check_output_dir(out, force=replace, inputs=inputs, error=OutputExistsError)
    return out, replace


def run_demo(
    out_dir: str | os.PathLike = DEFAULT_DEMO_DIR,
    *,
    names: Sequence[str] | None = None,
    ratios: Sequence[float] = DEMO_RATIOS,
    benchmark: str = "CDplayer",
    verify_methods: Sequence[str] = ("aire", "last", "balanced_truncation"),
    verify_ratios: Sequence[float] = (0.5, 0.75, 0.9),
    full: bool = False,
    **options: Any,
) -> DemoResult:
    """The main job on the bundled defaults: compare on every bundled checkpoint, verify a
    SLICOT benchmark, and write one report.

    Writes ``out_dir/report.md`` (summary and links), ``out_dir/<name>/`` (the full
    :func:`~ssm_bridge.jobs.compare.compare_checkpoint` report of each bundled checkpoint)
    and ``out_dir/verify_<benchmark>.json`` / ``.md`` (certificates of the benchmark's
    reductions).  ``out_dir`` is the demo's own folder: a previous demo report there is
    replaced; any other existing directory is refused unless ``force=True`` and mor wrote
    it (it holds ``.mor-output.json``); the current or home directory, the filesystem root
    and folders holding the bundled checkpoints are always refused.

    Parameters
    ----------
    out_dir : path-like
    names : sequence of str, optional
        Bundled checkpoints to compare (default: all but the paper-shaped ones).
    ratios : sequence of float
        The grid of every compare.
    benchmark : str
        A SLICOT benchmark of ``mor.BENCHMARKS``.
    verify_methods, verify_ratios : sequences
        The benchmark's reductions.
    full : bool
        Also compare the paper-shaped bundled checkpoints (``ssm_bridge.bundled.PAPER_SHAPED``,
        those installed): S5 and S4D models of the papers' shapes, slower (``mor demo --full``).
    **options
        ``force``, ``progress``, ``repeats`` (timed calls per model, default 3), ``command``
        (recorded in ``.mor-output.json``) and ``figure_format`` (``"png"``, ``"pdf"`` or
        ``"svg"``) of :class:`~ssm_bridge.jobs.options.CompareOptions`.

    Raises
    ------
    JobError
        No bundled checkpoint is installed (the message says how to make them), an unknown
        name or benchmark.
    """
    opts = _demo_options(ratios, options)
    present, missing, shaped = _demo_names(names, full)
    if benchmark not in mor.BENCHMARKS:
        raise JobError(
            f"unknown benchmark {benchmark!r}; choose from {', '.join(mor.BENCHMARKS)}")
    inputs = [p for n in present for p in input_paths(n)]
    out, replace = _demo_out(out_dir, opts.force, inputs)
    compares: dict[str, CompareResult] = {}
    with report.staged(out, replace, inputs, opts.command) as tmp:
        (tmp / DEMO_MARKER).write_text("written by `mor demo`; replaced by the next run\n")
        for name in present:
            log.info("demo: compare on %s", name)
            res = resolve_checkpoint(name)
            (tmp / name).mkdir()
            compares[name] = compare_into(res, tmp / name, options=opts)
        log.info("demo: verify on %s", benchmark)
        modal, rows, reports = verify_benchmark(benchmark, verify_methods, verify_ratios)
        result = DemoResult(out, out / "report.md", compares, benchmark, rows, missing,
                            modal.nstates, tuple(reports), full, shaped)
        report.write_demo(result, tmp)
    moved = {n: report.moved(c, out / n) for n, c in compares.items()}
    return DemoResult(out, out / "report.md", moved, benchmark, rows, missing, modal.nstates,
                      tuple(reports), full, shaped)


def _demo_options(ratios: Sequence[float], options: dict[str, Any]) -> CompareOptions:
    """The compare options of every checkpoint of the demo, checked."""
    allowed = {"force", "progress", "repeats", "command", "figure_format"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"run_demo() got unknown keyword argument(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(sorted(allowed))}")
    ratios = check_ratios(ratios)
    return CompareOptions(methods=list(mor.METHODS), ratios=ratios, reference_ratio=0.5,
                          speedup_ratios=(0.5, 0.8), points=1.0, seed=0, batch_size=256,
                          **{"repeats": 3, **options}).checked()
