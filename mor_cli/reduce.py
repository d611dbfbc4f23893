"""``mor reduce``: reduce a linear system (benchmark, .mat or .json): compare methods, or
make one certified model.

Reduce a stable linear system by modal (AIRE, LAST, ...) and balanced truncation at several
ratios, and print the exact H∞ and H2 errors of each reduction and which method wins.  With
--order or --tol: make one reduced model of any system (an unstable part is kept whole),
print its certified and exact error, and write it (--out) and its error plots (--plots).

    mor reduce SYSTEM [--methods aire,last,...] [--ratios 0.25,0.5,0.75] [--no-progress]
    mor reduce SYSTEM --order R | --tol EPS [--method M] [--out model.mat] [--plots DIR]

The first form is a comparison table (and says which method wins where); the second makes
one reduced model (:func:`mor.reduce`: any stable or unstable system, names and ``dt``
kept), prints its certified and exact error, writes it (``.mat`` or ``.json``) and the error
figures (singular values of G and G − G_r, Hankel singular values with the bound per order,
certificate against exact error per order).

Each step (the full system's norms, then every method × ratio) is announced on stderr for
systems of 200 states or more (``--progress`` / ``--no-progress`` to choose).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from mor.exceptions import UnstableModeWarning, UnstableSystemError
from mor.io import markdown_table
from mor_cli._common import (
    CollectedWarnings,
    CommandError,
    Progress,
    add_figure_arguments,
    add_progress_argument,
    check_output_file,
    check_system_output,
    parse_methods,
    parse_ratios,
    parse_tolerance,
    positive_int,
    progress_wanted,
    resolve_system_argument,
)

DEFAULT_METHODS = "aire,last,global_hinf,balanced_truncation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mor reduce``."""
    from mor.reduction import REDUCE_METHODS
    from mor.selection import METHODS

    parser.add_argument("system", help="bundled benchmark name (build, CDplayer, iss1R, "
                        "heat-cont), a .mat file with A, B, C[, D][, E][, dt or Ts] (names "
                        "in any case) or a .json system file")
    table = parser.add_argument_group("comparison table (the default)")
    table.add_argument("--methods", type=parse_methods, default=DEFAULT_METHODS,
                       help=f"comma-separated methods or 'all' ({', '.join(METHODS)}) "
                       f"(default {DEFAULT_METHODS})")
    table.add_argument("--ratios", type=parse_ratios, default="0.25,0.5,0.75",
                       help="pruning ratios, e.g. 0.25,0.5 or 0:1:0.25 (default 0.25,0.5,0.75)")
    one = parser.add_argument_group(
        "one reduced model (mor.reduce): give --order or --tol")
    size = one.add_mutually_exclusive_group()
    size.add_argument("--order", type=positive_int, default=None, metavar="R",
                      help="states of the reduced model")
    size.add_argument("--tol", type=parse_tolerance, default=None, metavar="EPS",
                      help="the smallest order whose certified H-infinity error is <= EPS")
    one.add_argument("--method", choices=REDUCE_METHODS, default="balanced_truncation",
                     metavar="METHOD",
                     help=f"one of {', '.join(REDUCE_METHODS)} (default balanced_truncation)")
    one.add_argument("--alpha", type=float, default=None,
                     help="stability boundary of the balanced methods: poles with Re >= ALPHA "
                     "(continuous time, ALPHA <= 0) or |z| >= ALPHA (discrete time) are kept "
                     "whole (default 0, or 1 in discrete time: the unstable part)")
    one.add_argument("--out", default=None, metavar="FILE",
                     help="write the reduced model to FILE (.mat: A, B, C, D, Ts and the "
                     "signal names, as MATLAB's ss; or .json); an existing file is replaced")
    one.add_argument("--plots", default=None, metavar="DIR",
                     help="write the error figures into DIR (created if missing): "
                     "sigma, hankel and error_vs_order")
    add_figure_arguments(one)
    add_progress_argument(parser)


def check_reducible(sys_, label: str = "system") -> None:
    """Refuse a system whose transfer function has no dynamic part (B = 0 or C = 0).

    Raises
    ------
    CommandError
        No states, B = 0 or C = 0: every state is uncontrollable or unobservable, so there
        is nothing to reduce and no relative error to report.
    """
    if sys_.nstates == 0:
        raise CommandError(f"{label} has no states; there is nothing to reduce")
    for name, matrix in (("B", sys_.B), ("C", sys_.C)):
        if not np.any(np.asarray(matrix)):
            raise CommandError(
                f"{label}: {name} = 0, so the transfer function has no dynamic part (every "
                "state is uncontrollable or unobservable) and there is nothing to reduce; "
                "check the file's matrices"
            )


def _relative(error: float, full: float) -> float | None:
    """``error / full``; None (printed n/a) when the full norm is 0 or not finite."""
    return error / full if full and np.isfinite(full) else None


