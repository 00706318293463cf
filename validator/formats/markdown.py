"""Markdown: a summary for a pull-request comment or a CI step summary. It stays under LIMIT bytes whatever the
number of findings (GitHub takes 65,536 characters in a comment, and 1 MiB in a step summary): the counts are
always whole, the findings listed are the first of each failing rule until the budget is spent, and the summary
says how many it left out."""

from __future__ import annotations

from typing import Any, TextIO

from validator.findings import ERROR, FAIL, SKIPPED, VERDICTS, Finding
from validator.report import Report

LIMIT = 60_000  # bytes of UTF-8 the summary stays under
PER_RULE = 5  # findings listed per failing rule, while the budget lasts
MESSAGE = 300  # characters of a message shown


def cell(text: Any) -> str:
    """A value as one table cell: pipes escaped, no line breaks, no HTML."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _finding(f: Finding) -> str:
    key = ", ".join(f"{c}={v}" for c, v in f.key)
    message = f.message if len(f.message) <= MESSAGE else f.message[:MESSAGE] + "..."
    return f"| {cell(f.table)} | {cell(key)} | {cell(message)} |"


def lines(report: Report) -> list[str]:
    summary = report.summary()
    by = summary["by_severity"]
    what_if = sum(summary["if_enabled"].values())
    out = [f"## backflush check: {cell(report.site)}", "",
           f"**{summary['findings'] - what_if} finding(s)**: {by['error']} error, {by['warning']} warning, "
           f"{by['info']} info" + (f"; {what_if} more if backflush were switched on" if what_if else "") + ".", ""]
    if summary["partial"]:
        out += ["> **Partial:** some rules ended in ERROR; their findings are missing.", ""]
    if not summary["readiness_assessed"]:
        out += [f"> Readiness not assessed: {cell('; '.join(summary['readiness_missing']))}.", ""]
    if summary["sites"]:
        out += ["| Company | Site | " + " | ".join(v.capitalize() for v in VERDICTS) + " | Readiness |",
                "|---|---|" + "---:|" * (len(VERDICTS) + 1)]
        for site in summary["sites"]:
            share = "not assessed" if site["readiness"] is None else f"{site['readiness']:.1%}"
            out.append(f"| {cell(site['company'] or '')} | {cell(site['plant'])} | "
                       + " | ".join(str(site[v]) for v in VERDICTS) + f" | {share} |")
        out.append("")
    failing = [r for r in report.results if r.status in (FAIL, ERROR, SKIPPED) or r.failed]
    if failing:
        out += ["| Rule | Severity | Status | Findings | Title |", "|---|---|---|---:|---|"]
        out += [f"| {r.rule_id} | {r.severity} | {r.status} | {r.failed} | {cell(r.title)} |" for r in failing]
        out.append("")
    triage = report.triage
    if triage.baseline is not None:
        out += [f"Against the baseline: **{triage.new} new**, {triage.persisting} persisting, {triage.fixed} fixed.", ""]
    if triage.verdict_changes:
        out += [f"{len(triage.verdict_changes)} part(s) changed verdict:", "", "| Company | Site | Part | Before | After |",
                "|---|---|---|---|---|"]
        out += [f"| {cell(c['company'] or '')} | {cell(c['plant'] or '')} | {cell(c['part_num'])} | "
                f"{c['before'] or 'not judged'} | {c['after'] or 'not judged'} |" for c in triage.verdict_changes[:50]]
        if len(triage.verdict_changes) > 50:
            out.append(f"\n... and {len(triage.verdict_changes) - 50} more.")
        out.append("")
    waived = report.findings.waived()
    if waived or triage.expired or triage.unmatched:
        out.append(f"Waivers: {waived} finding(s) waived; {len(triage.expired)} waiver(s) expired; "
                   f"{len(triage.unmatched)} match nothing.")
        out += [f"- expired {w.expires}: {cell(w.rule)} {cell(dict(w.key))} ({cell(w.where)})" for w, _ in triage.expired]
        out.append("")
    passed = sum(1 for r in report.results if r not in failing)
    out += [f"{passed} rule(s) passed or had nothing to judge. `backflush explain RULE` says why a rule fires and how "
            "to fix it.", ""]
    return out


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    head = lines(report)
    used = sum(len(line.encode()) + 1 for line in head)
    judged = report.findings.selected(not_judged=False, waived=False)
    total, listed = len(judged), judged.first_per("rule_id", PER_RULE)  # Python objects for the listed alone
    body: list[str] = []
    budget = LIMIT - used - 500  # room for the closing line
    shown_count = 0
    for rule_id, findings in listed.items():
        section = ["", f"### {rule_id}", "", "| Table | Key | Message |", "|---|---|---|"]
        size = sum(len(line.encode()) + 1 for line in section)
        rows = []
        for finding in findings:
            row = _finding(finding)
            if size + len(row.encode()) + 1 > budget:
                break
            rows.append(row)
            size += len(row.encode()) + 1
        if not rows:
            break
        body += section + rows
        budget -= size
        shown_count += len(rows)
    out.write("\n".join(head))
    if body:
        out.write("\n<details><summary>First findings per rule</summary>\n")
        out.write("\n".join(body))
        out.write("\n\n</details>\n")
    if shown_count < total:
        out.write(f"\n{total - shown_count} more finding(s) not listed here: see the JSON, SARIF or HTML report.\n")
