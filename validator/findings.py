"""The finding, the status of each rule, the verdict of each part: the values every format reads."""

from __future__ import annotations

import itertools
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple, Self, TypeVar, overload

import numpy
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from validator.finding_documents import DOCUMENT, Documents, in_order, int64s, positions
from validator.rules.model import SEVERITY_RANK
from validator.rules.what_if import IF_ENABLED as IF_ENABLED_OUTCOME  # found only as if the site default were on

PASS, FAIL, ERROR, SKIPPED = "PASS", "FAIL", "ERROR", "SKIPPED"
INSUFFICIENT_HISTORY = "INSUFFICIENT_HISTORY"  # no failure, but some rows had too little history to judge
STATUSES = (PASS, FAIL, INSUFFICIENT_HISTORY, ERROR, SKIPPED)
INSUFFICIENT_HISTORY_OUTCOME = "insufficient_history"
NOT_MEASURABLE_OUTCOME = "not_measurable"  # the data cannot measure it for the row (BFR001 on backflushed issues)
NOT_JUDGED = (INSUFFICIENT_HISTORY_OUTCOME, NOT_MEASURABLE_OUTCOME)  # outcomes that judge nothing, never a pass
# the verdict scale, worst first (README "Verdicts")
NOT_ELIGIBLE, MISCONFIGURED, AT_RISK, UNKNOWN, READY = "not eligible", "misconfigured", "at risk", "unknown", "ready"
VERDICTS = (NOT_ELIGIBLE, MISCONFIGURED, AT_RISK, UNKNOWN, READY)
T = TypeVar("T")
BLOCK = 20_000  # rows of JSON text joined at a time
WRITERS = 2  # threads making blocks of JSON text from columns at once (Arrow's compute releases the GIL)


@dataclass(frozen=True)
class Violation:
    table: str
    file: str
    column: str | None
    problem: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}, column {self.column}" if self.column else self.file
        sample = ""
        if self.rows:
            shown = ", ".join(f"row {r}: {v!r}" for r, v in zip(self.rows, self.values, strict=False)) if self.values else \
                ", ".join(f"row {r}" for r in self.rows)
            sample = f" (e.g. {shown})"
        return f"{where}: {self.problem}{sample}"

    def to_dict(self) -> dict[str, object]:
        """The violation as the JSON report writes it: where (file, table, column), what (problem), the example
        rows with their values, and the whole sentence (`text`)."""
        return {"file": self.file, "table": self.table, "column": self.column, "problem": self.problem,
                "rows": [{"row": row, "value": value} for row, value in zip(self.rows, self.values, strict=False)]
                if self.values else [{"row": row, "value": None} for row in self.rows],
                "text": str(self)}


# A finding as the JSON report writes it, defined once: these fields, in this order. An engine writes each finding's
# document with them (engines/duckdb/findings.py); Finding reads it back.
FINDING_FIELDS = ("rule_id", "severity", "table", "key", "message", "evidence", "outcome", "fingerprint")
# RE2 patterns that read a finding's document as the engine writes it (formats/sarif.py, formats/xlsx.py): a JSON
# string, and a JSON object of names and plain values (its key, its evidence)
JSON_STRING = r'"(?:[^"\\]|\\.)*"'
JSON_OBJECT = r'\{(?:[^"{}]|' + JSON_STRING + r')*\}'
# a verdict as the JSON report writes it (engines/duckdb/verdicts.py writes it; Verdicts reads it back)
VERDICT_FIELDS = ("company", "plant", "part_num", "verdict", "rules", "backflushed", "not_judged")


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
    outcome: str = "fail"  # or one of NOT_JUDGED (never a pass), or "if_enabled"
    waiver: dict[str, Any] | None = None  # the waiver that accepts it until its expiry (validator/gate.py)
    baseline: str | None = None  # "new" or "persisting", against a baseline (validator/gate.py)

    @classmethod
    def from_json(cls, line: str, component: str) -> Finding:
        """The finding of one engine row: its JSON document and its component (Plant, PartNum) as JSON."""
        d = orjson.loads(line)
        key = tuple(d["key"].items())
        return cls(-SEVERITY_RANK[d["severity"]], d["rule_id"], d["table"], tuple(str(v) for _, v in key), d["severity"],
                   key, d["message"], tuple(d["evidence"].items()), tuple(orjson.loads(component).items()),
                   d["fingerprint"], d["outcome"], d.get("waiver"), d.get("baseline"))


