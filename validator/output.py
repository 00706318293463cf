"""Writing a report file atomically: readers see the whole file or none, never a partial one."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from validator.errors import BackflushError, OutOfDiskError


def write_atomically(path: Path, write: Callable[[TextIO], None] | Callable[[BinaryIO], None], *,
                     binary: bool = False) -> None:
    """Write `path` through a temporary file beside it, renamed into place once whole. `binary`: `write` takes a
    binary stream (a workbook), else a UTF-8 text stream."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise BackflushError("the output folder does not exist", location=str(directory))
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as handle:
            write(handle)  # type: ignore[arg-type]
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # as any file the user writes (mkstemp makes it private)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        if exc.errno != errno.ENOSPC:
            raise
        raise OutOfDiskError(f"cannot write: the disk is full ({exc.strerror})", location=str(path)) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
