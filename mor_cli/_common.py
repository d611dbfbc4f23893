"""Helpers shared by the sub-commands: argument parsing, checks, progress and tables.

Nothing here imports JAX: ``mor reduce`` and ``mor verify`` run with the core dependencies.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from mor.exceptions import MORError

MAX_RATIOS = 1001
"""Most ratios in one run (a grid 0:1:0.001); the same limit as ``ssm_bridge.pipeline``."""

PROGRESS_MIN_STATES = 200
"""Systems with at least this many states print progress by default (seconds to minutes)."""


class CommandError(MORError):
    """An input the command cannot use (the message names it and what to do)."""


# ---------------------------------------------------------------------- argument types
def _ratio_range(text: str) -> list[float]:
    """``"start:stop:step"`` (stop included) → the ratios, checked before any is made."""
    start, stop, step = (float(x) for x in text.split(":"))
    for name, value in (("start", start), ("stop", stop)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise argparse.ArgumentTypeError(
                f"ratios must lie in [0, 1]; the {name} of {text!r} is {value:g}")
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
    """``"0.1,0.5"`` or a range ``"start:stop:step"`` (stop included) → ratios in [0, 1].

    At most :data:`MAX_RATIOS` ratios; the size of a range is checked before it is built.
    """
    try:
        if ":" in text:
            ratios = _ratio_range(text)
        else:
            ratios = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid ratio list {text!r}; use e.g. 0.1,0.5,0.9 or 0:1:0.05"
        ) from None
    bad = [r for r in ratios if not 0.0 <= r <= 1.0]
    if not ratios or bad:
        raise argparse.ArgumentTypeError(f"ratios must lie in [0, 1]; got {bad or ratios}")
    if len(ratios) > MAX_RATIOS:
        raise argparse.ArgumentTypeError(
            f"{len(ratios)} ratios; at most {MAX_RATIOS} (MAX_RATIOS) are evaluated in one run")
    return ratios


def parse_ratio(text: str) -> float:
    """One pruning ratio in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid ratio {text!r}; expected a number in [0, 1]"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"ratio must lie in [0, 1]; got {value}")
    return value


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


def network_methods() -> tuple[str, ...]:
    """Methods that prune a checkpoint: ``mor.METHODS`` and the data-calibrated ones."""
    from mor.selection import METHODS

    try:
        from mor.calibrated import CALIBRATED_METHODS
    except ImportError:  # pragma: no cover - a build without calibration
        CALIBRATED_METHODS = ()
    return (*METHODS, *CALIBRATED_METHODS)


def parse_method(text: str) -> str:
    """One pruning method; ``all`` is refused with the command that compares them all.

    Raises
    ------
    CommandError
        ``all`` or an unknown name (the message lists the methods).
    """
    methods = network_methods()
    name = text.strip()
    if name == "all":
        raise CommandError(
            "--method all: prune writes one model, so it takes one method; to evaluate every "
            "method use `mor compare CHECKPOINT --methods all --out DIR`")
    if name not in methods:
        raise CommandError(f"unknown method {name!r}; choose from {', '.join(methods)}")
    return name


def parse_methods(text: str) -> list[str]:
    from mor.selection import METHODS

    methods = list(METHODS) if text == "all" else [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {unknown}; choose from {', '.join(METHODS)} or 'all'"
        )
    return methods


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table with right-aligned columns."""
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def resolve_system_argument(text: str):
    """A bundled benchmark name, a .mat file or a .json system file → control.StateSpace."""
    import mor
    from mor.benchmarks import load_mat_system
    from mor.system_io import load_system

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
