"""The Excel worklist for the data stewards who fix the records: a summary sheet, a verdict sheet (one row per part
judged at a site), and a sheet per failing rule with a row per thing to fix (its key, the part's description, the
values that failed, the message and the remediation). Headers frozen, autofilter on, widths set. Every text is
written as text: a value starting with =, +, -, @ is never a formula. Rows are streamed (xlsxwriter's
constant_memory): a large report costs a row at a time, and a sheet with more rows than Excel holds continues
on the next. The verdicts' rows are made by Arrow from their columns, a block at a time, and put into the
package xlsxwriter wrote (sheet_rows.py): byte for byte what xlsxwriter writes a cell at a time, at a fraction
of its cost."""

from __future__ import annotations

import re
import tempfile
from typing import IO, Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from validator.findings import JSON_OBJECT, JSON_STRING, VERDICTS, Findings, plain_values, text_array, text_scalar
from validator.formats.sheet_rows import BLOCK, SheetRows, inject
from validator.report import Report

BINARY = True
DESCRIBES_PARTS = True  # a verdict's and a finding's row show the part's description
MAX_ROWS = 1_048_575  # data rows a sheet holds below its header
WIDTH_SAMPLE = 200  # rows a column's width is measured on
MAX_WIDTH = 70


class _Sheet:
    """One sheet being written row by row: the header frozen and filtered, widths from the first rows."""

    def __init__(self, book: Any, name: str, header: list[str], formats: dict[str, Any]) -> None:
        self.sheet = book.add_worksheet(name[:31])
        self.header, self.formats, self.rows = header, formats, 0
        self.pending: list[list[Any]] = []

    def add(self, row: list[Any]) -> None:
        if self.pending is not None and len(self.pending) < WIDTH_SAMPLE:
            self.pending.append(row)
            return
        self._flush()
        self._write(row)

    def _flush(self) -> None:
        if self.pending is None:
            return
        self._frame(self.pending)
        rows, self.pending = self.pending, None
        for row in rows:
            self._write(row)

    def _frame(self, sample: list[list[Any]]) -> None:
        """Widths from the sample rows, the header written, frozen."""
        for i, title in enumerate(self.header):
            longest = max([len(title), *(len(_text(r[i])) for r in sample if i < len(r))])
            self.sheet.set_column(i, i, min(MAX_WIDTH, longest + 2))
        for col, title in enumerate(self.header):
            self.sheet.write_string(0, col, title, self.formats["header"])
        self.sheet.freeze_panes(1, 0)

    def framed(self, sample: list[list[Any]]) -> None:
        """The sheet's header alone, widths from `sample`: its rows are added to the package (sheet_rows)."""
        self._frame(sample)
        self.pending = None

    def _write(self, row: list[Any]) -> None:
        self.rows += 1
        for col, value in enumerate(row):
            if isinstance(value, bool) or value is None:
                self.sheet.write_string(self.rows, col, "" if value is None else ("True" if value else "False"))
            elif isinstance(value, (int, float)):
                self.sheet.write_number(self.rows, col, value)
            else:  # text stays text, whatever it starts with (never write(), which would make =... a formula)
                self.sheet.write_string(self.rows, col, str(value))

    def close(self) -> None:
        self._flush()
        self.sheet.autofilter(0, 0, max(self.rows, 1), len(self.header) - 1)



class _Column(NamedTuple):
    """A column of a block of rows: each cell's text as written; where a cell is a number (None: nowhere); and, where
    it differs, the text its width is measured on (a number as Python writes it, as _Sheet measures it)."""

    text: pa.Array
    numbers: pa.Array | None = None
    shown: pa.Array | None = None


