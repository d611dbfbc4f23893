"""Output directories: written atomically, marked as the tool's own, never a foreign folder.

Every directory the tool writes is built under a hidden temporary name beside its
destination (``.NAME.mor-PID-XXXXXXXX.tmp``) and renamed into place when complete, so the
destination is never half-written.  Each one carries a marker file, :data:`MARKER_NAME`
(tool, version, command, process id, host, time).  An existing directory is replaced only
when it holds that marker, i.e. the tool wrote it, and never when its loss would be a
disaster: the filesystem root, the home directory, the current directory or a folder
holding it, a folder holding the input, or the tool's own installation.

A process killed while writing (SIGKILL, power loss) leaves its staging folder behind; the
process id in the folder's name and marker lets the next run remove it once that process is
gone (same host only).  Nothing here imports JAX.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "MARKER_NAME",
    "OutputNotWritableError",
    "check_output_dir",
    "check_writable",
    "is_tool_output",
    "protected_reason",
    "read_marker",
    "remove_stale_staging",
    "staged_directory",
    "write_marker",
]

log = logging.getLogger(__name__)

TOOL = "mor"
MARKER_NAME = ".mor-output.json"
"""Marker file at the top of every directory the tool writes."""

LEGACY_MARKERS = (".mor-demo",)
"""Markers of older versions (``mor demo`` wrote ``.mor-demo``)."""

_MAX_MARKER_BYTES = 64 * 1024
_STAGING_NAME = re.compile(r"^\.(?P<name>.+)\.mor-(?P<pid>\d+)-[A-Za-z0-9_]+\.(?P<kind>tmp|old)$")


class OutputNotWritableError(OSError):
    """The output location cannot be written (read-only, not a directory, disk full)."""


# ---------------------------------------------------------------------- the marker
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ssm-mor")
    except PackageNotFoundError:
        return "unknown"


def write_marker(folder: str | os.PathLike, *, command: str | None = None) -> Path:
    """Write :data:`MARKER_NAME` into ``folder``: tool, version, command, pid, host, time."""
    path = Path(folder) / MARKER_NAME
    content = {
        "tool": TOOL,
        "version": _version(),
        "command": command if command is not None else shlex.join(sys.argv),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    return path


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The marker of ``folder`` as a dict, or None if there is no valid marker of this tool.

    Only a regular file of at most 64 KiB holding a JSON object with ``"tool": "mor"``
    counts (a FIFO, a symbolic link or a huge file is not read).
    """
    path = Path(folder) / MARKER_NAME
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_MARKER_BYTES:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == TOOL else None


