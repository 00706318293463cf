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
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from validator.errors import DataError

FORMATS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}


@dataclass(frozen=True)
class SourceFile:
    table: str
    path: Path
    format: str
    sheet: str | None = None  # the table's sheet, when one workbook holds every table

    @property
    def where(self) -> str:
        """The file (and sheet) as messages name it."""
        return f"{self.path} (sheet {self.sheet})" if self.sheet else str(self.path)


WORKBOOKS = (".xlsx", ".xlsm")


def is_workbook(path: Path) -> bool:
    """Whether PATH is one workbook holding a sheet per table, rather than a folder of exports."""
    return path.is_file() and path.suffix.lower() in WORKBOOKS


def where_expected(path: Path, table: str) -> str:
    """Where a table's export was looked for, as a message says it."""
    return f"a sheet named {table} in the workbook" if is_workbook(path) else f"a file such as {table}.csv in the folder"


def site_dir(path: Path) -> Path:
    """The folder of a site's exports, or the one its workbook is in (where attestations.yaml lives)."""
    return path.parent if is_workbook(path) else path


def _workbook_tables(path: Path, table_names: list[str]) -> dict[str, SourceFile]:
    """The tables of a workbook with a sheet per table (named after it, any case, `Erp.` in front or not)."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(path) as book:
            sheets = list(book.sheet_names)
    except (CalamineError, OSError) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None
    wanted = {name.lower(): name for name in table_names}
    found = {}
    for sheet in sheets:
        table = wanted.get(sheet.strip().lower().removeprefix("erp."))
        if table is not None:
            if table in found:
                raise DataError(f"two sheets of table {table}: {found[table].sheet} and {sheet}; keep one",
                                location=str(path))
            found[table] = SourceFile(table, path, "xlsx", sheet)
    return found


def parquet_parts(folder: Path) -> list[Path]:
    """The data files of a table Spark or Databricks wrote as a folder (part-*.parquet, perhaps in Hive partition
    folders such as Plant=MfgSys), in name order; _SUCCESS, _-prefixed and hidden files are not data."""
    return sorted(path for path in folder.rglob("*.parquet") if path.is_file()
                  and not any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts))


def discover(folder: Path, table_names: list[str]) -> dict[str, SourceFile]:
    """One file per table, named after it (`JobMtl.csv`, `Erp.JobMtl.parquet`, any case), or a folder of Parquet
    files named after it (`JobMtl.parquet/` or `JobMtl/`, as Spark writes a table); or, when `folder` is a
    workbook, its sheets named after the tables."""
    if is_workbook(folder):
        return _workbook_tables(folder, table_names)
    if not folder.is_dir():
        raise DataError("is not a folder of Epicor table exports", location=str(folder))
    wanted = {name.lower(): name for name in table_names}
    found: dict[str, SourceFile] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            fmt, stem = "parquet", path.name.lower().removesuffix(".parquet").removeprefix("erp.")
            if stem not in wanted:
                continue
            if (path / "_delta_log").is_dir():
                raise DataError("is a Delta table: its folder also holds the Parquet files of its old versions; write "
                                "the table out as Parquet or CSV first", location=str(path))
            if not parquet_parts(path):
                continue
        else:
            fmt, stem = FORMATS.get(path.suffix.lower()), path.stem.lower().removeprefix("erp.")
            if fmt is None or stem not in wanted:
                continue
        table = wanted[stem]
        if table in found:
            raise DataError(
                f"two exports of table {table}: {found[table].path.name} and {path.name}; keep one",
                location=str(folder),
            )
        found[table] = SourceFile(table, path, fmt)
    return found


def look_alike_hint(folder: Path, table: str, table_names: list[str]) -> str:
    """'; JobMtl_2026-11.csv looks like it: ...' when a file seems to be the table's export under another name."""
    alike = look_alikes(folder, table, table_names)
    return f"; {', '.join(alike)} look(s) like {table}'s export: name the file after the table" if alike else ""


def look_alikes(folder: Path, table: str, table_names: list[str]) -> list[str]:
    """Files in the folder that are not named after any table but whose name holds this one's, and no longer
    table name (JobMtl_2026-11.csv, Erp_JobMtl (1).xlsx; PartPlant_export.csv is PartPlant's, not Part's)."""
    names = sorted(table_names, key=len, reverse=True)
    exact = {name.lower() for name in table_names}
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_file() and path.suffix.lower() not in FORMATS:
            continue
        stem = (path.stem if path.is_file() else path.name).lower()
        if stem.removeprefix("erp.").removesuffix(".parquet") in exact:
            continue
        longest = next((name for name in names if name.lower() in stem), None)
        if longest == table:
            found.append(path.name)
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


Columns = Callable[[list[str]], Collection[str]]  # an export's header -> the names of the columns to read
ROW = "__row"  # the data row of the export (1-based) a row came from: wholly blank rows are left out, not counted again


