"""One compiler: the checks of the rules on a table become one backend-neutral ibis expression.

The same expression runs on the embedded DuckDB engine, on PySpark, or is printed as SQL for
SQL Server or PostgreSQL (`backflush explain --sql`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from validator.rules.analysis import PLACEHOLDER, check_needs
from validator.rules.compile.aggregates import sibling_aggregates
from validator.rules.compile.expressions import (
    CANONICAL,
    CONDITIONS,
    Canonical,
    Catalog,
    Rows,
    joined_conjuncts,
    local_conjuncts,
    never_canonical,
)
from validator.rules.compile.frame import Frame
from validator.rules.grammar import classify
from validator.rules.model import Check, Rule
from validator.rules.passes import CompiledCheck, CompiledTable
from validator.rules.what_if import twin
from validator.tables import Registry

Guard = Callable[[Rule, Check, Registry], Any]  # the part of a check's condition a pass filters by first, or None

__all__ = ["CANONICAL", "CONDITIONS", "Canonical", "Catalog", "CompiledCheck", "CompiledTable", "Rows", "compile_batches",
           "compile_check", "compile_table", "local_guard", "never_canonical"]


def local_guard(rule: Rule, check: Check, registry: Registry) -> Any | None:
    """The part of a check's condition that needs no join (its local top-level conjuncts), or None."""
    return local_conjuncts(check.where, rule, check.table, registry)


def joined_guard(rule: Rule, check: Check, registry: Registry) -> Any | None:
    """The part of a check's condition that needs no aggregate, only to-one joins (its top-level conjuncts that
    read the row and the rows its to-one relations reach), or None."""
    return joined_conjuncts(check.where, rule, check.table, registry)


def compile_batches(table: str, items: list[tuple[Rule, Check]], registry: Registry, catalog: Catalog,
                    canonical: Canonical = never_canonical, one_company: bool = False,
                    rows: Rows | None = None) -> list[CompiledTable]:
    """The checks on a table in the passes that pay: those with a join-free guard in passes that drop, before
    any join, the rows no guard admits; the others in passes of their own, which drop after the to-one joins the
    rows no check's joined guard admits, when every check has one (a what-if pair: a part's Part flags); and in
    either, checks that read no related table in common in separate passes (joined_apart). `rows` counts rows in the
    engine: with it, an aggregate of a guarded pass groups only the related rows of its few candidates
    (Frame._reduced): the PartPlant what-if counts the job lines of the parts that fail a rule, not of every part."""
    guarded, unguarded = [], []
    paired = what_if_pairs(items)
    for index, (rule, check) in enumerate(items):
        alone = index in paired or local_guard(rule, check, registry) is None
        (unguarded if alone else guarded).append((rule, check))
    batches = [compile_table(table, group, registry, catalog, canonical, prefilter=True, one_company=one_company,
                             rows=rows) for group in joined_apart(table, guarded, registry)]
    for group in joined_apart(table, unguarded, registry):
        joined = all(joined_guard(rule, check, registry) is not None for rule, check in group)
        batches.append(compile_table(table, group, registry, catalog, canonical, prefilter=joined,
                                     one_company=one_company, rows=rows, guard=joined_guard))
    return batches


def what_if_pairs(items: list[tuple[Rule, Check]]) -> set[int]:
    """The indexes of the checks whose what-if twin runs on the same table, and of those twins. A twin reads
    nearly every row (the lines that would be backflushed), so a pair goes in one pass without a guard, each with
    its own flag, instead of a guarded pass for the check and a second scan and join chain for its twin
    (docs/performance.md)."""
    out = set()
    for index, (rule, check) in enumerate(items):
        pair = twin(rule, check)
        if pair is None:
            continue
        partner = next((i for i, (r, c) in enumerate(items) if r is rule and c == pair), None)
        if partner is not None:
            out |= {index, partner}
    return out


def joined_apart(table: str, items: list[tuple[Rule, Check]], registry: Registry) -> list[list[tuple[Rule, Check]]]:
    """The checks grouped so that two checks reading a related table in common share a group (and its joins),
    in their order; checks that read no related table join the first group. One pass per group costs a scan of
    the table more, and pays where the joins are many (docs/performance.md)."""
    groups: list[tuple[set[str], list[int]]] = []
    local: list[int] = []
    for index, (rule, check) in enumerate(items):
        related = set(check_needs(rule, check, registry).columns) - {table}
        if not related:
            local.append(index)
            continue
        members = [index]
        for group in [g for g in groups if g[0] & related]:
            groups.remove(group)
            related |= group[0]
            members += group[1]
        groups.append((related, members))
    ordered = sorted((sorted(members) for _, members in groups), key=lambda members: members[0])
    if not ordered:
        return [list(items)] if items else []
    ordered[0] = sorted(ordered[0] + local)
    return [[items[i] for i in members] for members in ordered]


