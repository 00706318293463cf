"""The report of a run: a plain value every format reads (validator/formats/), made by commands/check.py."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy
import pyarrow as pa
import pyarrow.compute as pc

from validator import __version__
from validator.finding_documents import int64s
from validator.findings import ERROR, STATUSES, Findings, RuleResult, Verdicts, Violation, site_scores, text_scalar
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

    def described(self, company: pa.Array, part: pa.Array) -> pa.Array:
        """Each (company, part)'s description, '' when unknown: the part of that company, keys compared as SQL
        Server compares them (case aside). A part exported without a company (a Part export without Company) is
        found by the part alone, and so is every part asked without one (a job export without Company); another
        company's part is never taken for it. The last listed wins. All of it lookups by Arrow: at 50M job lines,
        with 5M parts, a Python dict of the descriptions took some 1.7 GB (docs/performance.md)."""
        if self.descriptions is None or not len(part):
            return pa.repeat(text_scalar(""), len(part))
        known_part, known, text, unowned = self._known_parts
        asked_company, asked_part = _upper(company), _upper(part)
        found = _looked_up(pc.binary_join_element_wise(asked_company, asked_part, text_scalar("\x1f")), known, text)
        if unowned is not None:  # Part rows exported without a company
            found = pc.coalesce(found, _looked_up(asked_part, *unowned))
        blank = pc.equal(asked_company, text_scalar(""))
        if pc.any(blank).as_py():  # parts asked without a company
            found = pc.coalesce(found, pc.if_else(blank, _looked_up(asked_part, known_part, text),
                                                  pa.scalar(None, pa.string())))
        return pc.fill_null(found, text_scalar(""))

    @functools.cached_property
    def _known_parts(self) -> tuple[pa.Array, pa.Array, pa.Array, tuple[pa.Array, pa.Array] | None]:
        """The descriptions' parts as compared, their company and part as one key, their texts, and the parts and
        texts of the rows without a company (None: every row has one): the last listed first, made once for every
        lookup."""
        assert self.descriptions is not None
        listed = self.descriptions.take(int64s(numpy.arange(self.descriptions.num_rows - 1, -1, -1)))
        company, part = _upper(listed.column("Company")), _upper(listed.column("PartNum"))
        text = pc.fill_null(listed.column("PartDescription").combine_chunks().cast(pa.string()), text_scalar(""))
        without = pc.equal(company, text_scalar(""))
        unowned = (pc.filter(part, without), pc.filter(text, without)) if pc.any(without).as_py() else None
        return part, pc.binary_join_element_wise(company, part, text_scalar("\x1f")), text, unowned

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


def _looked_up(asked: pa.Array, known: pa.Array, text: pa.Array) -> pa.Array:
    """The `text` of the first `known` value equal to each `asked` one (null where none): the hash is made of the
    few known values asked for, not of every known one (a rule sheet asks for some parts of a million)."""
    near = pc.is_in(known, value_set=asked)
    return pc.take(pc.filter(text, near), pc.index_in(asked, value_set=pc.filter(known, near)))


def _upper(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Key text as compared case aside: upper case, a blank (or none) as ''."""
    column = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.utf8_upper(pc.fill_null(column.cast(pa.string()), text_scalar("")))
