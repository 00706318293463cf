"""Finding the export of each Epicor table: a file named after it (CSV, Parquet, XLSX), a folder of Parquet
files as Spark writes a table, or a sheet of one workbook holding every table.

The text readers (validator/csv_export.py, validator/xlsx_export.py) return Arrow tables of text with the
export's data row of each row (ROW); Parquet is read by DuckDB (validator/readers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from validator.errors import DataError

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx",
           ".xlsm": "xlsx"}
Columns = Callable[[list[str]], Collection[str]]  # an export's header -> the names of the columns to read
ROW = "__row"  # the data row of the export (1-based) a row came from: wholly blank rows are left out, not counted again


def header_text(header: str) -> str:
    """A header as headers compare: any case, surrounding spaces and a byte order mark left out."""
    return header.strip().lstrip("\ufeff").lower()


@dataclass(frozen=True)
class Naming:
    """What backflush.yaml's `exports:` says of one table's export: its file (relative to the site's folder) or
    sheet, and headers that name its columns otherwise than Epicor does."""

    file: str | None = None
    sheet: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # (Epicor column, the export's header)
    where: str = "backflush.yaml"  # the config's line that says so, for messages


@dataclass(frozen=True)
class SourceFile:
    table: str
    path: Path
    format: str
    sheet: str | None = None  # the table's sheet, when one workbook holds every table
    naming: Naming | None = None  # what backflush.yaml says of this export

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


def _table_key(name: str) -> str:
    """How a file, folder or sheet name is matched to a table's: any case, `Erp.` (the schema) in front or not."""
    return name.lower().removeprefix("erp.")


def _export_key(path: Path) -> str | None:
    """The table key a file or folder of the site's folder names: `JobMtl.csv`, `Erp.JobMtl.parquet`, a folder
    `JobMtl.parquet/` or `JobMtl/`; None for a file of another kind."""
    if path.is_dir():
        return _table_key(path.name.lower().removesuffix(".parquet"))
    return _table_key(path.stem) if path.suffix.lower() in FORMATS else None


def sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(path) as book:
            return list(book.sheet_names)
    except (CalamineError, OSError) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=str(path)) from None


def _workbook_tables(path: Path, table_names: list[str]) -> dict[str, SourceFile]:
    """The tables of a workbook with a sheet per table (named after it, any case, `Erp.` in front or not)."""
    wanted = {name.lower(): name for name in table_names}
    found: dict[str, SourceFile] = {}
    for sheet in sheet_names(path):
        table = wanted.get(_table_key(sheet.strip()))
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


def discover(folder: Path, table_names: list[str], named: Mapping[str, Naming] | None = None) -> dict[str, SourceFile]:
    """One file per table, named after it (`JobMtl.csv`, `Erp.JobMtl.parquet`, any case), or a folder of Parquet
    files named after it (`JobMtl.parquet/` or `JobMtl/`, as Spark writes a table); or, when `folder` is a
    workbook, its sheets named after the tables. `named`: what backflush.yaml says of some tables' exports
    (a file or sheet named otherwise wins over the one named after the table)."""
    named = {table: naming for table, naming in (named or {}).items() if table in table_names}
    found = _by_name(folder, table_names)
    for table, naming in named.items():
        source = _named_source(folder, table, naming) if naming.file or naming.sheet else found.get(table)
        if source is not None:
            found[table] = replace(source, naming=naming)
    return found


def _named_source(folder: Path, table: str, naming: Naming) -> SourceFile:
    """The export backflush.yaml names: `file` (relative to the site's folder) and perhaps a `sheet` of it, or a
    `sheet` of the workbook given as PATH."""
    if naming.file is None:
        if not is_workbook(folder):
            raise DataError(f"names sheet {naming.sheet!r} of {table} but no file; a sheet is of a workbook: give its "
                            "file too, or give the workbook as PATH", location=naming.where)
        path = folder
    else:
        path = site_dir(folder) / naming.file
        if not path.exists():
            raise DataError(f"names file {naming.file!r} for {table}, which is not in {site_dir(folder)}",
                            location=naming.where)
    kind = "parquet" if path.is_dir() else FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"names file {naming.file!r} for {table}: not an export this tool reads "
                        f"({', '.join(sorted(FORMATS))}, or a folder of Parquet files)", location=naming.where)
    if kind == "parquet" and path.is_dir() and not parquet_parts(path):
        raise DataError(f"names folder {naming.file!r} for {table}, which holds no Parquet file", location=naming.where)
    sheet = naming.sheet
    if sheet is not None:
        if kind != "xlsx":
            raise DataError(f"names sheet {sheet!r} of {table} in {path.name}, which is not a workbook",
                            location=naming.where)
        sheets = sheet_names(path)
        sheet = next((s for s in sheets if s.strip().lower() == sheet.strip().lower()), None)
        if sheet is None:
            raise DataError(f"names sheet {naming.sheet!r} of {table}, which {path.name} does not have; its sheets: "
                            f"{', '.join(sheets)}", location=naming.where)
    return SourceFile(table, path, kind, sheet)


def _by_name(folder: Path, table_names: list[str]) -> dict[str, SourceFile]:
    """The exports named after their tables (see discover)."""
    if is_workbook(folder):
        return _workbook_tables(folder, table_names)
    if not folder.exists():
        raise DataError("does not exist: give the folder of the site's exports, or its workbook", location=str(folder))
    if not folder.is_dir():
        raise DataError("is neither a folder of Epicor table exports nor a workbook (.xlsx) with a sheet per table",
                        location=str(folder))
    wanted = {name.lower(): name for name in table_names}
    found: dict[str, SourceFile] = {}
    for path in sorted(folder.iterdir()):
        key = _export_key(path)
        if key not in wanted:
            continue
        if path.is_dir():
            if (path / "_delta_log").is_dir():
                raise DataError("is a Delta table: its folder also holds the Parquet files of its old versions; write "
                                "the table out as Parquet or CSV first", location=str(path))
            if not parquet_parts(path):
                continue
        table = wanted[key]
        if table in found:
            raise DataError(
                f"two exports of table {table}: {found[table].path.name} and {path.name}; keep one",
                location=str(folder),
            )
        found[table] = SourceFile(table, path, "parquet" if path.is_dir() else FORMATS[path.suffix.lower()])
    return found


def look_alike_hint(folder: Path, table: str, table_names: list[str]) -> str:
    """'; JobMtl_2026-11.csv looks like it: ...' when a file seems to be the table's export under another name."""
    alike = look_alikes(folder, table, table_names)
    return f"; {', '.join(alike)} look(s) like {table}'s export: name the file after the table" if alike else ""


def look_alikes(folder: Path, table: str, table_names: list[str]) -> list[str]:
    """Files in the folder that are not named after any table but whose name holds this one's, and no longer
    table name (JobMtl_2026-11.csv, Erp_JobMtl (1).xlsx; PartPlant_export.csv is PartPlant's, not Part's)."""
    names = sorted(table_names, key=len, reverse=True)
    exact = {_table_key(name) for name in table_names}
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        key = _export_key(path)
        if key is None or key in exact:
            continue
        longest = next((name for name in names if name.lower() in key), None)
        if longest == table:
            found.append(path.name)
    return found
