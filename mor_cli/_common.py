"""Helpers shared by the sub-commands: argument parsing, checks and progress.

Nothing here imports JAX: ``mor reduce`` and ``mor verify`` run with the core dependencies.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mor.exceptions import MORError

PROGRESS_MIN_STATES = 200
"""Systems with at least this many states print progress by default (seconds to minutes)."""


T = TypeVar("T")


class CommandError(MORError):
    """An input the command cannot use (the message names it and what to do)."""


# ---------------------------------------------------------------------- argument types
def package_check(check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``check(*args, **kwargs)``, a package's validator, with its error as argparse's.

    The package owns the rule and the message; the command line only shows it (one line,
    exit status 2, the option named by argparse).
    """
    try:
        return check(*args, **kwargs)
    except MORError as err:
        raise argparse.ArgumentTypeError(" ".join(str(err).split())) from None


def _ratio_range(text: str) -> list[float]:
    """``"start:stop:step"`` (stop included) → the ratios, its size checked before any is made."""
    from mor.selection import MAX_RATIOS, check_ratio

    start, stop, step = (float(x) for x in text.split(":"))
    for name, value in (("start", start), ("stop", stop)):
        package_check(check_ratio, value, name=f"the {name} of {text!r}")
    if not (math.isfinite(step) and step > 0):
        raise argparse.ArgumentTypeError(
            f"the step of {text!r} must be a positive number (e.g. 0:1:0.05)")
    if stop < start:
        raise argparse.ArgumentTypeError(
            f"{text!r}: start {start:g} is above stop {stop:g}; write start:stop:step")
    span = (stop - start) / step  # may be inf for a subnormal step
    if not math.isfinite(span) or math.floor(span + 1e-9) + 1 > MAX_RATIOS:
        raise argparse.ArgumentTypeError(
            f"{text!r} makes {span + 1:.3g} ratios; at most {MAX_RATIOS} (MAX_RATIOS, a grid "
            "0:1:0.001) are evaluated in one run: use a larger step")
    count = math.floor(span + 1e-9) + 1
    return [round(start + i * step, 10) for i in range(count)]


def parse_ratios(text: str) -> list[float]:
    """``"0.1,0.5"`` or a range ``"start:stop:step"`` (stop included) → sorted distinct ratios.

    The one ratio-list parser of the command line; the values are checked by
    :func:`mor.selection.check_ratios` (each in [0, 1], at most ``MAX_RATIOS``), and the
    size of a range before it is built.
    """
    from mor.selection import check_ratios

    try:  # the checks of a range raise argparse's error, not a ValueError
        ratios = _ratio_range(text) if ":" in text else [
            float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid ratio list {text!r}; use e.g. 0.1,0.5,0.9 or 0:1:0.05"
        ) from None
    return package_check(check_ratios, ratios)


def parse_ratio(text: str) -> float:
    """One pruning ratio, checked by :func:`mor.selection.check_ratio` (in [0, 1])."""
    from mor.selection import check_ratio

    return package_check(check_ratio, _number(text, "ratio", "a number in [0, 1]"))


def parse_methods(text: str) -> list[str]:
    """``"all"`` or ``"a,b"`` → method names, checked by :func:`mor.selection.check_methods`."""
    from mor.selection import check_methods

    return package_check(check_methods, text)


def parse_tolerance(text: str) -> float:
    """An H∞ error tolerance, checked by :func:`mor.budgets.check_tolerance` (> 0, finite)."""
    from mor.budgets import check_tolerance

    value = _number(text, "tolerance", "a positive H-infinity error, e.g. 1e-3")
    return package_check(check_tolerance, value)


def _number(text: str, what: str, expected: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {what} {text!r}; expected {expected}") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None


def nonnegative_int(text: str) -> int:
    """An integer >= 0 (seeds)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; expected an integer >= 0")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (batch sizes, counts)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive; expected an integer >= 1")
    return value


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--no-progress`` (default: on for systems of 200 states or more)."""
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help=f"progress lines on stderr (default: for systems of {PROGRESS_MIN_STATES} states "
        "or more)")


# ---------------------------------------------------------------------- shared options
def add_method_argument(parser: argparse.ArgumentParser, methods: Sequence[str]) -> None:
    """``--method`` (default aire), its help listing ``methods``; the package checks the name."""
    parser.add_argument("--method", default="aire",
                        help=f"selection method, one of {', '.join(methods)} (default aire)")


