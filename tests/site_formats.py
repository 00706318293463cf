"""Re-exporting a CSV site as typed Parquet or as Excel workbooks, the way other sites export."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from validator.attestations import DEFAULT_NAME
from validator.csv_export import read_csv
from validator.readers import FALSE_WORDS, TRUE_WORDS, match_columns
from validator.sources import ROW
from validator.tables import Registry


def _typed_value(text: str | None, kind: str | None) -> object:
    if text is None or text.strip() == "":
        return None
    if kind == "boolean":
        word = text.strip().upper()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text
    if kind in ("integer", "decimal"):
        number = float(text)
        return int(number) if kind == "integer" else number
    return text


def _columns(path: Path, registry: Registry) -> tuple[pa.Table, dict[str, str | None]]:
    data = read_csv(path).drop_columns([ROW])  # the export's own columns, not the reader's row numbers
    table = registry.tables[path.stem]
    kinds = {header: table.columns[column].type for column, headers in match_columns(table, data.column_names).items()
             for header in headers}
    return data, {h: kinds.get(h) for h in data.column_names}


def to_parquet(src: Path, dst: Path, registry: Registry) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    arrow = {"boolean": pa.bool_(), "integer": pa.int64(), "decimal": pa.float64()}
    for path in sorted(src.glob("*.csv")):
        data, kinds = _columns(path, registry)
        columns = {}
        for header in data.column_names:
            values = [_typed_value(v, kinds[header]) for v in data.column(header).to_pylist()]
            columns[header] = pa.array(values, arrow.get(kinds[header], pa.string()))
        pq.write_table(pa.table(columns), dst / f"{path.stem}.parquet")
    _copy_attestations(src, dst)


def _sheet(book: openpyxl.Workbook, name: str, path: Path, registry: Registry) -> None:
    """The CSV export at `path` as a sheet of typed cells (numbers, booleans), as Excel holds them."""
    data, kinds = _columns(path, registry)
    sheet = book.create_sheet(name)
    sheet.append(data.column_names)
    columns = [data.column(h).to_pylist() for h in data.column_names]
    for row in zip(*columns, strict=False):
        sheet.append([_typed_value(v, kinds[h]) for v, h in zip(row, data.column_names, strict=False)])


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
