"""The ``mor`` command line: a thin layer over mor, verification and ssm_bridge.

Each sub-command ``NAME`` lives in the module ``mor_cli.NAME``, which exposes
``add_arguments(parser)`` and ``run(args)``.  Its docstring opens with the paragraph
"``mor NAME``: HELP." (HELP is the line ``mor --help`` shows) and then a plain-text paragraph
(the description of ``mor NAME --help``), so each text is written once.  Heavy imports
(JAX) happen inside the handlers, so ``mor --help`` stays fast.

Exit status: 0 on success; 2 with one line ``mor COMMAND: error: ...`` on stderr for a bad
argument or input, a refused output directory, or an operating-system error (disk full,
read-only location, a directory where a file is expected); 130 after Ctrl-C.  No traceback
is printed for these, and no half-written output is left.
"""

from __future__ import annotations

import _thread
import argparse
import errno
import importlib
import logging
import os
import shlex
import signal
import sys
import threading
import warnings
from typing import NoReturn

__all__ = ["ArgumentParser", "add_command", "build_parser", "command_texts",
           "describe_os_error", "main", "show_defaults"]

# Sub-command modules, in the order ``mor --help`` lists them.
COMMAND_MODULES = ("demo", "reduce", "verify", "train", "prune", "compare")

_OS_HINTS = {
    getattr(errno, name): hint
    for name, hint in (
        ("ENOSPC", "the disk is full: free some space or write elsewhere"),
        ("EDQUOT", "the disk quota is exceeded: free some space or write elsewhere"),
        ("EROFS", "the file system is read-only: choose a location you can write to"),
        ("EACCES", "choose a location you can read or write"),
        ("EPERM", "choose a location you can read or write"),
        ("EISDIR", "give a file name, not a directory"),
        ("ENOTDIR", "a part of the path is a file, not a directory"),
        ("ENAMETOOLONG", "use a shorter name"),
    )
    if hasattr(errno, name)
}


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the problem (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="mor",
        description="Model-order reduction for state-space layers and deep SSMs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action="version", version=f"mor {_version()}",
                        help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"mor_cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"mor_cli.{name}":
                continue  # sub-command not part of this build
            raise
        add_command(subparsers, name, module)
    for sub in subparsers.choices.values():
        # `mor prune ... -v` as well as `mor -v prune ...`; SUPPRESS keeps the top-level value
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log progress details (also accepted before COMMAND)")
        show_defaults(sub)
    return parser


def command_texts(doc: str) -> tuple[str, str]:
    """The help line and the description of a sub-command, from its module docstring.

    Parameters
    ----------
    doc : str
        The docstring: a first paragraph "``mor NAME``: HELP.", then the description
        (plain text, no reST markup, since ``mor NAME --help`` prints it as it is).

    Returns
    -------
    (str, str)
        HELP without its final full stop, and the description; white space folded.
    """
    summary, description = (" ".join(par.split()) for par in doc.split("\n\n")[:2])
    return summary.split(": ", 1)[1].removesuffix("."), description


def add_command(subparsers, name: str, module) -> argparse.ArgumentParser:
    """Sub-command ``name``: texts from ``module``'s docstring, its options, its handler."""
    help_line, description = command_texts(module.__doc__)
    parser = subparsers.add_parser(name, help=help_line, description=description)
    module.add_arguments(parser)
    parser.set_defaults(handler=module.run)
    return parser


def _version() -> str:
    """The installed distribution's version, else the package's ``__version__``."""
    from importlib import metadata

    try:
        return metadata.version("ssm-mor")
    except metadata.PackageNotFoundError:
        from mor import __version__

        return __version__


_NO_DEFAULT = (None, False, argparse.SUPPRESS)


def show_defaults(parser: argparse.ArgumentParser) -> None:
    """Append ``(default X)`` to the help of every option whose help does not state it.

    Options without a meaningful default (None, a flag that is off, SUPPRESS) are left
    alone, so every ``--help`` shows every default (a test checks all sub-commands).
    """
    for action in parser._actions:
        if action.help in (None, argparse.SUPPRESS) or any(
                action.default is x for x in _NO_DEFAULT):
            continue
        if isinstance(action.default, bool) or "default" in action.help:
            continue
        shown = action.default if isinstance(action.default, str | int | float) else ",".join(
            map(str, action.default))
        action.help = f"{action.help} (default {shown})"


def describe_os_error(err: OSError) -> str:
    """One line for an operating-system error: the path, what went wrong, what to do."""
    if err.errno is None or not err.strerror:
        return str(err)  # raised by this toolkit with its own message
    text = err.strerror
    if err.filename is not None:
        text = f"{err.filename}: {text}"
    if err.filename2 is not None:
        text += f" (and {err.filename2})"
    hint = _OS_HINTS.get(err.errno)
    return f"{text}; {hint}" if hint else text


def _fail(command: str, message: str) -> int:
    print(f"{command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


class _Interrupts:
    """Ctrl-C for the ``mor`` program: raise KeyboardInterrupt until the command has seen it.

    Python drops a KeyboardInterrupt raised while a garbage-collector callback runs (JAX
    registers one), printing "Exception ignored ... KeyboardInterrupt", so a Ctrl-C could
    be lost; that message is suppressed, and after the first Ctrl-C a watchdog thread
    re-raises it in the main thread every second until :meth:`seen` or :meth:`stop`.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._hook = sys.unraisablehook
        self.interrupted = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handler)
        sys.unraisablehook = self._unraisable

    def _unraisable(self, unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):  # re-raised by the watchdog
            self._hook(unraisable)

    def seen(self) -> None:
        """The command has reported the interrupt: later Ctrl-C changes nothing."""
        self.interrupted = True
        self.stop()

    def stop(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self._stop.set()
        sys.unraisablehook = self._hook

    def _handler(self, signum: int, frame: object) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._repeat, daemon=True)
            self._watchdog.start()
        raise KeyboardInterrupt

    def _repeat(self) -> None:
        while not self._stop.wait(1.0):
            _thread.interrupt_main()


def main(argv: list[str] | None = None) -> int:
    """Run ``mor`` with ``argv``; return the exit status.

    Bad arguments raise ``SystemExit(2)`` (argparse) after one line on stderr.  Without
    ``argv`` (the ``mor`` program itself, arguments from ``sys.argv``), Ctrl-C ends the
    process with status 130 right after the command has cleaned up and said so, skipping
    interpreter teardown (where JAX's threads can crash).
    """
    if argv is not None:
        return _run(argv)
    warnings.formatwarning = _one_line_warning
    interrupts = _Interrupts()
    if threading.current_thread() is not threading.main_thread():
        return _run(None)
    interrupts.install()
    try:
        code = _run(None, on_interrupt=interrupts.seen)
    except KeyboardInterrupt:  # one that came while the first was being reported
        code = 130 if interrupts.interrupted else _interrupted("mor", interrupts.seen)
    finally:
        interrupts.stop()
    if interrupts.interrupted:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    return code


def _interrupted(command: str, on_interrupt) -> int:
    if on_interrupt is not None:
        on_interrupt()
    print(f"{command}: interrupted (Ctrl-C); no partial output was left", file=sys.stderr)
    return 130


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings of the ``mor`` program as one line each, without the source line."""
    return f"mor: {category.__name__}: {message}\n"


def _run(argv: list[str] | None, on_interrupt=None) -> int:
    command = "mor"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
        )
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        command = f"mor {args.command}"
        # recorded in the marker of the folders the command writes
        args.command_line = shlex.join(["mor", *(sys.argv[1:] if argv is None else argv)])
        from mor.exceptions import MORError

        try:
            return int(args.handler(args) or 0)
        except MORError as err:
            return _fail(command, str(err))
        except OSError as err:
            return _fail(command, describe_os_error(err))
        except MemoryError:
            return _fail(command, "out of memory; use a smaller input, grid or --batch-size")
    except KeyboardInterrupt:
        return _interrupted(command, on_interrupt)


if __name__ == "__main__":
    sys.exit(main())
