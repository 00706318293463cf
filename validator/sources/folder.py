"""A folder of exports: one file per table, named after it (`JobMtl.csv`, `Erp.JobMtl.parquet`, any case), or a
folder of Parquet files named after it (`JobMtl.parquet/` or `JobMtl/`, as Spark and Databricks write a table).
backflush.yaml's `exports:` may name a table's file (relative to the folder) or a sheet of a workbook in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from validator.errors import DataError
from validator.sources import FORMATS, Export, Naming, export_kind, parquet_parts, table_key


def accepts(path: Path) -> bool:
    return True  # the last source tried: a path that is no folder gets the folder's message


def open(path: Path) -> FolderSource:  # noqa: A001 - every source module opens a path
    return FolderSource(path)


def sheet_names(path: Path, where: str | None = None) -> list[str]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(path) as book:
            return list(book.sheet_names)
    except (CalamineError, OSError) as exc:
        raise DataError(f"cannot open as an Excel workbook (.xlsx): {exc}", location=where or str(path)) from None


class FileSource:
    """What a folder and a workbook share: backflush.yaml may name a table's file (relative to `home`) and sheet."""

    book: Path | None = None  # the workbook PATH is, whose sheets backflush.yaml may name without a file

    def __init__(self, path: Path, home: Path) -> None:
        self.path, self.home, self.location, self.home_location = path, home, str(path), str(home)

    def exports(self, table_names: list[str], named: Mapping[str, Naming] | None = None) -> dict[str, Export]:
        named = {table: naming for table, naming in (named or {}).items() if table in table_names}
        found = self.by_name(table_names)
        for table, naming in named.items():
            export = self._named(table, naming) if naming.file or naming.sheet else found.get(table)
            if export is not None:
                found[table] = replace(export, naming=naming)
        return found

    def by_name(self, table_names: list[str]) -> dict[str, Export]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def site_file(self, name: str) -> Path | None:
        path = self.home / name
        return path if path.is_file() else None

    def snapshot(self) -> dict[str, Any] | None:
        from validator.sources.epicor_rest import read_manifest

        return read_manifest(self.path) if self.path.is_dir() else None

    def _named(self, table: str, naming: Naming) -> Export:
        """The export backflush.yaml names: `file` (relative to the site's folder) and perhaps a `sheet` of it, or a
        `sheet` of the workbook given as PATH."""
        if naming.file is None:
            if self.book is None:
                raise DataError(f"names sheet {naming.sheet!r} of {table} but no file; a sheet is of a workbook: give "
                                "its file too, or give the workbook as PATH", location=naming.where)
            path = self.book
        else:
            path = self.home / naming.file
            if not path.exists():
                raise DataError(f"names file {naming.file!r} for {table}, which is not in {self.home}",
                                location=naming.where)
        kind = "parquet" if path.is_dir() else export_kind(path)
        if kind is None:
            raise DataError(f"names file {naming.file!r} for {table}: not an export this tool reads "
                            f"({', '.join(sorted(FORMATS))}, or a folder of Parquet files)", location=naming.where)
        if kind == "parquet" and path.is_dir() and not parquet_parts(path):
            raise DataError(f"names folder {naming.file!r} for {table}, which holds no Parquet file",
                            location=naming.where)
        sheet = naming.sheet
        if sheet is not None:
            if kind != "xlsx":
                raise DataError(f"names sheet {sheet!r} of {table} in {path.name}, which is not a workbook",
                                location=naming.where)
            sheets = sheet_names(path)
            sheet = next((s for s in sheets if s.strip().lower() == sheet.strip().lower()), None)
            if sheet is None:
                raise DataError(f"names sheet {naming.sheet!r} of {table}, which {path.name} does not have; its "
                                f"sheets: {', '.join(sheets)}", location=naming.where)
        return Export(table, path, kind, sheet)


def export_key(path: Path) -> str | None:
    """The table key a file or folder of the site's folder names (name_key)."""
    return name_key(path.name, path.is_dir())


