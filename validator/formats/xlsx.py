"""The Excel worklist for the data stewards who fix the records: a summary sheet, a verdict sheet (one row per part
judged at a site), and a sheet per failing rule with a row per thing to fix (its key, the part's description, the
values that failed, the message and the remediation). Headers frozen, autofilter on, widths set. Every text is
written as text: a value starting with =, +, -, @ is never a formula. Rows are streamed (xlsxwriter's
constant_memory): a large report costs a row at a time, and a sheet with more rows than Excel holds continues
on the next. The verdicts' rows are made by Arrow from their columns, a block at a time, and put into the
package xlsxwriter wrote (sheet_rows.py): byte for byte what xlsxwriter writes a cell at a time, at a fraction
of its cost."""

from __future__ import annotations

import tempfile
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from validator.findings import VERDICTS, Findings, text_array
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



def _cells(rows: list[list[Any]], width: int) -> tuple[list[pa.Array], list[pa.Array | None]]:
    """Rows of Python values as columns of text, and where each is a number: a number as xlsxwriter writes one
    (`:.16G`), a boolean as True/False, a blank as an empty string, anything else as its text."""
    texts: list[list[str]] = [[] for _ in range(width)]
    numbers: list[list[bool]] = [[] for _ in range(width)]
    for row in rows:
        for i in range(width):
            value = row[i] if i < len(row) else None
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            texts[i].append(f"{value:.16G}" if number else _text(value))
            numbers[i].append(number)
    return ([text_array(t) for t in texts],
            [pa.array(n, pa.bool_()) if any(n) else None for n in numbers])


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

    def add(self, columns: list[pa.Array], numbers: list[pa.Array | None] | None = None,
            sample: list[list[Any]] | None = None) -> None:
        """A block of at most room() rows; the first of a sheet frames it, its widths from `sample` (the block's
        first rows as values; by default their text)."""
        if self.rows is None or self.rows.count >= MAX_ROWS:
            self._close_sheet()
            self.part += 1
            name = self.name if self.part == 1 else f"{self.name} ({self.part})"
            self.sheet = _Sheet(self.book, name, self.header, self.formats)
            if sample is None:
                sample = [list(r) for r in zip(*(c.slice(0, WIDTH_SAMPLE).to_pylist() for c in columns), strict=True)]
            self.sheet.framed(sample[:WIDTH_SAMPLE])
            self.rows = self.added[self.sheet.sheet.name] = SheetRows(len(self.header))
        self.rows.add(columns, numbers)

    def add_rows(self, rows: list[list[Any]]) -> None:
        self.add(*_cells(rows, len(self.header)), sample=rows)

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


def _verdict_columns(rows: pa.Table, describe: Any) -> list[pa.Array]:
    """The verdict sheet's columns as text: blank for none, a part's description, the lists joined by spaces."""
    def text(name: str) -> pa.Array:
        return pc.fill_null(rows.column(name).combine_chunks(), "")

    def joined(name: str) -> pa.Array:
        return pc.fill_null(pc.binary_join(rows.column(name).combine_chunks(), " "), "")

    company, part = text("company"), text("part_num")
    described = text_array([describe(c, p) for c, p in zip(company.to_pylist(), part.to_pylist(), strict=True)])
    flags = rows.column("backflushed").combine_chunks()
    backflushed = pc.fill_null(pc.if_else(flags, "True", "False"), "")
    return [company, text("plant"), part, described, text("verdict"), backflushed, joined("rules"), joined("not_judged")]


def _verdicts(book: Any, report: Report, formats: dict[str, Any], describe: Any, added: dict[str, SheetRows]) -> None:
    """The verdict sheet: its rows made from the verdicts' columns by Arrow, a block at a time (sheet_rows)."""
    sheets = _Bulk(book, "Verdicts", VERDICT_HEADER, formats, added)
    table, start = report.verdicts.table, 0
    while start < table.num_rows:
        rows = table.slice(start, sheets.room())
        sheets.add(_verdict_columns(rows, describe))
        start += rows.num_rows
    sheets.close()


_STRING = r'"(?:[^"\\]|\\.)*"'  # a JSON string
_OBJECT = r'\{(?:[^"{}]|' + _STRING + r')*\}'  # a JSON object of names and plain values


def _names(findings: Findings, field: str) -> list[str]:
    """The names in the `field` object (key, evidence) of the findings' documents, in the order they first appear:
    read by RE2 from the engine's JSON, each distinct list of names parsed once."""
    objects = pc.struct_field(pc.extract_regex(findings.table.column("line").combine_chunks(),
                                               f'"{field}":\\s*(?P<object>{_OBJECT})'), "object")
    shapes = pc.replace_substring_regex(objects, f':\\s*(?:{_STRING}|[^,}}"]*)', "")  # {"Company","JobNum",...}
    names: dict[str, None] = {}
    for shape in shapes.dictionary_encode().dictionary.to_pylist():  # in the order they first appear
        names |= dict.fromkeys(orjson.loads(f"[{shape[1:-1]}]") if shape else [])
    return list(names)


def _rule_sheets(book: Any, report: Report, formats: dict[str, Any], describe: Any,
                 added: dict[str, SheetRows]) -> None:
    """A sheet per rule with findings to fix, a row per finding (its rows made by Arrow a block at a time), a column
    for every key and evidence value any of its findings has."""
    to_fix = report.findings.selected(waived=False)  # on the configuration as it is, not waived
    for rule_id, findings in to_fix.split("rule_id").items():
        rule = report.rules.get(rule_id)
        keys = _names(findings, "key")
        evidence = [name for name in _names(findings, "evidence") if name not in keys]
        header = ["Table", *keys, "Part", "Description", *evidence, "Outcome", "Message", "Remediation"]
        remediation = " ".join(rule.remediation.split()) if rule else ""
        sheets, block = _Bulk(book, rule_id, header, formats, added), []
        for finding in findings:
            key, found, component = dict(finding.key), dict(finding.evidence), dict(finding.component)
            block.append([finding.table, *(key.get(c, found.get(c)) for c in keys), component.get("PartNum"),
                          describe(component.get("Company"), component.get("PartNum")) if component.get("PartNum")
                          else "", *(found.get(c) for c in evidence), finding.outcome, finding.message, remediation])
            if len(block) == sheets.room():
                sheets.add_rows(block)
                block = []
        if block:
            sheets.add_rows(block)
        sheets.close()


def write(report: Report, out: IO[bytes], *, color: bool = False) -> None:
    import xlsxwriter

    with tempfile.TemporaryFile() as package:
        book = xlsxwriter.Workbook(package, {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False, "in_memory": False})
        formats = {"header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1})}
        describe = report.description()
        added: dict[str, SheetRows] = {}
        _summary(book, report, formats)
        _verdicts(book, report, formats, describe, added)
        _rule_sheets(book, report, formats, describe, added)
        book.close()
        package.seek(0)
        inject(package, out, added)
