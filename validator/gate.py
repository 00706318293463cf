"""What a gate makes of the findings: against a baseline (the fingerprints of an accepted earlier run), which are
new, which persist and how many were fixed; with waivers, which are accepted until a date. Both mark the findings'
JSON documents (`"baseline": "new"`, `"waiver": {...}`), so every format shows them, and the gate then fails on the
new, unwaived findings only (Findings.gate_counts). An expired waiver waives nothing and counts as a warning."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from validator import __version__
from validator.config.waivers import Waiver
from validator.errors import DataError
from validator.finding_documents import DOCUMENT, Documents, DocumentSpool, in_order
from validator.findings import (
    BLOCK,
    IF_ENABLED_OUTCOME,
    JSON_OBJECT,
    JSON_STRING,
    EngineRows,
    Findings,
    Verdicts,
    among_rows,
    joined,
    json_strings,
    plain_values,
    text_array,
    text_scalar,
    whole_text,
)

BASELINE_FORMAT = "backflush-baseline/1"


@dataclass(frozen=True)
class Baseline:
    file: str
    names: Documents  # each finding's "RULE fingerprint", its name across runs: in memory, or past a size in a file


def _name(rule_id: pa.Array | str, fingerprint: pa.Array | str) -> Any:
    if isinstance(rule_id, str):
        return f"{rule_id} {fingerprint}"
    return pc.binary_join_element_wise(plain_values(rule_id), plain_values(fingerprint), text_scalar(" "))


# a finding's document as the engine writes it (FINDING_FIELDS), up to its key
_UP_TO_KEY = (r'^\{"rule_id":' + JSON_STRING + r',"severity":' + JSON_STRING + r',"table":' + JSON_STRING
              + r',"key":(?P<key>' + JSON_OBJECT + ")")


def baseline_sections(findings: Findings, site: str, separator: str) -> dict[str, Any]:
    """The baseline a run records, as formats/json.py writes a document: the format, the tool, the site, and each
    of `findings`' rule, table, key and fingerprint, joined by `separator` (`findings`: those of the site as it is,
    the what-if ones left out: Findings.selected)."""
    return {"format": BASELINE_FORMAT, "tool": {"name": "backflush-validator", "version": __version__}, "site": site,
            "findings": _recorded(findings, separator)}


def _recorded(findings: Findings, separator: str) -> Iterator[pa.Buffer]:
    """The findings' baseline entries, made by Arrow from the engine's documents a block at a time."""
    for start in range(0, len(findings), BLOCK):
        rows = findings.table.slice(start, BLOCK)
        lines = findings.lines(rows)
        key = pc.struct_field(pc.extract_regex(lines, _UP_TO_KEY), "key")
        if key.null_count:
            raise AssertionError(f"a finding's document does not begin with its rule, table and key: "
                                 f"{pc.filter(lines, pc.is_null(key))[0]}; this is a defect of the engine")
        rule, table, fingerprint = (json_strings(rows.column(c).combine_chunks()) for c in ("rule_id", "table", "fingerprint"))
        yield joined(pc.binary_join_element_wise(
            text_scalar('{"rule_id":'), rule, text_scalar(',"table":'), table, text_scalar(',"key":'), key,
            text_scalar(',"fingerprint":'), fingerprint, text_scalar("}"), text_scalar("")), separator)


def baseline_of(findings: Findings, name: str) -> Baseline:
    """The baseline an earlier run's findings make (`backflush diff OLD NEW`): what-if findings left out. Their
    names are read only once the other run is made: they wait in a temporary file."""
    spool = DocumentSpool(0)
    for names in _names(findings.selected().table):
        spool.add(names)
    return Baseline(name, spool.done())


def _names(table: pa.Table) -> Iterator[pa.Array]:
    """The findings' names, in their order, a block at a time."""
    for start in range(0, table.num_rows, BLOCK):
        rows = table.slice(start, BLOCK)
        yield _name(rows.column("rule_id").combine_chunks(), rows.column("fingerprint").combine_chunks())


CHANGE_COLUMNS = ("company", "plant", "part_num", "verdict")  # what verdict_changes reads of a run's verdicts


