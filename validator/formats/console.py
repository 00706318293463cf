"""The console report: a summary per rule, verdict counts per site, and the first findings."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console
from rich.table import Table

from validator.findings import (
    ERROR,
    FAIL,
    IF_ENABLED_OUTCOME,
    INSUFFICIENT_HISTORY,
    PASS,
    SKIPPED,
    UNKNOWN,
    VERDICTS,
    Finding,
)
from validator.report import Report

FIRST_FINDINGS = 25
STYLE = {PASS: "green", FAIL: "red", ERROR: "bold magenta", SKIPPED: "yellow", INSUFFICIENT_HISTORY: "yellow",
         "error": "red", "warning": "yellow", "info": "cyan"}


CHANGES_SHOWN = 25  # verdict changes listed by `diff`
COLUMN_HEADERS_SHOWN = 8  # columns read from a label or a configured header, named under the title


def write(report: Report, out: TextIO, *, color: bool = False, first: int = FIRST_FINDINGS) -> None:
    console = Console(file=out, force_terminal=color, no_color=not color, width=140, highlight=False)
    console.print(f"[bold]backflush check[/] {report.site}  (engine: {report.engine})")
    by_order: dict[str, list[str]] = {}
    for column, order in report.date_orders.items():
        by_order.setdefault(order, []).append(column)
    for order, columns in sorted(by_order.items()):
        console.print(f"[dim]dates written with slashes read {order.replace('-', ' ')}: {', '.join(columns)}[/]")
    if report.decimal_commas:
        console.print(f"[dim]numbers written with a decimal comma: {', '.join(report.decimal_commas)}[/]")
    if report.column_headers:
        read = [f"{column} from {header!r}" for column, header in report.column_headers.items()]
        shown = ", ".join(read[:COLUMN_HEADERS_SHOWN]) + (f" and {len(read) - COLUMN_HEADERS_SHOWN} more (JSON: "
                                                          "tool.column_headers)" if len(read) > COLUMN_HEADERS_SHOWN else "")
        console.print(f"[dim]columns read from headers other than their names: {shown}[/]")
    rules = Table(title="Rules", title_justify="left")
    numbers = ("Checked", "Failed", "Not judged", "If enabled")
    for column in ("Rule", "Severity", "Status", *numbers, "Title / reason"):
        rules.add_column(column, justify="right" if column in numbers else "left")
    for result in report.results:
        text = result.title + (f"\n[dim]{result.reason}[/]" if result.reason else "")
        rules.add_row(result.rule_id, f"[{STYLE[result.severity]}]{result.severity}[/]",
                      f"[{STYLE[result.status]}]{result.status}[/]", f"{result.checked:,}", f"{result.failed:,}",
                      f"{result.insufficient + result.not_measurable:,}" if result.insufficient + result.not_measurable else "",
                      f"{result.if_enabled:,}" if result.if_enabled else "", text)
    console.print(rules)
    _verdicts(console, report)
    if report.violations:
        console.print(f"[bold magenta]{len(report.violations)} contract violation(s):[/]")
        for violation in report.violations:
            console.print(f"  {violation}")
    counts, if_enabled = report.counts(), report.if_enabled_counts()
    found, what_if = sum(counts.values()), sum(if_enabled.values())
    if found:
        _findings(console, f"First {min(first, found)} of {found:,} findings",
                  (f for f in report.findings if f.outcome != IF_ENABLED_OUTCOME), first)
    if what_if:
        _findings(console, f"If backflush were switched on: first {min(first, what_if)} of {what_if:,} findings on "
                  "components not backflushed now (they judge the verdicts, never --fail-on)",
                  (f for f in report.findings if f.outcome == IF_ENABLED_OUTCOME), first)
    _triage(console, report)
    console.print(f"[bold]{found:,} finding(s):[/] {counts['error']:,} error, {counts['warning']:,} warning, "
                  f"{counts['info']:,} info" + (f"; and {what_if:,} if backflush were switched on ({if_enabled['error']:,} "
                                                f"error, {if_enabled['warning']:,} warning)" if what_if else ""))


def _triage(console: Console, report: Report) -> None:
    """What a baseline and waivers made of the findings: the gate's counts, and each waiver that expired or
    waives nothing."""
    triage = report.triage
    if triage.baseline is not None:
        console.print(f"baseline {triage.baseline}: [bold]{triage.new:,} new[/], {triage.persisting:,} persisting, "
                      f"{triage.fixed:,} fixed; the gate judges the new ones only")
    if triage.verdict_changes is not None:
        changes = triage.verdict_changes
        console.print(f"{len(changes):,} part(s) changed verdict" + (":" if changes else ""))
        for change in changes[:CHANGES_SHOWN]:
            where = " ".join(str(v) for v in (change["company"], change["plant"]) if v)
            console.print(f"  {where} {change['part_num']}: {change['before'] or 'not judged'} -> "
                          f"{change['after'] or 'not judged'}")
        if len(changes) > CHANGES_SHOWN:
            console.print(f"  ... and {len(changes) - CHANGES_SHOWN:,} more (JSON: summary.verdict_changes)")
    waived = report.findings.waived()
    if waived:
        console.print(f"{waived:,} finding(s) WAIVED by {len(triage.applied)} waiver(s) (reason, owner and expiry in "
                      "the JSON report)")
    for waiver, n in triage.expired:
        console.print(f"[yellow]waiver expired[/] on {waiver.expires} ({waiver.where}): {waiver.rule} "
                      f"{dict(waiver.key)}, owner {waiver.owner}: its {n} finding(s) count again; renew or fix")
    for waiver in triage.unmatched:
        console.print(f"[yellow]waiver matches no finding[/] ({waiver.where}): {waiver.rule} {dict(waiver.key)}; "
                      "remove it if the exception is gone")


def _verdicts(console: Console, report: Report) -> None:
    """Verdict counts per company and site, and the readiness share over the assessed parts."""
    scores = report.summary()["sites"]
    if not scores:
        return
    title = "Verdicts per company and site: components judged (of them backflushed now)"
    sites = Table(title=title, title_justify="left")
    for column in ("Company", "Site", *VERDICTS, "Readiness", "Site findings"):
        sites.add_column(column)
    for counts in scores:
        flushed = counts["backflushed"]
        if not report.readiness_assessed:
            share = "not assessed"
        elif counts["readiness"] is None:
            share = "-"
        else:
            share = f"{counts['readiness']:.0%} of {counts['assessed']} ({counts[UNKNOWN]} unknown)"
        sites.add_row(counts["company"] or "", counts["plant"] or "(no site)",
                      *(f"{counts[v]} ({flushed[v]})" for v in VERDICTS), share, str(counts["site_findings"]))
    console.print(sites)
    if not report.readiness_assessed:
        console.print("[yellow]readiness not assessed[/]: " + "; ".join(report.readiness_missing)
                      + ". No part is ready; 'backflush recommend' switches none on.")


def _findings(console: Console, title: str, findings: Iterator[Finding], first: int) -> None:
    shown = Table(title=title, title_justify="left")
    for column in ("Rule", "Severity", "Table", "Key", "Message"):
        shown.add_column(column)
    for finding in itertools.islice(findings, first):
        key = ", ".join(f"{c}={v}" for c, v in finding.key)
        marks = " ".join(m for m in ("WAIVED" if finding.waiver else "",
                                     "NEW" if finding.baseline == "new" else "") if m)
        shown.add_row(finding.rule_id, f"[{STYLE[finding.severity]}]{finding.severity}[/]", finding.table, key,
                      f"[bold]{marks}[/] {finding.message}" if marks else finding.message)
    console.print(shown)
