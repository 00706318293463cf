"""What the compiler makes of the checks on one table: passes, plain values that an engine runs and the compile cache
keeps. This module imports no ibis, so that a run reusing kept passes (validator/engines/duckdb/compile_cache.py)
imports none (docs/performance.md); the ibis expressions a fresh compile leaves here are typed only."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from validator.rules.model import Check, Rule

if TYPE_CHECKING:
    import ibis.expr.types as ir

FEW = 10  # candidates under a tenth of the related rows: a semi-join before grouping pays


def counted_catalog(table: Callable[[str], Any], table_rows: Callable[[str], int],
                    rows: Callable[[Any], int]) -> tuple[Callable[[str], Any], Callable[[Any], int]]:
    """The compiler's catalog of a site's tables (`table`: one looked up, cached: a lookup may ask the database for
    its schema) and its row count: a table the catalog gave counts as its load counted it (`table_rows`, no query,
    as a reused pass weighs it), any other expression by `rows` (a query)."""
    named: dict[int, str] = {}

    @functools.cache
    def catalog(name: str) -> Any:
        expr = table(name)
        named[id(expr)] = name  # the catalog keeps the expression: its id stays its own
        return expr

    def count(expr: Any) -> int:
        name = named.get(id(expr))
        return table_rows(name) if name is not None else rows(expr)

    return catalog, count


def semi_join_pays(candidates: int, related: int) -> bool:
    """Whether an aggregate of a guarded pass should group only the related rows of its candidates."""
    return candidates * FEW <= related


@dataclass(frozen=True)
class CompiledCheck:
    rule: Rule
    check: Check
    hit: str  # the boolean column that says the row is a finding of this check
    evidence: tuple[tuple[str, str], ...]  # (ref, column name in the query)


@dataclass(frozen=True)
class CompiledTable:
    """Every check on one table, evaluated in one pass: one result row per row with any finding."""

    table: str
    query: ir.Table | None  # None: a pass reused from the compile cache, known by its `sql` only
    key: tuple[str, ...]  # key columns, named as in the query and in Epicor
    checks: tuple[CompiledCheck, ...]
    component: tuple[tuple[str, str], ...]  # (Plant/PartNum, column name in the query)
    rows: ir.Table | None  # the query without the flags: the rows any check flags (what `explain` prints)
    decisions: tuple[tuple[ir.Table, str, bool], ...] = ()  # what row counts decided (Frame.decisions)
    sql: str | None = None  # the query in the engine's dialect, once known
    labels: tuple[tuple[str, str], ...] = ()  # (aggregate column, the let, derived value or relation it computes)
