"""The embedded default engine: DuckDB in-process, through ibis. No extension is downloaded. This package is the
only one that imports duckdb (tests/test_layering.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import numpy
import pyarrow as pa

from validator.config.settings import byte_size
from validator.engines.duckdb import changed_verdicts as engine_changed_verdicts
from validator.engines.duckdb import findings as engine_findings
from validator.engines.duckdb import recorded as engine_recorded
from validator.engines.duckdb import verdicts as engine_verdicts
from validator.engines.duckdb.compile_cache import CompileCache, site_inputs
from validator.engines.duckdb.contracts import check_site
from validator.engines.duckdb.load import DuckDBSite, load_site, materialize_text_tables
from validator.engines.duckdb.sql_text import literal, quote
from validator.errors import OutOfDiskError, OutOfMemoryError
from validator.findings import Findings, VerdictBasis, Verdicts, Violation
from validator.rules.model import Check, Rule
from validator.rules.passes import CompiledTable, counted_catalog
from validator.site import join_keys
from validator.sources import Export, Naming, Source
from validator.tables import COMPANY, Registry
from validator.told import AUTO

T = TypeVar("T")
DOCUMENTS_SHARE = 4  # of the memory limit, the part the findings' documents may take in memory
FETCH_SHARE = 2  # of the memory limit, the part DuckDB works in while the findings are fetched

if TYPE_CHECKING:
    import ibis

    from validator.rules.compile import Catalog, Rows


def _no_space(exc: BaseException) -> bool:
    """Whether an error is a full disk: DuckDB's own (an IO error), or one of a file written beside it."""
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def _within_memory(method: Callable[..., T]) -> Callable[..., T]:
    """DuckDB running out of memory (its limit reached with nothing left to spill) is a clear error with exit code 3,
    a full disk under its temporary folder one with exit code 4; not a traceback."""
    @functools.wraps(method)
    def run(self: DuckDBEngine, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except duckdb.OutOfMemoryException as exc:
            limit = f"the memory limit of {self.memory_limit}" if self.memory_limit else "DuckDB's default memory limit"
            reason = str(exc).strip().splitlines()[0]
            raise OutOfMemoryError(f"the engine ran out of memory under {limit} ({reason}); run again with a larger "
                                   "--memory-limit (beyond it DuckDB spills to its temporary folder), or with fewer "
                                   "rules (--rule, --tag)") from None
        except (duckdb.IOException, OSError) as exc:
            if not _no_space(exc):
                raise
            reason = str(exc).strip().splitlines()[0]
            raise OutOfDiskError(f"the disk of the temporary folder {tempfile.gettempdir()} is full ({reason}): the "
                                 "engine spills there past its memory limit, and keeps the findings there; free "
                                 "space, set TMPDIR to a folder on a larger disk, or run with a larger --memory-limit "
                                 "or fewer rules (--rule, --tag)") from None
    return run


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, memory_limit: str | None = None, threads: int | None = None,
                 cache_dir: Path | None = None) -> None:
        """`cache_dir`: where compiled passes are kept between runs (compile_cache.py); None keeps none."""
        self.memory_limit = memory_limit
        # the findings' documents held in memory: a quarter of the memory limit, the rest read back from a file
        # (validator/finding_documents.py); without a limit, all of them
        limit = byte_size(memory_limit) if memory_limit else None
        self.documents_held = limit // DOCUMENTS_SHARE if limit else None
        # while the findings are fetched, Python holds their columns and up to a quarter of the limit of their
        # documents beside DuckDB's sorted result: DuckDB sorts within half its limit then, so that the run stays
        # near it (every rule at 50M job lines: docs/performance.md)
        self.fetch_limit = limit // FETCH_SHARE if limit else None
        self.threads = threads
        self.cache = CompileCache(cache_dir) if cache_dir is not None else None
        self._inputs: dict[int, str] = {}  # id(site) -> what of the site its compiled passes depend on
        self._spills: dict[int, Path] = {}  # id(connection) -> its spill folder

    def connect(self) -> duckdb.DuckDBPyConnection:
        # Arrow's allocator keeps the memory Python's Arrow data freed (an earlier run's report, a fetch's batches),
        # which DuckDB's own allocator cannot reuse: it is returned first (docs/performance.md, diff)
        pa.default_memory_pool().release_unused()
        config = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
        con = duckdb.connect(config=config)
        try:
            # spilled past the memory limit into a folder of its own in the temporary folder (TMPDIR), not DuckDB's
            # default .tmp in the working directory (a CI checkout, a consultant's site folder); removed on close
            self._spills[id(con)] = Path(tempfile.mkdtemp(prefix="backflush-spill-"))
            con.execute(f"SET temp_directory = {literal(str(self._spills[id(con)]))}")
            con.execute("SET enable_progress_bar = false")  # its bar would land in a report written to stdout
            # every result the tool reads in an order says ORDER BY (findings, verdicts, example rows by __row):
            # tables made on the way need not keep their rows' order
            con.execute("SET preserve_insertion_order = false")
            if self.memory_limit:
                con.execute(f"SET memory_limit = '{self.memory_limit}'")
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
        except BaseException:  # an error or an interrupt (SIGTERM) on the way: the folder goes with the connection
            self.disconnect(con)
            raise
        return con

    @_within_memory
    def load(self, source: Source, registry: Registry, needs: dict[str, set[str]], *,
             documents: Mapping[str, Export] | None = None, date_order: str = AUTO, decimal_separator: str = AUTO,
             named: Mapping[str, Naming] | None = None) -> DuckDBSite:
        con = self.connect()
        try:
            return load_site(source, registry, needs, con, documents, date_order, decimal_separator, named)
        except BaseException:
            self.disconnect(con)
            raise

    @_within_memory
    def contracts(self, site: DuckDBSite, empty_tables: frozenset[str] = frozenset()) -> dict[str, list[Violation]]:
        violations = check_site(site, empty_tables)
        site.kept = frozenset(site.tables) - set(violations)
        return violations

    @_within_memory
    def typed(self, site: DuckDBSite) -> None:
        materialize_text_tables(site)

    def latest_history_date(self, site: DuckDBSite, registry: Registry) -> dt.date | None:
        latest = None
        for name, loaded in site.tables.items():
            column = registry.tables[name].history_date
            if column and column in loaded.columns and loaded.rows:
                (value,) = site.con.execute(f"SELECT max({quote(column)}) FROM {quote(name)}").fetchone()
                if value is not None and (latest is None or value > latest):
                    latest = value
        return latest

    def distinct(self, site: DuckDBSite, table: str, columns: list[str]) -> list[tuple]:
        loaded = site.tables[table]
        select = ", ".join(quote(c) if c in loaded.columns else f"NULL AS {quote(c)}" for c in columns)
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        return site.con.execute(f"SELECT DISTINCT {select} FROM {quote(table)} ORDER BY {order}").fetchall()

    def arrow(self, site: DuckDBSite, table: str, columns: list[str]) -> pa.Table:
        loaded = site.tables[table]
        select = ", ".join(quote(c) if c in loaded.columns else f"CAST(NULL AS VARCHAR) AS {quote(c)}" for c in columns)
        return site.con.execute(f"SELECT DISTINCT {select} FROM {quote(table)}").to_arrow_table()

    def catalog(self, site: DuckDBSite) -> Catalog:
        return self.counted(site)[0]

    def counted(self, site: DuckDBSite) -> tuple[Catalog, Rows]:
        """The compiler's catalog of the site's tables (each lookup asks DuckDB for the schema: cached) and its row
        count: a table's is its load's, any other expression's a query (passes.counted_catalog)."""
        return counted_catalog(site.ibis().table, lambda name: self.count(site, name),
                               lambda expr: self.count_sql(site, self.sql(expr)))

    def count_sql(self, site: DuckDBSite, sql: str) -> int:
        """Counts the rows of a query (a reused pass's semi-join is weighed again with it)."""
        return int(site.con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0])

    def passes(self, site: DuckDBSite, table: str, items: list[tuple[Rule, Check]],
               registry: Registry) -> list[CompiledTable]:
        keys = join_keys(site)

        def compile_passes() -> list[CompiledTable]:
            from validator.rules.compile import compile_batches  # ibis: only when there is something to compile

            catalog, rows = self.counted(site)
            return compile_batches(table, items, registry, catalog, keys.level, keys.one_company, rows)
        if self.cache is None:
            return compile_passes()
        if id(site) not in self._inputs:
            self._inputs[id(site)] = site_inputs(site, registry, keys)
        return self.cache.passes(self, site, table, items, self._inputs[id(site)], compile_passes)

    def sql(self, query: ibis.Table) -> str:
        """The SQL DuckDB runs: ibis leaves the selects of a pass nested, which DuckDB's optimizer flattens, instead
        of fusing them, which costs more Python than DuckDB's planning saves. `explain --sql` prints the fused
        query, the one to read. The pass is compiled as the DuckDB backend compiles what it runs (bound to the site's
        tables, on one line, sqlglot's tree not copied): `ibis.to_sql` unbinds the expression and pretty-prints a
        copy, which took half of compiling (docs/performance.md)."""
        import ibis
        from ibis.backends.sql.compilers import duckdb as duckdb_sql

        fused = ibis.options.sql.fuse_selects
        ibis.options.sql.fuse_selects = False
        try:
            return duckdb_sql.compiler.to_sqlglot(query).sql(dialect="duckdb", pretty=False, copy=False)
        finally:
            ibis.options.sql.fuse_selects = fused

    @_within_memory
    def collect(self, site: DuckDBSite, compiled: CompiledTable) -> None:
        loaded = site.tables.get(compiled.table)
        if loaded is not None and COMPANY in loaded.absent_optional:  # an export without Company: a key without it
            compiled = replace(compiled, key=tuple(c for c in compiled.key if c != COMPANY))
        engine_findings.collect(site.con, compiled, compiled.sql or self.sql(compiled.query))

    @_within_memory
    def findings(self, site: DuckDBSite) -> Findings:
        if self.fetch_limit is None:
            return engine_findings.unique_findings(site.con, self.documents_held)
        site.con.execute(f"SET memory_limit = '{self.fetch_limit}B'")
        try:
            return engine_findings.unique_findings(site.con, self.documents_held)
        finally:
            site.con.execute(f"SET memory_limit = {literal(str(self.memory_limit))}")

    @_within_memory
    def verdicts(self, site: DuckDBSite, basis: VerdictBasis) -> Verdicts:
        return engine_verdicts.verdicts(site.con, site, basis)

    @_within_memory
    def recorded(self, baseline: Iterable[pa.Array], names: Iterable[pa.Array]) -> tuple[numpy.ndarray, int]:
        """Which findings a baseline records (recorded.py)."""
        with self._beside_report() as con:
            return engine_recorded.recorded(con, baseline, names)

    @_within_memory
    def changed_verdicts(self, old: pa.Table, new: pa.Table) -> pa.Table:
        """The parts whose verdict differs between two runs' verdicts (changed_verdicts.py)."""
        with self._beside_report() as con:
            return engine_changed_verdicts.changed_verdicts(con, old, new)

    @contextlib.contextmanager
    def _beside_report(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of its own for work on a run's report. Python holds the report beside it, as during the
        fetch: DuckDB works within half the limit."""
        con = self.connect()
        try:
            if self.fetch_limit is not None:
                con.execute(f"SET memory_limit = '{self.fetch_limit}B'")
            yield con
        finally:
            self.disconnect(con)

    def count(self, site: DuckDBSite, table: str) -> int:
        return site.tables[table].rows

    def close(self, site: DuckDBSite) -> None:
        self._inputs.pop(id(site), None)
        self.disconnect(site.con)

    def disconnect(self, con: duckdb.DuckDBPyConnection) -> None:
        """Close a connection connect() made, and remove its spill folder."""
        con.close()
        spill = self._spills.pop(id(con), None)
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


def create(**options: object) -> DuckDBEngine:
    return DuckDBEngine(**options)  # type: ignore[arg-type]
