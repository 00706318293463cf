"""Engines run compiled rules. Each is one module behind one small interface, imported lazily."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from validator.errors import ConfigError
from validator.findings import Findings, VerdictBasis, Verdicts
from validator.readers import Site
from validator.rules.compiler import Catalog, CompiledTable, Rows

if TYPE_CHECKING:
    import ibis.expr.types as ir

ENGINES = {"duckdb": "validator.engines.duckdb"}


class Engine(Protocol):
    name: str

    def catalog(self, site: Site) -> Catalog: ...

    def sql(self, query: ir.Table) -> str:
        """A compiled pass in the engine's own SQL."""

    def collect(self, site: Site, compiled: CompiledTable) -> None:
        """Run one compiled pass; its flagged rows become findings kept in the engine (the engine, not the
        rule, stamps rule id, severity, key, message, evidence and fingerprint)."""

    def findings(self, site: Site) -> Findings:
        """Every finding collected, once per rule and key, sorted."""

    def verdicts(self, site: Site, basis: VerdictBasis) -> Verdicts:
        """One verdict per part judged at a site of a company (a component there, or backflushed there), from the
        findings collected and what `basis` says of the rules."""

    def count(self, site: Site, table: str) -> int: ...

    def rows(self, site: Site) -> Rows:
        """Counts the rows of an expression over the site's tables (the compiler weighs a semi-join with it)."""

    def count_sql(self, site: Site, sql: str) -> int:
        """Counts the rows of a query in the engine's SQL (a reused pass's semi-join is weighed again with it)."""


def get_engine(name: str, **options: object) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name]).create(**options)
