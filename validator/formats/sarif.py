"""SARIF 2.1.0 (OASIS), for code-scanning views: one run, the rules in force as the tool's rules (name, short and
full description, help with the remediation, default level), each finding a result with the export as its
artifact and the table and business key as logical locations, its fingerprint in partialFingerprints. A rule that
ended in ERROR or SKIPPED is a tool notification. Results are written one at a time: a large report streams."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, TextIO

import orjson

from validator import __version__
from validator.findings import ERROR, IF_ENABLED_OUTCOME, NOT_JUDGED, SKIPPED, Finding
from validator.report import Report

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT = "backflushKey/v1"  # rule id, table and business key as SQL Server compares them (findings.py)


def _name(title: str) -> str:
    """A rule's name as SARIF likes it: the title in PascalCase (`Lot-tracked part backflushed` ->
    `LotTrackedPartBackflushed`)."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title))


def _rule(rule: Any) -> dict[str, Any]:
    return {"id": rule.id, "name": _name(rule.title), "shortDescription": {"text": rule.title},
            "fullDescription": {"text": " ".join(rule.rationale.split())},
            "help": {"text": " ".join(rule.remediation.split())},
            "defaultConfiguration": {"level": LEVEL[rule.severity], "enabled": rule.enabled},
            "properties": {"tags": list(rule.tags), "source": rule.source}}


def _uri(where: str) -> str:
    """The export's place as a URI reference: a relative path stays relative, with forward slashes."""
    path = PurePath(where.split(" (sheet ")[0])
    return path.as_posix()


def _result(finding: Finding, index: dict[str, int], inputs: dict[str, str]) -> dict[str, Any]:
    key = ", ".join(f"{column}={value}" for column, value in finding.key)
    location: dict[str, Any] = {"logicalLocations": [
        {"name": finding.table, "kind": "resource"},
        {"name": key, "fullyQualifiedName": f"{finding.table}[{key}]", "kind": "object"}]}
    if finding.table in inputs:
        location["physicalLocation"] = {"artifactLocation": {"uri": _uri(inputs[finding.table])}}
    level = LEVEL[finding.severity]
    kind = "fail"
    if finding.outcome == IF_ENABLED_OUTCOME:  # not a defect of the configuration as it is
        level, kind = "note", "informational"
    elif finding.outcome in NOT_JUDGED:  # the data cannot judge it: someone must look
        level, kind = "note", "review"
    result = {"ruleId": finding.rule_id, "ruleIndex": index[finding.rule_id], "kind": kind, "level": level,
              "message": {"text": finding.message}, "locations": [location],
              "partialFingerprints": {FINGERPRINT: finding.fingerprint},
              "properties": {"table": finding.table, "key": dict(finding.key), "evidence": dict(finding.evidence),
                             "outcome": finding.outcome}}
    if finding.baseline is not None:
        result["baselineState"] = "new" if finding.baseline == "new" else "unchanged"
    if finding.waiver:
        waiver = finding.waiver
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": f"{waiver['reason']} (owner {waiver['owner']}, ticket "
                                                    f"{waiver.get('ticket') or '-'}, until {waiver['expires']})"}]
    return result


def _notifications(report: Report) -> list[dict[str, Any]]:
    out = []
    for result in report.results:
        if result.status in (ERROR, SKIPPED):
            out.append({"level": "error" if result.status == ERROR else "warning",
                        "message": {"text": f"{result.rule_id} {result.status}: {result.reason}"},
                        "associatedRule": {"id": result.rule_id}})
    for violation in report.violations:
        out.append({"level": "error", "message": {"text": str(violation)}})
    for waiver, n in report.triage.expired:
        out.append({"level": "warning", "message": {"text": f"waiver expired on {waiver.expires} ({waiver.where}): "
                                                            f"{waiver.rule} {dict(waiver.key)}; its {n} finding(s) "
                                                            "count again"}, "associatedRule": {"id": waiver.rule}})
    for waiver in report.triage.unmatched:
        out.append({"level": "note", "message": {"text": f"waiver matches no finding ({waiver.where}): {waiver.rule} "
                                                         f"{dict(waiver.key)}"}})
    return out


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    rules = list(report.rules.values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    artifacts = [{"location": {"uri": _uri(where)}, "description": {"text": f"the export of {table}"}}
                 for table, where in report.inputs.items()]
    run = {"tool": {"driver": {"name": "backflush-validator", "version": __version__,
                               "rules": [_rule(rule) for rule in rules]}},
           "invocations": [{"executionSuccessful": not report.summary()["partial"],
                            "toolExecutionNotifications": _notifications(report)}],
           "artifacts": artifacts,
           "properties": {"site": report.site, "profile": report.profile, "summary": report.summary()}}
    head = orjson.dumps({"$schema": SCHEMA, "version": "2.1.0"}).decode()[:-1]
    body = orjson.dumps(run).decode()[:-1]
    out.write(f'{head},"runs":[{body},"results":[')
    for i, finding in enumerate(report.findings):
        out.write(("," if i else "") + "\n" + orjson.dumps(_result(finding, index, report.inputs)).decode())
    out.write("\n]}]}\n")