# the parts whose verdict differs between two runs' verdicts (their CHANGE_COLUMNS): company, plant, part_num, before
# and after, sorted as VerdictChanges lists them, matched where the run's memory allows (DuckDBEngine.changed_verdicts)
ChangedVerdicts = Callable[[pa.Table, pa.Table], pa.Table]
CHANGE_FIELDS = ("company", "plant", "part_num", "before", "after")


class VerdictChanges(EngineRows[dict[str, Any]]):
    """The parts whose verdict changed between two runs (`diff`), the worst new verdict first and the parts NEW did
    not judge last: held as one Arrow table, their JSON documents made from its columns a block at a time, and a
    dict made only for a part a reader shows. Switching backflush on across a site changes every part's verdict:
    at 50M job lines 5M parts, which as dicts took 3 GB (docs/performance.md)."""

    LINES_FROM_COLUMNS = True

    def _make(self, row: dict[str, Any]) -> dict[str, Any]:
        return row

    def lines(self, rows: pa.Table) -> pa.Array:
        pieces: list[Any] = []
        for index, name in enumerate(CHANGE_FIELDS):
            pieces += [text_scalar(("{" if index == 0 else ",") + orjson.dumps(name).decode() + ":"),
                       json_strings(rows.column(name).combine_chunks())]
        return pc.binary_join_element_wise(*pieces, text_scalar("}"), text_scalar(""))


def verdict_changes(old: Verdicts, new: Verdicts, changed: ChangedVerdicts) -> VerdictChanges:
    """The parts whose verdict differs between two runs (None: not judged in that run), worst new verdict first. A
    part is the same in both when its company, site and part are (a missing company as missing); `changed` matches
    and sorts them (5M judged parts a run at 50M job lines), Python sees the changed parts alone."""
    columns = list(CHANGE_COLUMNS)
    return VerdictChanges(changed(old.table.select(columns), new.table.select(columns)).select(list(CHANGE_FIELDS)))


def read_baseline(path: Path, held: int | None = None) -> Baseline:
    """The baseline in a file: its names held in memory up to `held` bytes (None: no bound), the rest in a
    temporary file."""
    try:
        names = _recorded_names(path, held)
        if names is not None:
            return Baseline(str(path), names)
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the baseline: {exc}", location=str(path)) from None
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read the baseline: {exc}", location=str(path)) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); write it with "
                        "'backflush baseline'", location=str(path)) from None
    if not _frame(document):
        raise DataError(f"is not a baseline ({BASELINE_FORMAT}); write one with 'backflush baseline PATH -o FILE'",
                        location=str(path))
    try:
        listed = {_name(f["rule_id"], f["fingerprint"]) for f in document["findings"]}
    except (KeyError, TypeError):
        raise DataError("a baseline finding lacks rule_id or fingerprint; write it again with 'backflush baseline'",
                        location=str(path)) from None
    return Baseline(str(path), Documents.in_memory(text_array(list(listed))))


def _frame(document: Any) -> bool:
    return isinstance(document, dict) and document.get("format") == BASELINE_FORMAT and isinstance(
        document.get("findings"), list)


# a finding as `backflush baseline` writes it (baseline_sections, through formats/json.py): one per line, its rule and
# fingerprint plain text (what they read as JSON)
_ENTRY = (r'^    \{"rule_id":"(?P<rule>[A-Za-z0-9_.-]+)","table":' + JSON_STRING + r',"key":' + JSON_OBJECT
          + r',"fingerprint":"(?P<fingerprint>[0-9a-f]+)"\}(?P<comma>,?)$')


READ_BYTES = 1 << 25  # of a baseline file, read at a time
FRAME_LINES = 64  # lines outside the list of findings a baseline `backflush baseline` wrote may have (it has 7)