def _arrow_values(kind: pa.DataType, data: bytes) -> pa.Array:
    """An Arrow array of one string (UTF-8 `data`) or of integers (packed in `data`), made from its bytes: any
    conversion of a Python value to Arrow has pyarrow import pandas, ~0.13 s of a run that needs no pandas."""
    if kind == pa.string():
        return pa.Array.from_buffers(kind, 1, [None, pa.py_buffer(struct.pack("=ii", 0, len(data))), pa.py_buffer(data)])
    return pa.Array.from_buffers(kind, len(data) * 8 // kind.bit_width, [None, pa.py_buffer(data)])


def _int64s(values: Sequence[int]) -> pa.Array:
    return _arrow_values(pa.int64(), struct.pack(f"={len(values)}q", *values))


def among_rows(count: int, rows: Sequence[int] | numpy.ndarray | pa.Array) -> pa.Array:
    """Whether each of `count` rows (0, 1, ...) is one of `rows`: an Arrow mask made from numpy's bits (no set of
    the rows is built: a gate marks 16M findings at 50M job lines), without a conversion of Python values
    (_arrow_values)."""
    mask = numpy.zeros(count, bool)
    mask[positions(rows) if isinstance(rows, pa.Array) else numpy.asarray(rows, numpy.int64)] = True
    return pa.Array.from_buffers(pa.bool_(), count, [None, pa.py_buffer(numpy.packbits(mask, bitorder="little"))])


def encoded_values(column: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """A column's values as a dictionary in the order they first appear, a null an entry of its own (Arrow's
    dictionary_encode with null_encoding "encode"), whether the column is plain or a dictionary already (the
    engine's findings hold their short columns as dictionaries shared by the whole run: entries this column may
    not use, in another order)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(array.type):
        return array.dictionary_encode(null_encoding="encode")
    present = pc.unique(array.indices)  # the entries used, in the order they first appear (a null among them)
    return pa.DictionaryArray.from_arrays(pc.index_in(array.indices, value_set=present, skip_nulls=False),
                                          array.dictionary.take(present))


def plain_values(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A column's values as plain ones (a dictionary's decoded), chunked as they are."""
    if not pa.types.is_dictionary(column.type):
        return column
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks], column.type.value_type)
    return column.dictionary_decode()


def text_scalar(value: str) -> pa.Scalar:
    """An Arrow string scalar, made from its bytes (_arrow_values)."""
    return _arrow_values(pa.string(), value.encode())[0]


def whole_text(data: pa.Buffer | bytes) -> pa.Array | None:
    """The bytes (a file's, mapped or read) as one Arrow text, not copied; None when they are not UTF-8."""
    size = data.size if isinstance(data, pa.Buffer) else len(data)
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(struct.pack("=qq", 0, size)), pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return text


def text_array(values: list[str]) -> pa.Array:
    """An Arrow array of strings, made from their bytes (_arrow_values)."""
    data = [v.encode() for v in values]
    ends = list(itertools.accumulate((len(d) for d in data), initial=0))
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(struct.pack(f"={len(ends)}i", *ends)),
                                                          pa.py_buffer(b"".join(data))])


def joined(texts: pa.Array, separator: str) -> pa.Buffer:
    """The texts joined with `separator` by Arrow, as UTF-8 bytes: no Python string per text."""
    rows = pa.ListArray.from_arrays(_arrow_values(pa.int32(), struct.pack("=ii", 0, len(texts))), texts)
    return pc.binary_join(rows, text_scalar(separator))[0].as_buffer()


# JSON's escapes of a string, as the engine's to_json writes them (control characters in upper-case hex)
SHORT_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
CONTROL_ESCAPES = [(chr(code), SHORT_ESCAPES.get(chr(code), f"\\u{code:04X}")) for code in range(0x20)]


