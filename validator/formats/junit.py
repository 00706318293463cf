"""JUnit XML (the Apache Ant schema CI test tabs read): one test suite for the run, a test case per rule (per rule
and site when its findings are at several sites). A rule with findings fails, listing its first findings; SKIPPED
is skipped, ERROR an error; a rule that judged nothing for too little history is skipped, saying so."""

from __future__ import annotations

import datetime as dt
import socket
import xml.etree.ElementTree as ET
from typing import TextIO

import orjson

from validator.findings import ERROR, INSUFFICIENT_HISTORY, SKIPPED, Findings
from validator.report import Report

LISTED = 50  # findings listed in one failure; its message counts them all


def _site(component: str | None) -> str:
    """The company and site of the part a finding names (its component, as JSON)."""
    named = orjson.loads(component) if component else {}
    return " ".join(str(named[c]) for c in ("Company", "Plant") if named.get(c) is not None)


def _case(suite: ET.Element, name: str, classname: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", name=name, classname=classname, time="0")


def _failure(case: ET.Element, findings: Findings, severity: str) -> None:
    shown = [f"{f.table} {', '.join(f'{c}={v}' for c, v in f.key)}: {f.message}" for f in findings[:LISTED]]
    if len(findings) > LISTED:
        shown.append(f"... and {len(findings) - LISTED} more (the JSON or SARIF report lists every one)")
    failure = ET.SubElement(case, "failure", message=f"{len(findings)} finding(s)", type=severity)
    failure.text = "\n".join(shown)


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    # per rule, the findings that judge it (Arrow's filters: objects only for the findings listed)
    judged = report.findings.selected(not_judged=False, waived=False).split("rule_id")
    root = ET.Element("testsuites")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    suite = ET.SubElement(root, "testsuite", name="backflush-validator", package=report.site or "site", id="0",
                          timestamp=now, hostname=socket.gethostname() or "localhost", time="0")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("site", report.site), ("engine", report.engine), ("jobs", report.jobs),
                        ("snapshot_date", str(report.profile.get("snapshot_date", ""))),
                        ("profile", str(report.profile.get("name", "")))):
        ET.SubElement(properties, "property", name=name, value=value)
    tests = failures = errors = skipped = 0
    for result in report.results:
        rule = report.rules.get(result.rule_id)
        classname = f"backflush.{rule.tags[0] if rule and rule.tags else 'rule'}"
        title = f"{result.rule_id} {result.title}"
        found = judged.get(result.rule_id)
        by_site = found.split("component", _site) if found is not None else {}
        if len(by_site) > 1:  # a case per site: a test tab shows which site fails
            for site, items in sorted(by_site.items()):
                _failure(_case(suite, f"{title} [{site or 'no site'}]", classname), items, result.severity)
                tests, failures = tests + 1, failures + 1
            continue
        case = _case(suite, title, classname)
        tests += 1
        if result.status == ERROR:
            ET.SubElement(case, "error", message=result.reason or "the rule could not run", type="ERROR")
            errors += 1
        elif found:
            _failure(case, found, result.severity)
            failures += 1
        elif result.status == SKIPPED:
            ET.SubElement(case, "skipped", message=result.reason or "skipped")
            skipped += 1
        elif result.status == INSUFFICIENT_HISTORY:
            ET.SubElement(case, "skipped", message=f"not judged: {result.insufficient + result.not_measurable} "
                                                   "row(s) with too little history or nothing to measure")
            skipped += 1
    if report.triage.expired:  # an expired waiver is a finding of its own
        case = _case(suite, "expired waivers", "backflush.waivers")
        failure = ET.SubElement(case, "failure", message=f"{len(report.triage.expired)} waiver(s) expired", type="warning")
        failure.text = "\n".join(f"{w.where}: {w.rule} {dict(w.key)} expired on {w.expires}, owner {w.owner}"
                                  for w, _ in report.triage.expired)
        tests, failures = tests + 1, failures + 1
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    system_out = ET.SubElement(suite, "system-out")
    summary = report.summary()
    system_out.text = (f"{summary['findings']} finding(s): " +
                       ", ".join(f"{n} {severity}" for severity, n in summary["by_severity"].items()))
    system_err = ET.SubElement(suite, "system-err")
    system_err.text = "\n".join(str(v) for v in report.violations)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
