"""The JSON document: tool, findings, rules, verdicts and summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

import orjson

from validator.check import Report


def sections(report: Report) -> dict[str, Any]:
    """The document's top-level keys; the lists are generators, so a large report streams."""
    return {
        "tool": report.tool(),
        "findings": (f.to_dict() for f in report.findings),
        "rules": (r.to_dict() for r in report.results),
        "verdicts": (v.to_dict() for v in report.verdicts),
        "contract_violations": (str(v) for v in report.violations),
        "summary": report.summary(),
    }


def document(report: Report) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, Iterator) else v for k, v in sections(report).items()}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    """One top-level key per line and one list item per line: readable and diffable; streamed item by
    item with orjson (about ten times faster than json per finding, measured: 1.0 vs 11.6 us)."""
    out.write("{")
    for index, (key, value) in enumerate(sections(report).items()):
        out.write(f'{"," if index else ""}\n  {_dumps(key)}: ')
        if isinstance(value, Iterator):
            out.write("[")
            empty = True
            for item in value:
                out.write(f'{"" if empty else ","}\n    {_dumps(item)}')
                empty = False
            out.write("]" if empty else "\n  ]")
        else:
            out.write(_dumps(value))
    out.write("\n}\n")