def json_strings(values: pa.Array) -> pa.Array:
    """Each string as JSON text (a blank as null), escaped as the engine escapes it."""
    if pa.types.is_dictionary(values.type):  # each entry made once
        return pc.fill_null(pc.take(json_strings(values.dictionary), values.indices), text_scalar("null"))
    escaped = values
    if pc.any(pc.match_substring_regex(values, '["\\\\\\x00-\\x1f]')).as_py():  # rare in keys: escaped only then
        escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        if pc.any(pc.match_substring_regex(values, "[\\x00-\\x1f]")).as_py():  # a pass per control character
            for char, text in CONTROL_ESCAPES:
                escaped = pc.replace_substring(escaped, char, text)
    quote = text_scalar('"')
    return pc.fill_null(pc.binary_join_element_wise(quote, escaped, quote, text_scalar("")), text_scalar("null"))


def json_string_lists(lists: pa.Array) -> pa.Array:
    """Each list of strings as JSON text (a blank list as null)."""
    zero = _arrow_values(pa.int32(), struct.pack("=i", 0))  # a Python 0 would have pyarrow import pandas
    lengths = pc.fill_null(pc.list_value_length(lists).cast(pa.int32()), zero[0])
    if not pc.any(pc.not_equal(lengths, zero[0])).as_py():  # every list empty (most blocks of not_judged)
        return pc.if_else(pc.is_null(lists), text_scalar("null"), text_scalar("[]"))
    offsets = pa.concat_arrays([zero, pc.cumulative_sum(lengths)])
    items = pa.ListArray.from_arrays(offsets, json_strings(pc.list_flatten(lists)))
    listed = pc.binary_join_element_wise(text_scalar("["), pc.binary_join(items, text_scalar(",")), text_scalar("]"),
                                         text_scalar(""))
    return pc.if_else(pc.is_null(lists), text_scalar("null"), listed)


def json_booleans(values: pa.Array) -> pa.Array:
    return pc.fill_null(pc.if_else(values, text_scalar("true"), text_scalar("false")), text_scalar("null"))