def reduction_table(
    sys_, methods, ratios, *, progress: Progress | None = None
) -> tuple[list[str], list[list[object]]]:
    """Rows: method, ratio, kept states, exact H∞ and H2 errors (absolute and relative).

    The errors are the exact ones of :func:`verification.certify` (its certificate of the
    one-layer plan).
    """
    import mor

    check_reducible(sys_)
    progress = progress or Progress("mor reduce", 0, enabled=False)
    progress.step(f"modal form and norms of the full system ({sys_.nstates} states)")
    modal = mor.ModalSystem.from_statespace(sys_, name="system")
    full_hinf, full_h2 = mor.hinf_norm(modal), mor.h2_norm(modal)
    rows = []
    for method in methods:
        for ratio in ratios:
            progress.step(f"{method} at ratio {ratio:g}")
            start = time.perf_counter()
            states, hinf_err, h2_err = _exact_errors(modal, method, ratio)
            seconds = time.perf_counter() - start
            rows.append([method, ratio, f"{states}/{modal.nstates}", hinf_err,
                         _relative(hinf_err, full_hinf), h2_err, _relative(h2_err, full_h2),
                         f"{seconds:.2f}"])
    header = ["method", "ratio", "states", "H∞ error", "rel. H∞", "H2 error", "rel. H2", "s"]
    return header, rows


def _exact_errors(modal, method: str, ratio: float) -> tuple[int, float, float]:
    """(kept real states, exact ‖G − G_r‖∞, exact ‖G − G_r‖₂) of ``method`` at ``ratio``.

    Raises
    ------
    CommandError
        An exact norm could not be computed (the certificate's reason is given).
    """
    import mor
    from verification import certify

    plan = mor.prune([modal], method, ratio=ratio)
    layer = certify([modal], plan).layers[0]
    for value, reason in ((layer.exact_hinf, layer.hinf_reason), (layer.exact_h2,
                                                                   layer.h2_reason)):
        if value is None:
            raise CommandError(f"{method} at ratio {ratio:g}: {reason}")
    if plan.kind == "balanced":
        states = layer.nunits - layer.npruned  # a balanced layer counts real states
    else:
        states = plan.apply([modal])[0].nstates
    return states, layer.exact_hinf, layer.exact_h2


def run(args: argparse.Namespace) -> int:
    single = args.order is not None or args.tol is not None
    if not single and (args.out or args.plots):
        raise CommandError(
            f"{'--out' if args.out else '--plots'} is about one reduced model: give --order R "
            "or --tol EPS (and --method) as well")
    if args.out:
        check_system_output(args.out, "--out")
    if args.plots:
        _check_plot_dir(args.plots)
    sys_ = resolve_system_argument(args.system)
    check_reducible(sys_, args.system)
    print(f"{args.system}: {describe_system(sys_)}")
    if single:
        return run_single(args, sys_)
    steps = 1 + len(args.methods) * len(args.ratios)
    with CollectedWarnings("mor reduce"), Progress(
            "mor reduce", steps,
            enabled=progress_wanted(args.progress, sys_.nstates)) as progress:
        try:
            header, rows = reduction_table(sys_, args.methods, args.ratios, progress=progress)
        except UnstableSystemError as err:
            raise CommandError(
                f"{args.system} is unstable ({str(err).split(';')[0].split('.  ')[0]}): the "
                "comparison table needs the modal form of a stable system.  Reduce it with "
                "--order R or --tol EPS: balanced truncation keeps the unstable part whole "
                "and reduces the stable one") from None
    print(markdown_table(header, rows, padded=True))
    for line in verdict_lines(header, rows):
        print(line)
    print(f"next: `mor reduce {args.system} --tol EPS --out model.mat` writes the smallest "
          "balanced-truncation model certified within EPS (see --help)")
    return 0


def describe_system(sys_) -> str:
    """``"120 states, 2 inputs, 2 outputs, continuous time"`` (and the signal names)."""
    time_base = "continuous time" if sys_.isctime(strict=True) else (
        "discrete time, unspecified sampling time" if sys_.dt is True
        else f"discrete time, dt = {sys_.dt:g}")
    text = (f"{sys_.nstates} states, {sys_.ninputs} inputs, {sys_.noutputs} outputs, "
            f"{time_base}")
    from mor._lti import default_labels

    if list(sys_.input_labels) != list(default_labels("u", sys_.ninputs)) or list(
            sys_.output_labels) != list(default_labels("y", sys_.noutputs)):
        text += f" (inputs {', '.join(sys_.input_labels)}; outputs {', '.join(sys_.output_labels)})"
    return text