def add_seed_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--seed`` (an integer >= 0, default 0) of ``what``."""
    parser.add_argument("--seed", type=nonnegative_int, default=0, help=f"seed of {what} (>= 0)")


def add_output_dir_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """``--out DIR`` (required) and ``--force``; the directory is checked by the job."""
    parser.add_argument("--out", required=True,
                        help=f"{what} to create; an existing one is replaced only with "
                        "--force, and only if mor wrote it")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out written by mor (it holds "
                        ".mor-output.json); never the current, home or input folder")


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """CHECKPOINT, --out, --force, --task, --batch-size, --no-verify (prune and compare)."""
    parser.add_argument("checkpoint", help="bundled name (s5_digits, s5_mnist1d, s4d_digits), "
                        ".msgpack file, `mor train` run directory or Orbax directory")
    add_output_dir_arguments(parser, "output directory")
    parser.add_argument("--task", default=None,
                        help="the checkpoint's task when no metadata JSON lies beside it "
                        "(digits, digits32, mnist1d, listops)")
    parser.add_argument("--batch-size", type=positive_int, default=256,
                        help="evaluation batch size (default 256)")
    parser.add_argument("--no-verify", action="store_true",
                        help="load a checkpoint whose files differ from the SHA-256 checksums "
                        "in its metadata, with a warning (default: refuse it)")


def add_compat_argument(parser: argparse.ArgumentParser) -> None:
    """--compat (prune and compare)."""
    parser.add_argument("--compat", choices=["released"], default=None,
                        help="'released': select aire/last states exactly as the released "
                        "LAST / AIRE-Prune code does (1e-8 on the pole gap, its bidirectional "
                        "score, K = max(floor(N(1-ratio)), 1), keep score >= K-th largest); "
                        "default: the toolkit's rules")


# ---------------------------------------------------------------------- output files
def check_output_file(text: str, option: str) -> Path:
    """Check, before any work, that the file ``text`` (given as ``option``) can be written.

    Raises
    ------
    CommandError
        Empty, a directory, not a regular file, or its folder is missing or not writable.
    """
    if not text.strip():
        raise CommandError(f"{option} is empty; name the file to write")
    path = Path(text)
    if path.is_dir():
        raise CommandError(
            f"{option} {text}: is a directory; give a file name, e.g. {path / 'report.json'}")
    if path.exists() and not path.is_file():
        raise CommandError(f"{option} {text}: exists and is not a regular file")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise CommandError(f"{option} {text}: the folder {folder} does not exist; create it")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise CommandError(
            f"{option} {text}: cannot write in {folder} ({err.strerror or err}); choose a "
            "location you can write to"
        ) from err
    return path


# ---------------------------------------------------------------------- progress
def progress_wanted(flag: bool | None, nstates: int) -> bool:
    """``--progress``/``--no-progress`` if given, else whether the system is big."""
    return flag if flag is not None else nstates >= PROGRESS_MIN_STATES


class Progress:
    """Progress of a long command's steps on stderr.

    A tqdm bar when tqdm is installed (the ``ssm`` extra) and stderr is a terminal;
    otherwise one plain line as each step starts (``mor reduce: [3/12] aire at ratio 0.5
    (41.2 s)``), so it works with the core dependencies only and in log files.  Disabled,
    it prints nothing.
    """

    def __init__(self, command: str, total: int, *, enabled: bool) -> None:
        self.command, self.total, self.enabled = command, int(total), bool(enabled)
        self.count = 0
        self.start = time.perf_counter()
        self._bar = self._make_bar() if self.enabled else None

    def _make_bar(self):
        if not getattr(sys.stderr, "isatty", lambda: False)():
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=self.total, desc=self.command, file=sys.stderr, leave=False)

    def step(self, what: str) -> None:
        """Announce the next step (called as it starts)."""
        if not self.enabled:
            return
        if self._bar is not None:
            if self.count:
                self._bar.update(1)
            self._bar.set_postfix_str(what)
        else:
            elapsed = time.perf_counter() - self.start
            print(f"{self.command}: [{self.count + 1}/{self.total}] {what} ({elapsed:.1f} s)",
                  file=sys.stderr, flush=True)
        self.count += 1

    def close(self) -> None:
        """End the bar, or print the total time."""
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        print(f"{self.command}: {self.count} step(s) in {elapsed:.1f} s", file=sys.stderr,
              flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve_system_argument(text: str):
    """A bundled benchmark name, a .mat file or a .json system file → control.StateSpace."""
    import mor
    from mor.system_io import load_mat_system, load_system

    if text in mor.BENCHMARKS and not Path(text).is_file():
        return mor.load_benchmark(text)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(
            f"{text}: no such file, and not a bundled benchmark ({', '.join(mor.BENCHMARKS)})"
        )
    return load_system(path) if path.suffix.lower() == ".json" else load_mat_system(path)


def add_figure_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format png|pdf|svg``: the file format of the figures a command writes."""
    from mor.plots import FIGURE_FORMATS, PAPER_DPI

    parser.add_argument("--format", dest="fig_format", choices=FIGURE_FORMATS, default="png",
                        help=f"file format of the figures: png ({PAPER_DPI} dpi), or pdf / svg "
                        "(vector graphics, for papers) (default png)")


def check_system_output(text: str, option: str) -> Path:
    """``text`` as a writable ``.mat`` or ``.json`` file for a reduced model (checked first)."""
    path = check_output_file(text, option)
    if path.suffix.lower() not in (".mat", ".json"):
        raise CommandError(
            f"{option} {text}: name the file .mat (MATLAB: A, B, C, D, Ts and the signal "
            "names) or .json")
    return path


class CollectedWarnings:
    """Warnings raised during a command, printed once each as ``note:`` lines on stderr.

    SLICOT's warnings (e.g. "the selected order is greater than the order of a minimal
    realization") arrive many times over a sweep; the command says each one once, with a
    count, in plain words instead of a raw ``SlycotResultWarning`` traceback line.
    """

    def __init__(self, command: str) -> None:
        self.command = command
        self._catcher = warnings.catch_warnings(record=True)
        self.records: list = []

    def __enter__(self) -> CollectedWarnings:
        self.records = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: object) -> None:
        self._catcher.__exit__(*exc)
        counts: dict[str, int] = {}
        for w in self.records:
            text = " ".join(str(w.message).split())
            counts[text] = counts.get(text, 0) + 1
        for text, count in counts.items():
            times = f" ({count} times)" if count > 1 else ""
            print(f"{self.command}: note: {text}{times}", file=sys.stderr)