class EngineRows(Sequence[T]):
    """Rows the engine made, held as one Arrow table: formats stream their JSON documents a block at a time (the
    findings' as the engine wrote them, held apart: validator/finding_documents.py; the verdicts' made from their
    columns), and Python objects are made only for the rows a reader asks for (at a million findings, one object per
    finding cost more than the rules: docs/performance.md)."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def _make(self, row: dict[str, Any]) -> T:
        raise NotImplementedError

    def _like(self, table: pa.Table) -> Self:
        """Rows of the same kind: some of these, or these with more columns."""
        return type(self)(table)

    def _pylist(self, table: pa.Table) -> list[dict[str, Any]]:
        """Some rows (a slice of the table) as the dicts `_make` reads."""
        return table.to_pylist()

    def __len__(self) -> int:
        return self.table.num_rows

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            rows = self._pylist(self.table.slice(start, max(0, stop - start)))
            return [self._make(row) for row in rows[::step]]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self._make(self._pylist(self.table.slice(index % len(self), 1))[0])

    def __iter__(self) -> Iterator[T]:
        for start in range(0, len(self), 10_000):
            for row in self._pylist(self.table.slice(start, 10_000)):
                yield self._make(row)

    # whether `lines` reads the table's columns alone, so that blocks may be made on several threads at once
    # (the findings read their documents, held apart, maybe from a file: one block at a time)
    LINES_FROM_COLUMNS = False

    def json_blocks(self, separator: str) -> Iterator[pa.Buffer]:
        """The rows' JSON documents, joined with `separator` a block of rows at a time by Arrow: UTF-8 bytes, no
        Python string per row nor per block. Made from columns, the next blocks are made on WRITERS threads while
        one is written, never more than WRITERS ahead (at 1M verdicts: docs/performance.md)."""
        def block(start: int) -> pa.Buffer:
            return joined(self.lines(self.table.slice(start, BLOCK)), separator)

        starts = range(0, len(self), BLOCK)
        if not self.LINES_FROM_COLUMNS or len(starts) < 2:
            yield from map(block, starts)
            return
        with ThreadPoolExecutor(WRITERS, thread_name_prefix="json-blocks") as pool:
            ahead: deque = deque()
            for start in starts:
                ahead.append(pool.submit(block, start))
                if len(ahead) > WRITERS:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()

    def block(self, start: int, size: int) -> Self:
        """The rows from `start`, at most `size` of them."""
        return self._like(self.table.slice(start, size))

    def lines(self, rows: pa.Table) -> pa.Array:
        """The JSON documents of some rows (a slice or filter of the table), as one array."""
        raise NotImplementedError

    def where(self, mask: pa.Array | pa.ChunkedArray) -> Self:
        """The rows `mask` keeps, in their order: Arrow's filter, no Python object per row."""
        return self._like(self.table.filter(mask))

    def split(self, column: str, key: Callable[[Any], Any] | None = None) -> dict[Any, Self]:
        """The rows per group, by Arrow's filters (no Python object per row), the groups in the order they first
        appear: a group is a value of `column`, or what `key` makes of it (called once per distinct value)."""
        if not len(self):
            return {}
        encoded = encoded_values(self.table.column(column))
        groups = [key(v) if key else v for v in encoded.dictionary.to_pylist()]  # the values in order of appearance
        first = {group: index for index, group in reversed(list(enumerate(groups)))}
        numbered = {group: number for number, group in enumerate(dict.fromkeys(groups))}
        # each distinct value's group as a number, made from bytes (a Python list would have pyarrow import pandas)
        codes = _arrow_values(pa.int32(), struct.pack(f"={len(groups)}i", *(numbered[g] for g in groups)))
        per_row = pc.take(codes, encoded.indices)
        return {group: self._like(self.table.filter(pc.equal(per_row, codes[first[group]]))) for group in numbered}

    def first_per(self, column: str, n: int) -> dict[Any, list[T]]:
        """Up to the first `n` rows of each value of `column`, the values in the order they first appear: Python
        objects for those rows alone."""
        return {value: rows[:n] for value, rows in self.split(column).items()}

    def count_by(self, *columns: str) -> dict[Any, int]:
        """The rows per distinct value of the columns (a tuple of values for more than one column), in the order of
        their codes (_codes): of one column, the order the values first appear in."""
        if not len(self):
            return {}
        dictionaries, codes = self._codes(columns)
        counted = codes.value_counts()
        out: dict[Any, int] = {}
        for code, n in sorted(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True)):
            values = _decoded(code, dictionaries)
            out[values[0] if len(columns) == 1 else values] = n
        return out

    def filtered(self, columns: Sequence[str], keep: Callable[..., bool]) -> Self:
        """The rows whose values of `columns` `keep` accepts (called with them, once per distinct combination, not
        per row), in their order."""
        if not len(self):
            return self
        dictionaries, codes = self._codes(columns)
        kept = [code for code in pc.unique(codes).to_pylist() if keep(*_decoded(code, dictionaries))]
        return self.where(pc.is_in(codes, value_set=_int64s(kept)))

    def _codes(self, columns: Sequence[str]) -> tuple[list[list[Any]], pa.Array]:
        """Each row's combination of the columns' values as one integer made of their dictionary codes, and the
        dictionaries that decode it (_decoded). Arrow's group_by runs on Acero, whose import (with pyarrow.dataset)
        costs a run ~0.05 s, and any conversion between Arrow and Python or numpy values has pyarrow import pandas
        (~0.13 s): one integer per row instead, and only the dictionaries become Python."""
        dictionaries: list[list[Any]] = []
        codes = None
        for column in columns:
            encoded = encoded_values(self.table.column(column))
            dictionaries.append(encoded.dictionary.to_pylist())
            index = encoded.indices.cast(pa.int64())
            codes = index if codes is None else pc.add(pc.multiply(codes, pc.count(encoded.dictionary, mode="all")), index)
        assert codes is not None
        return dictionaries, codes