def _recorded_names(path: Path, held: int | None) -> Documents | None:
    """The names of a baseline as `backflush baseline` writes it, read by Arrow a line each and a block of lines at a
    time (at 16M findings the file is 2.6 GB; the JSON module's objects would take ten times that); None for any
    other file, which the JSON module reads. The findings' lines must follow each other between the list's brackets,
    each but the last with its comma, and the rest of the file must be a baseline whose list is empty."""
    spool = DocumentSpool(held)
    head: list[str] = []  # the lines before the first finding's, then those after the last one's
    tail: list[str] = []
    listed = without_comma = 0
    last_comma = ""
    for lines in _line_blocks(path):
        if lines is None:  # not UTF-8
            return None
        entries = pc.extract_regex(lines, _ENTRY)
        found = pc.indices_nonzero(pc.is_valid(entries))
        # the lines around the findings' are counted before they are made Python strings (a block of another
        # file's would be 200k of them)
        if not len(found):
            if len(head) + len(tail) + len(lines) > FRAME_LINES:
                return None
            (tail if listed else head).extend(lines.to_pylist())
            continue
        first, last = found[0].as_py(), found[-1].as_py()
        if tail or len(found) != last - first + 1 or (listed and first):  # the findings' lines apart
            return None
        if len(head) + first + len(lines) - last - 1 > FRAME_LINES:
            return None
        head.extend(lines.slice(0, first).to_pylist())
        tail.extend(lines.slice(last + 1).to_pylist())
        named = entries.take(found)
        commas = pc.struct_field(named, "comma")
        without_comma += len(found) - pc.sum(pc.equal(commas, text_scalar(","))).as_py()
        last_comma = commas[-1].as_py()
        listed += len(found)
        spool.add(_name(pc.struct_field(named, "rule").cast(pa.string()),
                        pc.struct_field(named, "fingerprint").cast(pa.string())))
    if (not listed or without_comma != 1 or last_comma or head[-1:] != ['  "findings": ['] or tail[:1] != ["  ]"]):
        return None
    try:
        frame = json.loads("\n".join([*head, *tail]))
    except json.JSONDecodeError:
        return None
    if not _frame(frame) or frame["findings"]:
        return None
    return spool.done()


def _line_blocks(path: Path) -> Iterator[pa.Array | None]:
    """A file's lines, as Arrow texts a block of whole lines at a time; None for a block that is not UTF-8."""
    with path.open("rb") as file:
        rest = b""
        while data := file.read(READ_BYTES):
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1:]
            yield _lines(data[:cut])
        if rest:
            yield _lines(rest)


def _lines(data: bytes) -> pa.Array | None:
    text = whole_text(data)
    return None if text is None else pc.list_flatten(pc.split_pattern(text, "\n"))  # an option: no conversion


@dataclass
class Triage:
    """What the baseline and the waivers made of a run's findings, for every format to say."""

    baseline: str | None = None
    new: int = 0
    persisting: int = 0
    fixed: int = 0
    applied: list[tuple[Waiver, int]] = field(default_factory=list)  # active waivers and the findings each waived
    expired: list[tuple[Waiver, int]] = field(default_factory=list)  # and the findings each would waive
    unmatched: list[Waiver] = field(default_factory=list)  # active waivers that waive nothing
    verdict_changes: VerdictChanges | None = None  # `diff`: parts whose verdict changed between the runs

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.baseline is not None:
            out["baseline"] = {"file": self.baseline, "new": self.new, "persisting": self.persisting, "fixed": self.fixed}
        if self.verdict_changes is not None:
            out["verdict_changes"] = self.verdict_changes
        if self.applied or self.expired or self.unmatched:
            out["waivers"] = {"applied": [{**w.to_dict(), "findings": n} for w, n in self.applied],
                              "expired": [{**w.to_dict(), "findings": n} for w, n in self.expired],
                              "unmatched": [w.to_dict() for w in self.unmatched]}
        return out


def _marked(findings: Findings, suffix: pa.Array | pa.ChunkedArray) -> Documents:
    """The findings' JSON documents, in their order, each with its `suffix` (`,"key":value` pairs; "" for none)
    added before its closing brace, made a block at a time into a spool (at 3M findings the documents take 2 GB: a
    copy of them all in memory would be 2 GB more). The brace is one byte: cut as bytes, the rest is the same UTF-8
    text."""
    spool = findings.documents.spool()
    for start in range(0, len(findings), BLOCK):
        lines = findings.lines(findings.table.slice(start, BLOCK))
        kind = pa.large_binary() if pa.types.is_large_string(lines.type) else pa.binary()
        body = pc.binary_slice(lines.view(kind), 0, -1).view(lines.type)
        spool.add(pc.binary_join_element_wise(body, suffix.slice(start, BLOCK), text_scalar("}"), text_scalar("")))
    return spool.done()


