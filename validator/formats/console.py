"""The console report: a summary per rule, verdict counts per site, and the first findings."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from validator.check import Report
from validator.findings import AT_RISK, ERROR, FAIL, INSUFFICIENT_HISTORY, NOT_ELIGIBLE, PASS, READY, SKIPPED

FIRST_FINDINGS = 25
STYLE = {PASS: "green", FAIL: "red", ERROR: "bold magenta", SKIPPED: "yellow", INSUFFICIENT_HISTORY: "yellow",
         "error": "red", "warning": "yellow", "info": "cyan"}


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
    for column in ("Rule", "Severity", "Status", "Checked", "Failed", "Too little history", "Title / reason"):
        rules.add_column(column, justify="right" if column in ("Checked", "Failed", "Too little history") else "left")
    for result in report.results:
        text = result.title + (f"\n[dim]{result.reason}[/]" if result.reason else "")
        rules.add_row(result.rule_id, f"[{STYLE[result.severity]}]{result.severity}[/]",
                      f"[{STYLE[result.status]}]{result.status}[/]", f"{result.checked:,}", f"{result.failed:,}",
                      f"{result.insufficient:,}" if result.insufficient else "", text)
    console.print(rules)
    scores = report.summary()["sites"]
    if scores:
        sites = Table(title="Verdicts per site: backflushed parts (all components judged)", title_justify="left")
        for column in ("Site", NOT_ELIGIBLE, AT_RISK, READY, "Readiness", "Site findings"):
            sites.add_column(column)
        for site, counts in sorted(scores.items()):
            every = counts["components"]
            share = "-" if counts["readiness"] is None else f"{counts['readiness']:.0%}"
            sites.add_row(site or "(no site)", *(f"{counts[v]} ({every[v]})" for v in (NOT_ELIGIBLE, AT_RISK, READY)),
                          share, str(counts["site_findings"]))
        console.print(sites)
    if report.violations:
        console.print(f"[bold magenta]{len(report.violations)} contract violation(s):[/]")
        for violation in report.violations:
            console.print(f"  {violation}")
    if report.findings:
        shown = Table(title=f"First {min(first, len(report.findings))} of {len(report.findings):,} findings",
                      title_justify="left")
        for column in ("Rule", "Severity", "Table", "Key", "Message"):
            shown.add_column(column)
        for finding in report.findings[:first]:
            key = ", ".join(f"{c}={v}" for c, v in finding.key)
            shown.add_row(finding.rule_id, f"[{STYLE[finding.severity]}]{finding.severity}[/]", finding.table, key,
                          finding.message)
        console.print(shown)
    counts = report.counts()
    console.print(f"[bold]{len(report.findings):,} finding(s):[/] {counts['error']:,} error, "
                  f"{counts['warning']:,} warning, {counts['info']:,} info")