def verdict_lines(header, rows) -> list[str]:
    """Which method has the smallest exact H∞ error at each ratio, and by how much.

    Says in particular where balanced truncation beats every modal method (and where it
    does not), the question a control user asks of the table.
    """
    col, scol = header.index("H∞ error"), header.index("states")
    by_ratio: dict[float, dict[str, float]] = {}
    states: dict[tuple[float, str], str] = {}
    for row in rows:
        by_ratio.setdefault(row[1], {})[row[0]] = float(row[col])
        states[row[1], row[0]] = str(row[scol]).split("/")[0]
    lines = []
    for ratio, errors in by_ratio.items():
        if len(errors) < 2:
            continue
        best = min(errors, key=errors.get)
        modal = {m: e for m, e in errors.items() if m != "balanced_truncation"}
        line = f"ratio {ratio:g}: smallest H∞ error by {best} ({errors[best]:.3g})"
        if "balanced_truncation" in errors and modal:
            bt = errors["balanced_truncation"]
            best_modal = min(modal, key=modal.get)
            kept = (states[ratio, "balanced_truncation"], states[ratio, best_modal])
            if bt < modal[best_modal]:
                factor = modal[best_modal] / bt if bt > 0 else float("inf")
                line += (f"; balanced truncation beats the best modal method ({best_modal}) "
                         f"by a factor {factor:.3g}")
            if kept[0] != kept[1]:
                line += f" (with {kept[0]} states against {kept[1]})"
            else:
                factor = bt / modal[best_modal] if modal[best_modal] > 0 else float("inf")
                line += (f"; the modal method {best_modal} beats balanced truncation by a "
                         f"factor {factor:.3g} (it keeps whole modes)")
            if kept[0] != kept[1]:
                line += f" (with {kept[1]} states against {kept[0]})"
        lines.append(line)
    return lines


def _check_plot_dir(text: str) -> None:
    from pathlib import Path

    path = Path(text)
    if path.exists() and not path.is_dir():
        raise CommandError(f"--plots {text}: exists and is not a directory")
    check_output_file(str(path / "sigma.png"), "--plots") if path.is_dir() else \
        check_output_file(str(path), "--plots")


def run_single(args: argparse.Namespace, sys_) -> int:
    """One reduced model by ``mor.reduce``: its bound, exact error, file and figures."""
    from pathlib import Path

    import mor
    from mor.reduction import Reductor, error_analysis, reduction_error

    steps = 3 + (1 if args.plots else 0)
    with CollectedWarnings("mor reduce"), Progress(
            "mor reduce", steps,
            enabled=progress_wanted(args.progress, sys_.nstates)) as progress:
        warnings.simplefilter("ignore", UnstableModeWarning)  # printed from info.notes
        progress.step(f"{args.method}: stable/unstable split and Hankel singular values "
                      f"({sys_.nstates} states)")
        red = Reductor(sys_, args.method, alpha=args.alpha)
        progress.step("reduce")
        reduced, info = red.reduce(args.order, tol=args.tol)
        progress.step("exact H∞ error of G − G_r")
        exact = reduction_error(sys_, reduced)
        analysis = None
        if args.plots:
            progress.step("error analysis at about 8 orders (for the figures)")
            analysis = error_analysis(sys_, args.method, alpha=args.alpha)
    how = (f"order {args.order}" if args.tol is None else
           f"the smallest order certified within tol {args.tol:g}")
    print(f"{args.method} to {info.order} states ({how}):")
    rows = [[info.order, info.bound, exact, exact / info.bound if info.bound else None]]
    print(markdown_table(["states", "certified H∞ bound", "exact H∞ error", "exact / bound"],
                         rows, padded=True))
    print(f"bound: {info.bound_source}")
    for note in info.notes:
        print(f"note: {note}")
    if args.out:
        path = mor.save_system(args.out, reduced)
        print(f"wrote {path} (read it back with mor.load_system)")
    if args.plots:
        from mor import plots

        folder = Path(args.plots)
        folder.mkdir(parents=True, exist_ok=True)
        fmt = args.fig_format
        written = [
            plots.sigma_plot(folder / "sigma", sys_, reduced, bound=info.bound, fmt=fmt,
                             title=f"{args.system}: {args.method} to {info.order} states"),
            plots.hankel_plot(folder / "hankel", red.hankel_singular_values(),
                              mor.error_bounds(sys_, alpha=args.alpha), order=info.order,
                              tol=args.tol, unstable_states=red.unstable_states,
                              other_bounds=None if args.method.startswith("balanced")
                              else {f"{args.method} (modal triangle)": red.error_bounds()},
                              fmt=fmt, title=f"{args.system}: Hankel singular values and "
                              "the bound per order"),
            plots.error_analysis_plot(folder / "error_vs_order", analysis, fmt=fmt,
                                      title=f"{args.system}: certificate against exact error"),
        ]
        print(f"wrote {', '.join(str(p) for p in written)}")
        verdict = "every bound holds" if analysis.holds else "A BOUND FAILS"
        print(f"error analysis at orders {analysis.achieved.tolist()}: {verdict}; exact / "
              f"bound from {_range(analysis)}")
    return 0


def _range(analysis) -> str:
    import numpy as np

    eff = analysis.effectivities[analysis.resolved & (analysis.bounds > 0)]
    if not eff.size:
        return "n/a (every bound is below the round-off floor)"
    return f"{np.nanmin(eff):.3g} to {np.nanmax(eff):.3g}"
