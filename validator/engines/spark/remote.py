"""A site whose exports are at a URI Spark reads (`s3a://`, `abfss://`, `gs://`, `hdfs://`, `file://`): a folder
of exports as a local folder is (validator/sources/folder.py), listed and fetched through Spark's own file system,
Hadoop's, with the credentials and connectors Spark is configured with. Spark reads each Parquet export where it
is. The embedded engine, which checks the contracts and makes the verdicts, reads a copy of each export the run
needs (and of the site's own files: attestations.yaml, a snapshot's manifest), fetched to a temporary folder on the
driver and removed when the command is done; messages name the exports by their URIs."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from validator.errors import DataError
from validator.sources import Export, Naming
from validator.sources.epicor_rest import MANIFEST
from validator.sources.folder import Entry, FileSource, alike_names, entry_format, hint, matched, name_key


def _reason(exc: Exception) -> str:
    """What went wrong in the JVM, in one line (a Py4J error's own text is the Java stack)."""
    java = getattr(exc, "java_exception", None)
    return (str(java.toString()) if java is not None else str(exc)).strip().splitlines()[0]


class RemoteFolder(FileSource):
    def __init__(self, uri: str, session: Any) -> None:
        self.uri = uri.rstrip("/")
        context = session.sparkContext
        self._path = context._jvm.org.apache.hadoop.fs.Path
        self._entries: list[Entry] | None = None
        try:
            self.fs = self._path(self.uri).getFileSystem(context._jsc.hadoopConfiguration())
        except Exception as exc:  # noqa: BLE001 - Py4J raises the JVM's error as its own type
            reason = _reason(exc)
            advice = ("; the file system's connector is not on Spark's classpath: hadoop-aws for s3a://, hadoop-azure "
                      "for abfss:// (spark.jars.packages in the spark-defaults.conf of SPARK_CONF_DIR), or run on a "
                      "cluster that has it" if "ClassNotFoundException" in reason else "")
            raise DataError(f"Spark cannot read this location ({reason}){advice}", location=self.uri) from None
        staging = Path(tempfile.mkdtemp(prefix="backflush-site-"))
        super().__init__(staging, staging)
        self.location = self.home_location = self.uri  # the site's own files are fetched from it too

    def expected(self, table: str) -> str:
        return f"a file such as {table}.csv or {table}.parquet at {self.uri}"

    def looked_for(self, table: str) -> str:
        return f"{table}.csv, .parquet or .xlsx"

    def look_alike_hint(self, table: str, table_names: list[str]) -> str:
        names = [(name_key(entry.name, entry.folder), entry.name) for entry in self._listing()]
        return hint(alike_names(names, table, table_names), table)

    def by_name(self, table_names: list[str]) -> dict[str, Export]:
        return {table: self._export(table, entry.name, entry_format(entry))
                for table, entry in matched(self._listing(table_names), table_names, self.uri).items()}

    def site_file(self, name: str) -> Path | None:
        return self.path / name if self._fetched(name, folder=False) else None

    def snapshot(self) -> dict[str, Any] | None:
        self._fetched(MANIFEST, folder=False)
        return super().snapshot()

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def _named(self, table: str, naming: Naming) -> Export:
        """The export backflush.yaml names, relative to the site's URI."""
        if naming.file is not None:
            if not self._fetched(naming.file):
                raise DataError(f"names file {naming.file!r} for {table}, which is not at {self.uri}",
                                location=naming.where)
            export = super()._named(table, naming)
            return replace(export, label=f"{self.uri}/{naming.file}", uri=f"{self.uri}/{naming.file}")
        return super()._named(table, naming)

    def _export(self, table: str, name: str, kind: str) -> Export:
        self._fetched(name)
        return Export(table, self.path / name, kind, label=f"{self.uri}/{name}", uri=f"{self.uri}/{name}")

    def _listing(self, table_names: list[str] | None = None) -> list[Entry]:
        """The files and folders at the site's URI (a folder looked into only when it may be a wanted table's)."""
        if self._entries is None:
            root = self._path(self.uri)
            try:
                if not self.fs.getFileStatus(root).isDirectory():
                    raise DataError("is not a folder of Epicor table exports", location=self.uri)
                statuses = list(self.fs.listStatus(root))
            except DataError:
                raise
            except Exception as exc:  # noqa: BLE001 - Py4J raises the JVM's error as its own type
                raise DataError(f"cannot list the site's exports: {_reason(exc)}", location=self.uri) from None
            self._entries = sorted(Entry(str(status.getPath().getName()), bool(status.isDirectory()))
                                   for status in statuses)
        if table_names is None:
            return self._entries
        wanted = {name.lower() for name in table_names}
        return [Entry(entry.name, True, self._exists(f"{entry.name}/_delta_log"), self._holds_parquet(entry.name))
                if entry.folder else entry
                for entry in self._entries if name_key(entry.name, entry.folder) in wanted]

    def _exists(self, name: str) -> bool:
        try:
            return bool(self.fs.exists(self._path(f"{self.uri}/{name}")))
        except Exception as exc:  # noqa: BLE001 - Py4J raises the JVM's error as its own type
            raise DataError(f"cannot read it: {_reason(exc)}", location=f"{self.uri}/{name}") from None

    def _holds_parquet(self, name: str) -> bool:
        """Whether the folder holds a Parquet data file (sources.parquet_parts: _-prefixed and hidden are not)."""
        try:
            files = self.fs.listFiles(self._path(f"{self.uri}/{name}"), True)
            while files.hasNext():
                relative = str(files.next().getPath().toString()).split(f"/{name}/", 1)[-1]
                if relative.endswith(".parquet") and not any(p.startswith(("_", ".")) for p in relative.split("/")):
                    return True
        except Exception as exc:  # noqa: BLE001 - Py4J raises the JVM's error as its own type
            raise DataError(f"cannot list the folder: {_reason(exc)}", location=f"{self.uri}/{name}") from None
        return False

    def _fetched(self, name: str, folder: bool | None = None) -> bool:
        """Copies the file or folder `name` at the site's URI to the staging folder, once; whether it is there.
        `folder`: False when only a file will do."""
        local = self.path / name
        if local.exists():
            return True
        source = self._path(f"{self.uri}/{name}")
        try:
            if not self.fs.exists(source) or (folder is False and self.fs.getFileStatus(source).isDirectory()):
                return False
            local.parent.mkdir(parents=True, exist_ok=True)
            self.fs.copyToLocalFile(False, source, self._path(local.resolve().as_uri()), True)
        except Exception as exc:  # noqa: BLE001 - Py4J raises the JVM's error as its own type
            raise DataError(f"cannot fetch it: {_reason(exc)}", location=f"{self.uri}/{name}") from None
        return True