def compile_table(table: str, items: list[tuple[Rule, Check]], registry: Registry, catalog: Catalog,
                  canonical: Canonical = never_canonical, prefilter: bool = False, one_company: bool = False,
                  rows: Rows | None = None, guard: Guard = local_guard) -> CompiledTable:
    """One expression for all the checks on a table: shared joins and derived values, one flag per check.
    `prefilter`: the rows no check's `guard` admits are dropped first (the pass's candidates).
    `one_company`: every row read has the same Company, so joins leave it out (never so for printed SQL)."""
    frame = Frame(registry, catalog, items[0][0], table, canonical, one_company=one_company,
                  siblings=sibling_aggregates(items, table, registry))
    if prefilter:
        admitted = [(rule, guard(rule, check, registry)) for rule, check in items]
        for rule, admits in admitted:  # every join the guards read first: each condition then reads the last frame
            frame.judging(rule).ensure(admits)
        if len(items) == 1:
            frame.narrow(admitted[0][1])  # its conjuncts are remembered (an aggregate may be a window: Frame._windowed)
        else:
            frame.narrow_to_any([frame.judging(rule).cond(admits) for rule, admits in admitted])
        frame.guarded(rows)
        if len(items) == 1:
            _filter_early(frame, *items[0])
    checks = []
    for index, (rule, check) in enumerate(items):  # pass 1: every join, derived value and aggregate
        frame.judging(rule).ensure(check.where)
        key_columns = set(registry.tables[table].key)  # already in the finding's key: not repeated as evidence
        refs = dict.fromkeys(r for r in (*check.evidence, *PLACEHOLDER.findall(check.message)) if r not in key_columns)
        evidence = tuple((ref, frame.ensure_ref(ref, "", table, allow_let=True)) for ref in refs)
        checks.append(CompiledCheck(rule, check, f"__hit{index}", evidence))
    spec = registry.tables[table]
    component = {role: frame.ensure_ref(ref, "", table) for role, ref in spec.component.items()}
    hits = {}
    for compiled, (rule, check) in zip(checks, items, strict=True):  # pass 2: one flag per check
        hits[compiled.hit] = frame.judging(rule).cond(check.where)
    key = tuple(c for c in spec.key if c in frame.expr.columns)
    columns = dict.fromkeys((*key, *(name for c in checks for _, name in c.evidence), *component.values()))
    # The rows any check flags, then the flags as output columns: a two-valued predicate is a plain boolean
    # column there (ibis writes it as a bit for T-SQL), and each is evaluated once on the kept rows only.
    kept = frame.expr.filter(functools.reduce(operator.or_, hits.values()))
    values = [frame.column(c, kept) for c in columns]
    return CompiledTable(table, kept.select(*values, **hits), key, tuple(checks), tuple(component.items()),
                         kept.select(*values), tuple(frame.decisions), labels=measure_labels(frame, items, registry))


def measure_labels(frame: Frame, items: list[tuple[Rule, Check]], registry: Registry) -> tuple[tuple[str, str], ...]:
    """What each aggregate column of the frame computes, in the rule's words: the let or derived value it is
    (`Measured`, `CompletedJobs`), else its relation and function (`ParentLines_count_distinct_PartNum`)."""
    named: dict[int, str] = {}
    values = [node for rule, _ in items for node in rule.let.items()]
    values += [node for spec in registry.tables.values() for node in spec.derived.items()]
    for name, node in values:
        kind = classify(node)
        if kind.kind in ("aggregate", "exists", "not_exists"):
            named.setdefault(id(kind.args[0]), name)
    labels = []
    for column, (kind, spec) in frame.measures.items():
        relation = spec["relation"].replace(".", "_")
        fallback = (f"{relation}_{spec.get('fn', 'count')}" + (f"_{spec['column']}" if "column" in spec else "")
                    if kind == "aggregate" else f"{kind}_{relation}")
        labels.append((column, named.get(id(spec), fallback)))
    return tuple(labels)


def _filter_early(frame: Frame, rule: Rule, check: Check) -> None:
    """A pass of one check keeps, after each top-level conjunct of its condition, only the rows that meet it: the
    joins a later conjunct needs then run on fewer rows (BFC012 joins the open demand and the stock of the
    materials on open jobs only: about half the backflushed ones)."""
    conjuncts = classify(check.where)
    if conjuncts.kind != "all":
        return
    frame.judging(rule)
    for conjunct in conjuncts.args[:-1]:  # the last one is the pass's own filter
        frame.ensure(conjunct)
        frame.narrow(conjunct)


def compile_check(rule: Rule, check: Check, registry: Registry, catalog: Catalog,
                  canonical: Canonical = never_canonical) -> CompiledTable:
    return compile_table(check.table, [(rule, check)], registry, catalog, canonical)
