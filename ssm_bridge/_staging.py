"""Write a directory atomically: build it under a temporary name, then rename it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_directory(
    out: Path, *, before_replace: Callable[[], None] | None = None
) -> Iterator[Path]:
    """Yield an empty directory beside ``out``; when the block succeeds, it becomes ``out``.

    The directory gets the mode the umask allows (``mkdtemp`` makes 0700).  An existing
    ``out`` is moved aside first and removed only after the rename, so ``out`` is never
    half-written.  ``before_replace`` runs just before the rename (e.g. to re-check that
    overwriting is allowed).  On any error the temporary directory is removed.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)
        yield tmp
        if before_replace is not None:
            before_replace()
        if out.exists():
            backup = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
            os.replace(out, backup / "old")
            os.replace(tmp, out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
