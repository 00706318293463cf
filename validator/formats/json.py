"""The JSON document: tool, findings, rules, verdicts and summary."""

from __future__ import annotations

import json
from typing import Any, TextIO

from validator.check import Report


def document(report: Report) -> dict[str, Any]:
    return {
        "tool": report.tool(),
        "findings": [f.to_dict() for f in report.findings],
        "rules": [r.to_dict() for r in report.results],
        "verdicts": [v.to_dict() for v in report.verdicts],
        "contract_violations": [str(v) for v in report.violations],
        "summary": report.summary(),
    }


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    """One top-level key per line and one list item per line: readable, diffable, and written by the
    C encoder (json's indent= falls back to the pure-Python one, several times slower)."""
    parts = []
    for key, value in document(report).items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
            parts.append(f'  "{key}": [\n    {items}\n  ]')
        else:
            parts.append(f'  "{key}": {json.dumps(value, ensure_ascii=False)}')
    out.write("{\n" + ",\n".join(parts) + "\n}\n")
