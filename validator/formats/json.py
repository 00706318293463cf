"""The JSON document: tool, findings, rules, verdicts and summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import orjson
import pyarrow as pa

from validator.findings import EngineRows
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
    put(b"{")
    for index, (key, value) in enumerate(document.items()):
        put(b"%s\n  %s: " % (b"," if index else b"", orjson.dumps(key)))
        for chunk in _array(value) if isinstance(value, Iterator) else json_chunks(value() if callable(value) else value):
            put(chunk)
    put(b"\n}\n")


def json_chunks(value: Any) -> Iterator[bytes | pa.Buffer]:
    """A value as JSON in UTF-8 pieces: rows the engine made (EngineRows, at any depth of dicts) streamed a block of
    documents at a time, one per line; the rest dumped by orjson (`diff`'s summary holds every part whose verdict
    changed: millions when backflush is switched on across a site)."""
    if isinstance(value, EngineRows):
        yield from _array(value.json_blocks(SEPARATOR))
    elif isinstance(value, dict) and _streamed(value):
        yield b"{"
        yield from json_members(value)
        yield b"}"
    else:
        yield orjson.dumps(value)


def json_members(value: dict[str, Any]) -> Iterator[bytes | pa.Buffer]:
    """An object's members, without its braces (a writer adding members of its own after them)."""
    for index, (key, item) in enumerate(value.items()):
        yield b"%s%s:" % (b"," if index else b"", orjson.dumps(key))
        yield from json_chunks(item)


def _streamed(value: Any) -> bool:
    return isinstance(value, EngineRows) or isinstance(value, dict) and any(_streamed(v) for v in value.values())


def _array(blocks: Iterable[bytes | pa.Buffer]) -> Iterator[bytes | pa.Buffer]:
    """A list of blocks of JSON items (each block one or more items joined by SEPARATOR), one item per line."""
    yield b"["
    empty = True
    for block in blocks:
        yield b"\n    " if empty else SEPARATOR.encode()
        yield block
        empty = False
    yield b"]" if empty else b"\n  ]"
