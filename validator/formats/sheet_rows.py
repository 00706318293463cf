"""Rows of a worksheet written from Arrow columns (text, and where a value is a number its text), a block at a time,
as xlsxwriter writes them one cell at a time in its constant_memory mode: the same `<row>`, inline-string and number
`<c>` elements, byte for byte. The workbook
itself (styles, frozen header, filter, widths, the package) stays xlsxwriter's; `inject` puts the rows into a
sheet it wrote with its header alone. At a million verdicts, xlsxwriter's Python per cell took about a minute
(docs/performance.md).

Each value is written as xlsxwriter writes a string (a blank one as an empty string): control characters as Excel's
`_xHHHH_` escapes (and a literal `_xHHHH_` escaped in turn); `xml:space="preserve"` when the text starts or ends
with whitespace; `&`, `<`, `>` as entities; at most 32,767 UTF-16 units. One difference: a value that starts with
`<r>` and ends with `</r>` xlsxwriter takes for rich text and writes unescaped; here it is text like any other."""

from __future__ import annotations

import copy
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.compute as pc

from validator.findings import joined, text_array, text_scalar

BLOCK = 20_000  # rows made at a time
MAX_TEXT = 32_767  # UTF-16 units a cell holds
CONTROL = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20)]] + ["\ufffe", "\uffff"]
ANY_CONTROL = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in CONTROL) + "]"  # RE2: one of them
# what Python's \s matches (str.isspace), as RE2 writes it: xlsxwriter's test for leading or trailing whitespace.
# No whitespace character lies above U+3000 (tests/test_worklist.py).
_SPACE = "".join(f"\\x{{{c:x}}}" for c in range(0x3001) if chr(c).isspace())
PRESERVED = f"^[{_SPACE}]|[{_SPACE}]$"
NAMESPACES = {"main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
              "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
              "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _truncated(values: pa.Array) -> pa.Array:
    """Values longer than a cell holds, cut as xlsxwriter cuts them (UTF-16 units, a pair never split): rare, so
    done in Python for those rows alone."""
    if not len(values) or (pc.max(pc.utf8_length(values)).as_py() or 0) <= MAX_TEXT // 2:
        return values
    cut = [v if v is None or len(v) <= MAX_TEXT // 2 else
           v.encode("utf-16-le")[:2 * MAX_TEXT].decode("utf-16-le", errors="ignore") for v in values.to_pylist()]
    return text_array(cut)


def _escaped(values: pa.Array) -> pa.Array:
    """Text as a cell's `<t>` holds it: Excel's escapes of control characters, then XML's entities."""
    if pc.any(pc.match_substring_regex(values, "_x[0-9a-fA-F]{4}_")).as_py():
        values = pc.replace_substring_regex(values, "(_x[0-9a-fA-F]{4}_)", "_x005F\\1")
    if pc.any(pc.match_substring_regex(values, ANY_CONTROL)).as_py():
        for char in CONTROL:
            values = pc.replace_substring(values, char, f"_x{ord(char):04X}_")
    if pc.any(pc.match_substring_regex(values, "[&<>]")).as_py():
        for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            values = pc.replace_substring(values, char, entity)
    return values


def _cells(values: pa.Array, letters: str, rows: pa.Array, numbers: pa.Array | None) -> pa.Array:
    """Each row's cell of one column: an inline string (empty for a blank value, as xlsxwriter writes ""), or where
    `numbers` says so a number, its text as written (`:.16G`)."""
    text = _escaped(_truncated(pc.fill_null(values, text_scalar(""))))
    preserve = pc.if_else(pc.match_substring_regex(text, PRESERVED), text_scalar(' xml:space="preserve"'), text_scalar(""))
    cells = pc.binary_join_element_wise(text_scalar(f'<c r="{letters}'), rows, text_scalar('" t="inlineStr"><is><t'), preserve,
                                        text_scalar(">"), text, text_scalar("</t></is></c>"), text_scalar(""))
    if numbers is None or not pc.any(numbers).as_py():
        return cells
    number = pc.binary_join_element_wise(text_scalar(f'<c r="{letters}'), rows, text_scalar('"><v>'), values,
                                         text_scalar("</v></c>"), text_scalar(""))
    return pc.if_else(numbers, number, cells)


def row_blocks(columns: list[pa.Array], first_row: int, numbers: list[pa.Array | None] | None = None) -> Iterator[pa.Buffer]:
    """The `<row>` elements of the columns' rows (text; `numbers`, per column: where a value is a number's text), the
    first numbered `first_row` (1 is the header's), as UTF-8 a block at a time."""
    count = len(columns[0]) if columns else 0
    numbers = numbers or [None] * len(columns)
    letters = [_column_letters(i) for i in range(len(columns))]
    for start in range(0, count, BLOCK):
        size = min(BLOCK, count - start)
        rows = pc.cast(pa.array(range(first_row + start, first_row + start + size), pa.int64()), pa.string())
        cells = [_cells(c.slice(start, size), letter, rows, None if n is None else n.slice(start, size))
                 for c, n, letter in zip(columns, numbers, letters, strict=True)]
        lines = pc.binary_join_element_wise(text_scalar('<row r="'), rows, text_scalar('">'), *cells,
                                            text_scalar("</row>"), text_scalar(""))
        yield joined(lines, "")


class SheetRows:
    """The rows below a sheet's header, made a block at a time into a temporary file (the memory they take is a
    block's), numbered from 2; `inject` copies them into the sheet."""

    def __init__(self, columns: int) -> None:
        self.columns, self.count = columns, 0
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by inject, or when collected)

    def add(self, columns: list[pa.Array], numbers: list[pa.Array | None] | None = None) -> None:
        for block in row_blocks(columns, self.count + 2, numbers):
            self.file.write(block)
        self.count += len(columns[0]) if columns else 0

    @property
    def large(self) -> bool:
        """Whether the rows pass 2 GiB with the rest of the sheet: the part then needs ZIP64."""
        return self.file.tell() > 2**31 - 2**24

    def blocks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while block := self.file.read(1 << 20):
            yield block
        self.file.close()


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package, read from the workbook and its relationships (xlsxwriter's, written
    by this run: no outside XML is parsed here)."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))  # noqa: S314
    relations = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    targets = {r.get("Id"): r.get("Target", "") for r in relations.findall("rel:Relationship", NAMESPACES)}
    parts = {}
    for sheet in workbook.findall("main:sheets/main:sheet", NAMESPACES):
        target = targets[sheet.get(f"{{{NAMESPACES['r']}}}id")]
        parts[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def inject(workbook: IO[bytes], out: IO[bytes], rows: dict[str, SheetRows]) -> None:
    """Copy the package `workbook` to `out`, with rows added to sheets that hold their header row alone (sheet name
    -> its rows). Its dimension then spans them all."""
    with zipfile.ZipFile(workbook) as source, zipfile.ZipFile(out, "w") as target:
        parts = {part: rows[name] for name, part in _sheet_parts(source).items() if name in rows}
        for info in source.infolist():
            written = copy.copy(info)  # the source's own stays as it was read
            if info.filename not in parts:
                with source.open(info) as read, target.open(written, "w") as write:
                    shutil.copyfileobj(read, write, 1 << 20)
                continue
            added = parts.pop(info.filename)
            sheet = source.read(info).decode("utf-8")
            end = sheet.index("</sheetData>")
            span = f"A1:{_column_letters(added.columns - 1)}{added.count + 1}"
            head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{span}"/>', sheet[:end], count=1)
            with target.open(written, "w", force_zip64=added.large) as write:
                write.write(head.encode("utf-8"))
                for block in added.blocks():
                    write.write(block)
                write.write(sheet[end:].encode("utf-8"))
        if parts:
            raise AssertionError(f"sheets not in the workbook: {sorted(parts)}")
