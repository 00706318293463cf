"""Reading a CSV export as text columns, the way real sites write them: UTF-8, UTF-8 with BOM, Windows-1252 or
UTF-16; separated by commas, tabs, semicolons or pipes (or as Excel's `sep=` first line says); quoted fields
holding the separator, quotes and newlines; only a blank is null; rows blank in every column are no data.
A line that does not parse is named with its number and the separator.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import numpy
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from validator.errors import DataError
from validator.findings import whole_text
from validator.sources import ROW, Columns, TextBatches

ENCODING_BLOCK = 1 << 24  # bytes of a file checked as UTF-8 at a time


def _encoding(path: Path) -> str:
    """UTF-16 when the file starts with its byte order mark (Excel's "Unicode Text", SSMS's Unicode save), else
    UTF-8 (with or without BOM) when every byte decodes, else Windows-1252. The file is checked by Arrow a block
    at a time (a mapped file would count whole in the run's memory): each block up to its last character that may
    be cut, whose bytes begin the next."""
    with path.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        handle.seek(0)
        carried = b""
        while block := handle.read(ENCODING_BLOCK):
            data = carried + block
            # a character is at most 4 bytes: the last one may go on in the next block, from its first byte on (a
            # byte that is not 10xxxxxx); four bytes of 10xxxxxx at the end are no UTF-8
            last = next((i for i in range(len(data) - 1, max(len(data) - 4, 0) - 1, -1) if data[i] & 0xC0 != 0x80), None)
            if last is None or whole_text(memoryview(data)[:last]) is None:
                return "cp1252"
            carried = data[last:]
        return "utf-8" if whole_text(carried) is not None else "cp1252"


DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}  # comma first: it wins a tie


SEPARATOR_HINT = re.compile(r"^sep=(.)\r?\n?$", re.IGNORECASE)  # Excel's first line naming the separator: sep=;


def delimiter_of(header_line: str) -> str:
    """The delimiter that splits the header into the most column names: comma, or the tab of a tab-separated
    export, or the semicolon Excel writes where the decimal separator is a comma, or a pipe."""
    def width(delimiter: str) -> int:
        return len(next(csv.reader([header_line], delimiter=delimiter), []))
    return max(DELIMITERS, key=width)


def _separator_name(delimiter: str) -> str:
    return DELIMITERS.get(delimiter, repr(delimiter))


def _bad_csv_line(path: Path, encoding: str, delimiter: str, hinted: bool) -> str:
    """Find the first record whose field count differs from the header's (error path only); line numbers count
    the separator hint line when there is one."""
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        if hinted:
            next(reader, None)
        header = next(reader, [])
        for row in reader:
            if len(row) != len(header):
                return f"line {reader.line_num} has {len(row)} field(s), the header has {len(header)}"
    return "the file does not parse as CSV"


# text as a dictionary of the values each block holds: an export repeats most of its values (flags, quantities,
# sequence numbers, the company), so they take far less memory, read as fast (docs/performance.md)
TEXT = pa.dictionary(pa.int32(), pa.string())


def csv_batches(path: Path, columns: Columns | None = None) -> TextBatches:
    """Every column as text (dictionary-encoded: TEXT), or those `columns` names (an Epicor Part export has some
    250 columns and a run reads eight), with ROW, a block of rows at a time as pyarrow parses them, so that no
    export is ever whole in memory: a line that does not parse stops the batches with a DataError. Rows blank in
    the columns read are left out when every column is read; otherwise they are kept, and blank_rows() reads the
    file again, every column, for those blank in all (an Excel-saved CSV's trailing ",,,," rows): only when some
    are blank in the columns read."""
    if path.stat().st_size == 0:
        raise DataError("the file is empty (0 bytes): export the table again with its header row", location=str(path))
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        first_line = handle.readline().lstrip("\ufeff")
        hint = SEPARATOR_HINT.match(first_line)
        header_line = handle.readline() if hint else first_line
    delimiter = hint.group(1) if hint else delimiter_of(header_line)
    header = next(csv.reader(io.StringIO(header_line), delimiter=delimiter), [])
    if not any(h.strip() for h in header):
        raise DataError(f"the {'line after sep=' if hint else 'first line'} holds no column names", location=str(path))

    def unreadable(exc: Exception) -> DataError:
        detail = _bad_csv_line(path, encoding, delimiter, bool(hint))
        return DataError(f"cannot read as CSV ({encoding}, {_separator_name(delimiter)}-separated): {detail} ({exc})",
                         location=str(path))

    def opened(names: list[str] | None) -> pacsv.CSVStreamingReader:
        """A reader of those columns (None: every column), which parses its first block now."""
        try:
            return pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding, column_names=header,
                                               skip_rows=2 if hint else 1),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                # only a blank is null: pyarrow's default also nulls NA, N/A, NULL, nan..., and Company NA is North America
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names or header, TEXT), include_columns=names or [],
                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise unreadable(exc) from None

    def numbered(reader: pacsv.CSVStreamingReader) -> Iterator[tuple[pa.RecordBatch, pa.Array]]:
        """Each block of rows the reader parses, and its rows' ROW."""
        start = 1
        try:
            for batch in reader:
                yield batch, pa.array(numpy.arange(start, start + batch.num_rows, dtype=numpy.int64))
                start += batch.num_rows
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise unreadable(exc) from None

    wanted = (list(columns(header)) or header[:1]) if columns else None  # one column at least: the rows are counted
    reader = opened(wanted)
    schema = reader.schema.append(pa.field(ROW, pa.int64()))
    some_blank = []  # whether rows were blank in the columns read, perhaps not in the others

    def batches() -> Iterator[pa.RecordBatch]:
        for batch, rows in numbered(reader):
            batch = pa.RecordBatch.from_arrays([*batch.columns, rows], schema=schema)
            blank = _blank_rows(batch.columns[:-1])
            if not pc.any(blank).as_py():
                yield batch
            elif wanted is None:
                yield batch.filter(pc.invert(blank))
            else:
                some_blank.append(True)
                yield batch

    def blank_rows() -> Collection[int]:
        if not some_blank:
            return ()
        return [row for batch, rows in numbered(opened(None)) for row in rows.filter(_blank_rows(batch.columns)).to_pylist()]

    return TextBatches(schema, batches(), blank_rows)


def _blank_rows(columns: Sequence[pa.Array]) -> pa.Array:
    """Per row: whether every value is null or spaces (column by column, until no row is left blank: most exports
    need one column for that)."""
    blank = None
    for column in columns:
        text = column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            break
    return blank
