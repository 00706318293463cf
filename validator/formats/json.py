"""The JSON document: tool, findings, rules, verdicts and summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TextIO

import orjson
import pyarrow as pa

from validator.report import Report

SEPARATOR = ",\n    "  # between two items of a list: one item per line


def sections(report: Report) -> dict[str, Any]:
    """The document's top-level keys. Lists are generators of JSON blocks in UTF-8 (one or more items joined by
    SEPARATOR), so a large report streams: findings and verdicts as the engine wrote them, the rest dumped
    with orjson. A callable is called when its key is written."""
    return {
        "tool": report.tool(),
        "findings": report.findings.json_blocks(SEPARATOR),
        "rules": (orjson.dumps(r.to_dict()) for r in report.results),
        "verdicts": report.verdicts.json_blocks(SEPARATOR),
        "contract_violations": (orjson.dumps(v.to_dict()) for v in report.violations),
        "summary": report.summary,
    }


def byte_sink(out: TextIO) -> Callable[[bytes | pa.Buffer], object]:
    """Where the document's UTF-8 bytes go: the binary stream under `out` (a file, stdout), else `out` itself as
    text (a StringIO)."""
    binary = getattr(out, "buffer", None)
    if binary is None:
        return lambda data: out.write(bytes(data).decode())
    out.flush()  # whatever was written as text goes first
    return binary.write


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    write_document(sections(report), out)


def write_document(document: dict[str, Any], out: TextIO) -> None:
    """A document of `sections`' kind: one top-level key per line and one list item per line, readable and
    diffable."""
    put = byte_sink(out)
    separator = SEPARATOR.encode()
    put(b"{")
    for index, (key, value) in enumerate(document.items()):
        put(b"%s\n  %s: " % (b"," if index else b"", orjson.dumps(key)))
        if isinstance(value, Iterator):
            put(b"[")
            empty = True
            for block in value:
                put(b"\n    " if empty else separator)
                put(block)
                empty = False
            put(b"]" if empty else b"\n  ]")
        else:
            put(orjson.dumps(value() if callable(value) else value))
    put(b"\n}\n")
