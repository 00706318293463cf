"""The database engine (`--engine sql --url postgresql://...`): the compiled rules run inside the customer's
database, against Epicor's schema (`Erp.Part`, `Erp.JobMtl`, ...), through ibis' backend for it; only the flagged
rows of each pass travel back. Read-only: the session is made read-only where the database allows it (PostgreSQL)
and the engine only ever reads.

What comes back is stamped into findings and judged into verdicts by the embedded engine's SQL (findings.py,
verdicts.py of engines/duckdb), so both engines make findings the same way; for the verdicts the few columns that
say which parts are components at which site (check.VERDICT_COLUMNS) are read back too. Tables the tool reads from
files of its own (the attestations) are judged by the embedded engine. The database's columns are typed and its
keys kept by the database itself, so no table contract is checked here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from validator.engines import VERDICT_COLUMNS
from validator.engines.duckdb import DuckDBEngine
from validator.engines.duckdb import findings as local_findings
from validator.engines.duckdb import verdicts as local_verdicts
from validator.engines.duckdb.load import DuckDBSite
from validator.errors import ConfigError, DataError
from validator.findings import Findings, VerdictBasis, Verdicts, Violation
from validator.rules.compile import CompiledTable, compile_batches, never_canonical
from validator.rules.compile.database_fields import base_columns, derived_columns, with_derived
from validator.rules.model import Check, Rule
from validator.rules.passes import counted_catalog
from validator.site import LoadedTable, Site
from validator.sources import Export, Naming, Source
from validator.tables import COMPANY, Registry

DIALECTS = {"postgresql": "postgres", "postgres": "postgres", "mssql": "mssql"}
VERDICT_TABLES = ("PartPlant", "JobMtl", "JobHead", "PartMtl", "PartRev")


def public(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"


@dataclass(kw_only=True)
class DatabaseSite(Site):
    """A site inside a database: `backend` (ibis) reads Epicor's tables; `local` (the embedded engine) holds the
    files of the site's own and makes findings and verdicts from what comes back."""

    backend: Any
    local: DuckDBSite
    names: dict[str, str] = field(default_factory=dict)  # Epicor table -> its name in the database
    documents: set[str] = field(default_factory=set)  # tables read from files, judged locally
    present: dict[str, str] = field(default_factory=dict)  # the schema's tables: lower-case name -> its name
    derived_columns: dict[str, list[str]] = field(default_factory=dict)  # per table, its fields derived from others