def is_tool_output(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a directory this tool wrote (it holds the tool's marker)."""
    folder = Path(folder)
    if read_marker(folder) is not None:
        return True
    return any(stat.S_ISREG(_lstat_mode(folder / name)) for name in LEGACY_MARKERS)


def _lstat_mode(path: Path) -> int:
    try:
        return path.lstat().st_mode
    except OSError:
        return 0


# ---------------------------------------------------------------------- what may be replaced
def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def _tool_locations() -> list[Path]:
    """Where the tool's code and its Python environment live."""
    return [_real(Path(__file__).parent.parent), _real(sys.prefix)]


def protected_reason(
    out: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()
) -> str | None:
    """Why ``out`` must never be replaced, or None.

    Protected: the filesystem root, the home directory or a folder holding it, the current
    directory or a folder holding it, any of ``inputs`` or a folder holding one, and a folder
    holding the tool's installation or its Python environment.  Paths are compared after
    resolving symbolic links.
    """
    target = _real(out)
    if target == Path(target.anchor):
        return "is the filesystem root"
    try:
        home = _real(Path.home())
    except (RuntimeError, KeyError):
        home = None
    if home is not None and home.is_relative_to(target):
        return "is your home directory" if home == target else f"holds your home directory {home}"
    try:
        cwd = _real(Path.cwd())
    except OSError:
        cwd = None
    if cwd is not None and cwd.is_relative_to(target):
        return ("is the current directory" if cwd == target
                else f"holds the current directory {cwd}")
    for item in inputs:
        real = _real(item)
        if real.is_relative_to(target):
            return (f"is the input {os.fspath(item)}" if real == target
                    else f"holds the input {os.fspath(item)}")
    for place in _tool_locations():
        if place.is_relative_to(target):
            return f"holds this tool's installation or environment ({place})"
    return None


def check_writable(folder: str | os.PathLike) -> None:
    """Check, by creating and removing an empty directory, that ``folder`` can be written.

    When ``folder`` does not exist yet, its nearest existing ancestor is probed (it must be
    a directory).

    Raises
    ------
    OutputNotWritableError
        Read-only, permission denied, a path component is a file, disk full, ...
    """
    folder = Path(folder).absolute()
    probe_in = folder
    while not os.path.lexists(probe_in) and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise OutputNotWritableError(
            f"cannot create {folder}: {probe_in} is not a directory; choose another output "
            "location"
        )
    try:
        os.rmdir(tempfile.mkdtemp(dir=probe_in, prefix=".mor-probe-"))
    except OSError as err:
        raise OutputNotWritableError(
            f"cannot write in {probe_in} ({err.strerror or err}); choose an output location "
            "you can write to"
        ) from err


def check_output_dir(
    out: str | os.PathLike,
    *,
    force: bool,
    inputs: Iterable[str | os.PathLike] = (),
    error: type[Exception] = FileExistsError,
) -> Path:
    """Check that ``out`` may be written (before any work is done); return it as absolute path.

    A new directory is fine if its location is writable.  An existing one is refused
    unless ``force``, and even then unless the tool wrote it (it holds :data:`MARKER_NAME`);
    a protected folder (:func:`protected_reason`) is always refused.  Staging folders of
    dead processes beside ``out`` are removed (:func:`remove_stale_staging`).

    Parameters
    ----------
    out : path-like
        The output directory (not empty).
    force : bool
        Replace an existing directory that the tool wrote.
    inputs : iterable of path-like
        Files or folders the job reads; ``out`` must not be one of them or hold one.
    error : exception class
        Raised (with a message naming the problem and the fix) when ``out`` is refused.

    Raises
    ------
    error
        Empty, protected, an existing file, existing without ``force``, or existing without
        the marker.
    OutputNotWritableError
        The location cannot be written.
    """
    text = os.fspath(out)
    if not text.strip():
        raise error("the output directory is empty (--out ''); name a new directory to create")
    path = Path(text).absolute()
    if os.path.lexists(path):
        reason = protected_reason(path, inputs)
        if reason is not None:
            raise error(
                f"refusing to write to {path}: it {reason}, which is never replaced; choose a "
                "new directory for --out"
            )
        if path.is_symlink() or not path.is_dir():
            kind = "a symbolic link" if path.is_symlink() else "not a directory"
            raise error(f"{path} exists and is {kind}; choose another --out")
        if not force:
            raise error(
                f"output directory {path} exists; pass --force (force=True) to replace it "
                "(only a folder written by mor is replaced), or choose another --out"
            )
        if not is_tool_output(path):
            raise error(
                f"refusing to replace {path}: it holds no {MARKER_NAME} marker, so mor did not "
                "write it, and --force replaces only folders written by mor; choose a new "
                "directory for --out (or remove this one yourself)"
            )
    check_writable(path.parent)
    remove_stale_staging(path.parent)
    return path


# ---------------------------------------------------------------------- stale staging folders
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists but belongs to another user
        return True
    return True


def remove_stale_staging(parent: str | os.PathLike) -> list[Path]:
    """Remove staging folders in ``parent`` left by dead processes of this tool; list them.

    A folder is removed only when its name is a staging name (``.NAME.mor-PID-XXXX.tmp`` or
    ``.old``), it is a real directory holding this tool's marker with the same PID and this
    host's name, and no process with that PID is alive.  A backup (``.old``) whose
    destination ``NAME`` is missing (killed between the two renames) is put back first.
    """
    parent = Path(parent)
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    host = socket.gethostname()
    removed = []
    for entry in entries:
        match = _STAGING_NAME.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        marker = read_marker(entry.path)
        if (marker is None or marker.get("pid") != pid or marker.get("host") != host
                or _pid_alive(pid)):
            continue
        folder = Path(entry.path)
        if match["kind"] == "old":
            old, target = folder / "old", parent / match["name"]
            if old.is_dir() and not os.path.lexists(target):
                try:
                    os.replace(old, target)
                except OSError:
                    continue
                log.warning("restored %s from the backup of an interrupted run", target)
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s, left by process %d which is gone", folder, pid)
        removed.append(folder)
    return removed


# ---------------------------------------------------------------------- staging
@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back for the block (renames, clean-up), then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed from C: leave it alone
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def _refuse_replacing(out: Path) -> None:
    """Last check before an existing ``out`` is moved aside (whatever the caller checked)."""
    reason = protected_reason(out)
    if reason is not None:
        raise FileExistsError(f"refusing to replace {out}: it {reason}")
    if out.is_symlink() or not out.is_dir() or not is_tool_output(out):
        raise FileExistsError(
            f"refusing to replace {out}: it is not a directory written by mor (no "
            f"{MARKER_NAME}); choose a new output directory"
        )


def _install(tmp: Path, out: Path, command: str | None) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first, removed after."""
    if not os.path.lexists(out):
        os.replace(tmp, out)
        return
    _refuse_replacing(out)
    backup = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.mor-{os.getpid()}-",
                                   suffix=".old"))
    write_marker(backup, command=command)
    os.replace(out, backup / "old")
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(backup / "old", out)
        shutil.rmtree(backup, ignore_errors=True)
        raise
    shutil.rmtree(backup, ignore_errors=True)


@contextmanager
def staged_directory(
    out: Path,
    *,
    before_replace: Callable[[], None] | None = None,
    command: str | None = None,
) -> Iterator[Path]:
    """Yield an empty directory beside ``out``; when the block succeeds, it becomes ``out``.

    The directory holds the tool's marker (:func:`write_marker`, recording ``command``,
    default ``sys.argv``) and gets the mode the umask allows (``mkdtemp`` makes 0700).  An
    existing ``out`` is replaced only if the tool wrote it and it is not protected
    (:func:`protected_reason`); it is moved aside first and removed only after the rename,
    so ``out`` is never half-written.  ``before_replace`` runs just before the rename (e.g.
    to re-check that overwriting is allowed).  On any error, Ctrl-C included, the temporary
    directory is removed; Ctrl-C is held back during the renames and that clean-up.  Staging
    folders of dead processes beside ``out`` are removed first
    (:func:`remove_stale_staging`).

    Raises
    ------
    FileExistsError
        ``out`` exists but was not written by the tool, or is protected.
    """
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out.parent)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.mor-{os.getpid()}-",
                                suffix=".tmp"))
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)
        write_marker(tmp, command=command)
        yield tmp
        if before_replace is not None:
            before_replace()
        with _sigint_deferred():
            _install(tmp, out, command)
    except BaseException:
        with _sigint_deferred():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
