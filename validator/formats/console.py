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
    INSUFFICIENT_HISTORY,
    MISCONFIGURED,
    NOT_ELIGIBLE,
    PASS,
    SKIPPED,
    UNKNOWN,
    VERDICTS,
    Finding,
)
from validator.report import Report
from validator.rules.model import SEVERITY_RANK

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
    _blocked(console, report, first)
    if found:
        _findings(console, f"First {min(first, found)} of {found:,} findings (a line copied onto several jobs is one row)",
                  iter(report.findings.selected(waived=False)), first)
    if what_if:
        _findings(console, f"If backflush were switched on: first {min(first, what_if)} of {what_if:,} findings on "
                  "components not backflushed now (they judge the verdicts, never --fail-on)",
                  iter(report.findings.selected(what_if=True)), first)
    _triage(console, report)
    _next_steps(console, report)
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


def _blocked(console: Console, report: Report, first: int) -> None:
    """The parts that cannot be backflushed as they are, first: not eligible, then misconfigured."""
    not_eligible, misconfigured = report.verdicts.among(NOT_ELIGIBLE), report.verdicts.among(MISCONFIGURED)
    total = len(not_eligible) + len(misconfigured)
    if not total:
        return
    blocked = [*not_eligible[:first], *misconfigured[:max(0, first - len(not_eligible))]]
    shown = Table(title=f"Parts not eligible or misconfigured: first {len(blocked)} of {total:,}",
                  title_justify="left")
    for column in ("Company", "Site", "Part", "Verdict", "Backflushed now", "Rules"):
        shown.add_column(column)
    for verdict in blocked:
        shown.add_row(verdict.company or "", verdict.plant or "", verdict.part, f"[red]{verdict.verdict}[/]",
                      "yes" if verdict.backflushed else "no", " ".join(verdict.rules))
    console.print(shown)


def _grouped(findings: Iterator[Finding]) -> Iterator[tuple[Finding, list[str]]]:
    """Findings that share a cause as one: a finding on a job line or operation, with the other jobs where the same
    rule found the same line (the same key but for JobNum, the same values), listed after it. Groups keep the order
    of their first finding; the findings of a rule arrive together, so a group is made within its rule."""
    groups: dict[tuple, tuple[Finding, list[str]]] = {}
    rule = None
    for finding in findings:
        if finding.rule_id != rule:
            yield from groups.values()
            groups, rule = {}, finding.rule_id
        key = dict(finding.key)
        if "JobNum" not in key:
            groups[(id(finding),)] = (finding, [])
            continue
        cause = (finding.table, tuple((c, v) for c, v in finding.key if c != "JobNum"), finding.evidence,
                 finding.component, finding.outcome)
        if cause in groups:
            groups[cause][1].append(str(key["JobNum"]))
        else:
            groups[cause] = (finding, [])
    yield from groups.values()


def _next_steps(console: Console, report: Report) -> None:
    """The commands a consultant runs next."""
    failing = [r for r in report.results if r.failed]
    if not failing:
        return
    worst = max(failing, key=lambda r: (SEVERITY_RANK[r.severity], r.failed))
    site = report.site if " " not in report.site else f'"{report.site}"'
    console.print("[bold]Next:[/]")
    console.print(f"  backflush explain {worst.rule_id:<10} why {worst.rule_id} ({worst.failed:,} {worst.severity}) fires, "
                  "what it reads, how to fix it")
    console.print(f"  backflush check {site} --format xlsx:worklist.xlsx   a worklist for the data stewards")
    console.print(f"  backflush check {site} --format html:report.html     the pre-go-live report")
    console.print(f"  backflush recommend {site}   the parts to switch backflush on and off, as a DMT load")


def _findings(console: Console, title: str, findings: Iterator[Finding], first: int) -> None:
    shown = Table(title=title, title_justify="left")
    for column in ("Rule", "Severity", "Table", "Key", "Message"):
        shown.add_column(column)
    for finding, jobs in itertools.islice(_grouped(findings), first):
        key = ", ".join(f"{c}={v}" for c, v in finding.key)
        if jobs:
            listed = ", ".join(jobs[:5]) + (", ..." if len(jobs) > 5 else "")
            key += f" [bold]and {len(jobs)} job(s)[/] ({listed})"
        marks = " ".join(m for m in ("WAIVED" if finding.waiver else "",
                                     "NEW" if finding.baseline == "new" else "") if m)
        shown.add_row(finding.rule_id, f"[{STYLE[finding.severity]}]{finding.severity}[/]", finding.table, key,
                      f"[bold]{marks}[/] {finding.message}" if marks else finding.message)
    console.print(shown)