def read_csv(path: Path, columns: Columns | None = None) -> pa.Table:
    """Every column as text, or those `columns` names (an Epicor Part export has some 250 columns and a run reads
    eight: measured on 100k rows of 208 columns, 0.3 s and 7.5 MB instead of 1.2 s and 225 MB)."""
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

    def read(names: list[str] | None) -> pa.Table:  # None: every column
        try:
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding, column_names=header,
                                               skip_rows=2 if hint else 1),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                # only a blank is null: pyarrow's default also nulls NA, N/A, NULL, nan..., and Company NA is North America
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names or header, pa.string()), include_columns=names or [],
                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            detail = _bad_csv_line(path, encoding, delimiter, bool(hint))
            raise DataError(f"cannot read as CSV ({encoding}, {_separator_name(delimiter)}-separated): {detail} ({exc})",
                            location=str(path)) from None

    wanted = (list(columns(header)) or header[:1]) if columns else None  # one column at least: the rows are counted
    data = read(wanted)
    numbered = data.append_column(ROW, pa.array(range(1, data.num_rows + 1), pa.int64()))
    blank = _blank_rows(data)
    if not pc.any(blank).as_py():
        return numbered
    # rows blank in every column read (an Excel-saved CSV's trailing ",,,,"): left out when blank in every column
    return numbered.filter(pc.invert(_blank_rows(data if wanted is None else read(None))))


def _blank_rows(data: pa.Table) -> pa.ChunkedArray:
    """Per row: whether every value is null or spaces (column by column, until no row is left blank: most exports
    need one column for that)."""
    blank = None
    for column in data.columns:
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), True)
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            break
    return blank


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


ERROR_CELL = b't="e"'  # the XML of a worksheet cell holding an Excel error (#N/A, #VALUE!, ...)


def _has_error_cells(path: Path) -> bool:
    """Whether a worksheet of the workbook holds an error cell (a #N/A of a broken lookup), from its XML."""
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with book.open(name) as sheet:
                    tail = b""
                    while chunk := sheet.read(1 << 22):
                        if ERROR_CELL in tail + chunk:
                            return True
                        tail = chunk[-len(ERROR_CELL):]
    return False


def _sheet(names: list[str], table: str) -> str:
    """The sheet named after the table (any case), else the first."""
    return {n.lower(): n for n in names}.get(table.lower(), names[0])


XLSX_BLOCK = 65_536  # rows of a sheet held as Python values at a time before they become Arrow text


def _cell(value: object) -> str | None:
    """A cell as text; an empty cell (calamine reads '', openpyxl None) as null."""
    if value.__class__ is str:
        return value or None  # type: ignore[return-value]
    return cell_text(value)


def _text_columns(rows: Iterator[Sequence[object]], sheet: str, path: Path, columns: Columns | None) -> pa.Table:
    """The first row names the columns; every other row not wholly blank is data, each cell of the columns
    `columns` names (all without it) as text."""
    header = next(rows, None)
    if header is None:
        raise DataError(f"sheet {sheet!r} is empty", location=str(path))
    width = max((i + 1 for i, h in enumerate(header) if h not in (None, "")), default=0)
    names_row = [cell_text(h) or "" for h in header[:width]]
    if not any(names_row):
        raise DataError("the first row holds no column names", location=str(path))
    names = [name or f"column{i + 1}" for i, name in enumerate(names_row)]  # a name twice stays twice: reported
    wanted = set(columns(names)) if columns else set(names)
    kept = [i for i, name in enumerate(names) if name in wanted] or [0]  # one column at least: the rows are counted
    arrays: list[list[pa.Array]] = [[] for _ in kept]
    numbers: list[pa.Array] = []
    block: list[tuple[object, ...]] = []
    block_numbers: list[int] = []

    def to_arrow() -> None:
        for column, index in zip(arrays, kept, strict=True):
            column.append(pa.array([_cell(row[index]) for row in block], pa.string()))
        numbers.append(pa.array(block_numbers, pa.int64()))
        block.clear()
        block_numbers.clear()

    for number, row in enumerate(rows, 1):
        cells = tuple(row[:width])
        if any(v is not None and (v.__class__ is not str or v.strip()) for v in cells):  # a blank row is no data
            block.append(cells + (None,) * (width - len(cells)))
            block_numbers.append(number)
            if len(block) == XLSX_BLOCK:
                to_arrow()
    if block:
        to_arrow()
    return pa.Table.from_arrays([*(pa.chunked_array(chunks, pa.string()) for chunks in arrays),
                                 pa.chunked_array(numbers, pa.int64())], names=[*(names[i] for i in kept), ROW])


def read_xlsx(path: Path, table: str, columns: Columns | None = None) -> pa.Table:
    """The sheet named after the table, else the first, read with calamine (Rust: 3.2 s for 100k JobMtl rows where
    openpyxl took 56 s). A workbook holding error cells is read with openpyxl instead: calamine reads an error as
    a blank, openpyxl as its text (#N/A), which the contract then reports with its row."""
    from python_calamine import CalamineError, CalamineWorkbook  # imported here: only XLSX exports need them

    try:
        if _has_error_cells(path):
            return _read_with_openpyxl(path, table, columns)
        with CalamineWorkbook.from_path(path) as book:
            sheet = book.get_sheet_by_name(_sheet(book.sheet_names, table))
            return _text_columns(iter(sheet.iter_rows()), sheet.name, path, columns)
    except (CalamineError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None


def _read_with_openpyxl(path: Path, table: str, columns: Columns | None) -> pa.Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, ValueError) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None
    try:
        sheet = book[_sheet(book.sheetnames, table)]
        return _text_columns(sheet.iter_rows(values_only=True), sheet.title, path, columns)
    finally:
        book.close()
