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
    json.dump(document(report), out, indent=2, ensure_ascii=False)
    out.write("\n")