def _decoded(code: int, dictionaries: list[list[Any]]) -> tuple[Any, ...]:
    """The values a code of EngineRows._codes stands for."""
    values = []
    for dictionary in reversed(dictionaries):
        code, index = divmod(code, len(dictionary))
        values.append(dictionary[index])
    return tuple(reversed(values))


class Findings(EngineRows[Finding]):
    """The findings of a run, one per rule and key, sorted as Finding sorts (severity, rule, table, key).
    `site_plant` is set on a finding about a site itself (its attestations), `component` is the part it
    names as JSON. Each finding's JSON document, as the engine wrote it, is among `documents` at the position its
    column DOCUMENT gives; a table with the documents in its column `line` holds them in memory."""

    def __init__(self, table: pa.Table, documents: Documents | None = None) -> None:
        if documents is None:
            documents = Documents.in_memory(table.column("line"))
            table = table.drop_columns(["line"]).append_column(DOCUMENT, in_order(table.num_rows))
        super().__init__(table)
        self.documents = documents

    def _like(self, table: pa.Table) -> Findings:
        return Findings(table, self.documents)

    def _pylist(self, table: pa.Table) -> list[dict[str, Any]]:
        rows = table.to_pylist()
        for row, line in zip(rows, self.lines(table).to_pylist(), strict=True):
            row["line"] = line
        return rows

    def lines(self, rows: pa.Table) -> pa.Array:
        return self.documents.take(rows.column(DOCUMENT))

    def _make(self, row: dict[str, Any]) -> Finding:
        return Finding.from_json(row["line"], row["component"])

    def selected(self, *, what_if: bool = False, not_judged: bool = True, waived: bool = True) -> Findings:
        """The findings on the configuration as it is (`what_if`: the what-if ones instead), without those the data
        could not judge unless `not_judged`, without the waived ones unless `waived`: an Arrow filter."""
        outcome = self.table.column("outcome")  # scalars made from bytes: a Python value would import pandas
        mask = (pc.equal if what_if else pc.not_equal)(outcome, text_scalar(IF_ENABLED_OUTCOME))
        if not not_judged:
            for judged_nothing in NOT_JUDGED:
                mask = pc.and_(mask, pc.not_equal(outcome, text_scalar(judged_nothing)))
        if not waived and "waived" in self.table.column_names:
            mask = pc.and_(mask, pc.invert(self.table.column("waived")))  # never null (gate.triage)
        return self.where(mask)

    def counts(self) -> dict[str, int]:
        """Findings per severity on the configuration as it is: the what-if findings (outcome if_enabled) are
        counted apart (if_enabled_counts) and never judge the gate."""
        return self._per_severity(what_if=False)

    def if_enabled_counts(self) -> dict[str, int]:
        """The what-if findings per severity: what switching the components' site defaults on would add."""
        return self._per_severity(what_if=True)

    def _per_severity(self, what_if: bool, gate: bool = False) -> dict[str, int]:
        """Per severity: the findings on the configuration as it is (or the what-if ones), waived ones left out;
        `gate`: only the new ones, when a baseline says which (validator/gate.py)."""
        counts = {"error": 0, "warning": 0, "info": 0}
        columns = ["severity", "outcome", *(c for c in ("waived", "baseline") if c in self.table.column_names)]
        for values, n in self.count_by(*columns).items():
            row = dict(zip(columns, values, strict=True))
            if (row["outcome"] == IF_ENABLED_OUTCOME) != what_if or row.get("waived"):
                continue
            if gate and row.get("baseline") == "persisting":
                continue
            counts[row["severity"]] += n
        return counts

    def gate_counts(self) -> dict[str, int]:
        """The findings a gate fails on, per severity: not what-if, not waived, and new when there is a baseline."""
        return self._per_severity(what_if=False, gate=True)

    def waived(self) -> int:
        return sum(n for w, n in self.count_by("waived").items() if w) if "waived" in self.table.column_names else 0

    def per_rule(self) -> dict[str, dict[str, int]]:
        """rule id -> outcome (fail, insufficient_history, not_measurable, if_enabled) -> findings."""
        out: dict[str, dict[str, int]] = {}
        for (rule_id, outcome), n in self.count_by("rule_id", "outcome").items():
            out.setdefault(rule_id, {})[outcome] = n
        return out

    def first_findings(self, parts: pa.Table) -> FirstFindings:
        """The first finding of each rule about each of `parts` (its company, site and part: Company, Plant and
        PartNum, as the verdicts have them), found by Arrow once: a part's findings are those whose component is the
        part as SQL Server compares it (component_key), and those that name its site and part without a company.
        Their messages are read a block of parts at a time (FirstFindings.messages). No Python object is held per
        part or per finding: at 50M job lines, with 5M parts, Python keys were 3.6 GiB (docs/performance.md)."""
        column = self.table.column("component").combine_chunks()
        encoded = column if pa.types.is_dictionary(column.type) else column.dictionary_encode()
        components, codes = encoded.dictionary, encoded.indices
        # each distinct component's key as text; its number is the first component with the same key
        keys = _key_texts(None if text is None else component_key(orjson.loads(text))
                          for text in _texts(components))
        same = positions(pc.index_in(keys, value_set=keys))
        own = pc.index_in(_key_texts(_part_keys(parts, blank_company=False)), value_set=keys)
        anywhere = pc.index_in(_key_texts(_part_keys(parts, blank_company=True)), value_set=keys)
        asked = numpy.zeros(len(keys), bool)
        for found in (own, anywhere):
            asked[positions(pc.drop_null(found))] = True
        # per finding, int32 codes (half of int64's memory at 16M findings): its part's number, -1 for no part or
        # one not asked about, and its rule
        component = positions(pc.fill_null(codes.cast(pa.int32()), _arrow_values(pa.int32(), struct.pack("=i", -1))[0]))
        part = numpy.where(component >= 0, same[numpy.maximum(component, 0)], -1)
        part = numpy.where((part >= 0) & asked[numpy.maximum(part, 0)], part, -1)
        del component, same, asked
        rules = self.table.column("rule_id").combine_chunks().dictionary_encode()
        rule = positions(rules.indices.cast(pa.int32()))
        about_part = part >= 0
        # each rule's first finding about each part: numpy's unique gives the first of equal values; one rule at a
        # time, so no sort of every finding is held at once
        firsts = [numpy.zeros(0, numpy.int64)]
        for code in range(len(rules.dictionary)):
            rows = numpy.flatnonzero(about_part & (rule == code))
            firsts.append(rows[numpy.unique(part[rows], return_index=True)[1]])
        # the first findings, by part and then in the findings' order (the order a part's rules are listed in)
        first = numpy.sort(numpy.concatenate(firsts))
        del firsts, about_part
        of_part = part[first]
        by_part = numpy.argsort(of_part, kind="stable")
        first, of_part = first[by_part], of_part[by_part]
        documents = positions(pc.take(self.table.column(DOCUMENT), int64s(first)))
        offsets = numpy.searchsorted(of_part, numpy.arange(len(keys) + 1))
        return FirstFindings(own, anywhere, rules.dictionary.to_pylist(), offsets, rule[first], documents, self.documents)

    def site_findings(self) -> dict[tuple[str, str], int]:
        """(Company or '', Plant) -> how many findings are about the site itself (its attestations; a blank
        company: the attestations name no company)."""
        rows = self.table.filter(pc.is_valid(self.table["site_plant"]))
        counted = self._like(rows).count_by("site_company", "site_plant")
        return {(company or "", plant): n for (company, plant), n in counted.items()}


