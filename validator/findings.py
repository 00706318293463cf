"""The finding, the status of each rule, the verdict of each part: the values every format reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, overload

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from validator.rules.model import SEVERITY_RANK

PASS, FAIL, ERROR, SKIPPED = "PASS", "FAIL", "ERROR", "SKIPPED"
INSUFFICIENT_HISTORY = "INSUFFICIENT_HISTORY"  # no failure, but some rows had too little history to judge
STATUSES = (PASS, FAIL, INSUFFICIENT_HISTORY, ERROR, SKIPPED)
INSUFFICIENT_HISTORY_OUTCOME = "insufficient_history"
NOT_ELIGIBLE, AT_RISK, READY = "not eligible", "at risk", "ready"
T = TypeVar("T")
BLOCK = 20_000  # rows of JSON text joined at a time


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
    def from_json(cls, line: str, component: str) -> Finding:
        """The finding of one engine row: its JSON document and its component (Plant, PartNum) as JSON."""
        d = orjson.loads(line)
        key = tuple(d["key"].items())
        return cls(-SEVERITY_RANK[d["severity"]], d["rule_id"], d["table"], tuple(str(v) for _, v in key), d["severity"],
                   key, d["message"], tuple(d["evidence"].items()), tuple(orjson.loads(component).items()),
                   d["fingerprint"], d["outcome"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "table": self.table,
            "key": dict(self.key),
            "message": self.message,
            "evidence": dict(self.evidence),
            "outcome": self.outcome,
            "fingerprint": self.fingerprint,
        }


class EngineRows(Sequence[T]):
    """Rows the engine made, held as one Arrow table with a JSON document per row (`line`): formats stream
    the documents as they are, and Python objects are made only for the rows a reader asks for (at a million
    findings, one object per finding cost more than the rules: measured 9 s and 700 MiB at 1M parts)."""

    def __init__(self, table: pa.Table | Future[pa.Table]) -> None:
        self._table = table

    @property
    def table(self) -> pa.Table:
        """The rows as one Arrow table; rows the engine is still making on another thread are waited for here."""
        if isinstance(self._table, Future):
            self._table = self._table.result()
        return self._table

    def settle(self) -> None:
        """Wait until rows made on another thread are made or have failed, without raising: whatever that thread
        does besides (the verdicts' closes the run's DuckDB connection, which deletes its temp files) is over."""
        if isinstance(self._table, Future):
            wait([self._table])

    def _make(self, row: dict[str, Any]) -> T:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.table.num_rows

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            rows = self.table.slice(start, max(0, stop - start)).to_pylist()
            return [self._make(row) for row in rows[::step]]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self._make(self.table.slice(index % len(self), 1).to_pylist()[0])

    def __iter__(self) -> Iterator[T]:
        for batch in self.table.to_batches(max_chunksize=10_000):
            for row in batch.to_pylist():
                yield self._make(row)

    def json_blocks(self, separator: str) -> Iterator[pa.Buffer]:
        """The rows' JSON documents as the engine wrote them, joined with `separator` a block of rows at a
        time by Arrow: UTF-8 bytes, no Python string per row nor per block (decoding the blocks to text and
        encoding them again cost ~0.6 s of a 266 MB report)."""
        lines = self.table.column("line")
        for start in range(0, len(lines), BLOCK):
            chunk = lines.slice(start, BLOCK).combine_chunks()
            rows = pa.ListArray.from_arrays(pa.array([0, len(chunk)], pa.int32()), chunk)
            yield pc.binary_join(rows, separator)[0].as_buffer()

    def count_by(self, *columns: str) -> dict[Any, int]:
        if not len(self):
            return {}
        counted = self.table.group_by(list(columns)).aggregate([([], "count_all")]).to_pylist()
        return {row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns): row["count_all"]
                for row in counted}


FINDING_COLUMNS = {"rule_id": pa.string(), "severity": pa.string(), "outcome": pa.string(),
                   "site_plant": pa.string(), "component": pa.string(), "line": pa.string()}


class Findings(EngineRows[Finding]):
    """The findings of a run, one per rule and key, sorted as Finding sorts (severity, rule, table, key).
    `site_plant` is set on a finding about a site itself (its attestations), `component` is the part it
    names as JSON."""

    @classmethod
    def empty(cls) -> Findings:
        return cls(pa.table({name: pa.array([], kind) for name, kind in FINDING_COLUMNS.items()}))

    def _make(self, row: dict[str, Any]) -> Finding:
        return Finding.from_json(row["line"], row["component"])

    def counts(self) -> dict[str, int]:
        return {"error": 0, "warning": 0, "info": 0, **self.count_by("severity")}

    def per_rule(self) -> dict[str, tuple[int, int]]:
        """rule id -> (findings, those with too little history to judge)."""
        out: dict[str, tuple[int, int]] = {}
        for (rule_id, outcome), n in self.count_by("rule_id", "outcome").items():
            failed, insufficient = out.get(rule_id, (0, 0))
            out[rule_id] = (failed + n, insufficient + (n if outcome == INSUFFICIENT_HISTORY_OUTCOME else 0))
        return out

    def site_findings(self) -> dict[str, int]:
        """Plant -> how many findings are about the site itself."""
        rows = self.table.filter(pc.is_valid(self.table["site_plant"]))
        return Findings(rows).count_by("site_plant")


def rule_status(failed: int, insufficient: int = 0) -> str:
    """FAIL on any failure; INSUFFICIENT_HISTORY when the only findings (`failed` counts all of them) say
    there was too little history to judge (never a pass); PASS when there is nothing to say."""
    if failed > insufficient:
        return FAIL
    return INSUFFICIENT_HISTORY if failed else PASS


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


VERDICT_COLUMNS = {"plant": pa.string(), "part_num": pa.string(), "verdict": pa.string(),
                   "rules": pa.list_(pa.string()), "backflushed": pa.bool_(), "line": pa.string()}


class Verdicts(EngineRows[Verdict]):
    """One verdict per component at a site, sorted by site and part as SQL Server compares them. The engine
    judges: any error -> not eligible, any warning (a finding of too little history included) -> at risk,
    else ready."""

    @classmethod
    def empty(cls) -> Verdicts:
        return cls(pa.table({name: pa.array([], kind) for name, kind in VERDICT_COLUMNS.items()}))

    def _make(self, row: dict[str, Any]) -> Verdict:
        return Verdict(row["plant"], row["part_num"], row["verdict"], tuple(row["rules"]), row["backflushed"])


def _shares(counts: dict[str, Any]) -> dict[str, Any]:
    total = counts[NOT_ELIGIBLE] + counts[AT_RISK] + counts[READY]
    return {**counts, "parts": total, "readiness": round(counts[READY] / total, 4) if total else None}


def site_scores(items: Verdicts, findings: Findings) -> dict[str, dict[str, Any]]:
    """Per site: how many of its backflushed parts are in each verdict and the share that is ready (the
    readiness score); the same over every component judged (`components`, the candidates included); and
    the findings on the site itself (its attestations, BFR010)."""
    empty = {NOT_ELIGIBLE: 0, AT_RISK: 0, READY: 0}
    flushed: dict[str, dict[str, Any]] = {}
    every: dict[str, dict[str, Any]] = {}
    for (plant, verdict, backflushed), n in items.count_by("plant", "verdict", "backflushed").items():
        site = plant or ""
        every.setdefault(site, dict(empty))[verdict] += n
        counts = flushed.setdefault(site, dict(empty))
        if backflushed:
            counts[verdict] += n
    on_site = findings.site_findings()
    return {site: {**_shares(flushed.get(site, dict(empty))), "components": _shares(every.get(site, dict(empty))),
                   "site_findings": on_site.get(site, 0)}
            for site in sorted(set(every) | set(on_site))}
