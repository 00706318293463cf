"""The report of a run: a plain value every format reads (validator/formats/), made by commands/check.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from validator import __version__
from validator.findings import ERROR, STATUSES, Findings, RuleResult, Verdicts, Violation, site_scores
from validator.gate import Triage
from validator.rules.model import SEVERITY_RANK, Rule


@dataclass
class Report:
    site: str
    rules: dict[str, Rule]
    results: list[RuleResult]
    findings: Findings
    verdicts: Verdicts
    violations: list[Violation] = field(default_factory=list)
    # why readiness is not assessed in this run (a readiness rule in force not run, or not run in full); empty:
    # every readiness rule ran, and a part with enough history that passed them all is ready
    readiness_missing: list[str] = field(default_factory=list)
    jobs: str = "open"  # the jobs the eligibility and integrity rules judged (backflush.yaml jobs:)
    engine: str = "duckdb"
    profile: dict[str, Any] = field(default_factory=dict)  # name, window, snapshot date in force
    date_orders: dict[str, str] = field(default_factory=dict)  # "Table.Column" -> order its slashed dates read in
    decimal_commas: list[str] = field(default_factory=list)  # "Table.Column" of the numbers read with a decimal comma
    column_headers: dict[str, str] = field(default_factory=dict)  # "Table.Column" -> the header it was read from,
    # where that is not its own name (a label such as `Part Num`, or a header named in backflush.yaml)
    inputs: dict[str, str] = field(default_factory=dict)  # table -> the export it was read from, as messages name it
    triage: Triage = field(default_factory=Triage)  # what a baseline and waivers made of the findings (gate.py)
    input_files: dict[str, list[str]] = field(default_factory=dict)  # table -> the files read (the manifest's SHA-256)
    snapshot: dict[str, Any] | None = None  # the manifest of a snapshot `backflush pull` wrote, when PATH is one
    descriptions: pa.Table | None = None  # Company, PartNum, PartDescription of the parts read, when a format
    # written shows them (formats DESCRIBES_PARTS: the worklist)

    def description(self) -> Callable[[Any, Any], str]:
        """(company, part) -> the part's description ('' when unknown), compared as SQL Server compares keys."""
        found: dict[tuple[str, str], str] = {}
        if self.descriptions is not None:
            rows = zip(*(self.descriptions.column(c).to_pylist() for c in ("Company", "PartNum", "PartDescription")),
                       strict=True)
            found = {(str(c or "").upper(), str(p or "").upper()): d or "" for c, p, d in rows}
        parts = {part: d for (_, part), d in found.items()}  # an export without Company: by part alone
        return lambda company, part: found.get((str(company or "").upper(), str(part or "").upper()),
                                               parts.get(str(part or "").upper(), ""))

    def counts(self) -> dict[str, int]:
        return self.findings.counts()

    def if_enabled_counts(self) -> dict[str, int]:
        return self.findings.if_enabled_counts()

    @property
    def readiness_assessed(self) -> bool:
        return not self.readiness_missing

    def worst_at_or_above(self, threshold: str) -> bool:
        """Whether a finding on the configuration as it is (what-if findings never), not waived and, against a
        baseline, new, is at or above `threshold`; an expired waiver counts as a warning."""
        if threshold == "never":
            return False
        counts = self.findings.gate_counts()
        counts["warning"] += len(self.triage.expired)  # an expired waiver is a finding of its own
        return any(n and SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold] for severity, n in counts.items())

    def summary(self) -> dict[str, Any]:
        statuses = {s: sum(r.status == s for r in self.results) for s in STATUSES}
        return {
            "findings": len(self.findings),
            "by_severity": self.counts(),
            "if_enabled": self.if_enabled_counts(),
            "rules": statuses,
            "readiness_assessed": self.readiness_assessed,
            "readiness_missing": self.readiness_missing,
            "sites": site_scores(self.verdicts, self.findings, self.readiness_assessed),
            "partial": bool(statuses[ERROR]),
            # with a baseline or waivers only: what they made of the findings (a plain run's summary is unchanged)
            **({"waived": self.findings.waived(), "gate": self.findings.gate_counts(), **self.triage.to_dict()}
               if self.triage.to_dict() else {}),
        }

    def tool(self) -> dict[str, Any]:
        return {"name": "backflush-validator", "version": __version__, "engine": self.engine, "site": self.site,
                "profile": self.profile, "jobs": self.jobs, "date_orders": self.date_orders,
                "decimal_commas": self.decimal_commas, "column_headers": self.column_headers,
                **({"snapshot": self.snapshot} if self.snapshot is not None else {})}