def rule_status(failed: int, insufficient: int = 0) -> str:  # insufficient: the findings of NOT_JUDGED outcomes
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
    if_enabled: int = 0  # findings only as if the components' site defaults were switched on (never a failure)
    not_measurable: int = 0  # rows the data cannot measure (never a pass)

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "title": self.title, "status": self.status,
                "checked": self.checked, "failed": self.failed, "insufficient_history": self.insufficient,
                "not_measurable": self.not_measurable, "if_enabled": self.if_enabled, "reason": self.reason or None}


@dataclass(frozen=True)
class VerdictBasis:
    """What the verdicts of a run rest on, in engine-neutral terms: which rules' errors make a part not
    eligible (the eligibility rules) and which measure readiness; whether every readiness rule in force ran in
    full (`assessed`); the readiness window (an in-window job makes a part a component at its site)."""

    eligibility: frozenset[str]
    readiness: frozenset[str]
    assessed: bool
    window_start: Any
    snapshot_date: Any


class Verdict(NamedTuple):
    """The verdict of a component at a site of a company. `rules`: the rules whose error or warning findings
    (as it is, or if enabled) decide it; `not_judged`: the readiness rules that could not judge it (too little
    history, or not measurable); `backflushed`: its site default (PartPlant.BackFlush) is on."""

    company: str | None
    plant: str | None
    part: str
    verdict: str
    rules: tuple[str, ...]
    backflushed: bool = False
    not_judged: tuple[str, ...] = ()


