"""Sources: where a site's exports come from. A source finds, per Epicor table, its export (a file, a sheet, the
Parquet files Spark wrote, a member of a ZIP, rows in memory) and says where it is, for messages; an engine reads
the columns a run asks for from it (validator/engines/).

Each kind of source is one module with `accepts(path)` and `open(path)`, named once in SOURCES: the first whose
`accepts` says yes opens PATH. Text exports (CSV, XLSX, rows in memory) are read here into Arrow tables of text
with the export's data row of each row (ROW); Parquet files are handed to the engine, which scans them itself.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from validator.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx",
           ".xlsm": "xlsx"}
RECORDS = "records"  # an export's rows given in memory as text columns (rule examples, attestations)
Columns = Callable[[list[str]], Collection[str]]  # an export's header -> the names of the columns to read
ROW = "__row"  # the data row of the export (1-based) a row came from: wholly blank rows are left out, not counted again
# the kinds of source, tried in this order (module path); the folder comes last, as it also names what is missing
SOURCES = ("validator.sources.zip_archive", "validator.sources.workbook", "validator.sources.folder")


def header_text(header: str) -> str:
    """A header as headers compare: any case, surrounding spaces and a byte order mark left out."""
    return header.strip().lstrip("\ufeff").lower()


@dataclass(frozen=True)
class TextBatches:
    """An export's columns as text and ROW, a block of rows at a time: an engine stores them as they come, so a large
    export is never whole in memory as Arrow. Rows blank in every column of the export are no data: the batches may
    hold some, whose ROW `blank_rows` gives once they are read (a reader of some columns knows them only then)."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    blank_rows: Callable[[], Collection[int]] = field(default=lambda: ())

    @classmethod
    def of_table(cls, data: pa.Table) -> TextBatches:
        """A table of text read whole (a sheet, rows in memory), numbered 1, 2, ... when it has no ROW."""
        if ROW not in data.column_names:
            import numpy
            import pyarrow as pa

            data = data.append_column(ROW, pa.array(numpy.arange(1, data.num_rows + 1, dtype=numpy.int64)))
        return cls(data.schema, iter(data.to_batches()))


@dataclass(frozen=True)
class Naming:
    """What backflush.yaml's `exports:` says of one table's export: its file (relative to the site's folder) or
    sheet, and headers that name its columns otherwise than Epicor does."""

    file: str | None = None
    sheet: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # (Epicor column, the export's header)
    where: str = "backflush.yaml"  # the config's line that says so, for messages


@dataclass(frozen=True)
class Export:
    """One table's export. `path`: the file to read, or the folder of a table's Parquet files; `label`: how
    messages name it when that is not its path (a member of a ZIP); `data`: the rows of a RECORDS export."""

    table: str
    path: Path
    format: str  # csv, xlsx, parquet or RECORDS
    sheet: str | None = None  # the table's sheet, when one workbook holds every table
    naming: Naming | None = None  # what backflush.yaml says of this export
    label: str | None = None
    data: pa.Table | None = None
    uri: str | None = None  # where Spark reads the export, when `path` is a copy of it (a site at a URI)

    @property
    def where(self) -> str:
        """The file (and sheet) as messages name it."""
        name = self.label or str(self.path)
        return f"{name} (sheet {self.sheet})" if self.sheet else name

    def text(self, columns: Columns) -> TextBatches:
        """The export's columns `columns` chooses from its header, as text, with ROW (CSV, XLSX, RECORDS): a CSV
        file a block of rows at a time, as it is read."""
        from validator.sources.csv_reader import csv_batches
        from validator.sources.xlsx_reader import read_xlsx

        try:
            if self.format == RECORDS:
                assert self.data is not None
                chosen = set(columns(self.data.column_names))
                return TextBatches.of_table(self.data.select([c for c in self.data.column_names
                                                              if c in chosen or c == ROW]))
            if self.format == "csv":
                return self._relabelling(csv_batches(self.path, columns))
            return TextBatches.of_table(read_xlsx(self.path, self.sheet or self.table, columns))
        except DataError as exc:
            raise self._relabelled(exc) from None

    def _relabelling(self, text: TextBatches) -> TextBatches:
        """The batches, whose errors (a line that does not parse, met as it is read) name the export as messages do."""
        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from text.batches
            except DataError as exc:
                raise self._relabelled(exc) from None

        def blank_rows() -> Collection[int]:
            try:
                return text.blank_rows()
            except DataError as exc:
                raise self._relabelled(exc) from None
        return TextBatches(text.schema, batches(), blank_rows)

    def parquet_files(self) -> list[Path]:
        """The data files of a Parquet export, in name order (a table Spark wrote is a folder of them)."""
        return parquet_parts(self.path) if self.path.is_dir() else [self.path]

    def parquet_locations(self) -> list[str]:
        """The data files of a Parquet export as Spark reads them: at the site's URI when `path` is a copy."""
        files = self.parquet_files()
        if self.uri is None:
            return [str(path) for path in files]
        if not self.path.is_dir():
            return [self.uri]
        return [f"{self.uri}/{path.relative_to(self.path).as_posix()}" for path in files]

    def _relabelled(self, exc: DataError) -> DataError:
        """A reader's error, naming the export as messages name it (a member of a ZIP, not its temporary copy)."""
        if self.label and exc.location and exc.location.startswith(str(self.path)):
            message = str(exc).removeprefix(f"{exc.location}: ")
            return type(exc)(message, location=self.label + exc.location[len(str(self.path)):])
        return exc


