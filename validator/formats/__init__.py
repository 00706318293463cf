"""Formats are plug-ins over one report: one module per format, looked up by name."""

from __future__ import annotations

import importlib
from typing import Protocol, TextIO

from validator.errors import ConfigError
from validator.report import Report

FORMATS = {
    "console": "validator.formats.console",
    "json": "validator.formats.json",
}


class Format(Protocol):
    def write(self, report: Report, out: TextIO, *, color: bool = False) -> None: ...


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise ConfigError(f"unknown format {name!r}; available: {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])  # type: ignore[return-value]
