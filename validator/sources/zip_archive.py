"""A ZIP of exports (`check exports.zip`): the files a folder of exports would hold, at the top of the archive or
in one folder that holds everything. The members a run needs are extracted into a temporary folder, removed when
the source is closed; messages name the member inside the archive (`exports.zip/JobMtl.csv`)."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath

from validator.errors import DataError
from validator.sources import FORMATS, Export, Naming, export_kind, table_key
from validator.sources.folder import alike_names, hint, sheet_names


def accepts(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def open(path: Path) -> ZipSource:  # noqa: A001 - every source module opens a path
    return ZipSource(path)


def _is_data(member: PurePosixPath) -> bool:
    """A member that may be an export: not macOS' resource forks, nothing hidden or _-prefixed (Spark's _SUCCESS),
    and nothing that would land outside the folder it is extracted into (an absolute path, `..`)."""
    parts = member.parts
    return bool(parts) and not member.is_absolute() and parts[0] != "__MACOSX" \
        and not any(p.startswith((".", "_")) for p in parts)


class ZipSource:
    def __init__(self, path: Path) -> None:
        self.path, self.home, self.location = path, path.parent, str(path)  # the site's own files: beside the ZIP
        self.home_location = str(path.parent)
        try:
            with zipfile.ZipFile(path) as archive:
                names = [info.filename for info in archive.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"cannot open as a ZIP archive: {exc}", location=str(path)) from None
        members = [PurePosixPath(name) for name in names if _is_data(PurePosixPath(name))]
        tops = {m.parts[0] for m in members}
        # a ZIP made of a folder holds that folder: its files are the exports
        self.prefix = PurePosixPath(next(iter(tops))) if len(tops) == 1 and all(len(m.parts) > 1 for m in members) \
            else PurePosixPath()
        self.members = [m.relative_to(self.prefix) for m in members]
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def site_file(self, name: str) -> Path | None:
        """A file of the site's own is kept beside the ZIP (where `backflush init` writes it), never read from
        inside it: one inside is named, so that it is not passed over in silence."""
        path = self.home / name
        if path.is_file():
            return path
        inside = [m for m in self.members if m.name.lower() == name.lower()]
        if inside:
            raise DataError(f"holds {self.prefix / inside[0]}: the site's answers are read beside the ZIP, from "
                            f"{path}; move it there (or give it with --attestations)", location=str(self.path))
        return None

    def snapshot(self) -> None:
        return None

    def expected(self, table: str) -> str:
        return f"a file such as {table}.csv in the ZIP"

    def looked_for(self, table: str) -> str:
        return f"{table}.csv, .parquet or .xlsx"

    def look_alike_hint(self, table: str, table_names: list[str]) -> str:
        return hint(alike_names([(self._key(m), str(m)) for m in self.members if len(m.parts) == 1], table,
                                table_names), table)

    @staticmethod
    def _key(member: PurePosixPath) -> str | None:
        """The table key a member names: a file at the top (`JobMtl.csv`), or the folder of a table's Parquet files
        (`JobMtl.parquet/part-0.parquet`, `JobMtl/Plant=MfgSys/part-0.parquet`)."""
        if len(member.parts) == 1:
            return table_key(member.stem) if export_kind(member) else None  # type: ignore[arg-type]
        return table_key(member.parts[0].lower().removesuffix(".parquet")) if member.suffix.lower() == ".parquet" \
            else None

    def exports(self, table_names: list[str], named: Mapping[str, Naming] | None = None) -> dict[str, Export]:
        wanted = {name.lower(): name for name in table_names}
        chosen: dict[str, PurePosixPath] = {}  # table -> its file, or the folder of its Parquet files
        for member in sorted(self.members):
            table = wanted.get(self._key(member) or "")
            if table is None:
                continue
            entry = member if len(member.parts) == 1 else PurePosixPath(member.parts[0])
            if table in chosen and chosen[table] != entry:
                raise DataError(f"two exports of table {table}: {chosen[table]} and {entry}; keep one",
                                location=str(self.path))
            chosen[table] = entry
        found = {table: self._export(table, entry) for table, entry in chosen.items()}
        for table, naming in (named or {}).items():
            if table not in table_names:
                continue
            if naming.file or naming.sheet:
                found[table] = self._named(table, naming)
            elif table in found:
                found[table] = replace(found[table], naming=naming)
        return found

    def _named(self, table: str, naming: Naming) -> Export:
        """The member backflush.yaml names as `file` (its path inside the ZIP), perhaps a `sheet` of it."""
        if naming.file is None:
            raise DataError(f"names sheet {naming.sheet!r} of {table} but no file; in a ZIP, give the workbook's file "
                            "too", location=naming.where)
        entry = PurePosixPath(naming.file)
        if entry not in self.members and not any(m.parts[:len(entry.parts)] == entry.parts for m in self.members):
            raise DataError(f"names file {naming.file!r} for {table}, which is not in {self.path}",
                            location=naming.where)
        export = self._export(table, entry)
        if export.format not in ("csv", "xlsx", "parquet"):
            raise DataError(f"names file {naming.file!r} for {table}: not an export this tool reads "
                            f"({', '.join(sorted(FORMATS))}, or a folder of Parquet files)", location=naming.where)
        sheet = naming.sheet
        if sheet is not None:
            if export.format != "xlsx":
                raise DataError(f"names sheet {sheet!r} of {table} in {entry.name}, which is not a workbook",
                                location=naming.where)
            sheets = sheet_names(export.path, export.where)
            sheet = next((s for s in sheets if s.strip().lower() == sheet.strip().lower()), None)
            if sheet is None:
                raise DataError(f"names sheet {naming.sheet!r} of {table}, which {entry.name} does not have; its "
                                f"sheets: {', '.join(sheets)}", location=naming.where)
        return replace(export, sheet=sheet, naming=naming)

    def _export(self, table: str, entry: PurePosixPath) -> Export:
        """The entry (a file, or a folder of Parquet files) extracted, labelled with its place in the ZIP."""
        parts = [m for m in self.members if m == entry or m.parts[:len(entry.parts)] == entry.parts]
        folder = Path(self._extracted())
        with zipfile.ZipFile(self.path) as archive:
            for member in parts:
                target = folder.joinpath(*member.parts)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(str(self.prefix / member)) as data, target.open("wb") as out:
                        while chunk := data.read(1 << 20):
                            out.write(chunk)
        is_folder = parts != [entry]
        kind = "parquet" if is_folder else (export_kind(Path(entry.name)) or "other")
        return Export(table, folder.joinpath(*entry.parts), kind, label=f"{self.path}/{self.prefix / entry}")

    def _extracted(self) -> str:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="backflush-zip-")
        return self._folder.name
