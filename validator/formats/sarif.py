"""SARIF 2.1.0 (OASIS), for code-scanning views: one run, the rules in force as the tool's rules (name, short and
full description, help with the remediation, default level), each finding a result with the export as its
artifact and the table and business key as logical locations, its fingerprint in partialFingerprints. A rule that
ended in ERROR or SKIPPED is a tool notification. Results are made by Arrow from the engine's JSON documents a
block at a time (a finding that is not plain, by orjson one at a time): a large report streams."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, TextIO

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from validator import __version__
from validator.findings import (
    BLOCK,
    ERROR,
    IF_ENABLED_OUTCOME,
    JSON_OBJECT,
    NOT_JUDGED,
    SKIPPED,
    Finding,
    Findings,
    joined,
    plain_values,
    text_array,
    text_scalar,
)
from validator.formats.json import byte_sink, json_members
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


# A finding's JSON document as the engine writes it (engines/duckdb/findings.py), read by RE2 for its key, message and
# evidence as JSON. It reads the plain ones: rule, table, outcome and fingerprint of letters and digits; a key whose
# values are text without quotes, backslashes or control characters, whole numbers, null or booleans; a message
# without \u escapes; no waiver. Their results are made by Arrow, any other finding's by orjson from the finding.
_PLAIN = r'"[A-Za-z0-9_./ -]*"'
_VALUE = r'(?:"[^"\\\x00-\x1f]*"|-?[0-9]+|null|true|false)'
_PAIR = r'"[A-Za-z0-9_]+":' + _VALUE
LINE = (r'^\{"rule_id":' + _PLAIN + r',"severity":' + _PLAIN + r',"table":' + _PLAIN
        + r',"key":(?P<key>\{(?:' + _PAIR + r'(?:,' + _PAIR + r')*)?\})'
        + r',"message":(?P<message>"(?:[^"\\]|\\[^u])*")'
        + r',"evidence":(?P<evidence>' + JSON_OBJECT + ')'
        + r',"outcome":' + _PLAIN + r',"fingerprint":' + _PLAIN + r'(?:,"baseline":"(?:new|persisting)")?\}$')


def _key_text(key: pa.Array) -> pa.Array:
    """`Column=value, ...` of a plain key's JSON, each value as Python writes it (None, True, False)."""
    for literal, word in (("null", "None"), ("true", "True"), ("false", "False")):
        key = pc.replace_substring_regex(key, f'":{literal}([,}}])', f'":{word}\\1')
    key = pc.replace_substring(pc.utf8_slice_codeunits(key, 1, -1), ',"', ', "')
    return pc.replace_substring(pc.replace_substring_regex(key, '"([A-Za-z0-9_]+)":', "\\1="), '"', "")


def _per_value(values: pa.Array, text: Callable[[str], str]) -> pa.Array:
    """Each row's `text` of its value, made once per distinct value."""
    encoded = values.dictionary_encode()
    return pc.take(text_array([text(v) for v in encoded.dictionary.to_pylist()]), encoded.indices)


def _results(findings: Findings, index: dict[str, int], inputs: dict[str, str]) -> pa.Array:
    """Each finding's result as JSON text: the plain ones (LINE) made by Arrow from the engine's JSON, the others by
    orjson from the finding, as _result makes them."""
    column = {name: plain_values(findings.table.column(name).combine_chunks())
              for name in ("rule_id", "severity", "outcome", "table", "fingerprint")}
    column["line"] = findings.lines(findings.table)
    parts = pc.extract_regex(column["line"], LINE)
    plain = pc.is_valid(parts)
    what_if = pc.equal(column["outcome"], text_scalar(IF_ENABLED_OUTCOME))
    review = pc.or_(*(pc.equal(column["outcome"], text_scalar(o)) for o in NOT_JUDGED))
    level = pc.if_else(pc.or_(what_if, review), text_scalar("note"), _per_value(column["severity"], LEVEL.__getitem__))
    kind = pc.if_else(what_if, text_scalar("informational"),
                      pc.if_else(review, text_scalar("review"), text_scalar("fail")))
    place = {table: ',"physicalLocation":' + orjson.dumps({"artifactLocation": {"uri": _uri(where)}}).decode()
             for table, where in inputs.items()}
    name, key = column["table"], pc.struct_field(parts, "key")
    shown = _key_text(key)
    baseline: Any = text_scalar("")
    if "baseline" in findings.table.column_names:
        state = findings.table.column("baseline").combine_chunks()
        baseline = pc.if_else(pc.is_null(state), text_scalar(""),
                              pc.if_else(pc.equal(state, text_scalar("new")), text_scalar(',"baselineState":"new"'),
                                         text_scalar(',"baselineState":"unchanged"')))
    pieces = [
        '{"ruleId":"', column["rule_id"], '","ruleIndex":', _per_value(column["rule_id"], lambda r: str(index[r])),
        ',"kind":"', kind, '","level":"', level, '","message":{"text":', pc.struct_field(parts, "message"),
        '},"locations":[{"logicalLocations":[{"name":"', name, '","kind":"resource"},{"name":"', shown,
        '","fullyQualifiedName":"', name, "[", shown, ']","kind":"object"}]', _per_value(name, lambda t: place.get(t, "")),
        '}],"partialFingerprints":{"' + FINGERPRINT + '":"', column["fingerprint"], '"},"properties":{"table":"', name,
        '","key":', key, ',"evidence":', pc.struct_field(parts, "evidence"), ',"outcome":"', column["outcome"], '"}',
        baseline, "}"]
    made = pc.binary_join_element_wise(*(text_scalar(p) if isinstance(p, str) else p for p in pieces), text_scalar(""))
    if pc.all(plain).as_py():
        return made
    others = [orjson.dumps(_result(f, index, inputs)).decode() for f in findings.where(pc.invert(plain))]
    return pc.replace_with_mask(made, pc.invert(plain), text_array(others))


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
    put = byte_sink(out)
    put(f'{head},"runs":[{{'.encode())
    for chunk in json_members(run):  # diff's summary streams the parts whose verdict changed
        put(chunk)
    put(b',"results":[')
    findings = report.findings
    for start in range(0, len(findings), BLOCK):
        put(b",\n" if start else b"\n")
        put(joined(_results(findings.block(start, BLOCK), index, report.inputs), ",\n"))
    put(b"\n]}]}\n")
