"""The frame: a judged table widened, join by join, with the columns a condition reads.

Pass 1 (`ensure`) adds every related column, derived value and aggregate a node needs; pass 2
(`cond`, `build`) turns the node into an ibis expression over the widened table. Conditions become
two-valued predicates built from IS NULL, comparisons, AND, OR and NOT only, so that the same
expression is valid SQL for DuckDB, PostgreSQL, Spark and SQL Server. Key and text comparisons
follow Epicor's SQL Server default collation: case-insensitive, trailing spaces ignored (the
readers already cut trailing spaces).
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

import ibis
import ibis.expr.types as ir

from validator.rules.compile.aggregates import Aggregates
from validator.rules.compile.expressions import (
    Canonical,
    Catalog,
    Rows,
    canonical_text,
    never_canonical,
    reads_let,
    stored,
)
from validator.rules.compile.joins import Joins
from validator.rules.compile.predicates import Predicates
from validator.rules.grammar import classify
from validator.rules.model import Rule
from validator.tables import Registry


class Frame(Joins, Aggregates, Predicates):
    """The judged table, widened with the related columns, derived values and aggregates it needs."""

    _counter = itertools.count()

    def __init__(self, registry: Registry, catalog: Catalog, rule: Rule, table: str,
                 canonical: Canonical = never_canonical, view: bool = True, one_company: bool = False,
                 siblings: dict[str, list[tuple[str, Any]]] | None = None) -> None:
        self.registry = registry
        self.catalog = catalog
        self.canonical = canonical
        self.one_company = one_company  # every row read has the same Company: joins leave it out
        self.rule = rule
        self.root = table
        # a view of its own, so self-relations do not alias; the rows under an aggregate need none (they are
        # grouped before they meet the frame), and sharing the table lets the SQL reuse one subquery
        self.expr = catalog(table).view() if view else catalog(table)
        self.names: dict[str, str] = {c: c for c in self.expr.columns}
        self.origin: dict[str, tuple[str, str]] = {c: (table, c) for c in self.expr.columns}
        self.joined: set[str] = set()
        self.zero_when_blank: set[str] = set()  # counts: no related rows count 0
        self.measures: dict[str, tuple[str, Any]] = {}  # aggregate column -> (kind, spec): names it in printed SQL
        self.constants: dict[str, Any] = {}  # names of let/derived values that are literals (not stored)
        self.siblings = siblings or {}  # aggregates computed together (aggregates.sibling_aggregates)
        # the judged rows some check's join-free guard admits (a guarded pass), before any join: an aggregate
        # over a related table groups only the related rows that meet one of them
        self.candidates: ir.Table | None = None
        self.rows: Rows | None = None  # without it (SQL printed for a DBA) no related rows are left out
        self._candidate_rows: int | None = None
        self._whole_rows: int | None = None  # the judged table's rows: candidates can be no more
        self._countable = True  # whether counting the candidates costs no join
        # what the counts decided: (candidates, related table, semi-join or not); a compiled pass reused later
        # (validator/engines/duckdb/compile_cache.py) holds only while the counts decide the same
        self.decisions: list[tuple[ir.Table, str, bool]] = []
        # the conjuncts the judged rows were filtered by so far (canonical text -> node; None for one that reads a
        # rule's let), or None once a filter is not a list of conjuncts (an OR of several checks' guards)
        self.narrowed_by: dict[str, Any] | None = {}

    def judging(self, rule: Rule) -> Frame:
        """The frame now reads the nodes of `rule` (its lets and parameters); one frame serves a pass's checks."""
        self.rule = rule
        return self

    def narrow_to_any(self, conditions: list[ir.BooleanValue]) -> None:
        """Keep only the judged rows that meet one of `conditions` (the guards of several checks): no longer a list
        of conjuncts to remember."""
        self.expr = self.expr.filter(functools.reduce(operator.or_, conditions))
        self.narrowed_by = None

    def guarded(self, rows: Rows | None) -> None:
        """The judged rows kept so far are the pass's candidates: an aggregate groups only their related rows
        when `rows` (the engine's count) says it pays."""
        self.candidates, self.rows = self.expr, rows
        self._countable = not self.joined  # a guard that joined (Part's flags) would be counted at the joins' cost

    def narrow(self, node: Any) -> None:
        """Keep only the judged rows that meet `node`, and remember its conjuncts (`_windowed`)."""
        self.expr = self.expr.filter(self.cond(node))
        if self.narrowed_by is None:
            return
        kind = classify(node)
        for conjunct in kind.args if kind.kind == "all" else (node,):
            self.narrowed_by[canonical_text(conjunct)] = None if reads_let(conjunct, self.rule) else conjunct

    def column(self, name: str, table: ir.Table | None = None) -> ir.Value:
        """A value by its name in the frame: a stored column, or a literal let value."""
        if name in self.constants:
            value = self.constants[name]
            return ibis.literal(list(value) if isinstance(value, (tuple, list)) else value).name(name)
        return (self.expr if table is None else table)[name]

    # -- pass 1: make every column the node reads exist in self.expr -------------------------
    def ensure(self, node: Any, prefix: str = "", table: str | None = None, allow_let: bool = True) -> None:
        table = table or self.root
        kind = classify(node)
        if kind.kind == "column":
            self.ensure_ref(kind.args[0], prefix, table, allow_let)
        elif kind.kind in ("aggregate", "exists", "not_exists"):
            self.ensure_related(kind, prefix, table)
        elif kind.kind == "predicate":
            for side in kind.args:
                self.ensure(side, prefix, table, allow_let)
        elif kind.kind in ("function", "all", "any", "not"):
            for item in kind.args:
                self.ensure(item, prefix, table, allow_let)

    def ensure_ref(self, ref: str, prefix: str, table: str, allow_let: bool = False) -> str:
        is_let = allow_let and not prefix and ref in self.rule.let
        full = f"{self.rule.id}:{ref}" if is_let else prefix + ref
        if full in self.names:
            return self.names[full]
        extra = frozenset(self.rule.let) if allow_let and not prefix else frozenset()
        resolved = self.registry.resolve(table, ref, extra=extra)
        hop_prefix, hop_table = prefix, table
        for hop in resolved.hops:
            self.ensure_join(hop.name, hop_prefix, hop_table)
            hop_prefix, hop_table = f"{hop_prefix}{hop.name}.", hop.target
        if resolved.kind == "column":
            return self.names[full]  # the join brought it
        node = self.rule.let[resolved.name] if resolved.kind == "let" else resolved.table.derived[resolved.name]
        name = full.replace(".", "__").replace(":", "__")
        kind = classify(node)
        if kind.kind in ("literal", "param"):  # a threshold or the snapshot date: a literal, not a column
            self.constants[name] = self._python_value(kind)
            self.names[full] = name
            return name
        if kind.kind == "column":  # another name for a value: no copy of it
            self.names[full] = self.ensure_ref(kind.args[0], hop_prefix, hop_table, allow_let=resolved.kind == "let")
            return self.names[full]
        self.ensure(node, hop_prefix, hop_table, allow_let=resolved.kind == "let")
        value = self.build(node, hop_prefix, hop_table, allow_let=resolved.kind == "let")
        self.expr = self.expr.mutate(**{name: stored(value)})
        self.names[full] = name
        return name
