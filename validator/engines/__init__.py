"""Engines load a site's exports and run the compiled rules on them. Each engine is one package behind the
interface below, written in engine-neutral terms (sources, sites, compiled passes, findings, verdicts), and is
imported lazily by name from ENGINES."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from validator.errors import ConfigError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from validator.findings import Findings, VerdictBasis, Verdicts, Violation
    from validator.rules.model import Check, Rule
    from validator.rules.passes import CompiledTable
    from validator.site import Site
    from validator.sources import Export, Naming, Source
    from validator.tables import Registry

ENGINES = {"duckdb": "validator.engines.duckdb", "sql": "validator.engines.sql", "spark": "validator.engines.spark"}
# what the verdicts read besides the rules (which parts are components at which site)
VERDICT_COLUMNS = {"PartPlant": {"Company", "Plant", "PartNum", "BackFlush"},
                   "JobMtl": {"Company", "JobNum", "PartNum", "Plant"},
                   "JobHead": {"Company", "JobNum", "JobComplete", "JobClosed", "JobCompletionDate"},
                   "PartMtl": {"Company", "PartNum", "RevisionNum", "AltMethod", "MtlPartNum"},
                   "PartRev": {"Company", "PartNum", "RevisionNum", "AltMethod", "Plant"},
                   "Part": {"Company", "PartNum", "PartDescription"}}  # the parts' descriptions: worklist, HTML



class Engine(Protocol):
    name: str

    def load(self, source: Source, registry: Registry, needs: dict[str, set[str]], *,
             documents: Mapping[str, Export] | None = None, date_order: str = "auto", decimal_separator: str = "auto",
             named: Mapping[str, Naming] | None = None) -> Site:
        """The needed columns of the needed tables of `source` (and of `documents`, tables read apart), typed as
        schemas/tables says; a needed column an export lacks reads as blank and is kept in LoadedTable.missing."""

    def contracts(self, site: Site, empty_tables: frozenset[str] = frozenset()) -> dict[str, list[Violation]]:
        """Each loaded table's contract violations (table -> violations; a table that keeps its contract: none)."""

    def typed(self, site: Site) -> None:
        """The site's contracts are kept: the engine may now hold its tables typed, for the passes to read."""

    def latest_history_date(self, site: Site, registry: Registry) -> dt.date | None:
        """The latest date of the history read (LaborDtl.ClockInDate, PartTran.TranDate, ...)."""

    def distinct(self, site: Site, table: str, columns: list[str]) -> list[tuple]:
        """The distinct values of `columns` of a loaded table (typed), sorted, nulls last."""

    def arrow(self, site: Site, table: str, columns: list[str]) -> pa.Table:
        """The distinct rows of `columns` of a loaded table (typed), as Arrow (a column the export lacks: nulls)."""

    def passes(self, site: Site, table: str, items: list[tuple[Rule, Check]], registry: Registry) -> list[CompiledTable]:
        """The checks `items` on `table`, compiled into as few passes as pay, with the engine's SQL."""

    def collect(self, site: Site, compiled: CompiledTable) -> None:
        """Run one compiled pass; its flagged rows become findings kept in the engine (the engine, not the
        rule, stamps rule id, severity, key, message, evidence and fingerprint)."""

    def findings(self, site: Site) -> Findings:
        """Every finding collected, once per rule and key, sorted."""

    def verdicts(self, site: Site, basis: VerdictBasis) -> Verdicts:
        """One verdict per part judged at a site of a company (a component there, or backflushed there), from the
        findings collected and what `basis` says of the rules."""

    def count(self, site: Site, table: str) -> int:
        """The rows of a loaded table."""

    def sql(self, query: ir.Table) -> str:
        """A compiled pass in the engine's own SQL."""

    def close(self, site: Site) -> None:
        """Let go of the site: the engine's memory and any spilled files."""


def get_engine(name: str, **options: object) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name]).create(**options)