class Source(Protocol):
    """A site's exports. `location`: PATH as messages name it; `home`: the (local) folder the site's own files
    (attestations.yaml) are kept in."""

    location: str
    home: Path
    home_location: str  # `home` as messages name it

    def exports(self, table_names: list[str], named: Mapping[str, Naming] | None = None) -> dict[str, Export]:
        """The export of each of `table_names` the source has (`named`: backflush.yaml's `exports:`, whose file or
        sheet wins over the one named after the table)."""

    def expected(self, table: str) -> str:
        """Where a table's export is expected, as a message says it ("a file such as JobMtl.csv in the folder")."""

    def looked_for(self, table: str) -> str:
        """What was looked for, as a message about a missing table says it ("JobMtl.csv, .parquet or .xlsx")."""

    def look_alike_hint(self, table: str, table_names: list[str]) -> str:
        """'; JobMtl_2026-11.csv look(s) like ...' when an export seems to be the table's under another name."""

    def site_file(self, name: str) -> Path | None:
        """A file of the site's own (attestations.yaml) in `home`, or None when there is none."""

    def snapshot(self) -> dict[str, Any] | None:
        """The manifest of a snapshot `backflush pull` wrote (source, company, time, tables), or None."""

    def close(self) -> None:
        """Let go of what the source holds (a ZIP's extracted members)."""


URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # s3a://, abfss://, gs://, hdfs://, file://


def site_location(text: str) -> Path | str:
    """PATH as the command line gives it: a local path, or a URI (kept as text: a Path would fold its '//')."""
    return text if URI.match(text) else Path(text)


def open_source(path: Path) -> Source:
    """The source PATH is: a ZIP of exports, a workbook with a sheet per table, or a folder of exports."""
    for name in SOURCES:
        module = importlib.import_module(name)
        if module.accepts(path):
            return module.open(path)
    raise DataError("is not a source of exports", location=str(path))  # the folder accepts every path


def parquet_parts(folder: Path) -> list[Path]:
    """The data files of a table Spark or Databricks wrote as a folder (part-*.parquet, perhaps in Hive partition
    folders such as Plant=MfgSys), in name order; _SUCCESS, _-prefixed and hidden files are not data."""
    return sorted(path for path in folder.rglob("*.parquet") if path.is_file()
                  and not any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts))


def table_key(name: str) -> str:
    """How a file, folder or sheet name is matched to a table's: any case, `Erp.` (the schema) in front or not."""
    return name.lower().removeprefix("erp.")


def export_kind(path: Path) -> str | None:
    """The format of a file of a source (csv, xlsx, parquet), or None for a file of another kind."""
    return FORMATS.get(path.suffix.lower())
