"""Settings the environment gives, read once by the command line and handed down (never read deep inside)."""

from __future__ import annotations

import os
import re
from pathlib import Path

CACHE_ENV = "BACKFLUSH_CACHE_DIR"
OFF = "off"


def cache_dir() -> Path | None:
    """Where compiled passes are kept (engines/duckdb/compile_cache.py): $BACKFLUSH_CACHE_DIR, else
    $XDG_CACHE_HOME/backflush-validator, else ~/.cache/backflush-validator; None when BACKFLUSH_CACHE_DIR=off (or
    there is no home folder)."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return None if given.strip().lower() in (OFF, "") else Path(given)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder (a service account): no cache
            return None
    return Path(base) / "backflush-validator"


SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|[KMGT]i?B)\s*$", re.IGNORECASE)
UNITS = {"B": 1, **{f"{p}B": 1000 ** (i + 1) for i, p in enumerate("KMGT")},
         **{f"{p}IB": 1024 ** (i + 1) for i, p in enumerate("KMGT")}}


def byte_size(text: str) -> int | None:
    """A size as DuckDB reads --memory-limit (KB, MB, GB, TB of 1000; KiB ... TiB of 1024) in bytes; None when the
    text is not one, or not above zero."""
    size = SIZE.match(text)
    if size is None:
        return None
    value = int(float(size.group(1)) * UNITS[size.group(2).upper()])
    return value if value > 0 else None