class FirstFindings:
    """The first finding of each rule about each part asked about (Findings.first_findings): per part, its rules and
    their documents, in the order their first findings come."""

    def __init__(self, own: pa.Array, anywhere: pa.Array, names: list[str], offsets: numpy.ndarray,
                 rules: numpy.ndarray, documents: numpy.ndarray, read: Documents) -> None:
        """`own`, `anywhere`: each part's component number, as it is and without its company (null: none found);
        component n's first findings are rows offsets[n]:offsets[n + 1] of `rules` (codes into `names`) and
        `documents` (their positions among `read`)."""
        self._own, self._anywhere, self._names, self._offsets = own, anywhere, names, offsets
        self._rules, self._documents, self._read = rules, documents, read

    def messages(self, start: int, stop: int) -> list[dict[str, str]]:
        """For the parts start to stop (one block of them), rule id -> the message of the rule's first finding about
        the part: a finding without a company first, the part's own after it (its message wins); only the documents
        of these parts are read."""
        spans = [[(int(self._offsets[n]), int(self._offsets[n + 1])) for n in numbers if n is not None]
                 for numbers in zip(self._anywhere.slice(start, stop - start).to_pylist(),
                                    self._own.slice(start, stop - start).to_pylist(), strict=True)]
        wanted = numpy.unique(numpy.concatenate([self._documents[a:b] for part in spans for a, b in part]
                                                or [numpy.zeros(0, numpy.int64)]))
        lines = self._read.take(int64s(wanted)).to_pylist() if len(wanted) else []
        message = dict(zip(wanted.tolist(), (orjson.loads(line)["message"] for line in lines), strict=True))
        out = []
        for part in spans:
            found: dict[str, str] = {}
            for a, b in part:
                found.update(zip((self._names[r] for r in self._rules[a:b].tolist()),
                                 (message[d] for d in self._documents[a:b].tolist()), strict=True))
            out.append(found)
        return out


def _texts(values: pa.Array) -> Iterator[str | None]:
    """An Arrow array's values as Python's, a block at a time."""
    for start in range(0, len(values), BLOCK):
        yield from values.slice(start, BLOCK).to_pylist()


def _key_texts(keys: Iterable[tuple[str, str, str] | None]) -> pa.Array:
    """(COMPANY, PLANT, PART) keys as one text each (None: a text no part's key is), made a block at a time."""
    blocks, block = [], []
    for key in keys:
        block.append("\x00" if key is None else "\x1f".join(key))
        if len(block) == BLOCK:
            blocks.append(text_array(block))
            block = []
    blocks.append(text_array(block))
    return pa.concat_arrays(blocks)


def _part_keys(parts: pa.Table, blank_company: bool) -> Iterator[tuple[str, str, str] | None]:
    """The parts' keys as component_key makes a finding's (as SQL Server compares them); `blank_company`: with the
    company left blank, as a finding from an export without Company names the part."""
    for start in range(0, parts.num_rows, BLOCK):
        block = parts.slice(start, BLOCK)
        for company, plant, part in zip(*(block.column(c).to_pylist() for c in ("company", "plant", "part_num")),
                                        strict=True):
            yield component_key({"Company": None if blank_company else company, "Plant": plant, "PartNum": part})


