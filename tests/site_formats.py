"""Re-exporting a CSV site as typed Parquet or as Excel workbooks, the way other sites export.

Independent of the validator's readers: the CSV files are parsed by the standard library's csv module, each
header is named by stripping its table's prefix (`Part_TrackLots`, `PartMtl.QtyPer`), and each value is typed
by the column's declared type in schemas/tables (the Epicor data dictionary, not reading code), with word lists
of its own. A misread of the CSV by the validator then shows as a difference between the formats.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from validator.config.attestations import DEFAULT_NAME
from validator.tables import Registry

TRUE, FALSE = {"true", "1", "y", "yes"}, {"false", "0", "n", "no"}
ARROW = {"boolean": pa.bool_(), "integer": pa.int64(), "decimal": pa.float64()}


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:  # Excel's Windows-1252
        return data.decode("cp1252")


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a CSV export; a row blank in every column is no data."""
    header, *rows = list(csv.reader(io.StringIO(_text(path), newline="")))
    return header, [row for row in rows if any(cell.strip() for cell in row)]


def _kind(table: str, header: str, registry: Registry) -> str | None:
    """The declared type of the Epicor column a header names (`Table_Column`, `Table.Column` or `Column`)."""
    name = header
    for prefix in (f"{table}_", f"{table}."):
        if header.startswith(prefix):
            name = header[len(prefix):]
    column = registry.tables[table].columns.get(name)
    return column.type if column else None


def _typed(text: str, kind: str | None) -> object:
    if text.strip() == "":
        return None
    if kind == "boolean":
        word = text.strip().lower()
        return True if word in TRUE else False if word in FALSE else text
    if kind in ("integer", "decimal"):
        number = float(text)
        return int(number) if kind == "integer" else number
    return text


def _typed_rows(path: Path, registry: Registry) -> tuple[list[str], list[str | None], list[list[object]]]:
    header, rows = _rows(path)
    kinds = [_kind(path.stem, h, registry) for h in header]
    width = len(header)
    typed = [[_typed(cell, kind) for cell, kind in zip(row + [""] * (width - len(row)), kinds, strict=True)]
             for row in rows]
    return header, kinds, typed


def to_parquet(src: Path, dst: Path, registry: Registry) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.csv")):
        header, kinds, rows = _typed_rows(path, registry)
        columns = {h: pa.array([row[i] for row in rows], ARROW.get(kinds[i] or "", pa.string()))
                   for i, h in enumerate(header)}
        pq.write_table(pa.table(columns), dst / f"{path.stem}.parquet")
    _copy_attestations(src, dst)


def _sheet(book: openpyxl.Workbook, name: str, path: Path, registry: Registry) -> None:
    """The CSV export at `path` as a sheet of typed cells (numbers, booleans), as Excel holds them."""
    header, _, rows = _typed_rows(path, registry)
    sheet = book.create_sheet(name)
    sheet.append(header)
    for row in rows:
        sheet.append(row)


def to_xlsx(src: Path, dst: Path, registry: Registry) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.csv")):
        book = openpyxl.Workbook(write_only=True)
        _sheet(book, path.stem, path, registry)
        book.save(dst / f"{path.stem}.xlsx")
    _copy_attestations(src, dst)


def to_workbook(src: Path, dst: Path, registry: Registry, sheet_names: dict[str, str] | None = None) -> None:
    """Every table as a sheet of one workbook `dst` (named after the table, or as `sheet_names` says), the
    attestations beside it."""
    book = openpyxl.Workbook(write_only=True)
    for path in sorted(src.glob("*.csv")):
        _sheet(book, (sheet_names or {}).get(path.stem, path.stem), path, registry)
    dst.parent.mkdir(parents=True, exist_ok=True)
    book.save(dst)
    _copy_attestations(src, dst.parent)


def _copy_attestations(src: Path, dst: Path) -> None:
    """The site's questionnaire answers are YAML whatever the export format."""
    answers = src / DEFAULT_NAME
    if answers.is_file():
        shutil.copyfile(answers, dst / DEFAULT_NAME)
