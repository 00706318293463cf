"""Reading a workbook's sheet as text columns: numbers, dates and booleans as text the contracts parse, empty
cells as null, rows blank in every column left out (their row numbers kept), Excel's error cells (#N/A) kept
as their text so that the contract reports them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from validator.errors import DataError
from validator.sources import ROW, Columns


def cell_text(value: object) -> str | None:
    """A cell (or a YAML value) as the text a CSV export would hold: True/False, whole numbers without '.0', ISO
    dates, decimals without an exponent."""
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


def _sheet(names: list[str], wanted: str) -> str:
    """The sheet of that name (any case), else the first."""
    return {n.lower(): n for n in names}.get(wanted.lower(), names[0])


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
        raise DataError("the first row holds no column names", location=f"{path} (sheet {sheet})")
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


def read_xlsx(path: Path, sheet: str, columns: Columns | None = None) -> pa.Table:
    """The sheet of that name (any case; a table's name), else the first, read with calamine (Rust, many times
    faster than openpyxl). A workbook holding error cells is read with openpyxl instead: calamine
    reads an error as a blank, openpyxl as its text (#N/A), which the contract then reports with its row."""
    from python_calamine import CalamineError, CalamineWorkbook  # imported here: only XLSX exports need them

    try:
        if _has_error_cells(path):
            return _read_with_openpyxl(path, sheet, columns)
        with CalamineWorkbook.from_path(path) as book:
            found = book.get_sheet_by_name(_sheet(book.sheet_names, sheet))
            return _text_columns(iter(found.iter_rows()), found.name, path, columns)
    except (CalamineError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None


def _read_with_openpyxl(path: Path, sheet: str, columns: Columns | None) -> pa.Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, ValueError) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None
    try:
        found = book[_sheet(book.sheetnames, sheet)]
        return _text_columns(found.iter_rows(values_only=True), found.title, path, columns)
    finally:
        book.close()
