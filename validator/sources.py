"""Finding the export of each Epicor table in a folder and reading it as text columns.

Real exports are messy: CSV in UTF-8, UTF-8 with BOM, Windows-1252 or UTF-16, separated by commas, tabs,
semicolons or pipes (or as Excel's `sep=` first line says), quoted fields holding the separator, quotes and
newlines; Parquet with native types; XLSX from Excel.
Every reader returns an Arrow table (or, for Parquet, a lazy DuckDB scan) and names the file and line of
anything it cannot read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from validator.errors import DataError

FORMATS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}


@dataclass(frozen=True)
class SourceFile:
    table: str
    path: Path
    format: str


def discover(folder: Path, table_names: list[str]) -> dict[str, SourceFile]:
    """One file per table, named after it (`JobMtl.csv`, `Erp.JobMtl.parquet`, any case)."""
    if not folder.is_dir():
        raise DataError("is not a folder of Epicor table exports", location=str(folder))
    wanted = {name.lower(): name for name in table_names}
    found: dict[str, SourceFile] = {}
    for path in sorted(folder.iterdir()):
        fmt = FORMATS.get(path.suffix.lower())
        stem = path.stem.lower().removeprefix("erp.")
        if fmt is None or stem not in wanted or not path.is_file():
            continue
        table = wanted[stem]
        if table in found:
            raise DataError(
                f"two exports of table {table}: {found[table].path.name} and {path.name}; keep one",
                location=str(folder),
            )
        found[table] = SourceFile(table, path, fmt)
    return found


def _encoding(path: Path) -> str:
    """UTF-16 when the file starts with its byte order mark (Excel's "Unicode Text", SSMS's Unicode save), else
    UTF-8 (with or without BOM) when every byte decodes, else Windows-1252."""
    with path.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


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


def read_csv(path: Path) -> pa.Table:
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
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding, skip_rows=1 if hint else 0),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            # only a blank is null: pyarrow's default also nulls NA, N/A, NULL, nan..., and Company NA is North America
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        detail = _bad_csv_line(path, encoding, delimiter, bool(hint))
        raise DataError(f"cannot read as CSV ({encoding}, {_separator_name(delimiter)}-separated): {detail} ({exc})",
                        location=str(path)) from None


def cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def read_xlsx(path: Path, table: str) -> pa.Table:
    import openpyxl  # imported here: only XLSX exports need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None
    try:
        names = {n.lower(): n for n in book.sheetnames}
        sheet = book[names.get(table.lower(), book.sheetnames[0])]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise DataError(f"sheet {sheet.title!r} is empty", location=str(path))
        width = max((i + 1 for i, h in enumerate(header) if h is not None), default=0)
        names_row = [cell_text(h) or "" for h in header[:width]]
        columns: list[list[str | None]] = [[] for _ in range(width)]
        for row in rows:
            if row is None or all(v is None for v in row[:width]):
                continue
            for i in range(width):
                columns[i].append(cell_text(row[i]) if i < len(row) else None)
    finally:
        book.close()
    if not any(names_row):
        raise DataError("the first row holds no column names", location=str(path))
    names = [name or f"column{i + 1}" for i, name in enumerate(names_row)]  # a name twice stays twice: reported
    return pa.Table.from_arrays([pa.array(values, pa.string()) for values in columns], names=names)