class _Bulk:
    """Sheets of one header whose rows Arrow makes a block at a time (sheet_rows.SheetRows), each framed by
    xlsxwriter (header, widths from its first rows, frozen, filtered); past MAX_ROWS rows the next sheet goes on
    (`Verdicts (2)`), so no row is lost to a sheet's limit. `added`: sheet name -> its rows, for inject."""

    def __init__(self, book: Any, name: str, header: list[str], formats: dict[str, Any],
                 added: dict[str, SheetRows]) -> None:
        self.book, self.name, self.header, self.formats, self.added = book, name, header, formats, added
        self.sheet: _Sheet | None = None
        self.rows: SheetRows | None = None
        self.part = 0

    def room(self) -> int:
        """The rows the next block may hold: at most a block, and no more than the sheet it goes to holds."""
        filled = self.rows.count if self.rows is not None and self.rows.count < MAX_ROWS else 0
        return min(BLOCK, MAX_ROWS - filled)

    def add(self, columns: list[_Column]) -> None:
        """A block of at most room() rows; the first of a sheet frames it, its widths measured on its first rows."""
        if self.rows is None or self.rows.count >= MAX_ROWS:
            self._close_sheet()
            self.part += 1
            name = self.name if self.part == 1 else f"{self.name} ({self.part})"
            self.sheet = _Sheet(self.book, name, self.header, self.formats)
            shown = (c.text if c.shown is None else c.shown for c in columns)
            self.sheet.framed([list(r) for r in zip(*(s.slice(0, WIDTH_SAMPLE).to_pylist() for s in shown), strict=True)])
            self.rows = self.added[self.sheet.sheet.name] = SheetRows(len(self.header))
        self.rows.add([c.text for c in columns], [c.numbers for c in columns])

    def _close_sheet(self) -> None:
        if self.sheet is not None and self.rows is not None:
            self.sheet.rows = self.rows.count
            self.sheet.close()

    def close(self) -> None:
        if self.sheet is None:  # no rows: the header alone
            self.sheet = _Sheet(self.book, self.name, self.header, self.formats)
            self.sheet.framed([])
            self.sheet.close()
            return
        self._close_sheet()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _summary(book: Any, report: Report, formats: dict[str, Any]) -> None:
    summary = report.summary()
    sheet = _Sheet(book, "Summary", ["What", "Value", "", "", "", "", ""], formats)
    by = summary["by_severity"]
    for what, value in (("Site", report.site), ("Snapshot date", str(report.profile.get("snapshot_date", ""))),
                        ("Profile", str(report.profile.get("name", ""))), ("Jobs judged", report.jobs),
                        ("Findings", summary["findings"]), ("Errors", by["error"]), ("Warnings", by["warning"]),
                        ("Info", by["info"]), ("Readiness assessed", "yes" if summary["readiness_assessed"] else
                                               "no: " + "; ".join(summary["readiness_missing"]))):
        sheet.add([what, value])
    sheet.add([])
    sheet.add(["Company", "Site", *VERDICTS])
    for site in summary["sites"]:
        sheet.add([site["company"] or "", site["plant"], *(site[v] for v in VERDICTS)])
    sheet.add([])
    sheet.add(["Rule", "Severity", "Status", "Findings", "Title", "Remediation"])
    for result in report.results:
        rule = report.rules.get(result.rule_id)
        sheet.add([result.rule_id, result.severity, result.status, result.failed, result.title,
                   " ".join(rule.remediation.split()) if rule else ""])
    sheet.close()


VERDICT_HEADER = ["Company", "Site", "Part", "Description", "Verdict", "Backflushed now", "Rules", "Not judged"]


def _verdict_columns(rows: pa.Table, described: pa.Array) -> list[pa.Array]:
    """The verdict sheet's columns as text: blank for none, the parts' descriptions (`described`), the lists joined
    by spaces."""
    def text(name: str) -> pa.Array:
        return pc.fill_null(rows.column(name).combine_chunks(), "")

    def joined(name: str) -> pa.Array:
        return pc.fill_null(pc.binary_join(rows.column(name).combine_chunks(), " "), "")

    company, part = text("company"), text("part_num")
    flags = rows.column("backflushed").combine_chunks()
    backflushed = pc.fill_null(pc.if_else(flags, "True", "False"), "")
    return [company, text("plant"), part, described, text("verdict"), backflushed, joined("rules"), joined("not_judged")]


def _verdicts(book: Any, report: Report, formats: dict[str, Any], added: dict[str, SheetRows]) -> None:
    """The verdict sheet: its rows made from the verdicts' columns by Arrow, a block at a time (sheet_rows); the
    parts' descriptions looked up once for them all."""
    sheets = _Bulk(book, "Verdicts", VERDICT_HEADER, formats, added)
    table, start = report.verdicts.table, 0
    described = report.described(table.column("company").combine_chunks(), table.column("part_num").combine_chunks())
    while start < table.num_rows:
        rows = table.slice(start, sheets.room())
        sheets.add([_Column(c) for c in _verdict_columns(rows, described.slice(start, rows.num_rows))])
        start += rows.num_rows
    sheets.close()


def _objects(findings: Findings, field: str) -> pa.Array:
    """The `field` object (key, evidence) of each finding's document, as JSON: read by RE2 from the engine's JSON."""
    lines = findings.lines(findings.table)
    return pc.struct_field(pc.extract_regex(lines, f'"{field}":\\s*(?P<object>{JSON_OBJECT})'), "object")


def _names(objects: pa.Array) -> list[str]:
    """The names in the JSON objects, in the order they first appear: each distinct list of names parsed once."""
    shapes = pc.replace_substring_regex(objects, f':\\s*(?:{JSON_STRING}|[^,}}"]*)', "")  # {"Company","JobNum",...}
    names: dict[str, None] = {}
    for shape in shapes.dictionary_encode().dictionary.to_pylist():  # in the order they first appear
        names |= dict.fromkeys(orjson.loads(f"[{shape[1:-1]}]") if shape else [])
    return list(names)


def _token_cell(token: str) -> tuple[str, bool, str]:
    """A JSON value as a cell, as xlsxwriter writes a value: a number by `:.16G`, a boolean as True/False, a blank as
    an empty string, anything else as its text; whether it is a number; and its text as Python writes it."""
    value = orjson.loads(token)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return (f"{value:.16G}" if number else _text(value)), number, _text(value)


