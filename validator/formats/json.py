"""The JSON document: tool, findings, rules, verdicts and summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

import orjson

from validator.check import Report

SEPARATOR = ",\n    "  # between two items of a list: one item per line


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sections(report: Report) -> dict[str, Any]:
    """The document's top-level keys. Lists are generators of JSON text blocks (one or more items joined by
    SEPARATOR), so a large report streams: findings and verdicts as the engine wrote them, the rest dumped
    with orjson (about ten times faster than json per item, measured: 1.0 vs 11.6 us)."""
    return {
        "tool": report.tool(),
        "findings": report.findings.json_blocks(SEPARATOR),
        "rules": (_dumps(r.to_dict()) for r in report.results),
        "verdicts": report.verdicts.json_blocks(SEPARATOR),
        "contract_violations": (_dumps(str(v)) for v in report.violations),
        "summary": report.summary(),
    }


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    """One top-level key per line and one list item per line: readable and diffable."""
    out.write("{")
    for index, (key, value) in enumerate(sections(report).items()):
        out.write(f'{"," if index else ""}\n  {_dumps(key)}: ')
        if isinstance(value, Iterator):
            out.write("[")
            empty = True
            for block in value:
                out.write(("\n    " if empty else SEPARATOR) + block)
                empty = False
            out.write("]" if empty else "\n  ]")
        else:
            out.write(_dumps(value))
    out.write("\n}\n")
