"""Settings the environment gives, read once by the command line and handed down (never read deep inside)."""

from __future__ import annotations

import os
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
