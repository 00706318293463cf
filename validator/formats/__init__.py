"""Formats are plug-ins over one report: one module per format, looked up by name. A format writes text to a
text stream, or (BINARY = True in its module: a workbook) bytes to a binary one. A format that shows each part's
description says so (DESCRIBES_PARTS = True): a run reads the descriptions only when it writes such a format."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from validator.errors import ConfigError
from validator.report import Report

FORMATS = {
    "console": "validator.formats.console",
    "json": "validator.formats.json",
    "sarif": "validator.formats.sarif",
    "junit": "validator.formats.junit",
    "markdown": "validator.formats.markdown",
    "xlsx": "validator.formats.xlsx",
    "html": "validator.formats.html",
}


class Format(Protocol):
    BINARY: bool
    DESCRIBES_PARTS: bool

    def write(self, report: Report, out: IO, *, color: bool = False) -> None: ...


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise ConfigError(f"unknown format {name!r}; available: {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[name])
    for flag in ("BINARY", "DESCRIBES_PARTS"):
        if not hasattr(module, flag):
            setattr(module, flag, False)
    return module  # type: ignore[return-value]


@dataclass(frozen=True)
class Output:
    """One report a run writes: a format and its file (None: standard output)."""

    name: str
    path: Path | None = None


def outputs(given: list[str] | None, output: Path | None) -> list[Output]:
    """`--format NAME[:FILE]` (repeatable) and `--output FILE` as the reports to write: without a format the
    console; `--output` is the file of the one format given without a file. At most one report goes to standard
    output, and two never to one file."""
    chosen = []
    for text in given or ["console"]:
        name, _, file = text.partition(":")
        if name not in FORMATS:
            raise ConfigError(f"unknown format {name!r} in --format {text}; available: {', '.join(FORMATS)}")
        chosen.append(Output(name, Path(file) if file else None))
    to_stdout = [o for o in chosen if o.path is None]
    if output is not None:
        if len(to_stdout) != 1:
            raise ConfigError("--output names the file of one format given without one (--format NAME --output FILE); "
                              "with several formats, give each its file: --format NAME:FILE")
        chosen = [Output(o.name, output) if o.path is None else o for o in chosen]
    elif len(to_stdout) > 1:
        raise ConfigError(f"{len(to_stdout)} formats would go to standard output ({', '.join(o.name for o in to_stdout)}): "
                          "give all but one a file, --format NAME:FILE")
    files = [o.path for o in chosen if o.path is not None]
    repeated = sorted({str(p) for p in files if files.count(p) > 1})
    if repeated:
        raise ConfigError(f"two formats would be written to {repeated[0]}: give each its own file")
    return chosen