def name_key(name: str, folder: bool) -> str | None:
    """The table key a file or folder name names: `JobMtl.csv`, `Erp.JobMtl.parquet`, a folder `JobMtl.parquet/` or
    `JobMtl/`; None for a file of another kind."""
    if folder:
        return table_key(name.lower().removesuffix(".parquet"))
    return table_key(Path(name).stem) if export_kind(Path(name)) else None


class Entry(NamedTuple):
    """A file or folder of a site's folder, wherever the folder is (on this machine, or at a URI Spark reads)."""

    name: str
    folder: bool
    delta: bool = False  # a folder holding a _delta_log (a Delta table)
    parts: bool = True  # a folder holding Parquet data files


def matched(entries: list[Entry], table_names: list[str], where: str) -> dict[str, Entry]:
    """The entry named after each of `table_names`, in name order; two for one table, or a Delta table, is an
    error. `where`: the folder, as messages name it."""
    wanted = {name.lower(): name for name in table_names}
    found: dict[str, Entry] = {}
    for entry in sorted(entries):
        key = name_key(entry.name, entry.folder)
        if key not in wanted:
            continue
        if entry.folder:
            if entry.delta:
                raise DataError("is a Delta table: its folder also holds the Parquet files of its old versions; "
                                "write the table out as Parquet or CSV first", location=f"{where}/{entry.name}")
            if not entry.parts:
                continue
        table = wanted[key]
        if table in found:
            raise DataError(f"two exports of table {table}: {found[table].name} and {entry.name}; keep one",
                            location=where)
        found[table] = entry
    return found


def entry_format(entry: Entry) -> str:
    return "parquet" if entry.folder else FORMATS[Path(entry.name).suffix.lower()]


def alike_names(names: list[tuple[str | None, str]], table: str, table_names: list[str]) -> list[str]:
    """The export names (keys as export_key gives them, with their shown names) not named after any table but
    whose name holds this one's, and no longer table name (JobMtl_2026-11.csv, Erp_JobMtl (1).xlsx;
    PartPlant_export.csv is PartPlant's, not Part's). `names`: (key, shown name) pairs."""
    longest_first = sorted(table_names, key=len, reverse=True)
    exact = {table_key(name) for name in table_names}
    found = []
    for key, shown in names:
        if key is None or key in exact:
            continue
        if next((name for name in longest_first if name.lower() in key), None) == table:
            found.append(shown)
    return found


def look_alikes(folder: Path, table: str, table_names: list[str]) -> list[str]:
    """The files of a folder that look like the table's export under another name (alike_names)."""
    names = [(export_key(p), p.name) for p in sorted(folder.iterdir())] if folder.is_dir() else []
    return alike_names(names, table, table_names)


def hint(alike: list[str], table: str) -> str:
    return f"; {', '.join(alike)} look(s) like {table}'s export: name the file after the table" if alike else ""


class FolderSource(FileSource):
    def __init__(self, path: Path) -> None:
        super().__init__(path, path)

    def expected(self, table: str) -> str:
        return f"a file such as {table}.csv in the folder"

    def looked_for(self, table: str) -> str:
        return f"{table}.csv, .parquet or .xlsx"

    def look_alike_hint(self, table: str, table_names: list[str]) -> str:
        return hint(look_alikes(self.path, table, table_names), table)

    def by_name(self, table_names: list[str]) -> dict[str, Export]:
        folder = self.path
        if not folder.exists():
            raise DataError("does not exist: give the folder of the site's exports, or its workbook",
                            location=str(folder))
        if not folder.is_dir():
            raise DataError("is neither a folder of Epicor table exports nor a workbook (.xlsx) with a sheet per "
                            "table", location=str(folder))
        wanted = {name.lower() for name in table_names}
        entries = [Entry(path.name, True, (path / "_delta_log").is_dir(), bool(parquet_parts(path)))
                   if path.is_dir() else Entry(path.name, False)
                   for path in folder.iterdir() if export_key(path) in wanted]  # a folder's files listed if wanted
        return {table: Export(table, folder / entry.name, entry_format(entry))
                for table, entry in matched(entries, table_names, str(folder)).items()}
