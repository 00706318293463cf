"""The Excel worklist for the data stewards who fix the records: a summary sheet, a verdict sheet (one row per part
judged at a site), and a sheet per failing rule with a row per thing to fix (its key, the part's description, the
values that failed, the message and the remediation). Headers frozen, autofilter on, widths set. Every text is
written as text: a value starting with =, +, -, @ is never a formula. Rows are streamed (xlsxwriter's
constant_memory): a large report costs a row at a time, and a sheet with more rows than Excel holds continues
on the next. The verdicts' rows are made by Arrow from their columns, a block at a time, and put into the
package xlsxwriter wrote (sheet_rows.py): byte for byte what xlsxwriter writes a cell at a time, at a fraction
of its cost."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

from validator.findings import IF_ENABLED_OUTCOME, VERDICTS, Finding
from validator.formats.sheet_rows import SheetRows, inject, rows_of
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

    def framed_for(self, sample: list[list[Any]], count: int) -> None:
        """The sheet's header alone, for `count` rows that sheet_rows adds to the package (widths from `sample`)."""
        self._frame(sample)
        self.pending, self.rows = None, count

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

    @property
    def full(self) -> bool:
        return self.rows + (len(self.pending) if self.pending is not None else 0) >= MAX_ROWS


class _Sheets:
    """Sheets of one header written row by row: past MAX_ROWS rows the next sheet goes on (`Verdicts (2)`), so no
    row is lost to a sheet's limit."""

    def __init__(self, book: Any, name: str, header: list[str], formats: dict[str, Any]) -> None:
        self.book, self.name, self.header, self.formats, self.part = book, name, header, formats, 1
        self.sheet = _Sheet(book, name, header, formats)

    def add(self, row: list[Any]) -> None:
        if self.sheet.full:
            self.sheet.close()
            self.part += 1
            self.sheet = _Sheet(self.book, f"{self.name} ({self.part})", self.header, self.formats)
        self.sheet.add(row)

    def close(self) -> None:
        self.sheet.close()


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
    described = pa.array([describe(c, p) for c, p in zip(company.to_pylist(), part.to_pylist(), strict=True)], pa.string())
    flags = rows.column("backflushed").combine_chunks()
    backflushed = pc.fill_null(pc.if_else(flags, "True", "False"), "")
    return [company, text("plant"), part, described, text("verdict"), backflushed, joined("rules"), joined("not_judged")]


def _verdicts(book: Any, report: Report, formats: dict[str, Any], describe: Any) -> dict[str, SheetRows]:
    """The verdict sheets' headers (`Verdicts`, then `Verdicts (2)` past a sheet's rows); their rows, made from the
    verdicts' columns by Arrow, go into the package after (sheet_rows)."""
    table, added = report.verdicts.table, {}
    for part, start in enumerate(range(0, max(table.num_rows, 1), MAX_ROWS), 1):
        rows = table.slice(start, MAX_ROWS)
        columns = _verdict_columns(rows, describe)
        name = "Verdicts" if part == 1 else f"Verdicts ({part})"
        sample = [list(row) for row in zip(*(c.slice(0, WIDTH_SAMPLE).to_pylist() for c in columns), strict=True)]
        sheet = _Sheet(book, name, VERDICT_HEADER, formats)
        sheet.framed_for(sample, rows.num_rows)
        sheet.close()
        if rows.num_rows:
            added[name] = rows_of(columns)
    return added


def _to_fix(findings: Iterable[Finding]) -> Iterator[Finding]:
    """The findings a steward fixes: on the configuration as it is, not waived."""
    return (f for f in findings if f.outcome != IF_ENABLED_OUTCOME and not f.waiver)


def _rule_sheets(book: Any, report: Report, formats: dict[str, Any], describe: Any) -> None:
    for rule_id, group in itertools.groupby(_to_fix(report.findings), key=lambda f: f.rule_id):
        first = list(itertools.islice(group, WIDTH_SAMPLE))
        rule = report.rules.get(rule_id)
        keys = list(dict.fromkeys(c for f in first for c, _ in f.key))
        evidence = list(dict.fromkeys(c for f in first for c, _ in f.evidence if c not in keys))
        header = ["Table", *keys, "Part", "Description", *evidence, "Outcome", "Message", "Remediation"]
        remediation = " ".join(rule.remediation.split()) if rule else ""
        sheet = _Sheets(book, rule_id, header, formats)
        for finding in itertools.chain(first, group):
            key, found, component = dict(finding.key), dict(finding.evidence), dict(finding.component)
            sheet.add([finding.table, *(key.get(c, found.get(c)) for c in keys), component.get("PartNum"),
                       describe(component.get("Company"), component.get("PartNum")) if component.get("PartNum") else "",
                       *(found.get(c) for c in evidence), finding.outcome, finding.message, remediation])
        sheet.close()


def write(report: Report, out: IO[bytes], *, color: bool = False) -> None:
    import xlsxwriter

    with tempfile.TemporaryFile() as package:
        book = xlsxwriter.Workbook(package, {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False, "in_memory": False})
        formats = {"header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1})}
        describe = report.description()
        _summary(book, report, formats)
        verdicts = _verdicts(book, report, formats, describe)
        _rule_sheets(book, report, formats, describe)
        book.close()
        package.seek(0)
        inject(package, out, verdicts)