def component_key(component: dict[str, Any]) -> tuple[str, str, str] | None:
    """(COMPANY, PLANT, PART) of the part a finding is about (its component), as SQL Server compares them (a blank
    company as ''); None for a site finding."""
    if component.get("PartNum") is None:
        return None
    return tuple(("" if component.get(role) is None else str(component[role]).rstrip().upper())  # type: ignore[return-value]
                 for role in ("Company", "Plant", "PartNum"))


class Verdicts(EngineRows[Verdict]):
    """One verdict per component at a site of a company, sorted by company, site and part as SQL Server compares
    them (README "Verdicts"). Their JSON documents are written from the columns a block at a time, not held
    beside them: at 5M judged parts the documents would be 600 MiB more at the run's peak (docs/performance.md)."""

    LINES_FROM_COLUMNS = True

    def _make(self, row: dict[str, Any]) -> Verdict:
        return Verdict(row["company"], row["plant"], row["part_num"], row["verdict"], tuple(row["rules"]),
                       row["backflushed"], tuple(row["not_judged"] or ()))

    def among(self, *verdicts: str) -> Verdicts:
        """The verdicts that are one of `verdicts`, in their order: Arrow's filter."""
        column, mask = self.table.column("verdict"), None
        for verdict in verdicts:
            equal = pc.equal(column, text_scalar(verdict))
            mask = equal if mask is None else pc.or_(mask, equal)
        return self.where(mask) if mask is not None else Verdicts(self.table.slice(0, 0))

    def lines(self, rows: pa.Table) -> pa.Array:
        values = {"rules": json_string_lists, "not_judged": json_string_lists, "backflushed": json_booleans}
        pieces: list[Any] = []
        for index, name in enumerate(VERDICT_FIELDS):
            column = rows.column(name).combine_chunks()
            pieces += [text_scalar(("{" if index == 0 else ",") + orjson.dumps(name).decode() + ":"),
                       values.get(name, json_strings)(column)]
        return pc.binary_join_element_wise(*pieces, text_scalar("}"), text_scalar(""))


def _shares(counts: dict[str, int], assessed: bool) -> dict[str, Any]:
    """Counts per verdict with the readiness share: ready parts among the assessed ones (every verdict but
    unknown); None when readiness was not assessed in this run or no part was."""
    known = sum(counts[v] for v in VERDICTS if v != UNKNOWN)
    share = round(counts[READY] / known, 4) if assessed and known else None
    return {**counts, "parts": known + counts[UNKNOWN], "assessed": known, "readiness": share}


def site_scores(items: Verdicts, findings: Findings, assessed: bool) -> list[dict[str, Any]]:
    """Per company and site: the count of its judged parts in each verdict and the readiness share over the
    assessed ones (`assessed`: every readiness rule ran; else the share is None, "readiness not assessed"), the
    same over its backflushed parts alone (`backflushed`), and the findings on the site itself (attestations)."""
    empty = dict.fromkeys(VERDICTS, 0)
    every: dict[tuple[str, str], dict[str, int]] = {}
    flushed: dict[tuple[str, str], dict[str, int]] = {}
    for (company, plant, verdict, backflushed), n in items.count_by("company", "plant", "verdict", "backflushed").items():
        site = (company or "", plant or "")
        every.setdefault(site, dict(empty))[verdict] += n
        counts = flushed.setdefault(site, dict(empty))
        if backflushed:
            counts[verdict] += n
    on_site = findings.site_findings()
    judged_plants = {plant for _, plant in every}
    # attestations that name no company count for the site of every company (a site without verdicts stands alone)
    sites = set(every) | {(company, plant) for company, plant in on_site if company or plant not in judged_plants}
    return [{"company": company or None, "plant": plant, **_shares(every.get((company, plant), dict(empty)), assessed),
             "backflushed": _shares(flushed.get((company, plant), dict(empty)), assessed),
             "site_findings": on_site.get((company, plant), 0) + (on_site.get(("", plant), 0) if company else 0)}
            for company, plant in sorted(sites)]