# which findings a baseline records: given the baseline's names and the findings' (each a chunk at a time, the
# findings' in their order), the positions of the recorded findings, ascending, and how many distinct names the
# baseline holds (an engine's, out of core: DuckDBEngine.recorded)
Recorded = Callable[[Iterable[pa.Array], Iterable[pa.Array]], tuple[numpy.ndarray, int]]


def triage(findings: Findings, baseline: Baseline | None, waivers: list[Waiver], today: dt.date,
           recorded: Recorded) -> tuple[Findings, Triage]:
    """The findings marked against the baseline (matched by `recorded`) and the waivers, and what they made of
    them."""
    table = findings.table
    result = Triage()
    if not table.num_rows and baseline is None and not waivers:
        return findings, result
    what_if = pc.equal(table.column("outcome"), text_scalar(IF_ENABLED_OUTCOME))
    added: list[Any] = []  # what each document gains, in the order it gains them: its baseline state, its waiver
    if baseline is not None:
        rows, distinct = recorded(baseline.names.chunks(), _names(table))
        known = among_rows(table.num_rows, rows)
        state = pc.if_else(known, text_scalar("persisting"), text_scalar("new"))
        judged = pc.invert(what_if)
        result.baseline = baseline.file
        result.new = int(pc.sum(pc.and_(judged, pc.invert(known))).as_py() or 0)
        result.persisting = int(pc.sum(pc.and_(judged, known)).as_py() or 0)
        # a finding's name is its own (one finding per rule and key): the baseline's others were fixed
        result.fixed = distinct - result.persisting
        added.append(pc.if_else(judged, pc.binary_join_element_wise(text_scalar(',"baseline":"'), state, text_scalar('"'),
                                                                    text_scalar("")), text_scalar("")))
        table = table.append_column("baseline", pc.if_else(judged, state, pa.nulls(1, pa.string())[0]))
    if waivers:
        rules = {w.rule.upper() for w in waivers}
        candidate = pc.and_(pc.is_in(pc.utf8_upper(plain_values(table.column("rule_id"))), value_set=text_array(sorted(rules))),
                            pc.invert(what_if))
        counts = {id(w): 0 for w in waivers}
        waived: dict[int, str] = {}  # row -> what its document gains: the waiver that waives it
        lines = findings.documents.take(pc.filter(table.column(DOCUMENT), candidate))
        for index, line in zip(pc.indices_nonzero(candidate).to_pylist(), lines.to_pylist(), strict=True):
            document = orjson.loads(line)
            for waiver in waivers:
                if waiver.matches(document["rule_id"], document["table"], document["key"]):
                    counts[id(waiver)] += 1
                    if not waiver.expired(today) and index not in waived:
                        waived[index] = ',"waiver":' + orjson.dumps(waiver.to_dict()).decode()
        for waiver in waivers:
            if waiver.expired(today):
                result.expired.append((waiver, counts[id(waiver)]))
            elif counts[id(waiver)]:
                result.applied.append((waiver, counts[id(waiver)]))
            else:
                result.unmatched.append(waiver)
        rows = sorted(waived)
        mask = among_rows(table.num_rows, rows)
        added.append(pc.fill_null(pc.replace_with_mask(pa.nulls(table.num_rows, pa.string()), mask,
                                                       text_array([waived[row] for row in rows])), text_scalar("")))
        table = table.append_column("waived", mask)
    if not added:  # neither a baseline nor a waiver (a waivers file that lists none): nothing to mark
        return findings, result
    suffix = added[0] if len(added) == 1 else pc.binary_join_element_wise(*added, text_scalar(""))
    documents = _marked(findings, suffix)
    table = table.set_column(table.column_names.index(DOCUMENT), DOCUMENT, in_order(table.num_rows))
    return Findings(table, documents), result
