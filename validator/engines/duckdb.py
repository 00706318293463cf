"""The embedded default engine: DuckDB in-process, through ibis. No extension is downloaded."""

from __future__ import annotations

import functools
from dataclasses import replace

import duckdb
import ibis

from validator.engines import duckdb_findings, duckdb_verdicts
from validator.findings import Findings, VerdictBasis, Verdicts
from validator.readers import Site
from validator.rules.compiler import Catalog, CompiledTable, Rows
from validator.tables import COMPANY


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.memory_limit = memory_limit
        self.threads = threads

    def connect(self) -> duckdb.DuckDBPyConnection:
        config = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
        con = duckdb.connect(config=config)
        con.execute("SET enable_progress_bar = false")  # its bar would land in a report written to stdout
        # every result the tool reads in an order says ORDER BY (findings, verdicts, example rows by __row): tables
        # made on the way need not keep their rows' order
        con.execute("SET preserve_insertion_order = false")
        if self.memory_limit:
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        return con

    def catalog(self, site: Site) -> Catalog:
        return functools.cache(site.ibis().table)  # each lookup asks DuckDB for the schema; a pass looks up often

    def sql(self, query: ibis.Table) -> str:
        """The SQL DuckDB runs: ibis leaves the selects of a pass nested, which DuckDB's optimizer flattens, instead
        of fusing them, which costs more Python than DuckDB's planning saves. `explain --sql` prints the fused
        query, the one to read."""
        fused = ibis.options.sql.fuse_selects
        ibis.options.sql.fuse_selects = False
        try:
            return str(ibis.to_sql(query, dialect="duckdb"))
        finally:
            ibis.options.sql.fuse_selects = fused

    def collect(self, site: Site, compiled: CompiledTable) -> None:
        loaded = site.tables.get(compiled.table)
        if loaded is not None and COMPANY in loaded.absent_optional:  # an export without Company: a key without it
            compiled = replace(compiled, key=tuple(c for c in compiled.key if c != COMPANY))
        duckdb_findings.collect(site.con, compiled, compiled.sql or self.sql(compiled.query))

    def findings(self, site: Site) -> Findings:
        return duckdb_findings.unique_findings(site.con)

    def verdicts(self, site: Site, basis: VerdictBasis) -> Verdicts:
        return duckdb_verdicts.verdicts(site.con, site, basis)

    def count(self, site: Site, table: str) -> int:
        return site.tables[table].rows

    def rows(self, site: Site) -> Rows:
        return lambda expr: int(expr.count().execute())

    def count_sql(self, site: Site, sql: str) -> int:
        return int(site.con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0])


def create(**options: object) -> DuckDBEngine:
    return DuckDBEngine(**options)  # type: ignore[arg-type]