def _token_cells(tokens: pa.Array) -> _Column:
    """JSON values (null where absent) as cells (_token_cell): a string without escapes by Arrow, any other value read
    once per distinct value."""
    plain = pc.fill_null(pc.match_substring_regex(tokens, r'^"[^"\\]*"$'), False)
    text = pc.if_else(plain, pc.utf8_slice_codeunits(tokens, 1, -1), text_scalar(""))
    others = pc.and_(pc.invert(plain), pc.is_valid(tokens))
    if not pc.any(others).as_py():
        return _Column(text)
    encoded = pc.filter(tokens, others).dictionary_encode()
    made = [_token_cell(token) for token in encoded.dictionary.to_pylist()]
    written = pc.replace_with_mask(text, others, pc.take(text_array([t for t, _, _ in made]), encoded.indices))
    numbers = pa.array([n for _, n, _ in made], pa.bool_())
    if not pc.any(numbers).as_py():
        return _Column(written)
    nowhere = pc.and_(others, pc.invert(others))  # False in every row
    return _Column(written, pc.replace_with_mask(nowhere, others, pc.take(numbers, encoded.indices)),
                   pc.replace_with_mask(text, others, pc.take(text_array([s for _, _, s in made]), encoded.indices)))


def _field(texts: pa.Array, name: str) -> pa.Array:
    """The JSON value named `name` in each JSON object (null where it has none)."""
    return pc.struct_field(pc.extract_regex(texts, f'"{re.escape(name)}":\\s*(?P<value>{JSON_STRING}|[^,}}]*)'),
                           "value")


def _parts(findings: Findings, report: Report) -> tuple[pa.Array, pa.Array]:
    """The part each finding is about (its component's, '' for none) and its description ('' without a part): each
    distinct component read once, their descriptions looked up at once."""
    components = plain_values(findings.table.column("component").combine_chunks()).dictionary_encode()
    part = _token_cells(_field(components.dictionary, "PartNum")).text
    company = _token_cells(_field(components.dictionary, "Company")).text
    described = pc.if_else(pc.equal(part, text_scalar("")), text_scalar(""), report.described(company, part))
    return pc.take(part, components.indices), pc.take(described, components.indices)


def _rule_columns(findings: Findings, key: pa.Array, found: pa.Array, keys: list[str], evidence: list[str],
                  part: pa.Array, described: pa.Array, remediation: str) -> list[_Column]:
    """A rule sheet's columns for some of its findings, from the engine's JSON documents and their key and evidence
    objects (`key`, `found`): the table, the key (a value the key lacks from the evidence), the part and its
    description (`part`, `described`: _parts), the evidence, outcome, message, remediation."""
    table = findings.table
    lines = findings.lines(table)
    message = pc.struct_field(pc.extract_regex(lines, f'"message":\\s*(?P<text>{JSON_STRING})'), "text")

    def key_value(name: str) -> pa.Array:  # the evidence is read only where the key lacks the name
        value = _field(key, name)
        return pc.coalesce(value, _field(found, name)) if pc.any(pc.is_null(value)).as_py() else value

    return [_token_cells(_field(lines, "table")), *(_token_cells(key_value(c)) for c in keys),
            _Column(part), _Column(described),
            *(_token_cells(_field(found, c)) for c in evidence), _Column(plain_values(table.column("outcome").combine_chunks())),
            _Column(_token_cells(message).text), _Column(pa.repeat(text_scalar(remediation), len(findings)))]


def _rule_sheets(book: Any, report: Report, formats: dict[str, Any], added: dict[str, SheetRows]) -> None:
    """A sheet per rule with findings to fix, a row per finding, made by Arrow a block at a time from the engine's
    JSON documents; a column for every key and evidence value any of its findings has."""
    to_fix = report.findings.selected(waived=False)  # on the configuration as it is, not waived
    for rule_id, findings in to_fix.split("rule_id").items():
        rule = report.rules.get(rule_id)
        key, found = _objects(findings, "key"), _objects(findings, "evidence")  # read once, for columns and cells
        part, described = _parts(findings, report)
        keys = _names(key)
        evidence = [name for name in _names(found) if name not in keys]
        header = ["Table", *keys, "Part", "Description", *evidence, "Outcome", "Message", "Remediation"]
        remediation = " ".join(rule.remediation.split()) if rule else ""
        sheets, start = _Bulk(book, rule_id, header, formats, added), 0
        while start < len(findings):
            size = sheets.room()
            sheets.add(_rule_columns(findings.block(start, size), key.slice(start, size), found.slice(start, size),
                                     keys, evidence, part.slice(start, size), described.slice(start, size), remediation))
            start += size
        sheets.close()


def write(report: Report, out: IO[bytes], *, color: bool = False) -> None:
    import xlsxwriter

    with tempfile.TemporaryFile() as package:
        book = xlsxwriter.Workbook(package, {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False, "in_memory": False})
        formats = {"header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1})}
        added: dict[str, SheetRows] = {}
        _summary(book, report, formats)
        _verdicts(book, report, formats, added)
        _rule_sheets(book, report, formats, added)
        book.close()
        package.seek(0)
        inject(package, out, added)
