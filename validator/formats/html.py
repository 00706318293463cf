"""The pre-go-live report for the steering committee: one self-contained HTML file (no script, no network: styles
and charts inline, the charts as SVG), readable on screen and printable on A4. An executive summary per company
and site, charts, the rules, the first findings of each rule with its remediation (counts always whole), the
attestations, waivers and a manifest of what was read. Every value from the data is escaped (Jinja2 autoescape)."""

from __future__ import annotations

import hashlib
import html
from collections import Counter, defaultdict
from pathlib import Path
from typing import TextIO

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from validator import __version__
from validator.findings import MISCONFIGURED, NOT_ELIGIBLE, VERDICTS, Finding
from validator.report import Report

FIRST = 20  # findings shown per rule; the count is always whole
TEMPLATES = Path(__file__).resolve().parent / "templates"
COLORS = {"not eligible": "#c0392b", "misconfigured": "#e67e22", "at risk": "#f1c40f", "unknown": "#95a5a6",
          "ready": "#27ae60", "beyond threshold": "#f1c40f", "not judged": "#95a5a6", "within threshold": "#27ae60",
          "error": "#c0392b", "warning": "#e67e22", "info": "#3498db"}


def _bars(items: list[tuple[str, int, str]], width: int = 640, bar: int = 16) -> Markup:
    """A horizontal bar chart as inline SVG: (label, value, colour) per bar, the value written beside it."""
    if not items:
        return Markup("")
    top = max(v for _, v, _ in items) or 1
    label_w, height = 90, (bar + 6) * len(items) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (label, value, color) in enumerate(items):
        y = 2 + i * (bar + 6)
        w = max(1, int((width - label_w - 60) * value / top)) if value else 0
        parts.append(f'<text x="0" y="{y + bar - 4}" font-size="11">{html.escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" fill="{color}"/>'
                     f'<text x="{label_w + w + 4}" y="{y + bar - 4}" font-size="11">{value:,}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through html.escape


def _stacked(rows: list[tuple[str, list[tuple[str, int]]]], width: int = 640, bar: int = 18) -> Markup:
    """Stacked horizontal bars as inline SVG: per row a label and (category, value) segments, with a legend."""
    if not rows:
        return Markup("")
    label_w, height = 130, (bar + 8) * len(rows) + 26
    top = max(sum(v for _, v in segments) for _, segments in rows) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (label, segments) in enumerate(rows):
        y, x = 2 + i * (bar + 8), label_w
        parts.append(f'<text x="0" y="{y + bar - 5}" font-size="11">{html.escape(label)}</text>')
        for category, value in segments:
            w = int((width - label_w - 10) * value / top)
            if w:
                parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{bar}" fill="{COLORS.get(category, "#888")}">'
                             f'<title>{html.escape(category)}: {value:,}</title></rect>')
            x += w
    x, y = 0, height - 8
    for category in dict.fromkeys(c for _, segments in rows for c, _ in segments):
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLORS.get(category, "#888")}"/>'
                     f'<text x="{x + 13}" y="{y}" font-size="10">{html.escape(category)}</text>')
        x += 16 + 6 * len(category)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through html.escape


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _manifest(report: Report) -> list[dict[str, str]]:
    out = []
    for table, where in report.inputs.items():
        files = report.input_files.get(table, [])
        readable = [Path(p) for p in files if Path(p).is_file()]
        out.append({"table": table, "where": where,
                    "sha256": _sha256(readable) if readable and len(readable) == len(files) else "(not a file)"})
    return out


def _blockers(report: Report) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """Per company and site, the rules behind its not-eligible and misconfigured parts, most cited first."""
    cited: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for verdict in report.verdicts.among(NOT_ELIGIBLE, MISCONFIGURED):
        cited[(verdict.company or "", verdict.plant or "")].update(verdict.rules)
    return {site: counts.most_common(5) for site, counts in cited.items()}


def _first_findings(report: Report) -> dict[str, list[Finding]]:
    """The first findings of each rule on the configuration as it is (Python objects for those alone)."""
    return defaultdict(list, report.findings.selected().first_per("rule_id", FIRST))


def write(report: Report, out: TextIO, *, color: bool = False) -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    summary = report.summary()
    results = {r.rule_id: r for r in report.results}
    found = Counter(report.findings.selected(not_judged=False).count_by("rule_id"))  # rules in the order they come
    readiness = [(r, report.rules[r.rule_id]) for r in report.results
                 if r.rule_id in report.rules and "readiness" in report.rules[r.rule_id].tags]
    charts = {
        "findings": _bars([(rule_id, n, COLORS[results[rule_id].severity]) for rule_id, n in found.most_common()
                           if rule_id in results]),
        "verdicts": _stacked([(f"{s['company'] or ''} {s['plant']}".strip(), [(v, s[v]) for v in VERDICTS])
                              for s in summary["sites"]]),
        "readiness": _stacked([(r.rule_id, [("beyond threshold", r.failed),
                                            ("not judged", r.insufficient + r.not_measurable),
                                            ("within threshold",
                                             max(0, r.checked - r.failed - r.insufficient - r.not_measurable))])
                               for r, _ in readiness]),
    }
    template = env.get_template("report.html.j2")
    template.stream(report=report, summary=summary, results=report.results, rules=report.rules, charts=charts,
                    first=_first_findings(report), found=found, blockers=_blockers(report), verdicts=VERDICTS,
                    readiness=readiness, manifest=_manifest(report), version=__version__, triage=report.triage,
                    waived=report.findings.waived(), limit=FIRST).dump(out)
