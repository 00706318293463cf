"""The Spark engine (`--engine spark`, `--spark-master`, default `local[*]`): the same compiled rules run through
ibis' PySpark backend. Parquet exports are read by Spark itself, typed as the table registry declares; exports
written as text (CSV, XLSX) and the site's own files are read and typed by the embedded engine, as every run reads
them, and handed to Spark. The embedded engine reads every export too (its contracts and text facts): a site at a
URI Spark reads (`s3a://`, `abfss://`: remote.py) is fetched for it to a temporary folder on the driver, while Spark
reads the Parquet exports where they are. The embedded engine
also checks the table contracts, stamps the findings from the flagged rows each pass brings back, and makes the
verdicts, so findings and verdicts are made as the default engine makes them. Spark binds to 127.0.0.1 unless
SPARK_LOCAL_IP says otherwise."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from validator.engines.duckdb import DuckDBEngine
from validator.engines.duckdb.load import DuckDBSite
from validator.engines.sql import SQLEngine
from validator.errors import ConfigError
from validator.findings import VerdictBasis, Verdicts
from validator.site import Site
from validator.sources import Export, Naming, Source
from validator.tables import Registry

if TYPE_CHECKING:
    from validator.engines.spark.remote import RemoteFolder

SPARK_TYPES = {"string": "string", "boolean": "boolean", "integer": "bigint", "decimal": "double", "date": "date"}


@dataclass(kw_only=True)
class SparkSite(Site):
    backend: Any
    local: DuckDBSite
    names: dict[str, str] = field(default_factory=dict)  # Epicor table -> its temporary view in Spark
    documents: set[str] = field(default_factory=set)


class SparkEngine(SQLEngine):
    name = "spark"

    def __init__(self, spark_master: str = "local[*]", memory_limit: str | None = None,
                 cache_dir: Path | None = None) -> None:
        self.master, self.dialect = spark_master, "pyspark"
        self.local = DuckDBEngine(memory_limit=memory_limit)
        self.session: Any = None

    def _spark(self) -> Any:
        """The Spark session, started once."""
        if self.session is not None:
            return self.session
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError("--engine spark needs PySpark: pip install \"backflush-validator[spark]\" (and Java 17)") \
                from None
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        host = os.environ["SPARK_LOCAL_IP"]
        self.session = (SparkSession.builder.master(self.master).appName("backflush-validator")
                        .config("spark.driver.host", host).config("spark.driver.bindAddress", host)
                        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
                        .config("spark.ui.showConsoleProgress", "false")  # its bars would land in a report on stdout
                        .getOrCreate())
        self.session.sparkContext.setLogLevel("ERROR")
        return self.session

    def _connect(self) -> Any:
        import ibis

        return ibis.pyspark.connect(self._spark())

    def open_site(self, uri: str) -> RemoteFolder:
        """A site at a URI Spark reads (remote.py)."""
        from validator.engines.spark.remote import RemoteFolder

        return RemoteFolder(uri, self._spark())

    def load(self, source: Source, registry: Registry, needs: dict[str, set[str]], *,
             documents: Mapping[str, Export] | None = None, date_order: str = "auto", decimal_separator: str = "auto",
             named: Mapping[str, Naming] | None = None) -> SparkSite:
        local = self.local.load(source, registry, needs, documents=documents, date_order=date_order,
                                decimal_separator=decimal_separator, named=named)
        site = SparkSite(source, backend=self._connect(), local=local, documents=set(documents or {}))
        site.tables, site.absent = local.tables, local.absent
        site.date_order, site.decimal_separator = local.date_order, local.decimal_separator
        return site

    def typed(self, site: SparkSite) -> None:
        """The contracts are kept: each table goes to Spark, Parquet read by Spark, text as the embedded engine typed
        it."""
        self.local.typed(site.local)
        for table, loaded in site.tables.items():
            if table in site.documents:
                continue
            view = f"backflush_{table}"
            if loaded.source.format == "parquet":
                frame = self.session.read.parquet(*loaded.source.parquet_locations())
                columns = [self._typed(frame, c, loaded.columns.get(c), loaded.table.columns[c].type)
                           for c in sorted({*loaded.columns, *loaded.absent_optional, *loaded.missing})]
                frame = frame.select(*columns)
            else:
                frame = self.session.createDataFrame(site.local.con.execute(f'SELECT * FROM "{table}"').to_arrow_table())
            frame.createOrReplaceTempView(view)
            site.names[table] = view

    @staticmethod
    def _typed(frame: Any, column: str, header: str | None, kind: str) -> Any:
        """A Parquet column as the registry types it (what the embedded engine's typed view does for typed columns):
        text without trailing spaces, a blank as null; a number stored where a flag is expected, non-zero as true."""
        from pyspark.sql import functions as F  # noqa: N812 - PySpark's own convention

        if header is None:
            return F.lit(None).cast(SPARK_TYPES[kind]).alias(column)
        value = F.col(f"`{header}`")
        if kind == "string":
            trimmed = F.rtrim(value.cast("string"))
            return F.when(trimmed == "", None).otherwise(trimmed).alias(column)
        if kind == "boolean" and dict(frame.dtypes)[header] not in ("boolean", "string"):
            return (value != 0).alias(column)
        return value.cast(SPARK_TYPES[kind]).alias(column)

    def _table(self, site: Any, table: str) -> Any:
        return site.backend.table(site.names[table])

    def latest_history_date(self, site: SparkSite, registry: Registry) -> Any:
        return self.local.latest_history_date(site.local, registry)

    def arrow(self, site: SparkSite, table: str, columns: list[str]) -> pa.Table:
        return self.local.arrow(site.local, table, columns)

    def contracts(self, site: SparkSite, empty_tables: frozenset[str] = frozenset()) -> dict:
        return self.local.contracts(site.local, empty_tables)

    def _fetch(self, site: Any, query: Any) -> pa.Table:
        return query.to_pyarrow()

    def verdicts(self, site: SparkSite, basis: VerdictBasis) -> Verdicts:
        return self.local.verdicts(site.local, basis)

    def close(self, site: SparkSite) -> None:
        self.local.close(site.local)


def create(**options: object) -> SparkEngine:
    return SparkEngine(**options)  # type: ignore[arg-type]
