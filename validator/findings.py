"""The finding, the status of each rule, the verdict of each part: the values every format reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from validator.rules.model import SEVERITY_RANK

PASS, FAIL, ERROR, SKIPPED = "PASS", "FAIL", "ERROR", "SKIPPED"
INSUFFICIENT_HISTORY = "INSUFFICIENT_HISTORY"  # no failure, but some rows had too little history to judge
STATUSES = (PASS, FAIL, INSUFFICIENT_HISTORY, ERROR, SKIPPED)
INSUFFICIENT_HISTORY_OUTCOME = "insufficient_history"
NOT_ELIGIBLE, AT_RISK, READY = "not eligible", "at risk", "ready"


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO text, whole floats as integers, NaN as null."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else round(value, 10)
    return value


def fingerprint(rule_id: str, table: str, key: tuple[tuple[str, Any], ...]) -> str:
    """Stable across row order and runs: rule, table and the key as SQL Server compares it."""
    canonical = "\x1f".join(f"{c}\x1e{'' if v is None else str(v).rstrip().upper()}" for c, v in key)
    return hashlib.sha256(f"{rule_id}\x1d{table}\x1d{canonical}".encode()).hexdigest()[:32]


class Finding(NamedTuple):
    """One finding: immutable, hashable, and sorted by severity, rule, table and key (flake8's
    Violation is the model). The fingerprint names it across runs (rule, table, key)."""

    rank: int  # minus the severity rank: errors sort first
    rule_id: str
    table: str
    order_key: tuple[str, ...]  # the key as text, so rows of any key types sort together
    severity: str
    key: tuple[tuple[str, Any], ...]
    message: str
    evidence: tuple[tuple[str, Any], ...] = ()
    component: tuple[tuple[str, Any], ...] = ()
    fingerprint: str = ""
    outcome: str = "fail"  # or "insufficient_history": too little history to judge (never a pass)

    @classmethod
    def make(cls, rule_id: str, severity: str, table: str, key: tuple[tuple[str, Any], ...], message: str,
             evidence: tuple[tuple[str, Any], ...] = (), component: tuple[tuple[str, Any], ...] = (),
             outcome: str = "fail") -> Finding:
        key = tuple((c, "" if v is None else v) for c, v in key)
        return cls(-SEVERITY_RANK[severity], rule_id, table, tuple(str(v) for _, v in key), severity, key,
                   message, evidence, component, fingerprint(rule_id, table, key), outcome)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "table": self.table,
            "key": {c: plain(v) for c, v in self.key},
            "message": self.message,
            "evidence": {c: plain(v) for c, v in self.evidence},
            "outcome": self.outcome,
            "fingerprint": self.fingerprint,
        }


def rule_status(findings: list[Finding]) -> str:
    """FAIL on any failure; INSUFFICIENT_HISTORY when the only findings say there was too little history
    to judge (never a pass); PASS when there is nothing to say."""
    if any(f.outcome != INSUFFICIENT_HISTORY_OUTCOME for f in findings):
        return FAIL
    return INSUFFICIENT_HISTORY if findings else PASS


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    severity: str
    title: str
    status: str
    checked: int = 0
    failed: int = 0
    reason: str = ""
    insufficient: int = 0  # rows with too little history to judge

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "title": self.title, "status": self.status,
                "checked": self.checked, "failed": self.failed, "insufficient_history": self.insufficient,
                "reason": self.reason or None}


class Verdict(NamedTuple):
    plant: str | None
    part: str
    verdict: str
    rules: tuple[str, ...]
    backflushed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"plant": self.plant, "part_num": self.part, "verdict": self.verdict, "rules": list(self.rules),
                "backflushed": self.backflushed}


def component_key(finding: Finding) -> tuple[str, str] | None:
    """(PLANT, PART) of the part a finding is about, as SQL Server compares them; None for a site finding."""
    parts = dict(finding.component)
    if parts.get("PartNum") is None:
        return None
    plant = parts.get("Plant")
    return ("" if plant is None else str(plant).rstrip().upper(), str(parts["PartNum"]).rstrip().upper())


def verdicts(findings: list[Finding], parts: list[tuple[str | None, str, bool]]) -> list[Verdict]:
    """One verdict per component at a site: any error -> not eligible, any warning (a finding of too little
    history included) -> at risk, else ready. The components are the given parts at their sites (Plant,
    PartNum, backflushed) plus every component a finding names."""
    plants: dict[str | None, str] = {}  # the few site keys, computed once
    given = {(plants.setdefault(p[0], "" if p[0] is None else p[0].upper()), p[1].upper()): p for p in parts}
    worst = dict.fromkeys(given, 0)
    rules: dict[tuple[str, str], set[str]] = {}
    known: dict[tuple, tuple[str, str] | None] = {}  # many findings name the same component
    for finding in findings:
        if finding.severity == "info":
            continue
        key = known.get(finding.component, ())
        if key == ():
            key = known[finding.component] = component_key(finding)
        if key is None:
            continue
        worst[key] = max(worst.get(key, 0), SEVERITY_RANK[finding.severity])
        rules.setdefault(key, set()).add(finding.rule_id)
        if key not in given:
            comp = dict(finding.component)
            given[key] = (comp.get("Plant"), str(comp["PartNum"]), False)
    label = {0: READY, 1: READY, 2: AT_RISK, 3: NOT_ELIGIBLE}
    out = []
    for key in sorted(worst):
        plant, part, flushed = given[key]
        out.append(Verdict(plant, part, label[worst[key]], tuple(sorted(rules[key])) if key in rules else (), flushed))
    return out


def _shares(counts: dict[str, Any]) -> dict[str, Any]:
    total = counts[NOT_ELIGIBLE] + counts[AT_RISK] + counts[READY]
    return {**counts, "parts": total, "readiness": round(counts[READY] / total, 4) if total else None}


def site_scores(items: list[Verdict], findings: list[Finding] = ()) -> dict[str, dict[str, Any]]:
    """Per site: how many of its backflushed parts are in each verdict and the share that is ready (the
    readiness score); the same over every component judged (`components`, the candidates included); and
    the findings on the site itself (its attestations, BFR010)."""
    empty = {NOT_ELIGIBLE: 0, AT_RISK: 0, READY: 0}
    flushed: dict[str, dict[str, Any]] = {}
    every: dict[str, dict[str, Any]] = {}
    for verdict in items:
        site = verdict.plant or ""
        every.setdefault(site, dict(empty))[verdict.verdict] += 1
        counts = flushed.setdefault(site, dict(empty))
        if verdict.backflushed:
            counts[verdict.verdict] += 1
    on_site: dict[str, int] = {}
    for finding in findings:
        component = dict(finding.component)
        if "PartNum" not in component and component.get("Plant") is not None:
            on_site[str(component["Plant"])] = on_site.get(str(component["Plant"]), 0) + 1
    return {site: {**_shares(flushed.get(site, dict(empty))), "components": _shares(every.get(site, dict(empty))),
                   "site_findings": on_site.get(site, 0)}
            for site in sorted(set(every) | set(on_site))}