class SQLEngine:
    name = "sql"

    def __init__(self, url: str | None = None, schema: str = "Erp", memory_limit: str | None = None,
                 cache_dir: Path | None = None) -> None:
        if not url:
            raise ConfigError("--engine sql needs the database: --url postgresql://USER@HOST/DATABASE (or mssql://...)")
        scheme = urlsplit(url).scheme.split("+")[0]
        if scheme not in DIALECTS:
            raise ConfigError(f"--url {public(url)}: a database this engine reads is postgresql:// or mssql://")
        self.url, self.schema, self.dialect = url, schema, DIALECTS[scheme]
        self.local = DuckDBEngine(memory_limit=memory_limit)

    def _connect(self) -> Any:
        import ibis

        try:
            backend = ibis.connect(self.url)
        except Exception as exc:  # noqa: BLE001 - any driver's refusal is said, without the URL's password
            raise DataError(f"cannot connect: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                            location=public(self.url)) from None
        if self.dialect == "postgres":
            backend.raw_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").close()
        return backend

    def load(self, source: Source, registry: Registry, needs: dict[str, set[str]], *,
             documents: Mapping[str, Export] | None = None, date_order: str = "auto", decimal_separator: str = "auto",
             named: Mapping[str, Naming] | None = None) -> DatabaseSite:
        backend = self._connect()
        local_needs = {t: c for t, c in needs.items() if t in (documents or {})}
        local = self.local.load(source, registry, local_needs, documents=documents)
        site = DatabaseSite(source, backend=backend, local=local, documents=set(local_needs))
        site.tables.update(local.tables)
        try:
            present = site.present = {name.lower(): name for name in backend.list_tables(database=self.schema)}
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"cannot list the tables of schema {self.schema}: {str(exc).splitlines()[0]}",
                            location=public(self.url)) from None
        for table, columns in sorted(needs.items()):
            if table in local_needs:
                continue
            name = present.get(table.lower())
            if name is None:
                site.absent[table] = f"no table {self.schema}.{table} in {public(self.url)}"
                continue
            site.names[table] = name
            spec = registry.tables[table]
            found = {c.lower(): c for c in backend.get_schema(name, database=self.schema).names}
            mapping = {c: found[c.lower()] for c in columns if c.lower() in found}
            # a business-object field the database has not: derived from the columns it has, when it has them
            # (PartWhse.Plant from Warehse); one only exports carry (FinalOpr, PartMtl.BackFlush) reads as blank
            derivable = [c for c in derived_columns(spec, [c for c in columns if c not in mapping])
                         if self._derivable(backend, present, found, spec, c)]
            site.derived_columns[table] = derivable
            missing = tuple(sorted(c for c in columns if c not in mapping and c not in derivable
                                   and not spec.columns[c].optional and not spec.columns[c].history
                                   and not spec.columns[c].export_only))
            absent = tuple(sorted(c for c in columns if c not in mapping and c not in missing))
            rows = int(backend.table(name, database=self.schema).count().execute())
            export = Export(table, Path(f"{self.schema}.{name}"), "database", label=f"{public(self.url)} {self.schema}.{name}")
            site.tables[table] = LoadedTable(spec, export, mapping, absent, rows, missing=missing)
        return site

    def _derivable(self, backend: Any, present: dict[str, str], found: dict[str, str], spec: Any, column: str) -> bool:
        """Whether the database has what a business-object field is derived from: the other table, its columns,
        and this table's join columns."""
        way = spec.columns[column].database
        other = present.get(way["table"].lower())
        if other is None or not all(local.lower() in found for local in way["join"]):
            return False
        theirs = {c.lower() for c in backend.get_schema(other, database=self.schema).names}
        return all(c.lower() in theirs for c in (*way["join"].values(), way["column"]))

    def contracts(self, site: DatabaseSite, empty_tables: frozenset[str] = frozenset()) -> dict[str, list[Violation]]:
        out = self.local.contracts(site.local, empty_tables)
        for table, loaded in site.tables.items():
            if table not in site.documents and loaded.missing:
                out.setdefault(table, []).append(Violation(table, loaded.source.where, loaded.missing[0],
                                                           self._missing(loaded)))
        return out

    def _missing(self, loaded: LoadedTable) -> str:
        """What the database lacks; for a business-object field, the table and columns it is derived from."""
        derived = [c for c in loaded.missing if loaded.table.columns[c].database]
        if not derived:
            return loaded.missing_message() or "missing column"
        way = loaded.table.columns[derived[0]].database
        on = ", ".join(f"{mine} = {theirs}" for mine, theirs in way["join"].items())
        return (f"missing column(s) {', '.join(loaded.missing)}: {loaded.table.name}.{derived[0]} is filled in by Epicor's "
                f"business object, not stored; the database gives it as {self.schema}.{way['table']}.{way['column']} "
                f"({'summed ' if way.get('fn') == 'sum' else ''}on {on}), which this database does not have")

    def typed(self, site: DatabaseSite) -> None:
        self.local.typed(site.local)

    def _table(self, site: DatabaseSite, table: str) -> Any:
        """A table as the compiler reads it: its needed columns under Epicor's names, a column the database lacks
        (an optional one, or one only exports carry) as a typed null."""
        import ibis

        loaded = site.tables[table]
        expr = site.backend.table(site.names[table], database=self.schema)
        types = {"string": "string", "boolean": "boolean", "integer": "int64", "decimal": "float64", "date": "date"}
        # typed as the registry declares them, as the embedded engine types an export (numeric(22, 8) as a double)
        spec, derived = loaded.table, site.derived_columns.get(table, [])
        found = {c.lower(): c for c in expr.columns}
        # the columns read, and the join columns a derived field needs (PrimaryProdOpDtl), typed as declared
        stored = {**base_columns(spec, derived), **{c: spec.columns[c].type for c in loaded.columns}}
        base = expr.select(**{c: expr[loaded.columns.get(c) or found[c.lower()]].cast(types[kind])
                              for c, kind in stored.items() if c in loaded.columns or c.lower() in found})
        if derived:
            base = with_derived(base, spec, derived, lambda other, wanted: self._other(site, other, wanted))
        columns = {c: base[c].cast(types[spec.columns[c].type]) for c in (*loaded.columns, *derived)}
        for c in (*loaded.absent_optional, *loaded.missing):
            if c not in columns:
                columns[c] = ibis.null(types[spec.columns[c].type])
        return base.select(**columns)

    def _other(self, site: DatabaseSite, name: str, wanted: dict[str, str]) -> Any:
        """A table a business-object field is derived from, its columns under the names and types asked for."""
        expr = site.backend.table(site.present[name.lower()], database=self.schema)
        found = {c.lower(): c for c in expr.columns}
        return expr.select(**{c: expr[found[c.lower()]].cast(t) for c, t in wanted.items()})

    def latest_history_date(self, site: DatabaseSite, registry: Registry) -> dt.date | None:
        latest = self.local.latest_history_date(site.local, registry)
        for table, loaded in site.tables.items():
            column = registry.tables[table].history_date
            if table in site.documents or not column or column not in loaded.columns or not loaded.rows:
                continue
            value = self._table(site, table)[column].max().execute()
            if value is not None:
                value = value.date() if isinstance(value, dt.datetime) else value
                latest = value if latest is None or value > latest else latest
        return latest

    def distinct(self, site: DatabaseSite, table: str, columns: list[str]) -> list[tuple]:
        data = self.arrow(site, table, columns)
        rows = list(zip(*(data.column(c).to_pylist() for c in columns), strict=True))
        return sorted(rows, key=lambda r: tuple((v is None, v) for v in r))

    def arrow(self, site: DatabaseSite, table: str, columns: list[str]) -> pa.Table:
        if table in site.documents:
            return self.local.arrow(site.local, table, columns)
        return self._fetch(site, self._table(site, table).select(*columns).distinct())

    def passes(self, site: DatabaseSite, table: str, items: list[tuple[Rule, Check]],
               registry: Registry) -> list[CompiledTable]:
        if table in site.documents:
            return self.local.passes(site.local, table, items, registry)
        catalog, rows = counted_catalog(lambda name: self._table(site, name), lambda name: self.count(site, name),
                                        lambda expr: int(expr.count().execute()))
        return compile_batches(table, items, registry, catalog, never_canonical, False, rows)

    def sql(self, query: Any) -> str:
        import ibis

        return str(ibis.to_sql(query, dialect=self.dialect))

    def collect(self, site: DatabaseSite, compiled: CompiledTable) -> None:
        if compiled.table in site.documents:
            return self.local.collect(site.local, compiled)
        flagged = self._fetch(site, compiled.query)  # the pass runs in the database; its flagged rows come back
        site.local.con.register("__database_flagged", flagged)
        try:
            loaded = site.tables.get(compiled.table)
            if loaded is not None and COMPANY in loaded.absent_optional:
                compiled = replace(compiled, key=tuple(c for c in compiled.key if c != COMPANY))
            local_findings.collect(site.local.con, compiled, 'SELECT * FROM "__database_flagged"')
        finally:
            site.local.con.unregister("__database_flagged")
        return None

    def _fetch(self, site: DatabaseSite, query: Any) -> pa.Table:
        """A query's rows as Arrow typed as ibis typed them (a driver may hand back a numeric as a Decimal where the
        expression is a double: it is made a float)."""
        schema = query.schema().to_pyarrow()
        cursor = site.backend.raw_sql(self.sql(query))
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema.names]
        arrays = []
        for values, kind in zip(columns, schema.types, strict=True):
            if pa.types.is_floating(kind):
                values = [float(v) if isinstance(v, Decimal) else v for v in values]
            arrays.append(pa.array(list(values), type=kind))
        return pa.Table.from_arrays(arrays, schema=schema)

    def findings(self, site: DatabaseSite) -> Findings:
        return self.local.findings(site.local)

    def verdicts(self, site: DatabaseSite, basis: VerdictBasis) -> Verdicts:
        """The verdicts, by the embedded engine's SQL over the columns that place parts at sites, read back."""
        for table in VERDICT_TABLES:
            if table in site.names:
                loaded = site.tables[table]
                columns = [c for c in VERDICT_COLUMNS[table] if c in loaded.columns]
                site.local.con.register(table, self._fetch(site, self._table(site, table).select(*columns)))
                site.local.tables[table] = replace(loaded, columns={c: c for c in columns})
        return local_verdicts.verdicts(site.local.con, site.local, basis)

    def count(self, site: DatabaseSite, table: str) -> int:
        return site.tables[table].rows

    def close(self, site: DatabaseSite) -> None:
        try:
            site.backend.disconnect()
        finally:
            self.local.close(site.local)


def create(**options: object) -> SQLEngine:
    return SQLEngine(**options)  # type: ignore[arg-type]
