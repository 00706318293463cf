"""Small ibis expressions every part of the compiler builds with: values as SQL Server compares and stores them,
two-valued tests, and nodes as canonical text."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir

from validator.errors import RuleFileError
from validator.rules.grammar import FLAG_TESTS, children, classify
from validator.rules.model import Rule
from validator.tables import Registry

Catalog = Callable[[str], ir.Table]
Rows = Callable[[ir.Table], int]  # the engine counts the rows of an expression (what a semi-join would save)
# (table, column) -> how far its text is already as SQL Server compares it: 0 not known, UPPER_CASE every value
# present is upper case (blanks may be null), CANONICAL upper case and never blank
Canonical = Callable[[str, str], int]
UPPER_CASE, CANONICAL = 1, 2


def never_canonical(table: str, column: str) -> int:
    return 0


MATCHED = "__matched"  # the column a to-one join adds: 1 where the related row was found


def as_compared(value: ir.Value) -> ir.Value:
    """Keys as SQL Server compares them; a blank key (AltMethod '') matches a blank one."""
    return value.upper().fill_null("") if value.type().is_string() else value


def all_of(*parts: ir.BooleanValue) -> ir.BooleanValue:
    """AND of the parts, leaving out the ones that are literally true."""
    kept = [p for p in parts if not (isinstance(p.op(), ibis.expr.operations.Literal) and p.op().value is True)]
    return functools.reduce(operator.and_, kept) if kept else ibis.literal(True)


CONDITIONS = ("all", "any", "not", "exists", "not_exists", "predicate")


def stored(value: ir.Value) -> ir.Value:
    """A predicate kept as a column: CAST(CASE WHEN p THEN 1 ELSE 0 END AS BIT) is valid in every dialect."""
    if value.type().is_boolean() and not isinstance(value.op(), (ibis.expr.operations.Field, ibis.expr.operations.Literal)):
        return value.ifelse(1, 0).cast("boolean")
    return value


def known(value: ir.Value) -> ir.BooleanValue:
    """IS NOT NULL, folded away for a literal."""
    if isinstance(value.op(), ibis.expr.operations.Literal):
        return ibis.literal(value.op().value is not None)
    return value.notnull()


def is_true(value: ir.Value) -> ir.BooleanValue:
    if isinstance(value.op(), ibis.expr.operations.Literal):
        return ibis.literal(bool(value.op().value))
    return value.notnull() & (value == True)  # noqa: E712 - an ibis expression: `= 1` in T-SQL


def is_false(value: ir.Value) -> ir.BooleanValue:
    if isinstance(value.op(), ibis.expr.operations.Literal):
        return ibis.literal(value.op().value is False)
    return value.notnull() & (value == False)  # noqa: E712 - an ibis expression: `= 0` in T-SQL


def canonical_text(node: Any) -> str:
    """A node as text, the same for equal nodes whatever the order of their keys."""
    return json.dumps(node, sort_keys=True, default=str)


def reads_let(node: Any, rule: Rule) -> bool:
    """Whether a node reads one of the rule's let names anywhere (an aggregate's where never does: there the same
    name reads the table)."""
    if isinstance(node, dict):
        column = node.get("column")
        if isinstance(column, str) and column in rule.let:
            return True
        return any(reads_let(value, rule) for value in node.values())
    if isinstance(node, list):
        return any(reads_let(item, rule) for item in node)
    return False


def blank_test(node: Any, columns: set[str]) -> bool:
    """Whether a condition only tests one of `columns` for blank (or not blank)."""
    kind = classify(node)
    if kind.kind != "predicate" or kind.op not in FLAG_TESTS or kind.args[1] not in (None, "blank"):
        return False
    subject = classify(kind.args[0])
    return subject.kind == "column" and subject.args[0] in columns


def is_local(node: Any, rule: Rule, table: str, registry: Registry, allow_let: bool = True) -> bool:
    """True when the node reads only the judged row itself: no relation, aggregate or related rows.
    Inside a derived value the rule's let names do not apply (as in `Frame.ensure_ref`)."""
    kind = classify(node)
    if kind.kind == "column":
        ref = kind.args[0]
        if "." in ref:
            return False
        if allow_let and ref in rule.let:
            return is_local(rule.let[ref], rule, table, registry)
        derived = registry.tables[table].derived
        return ref not in derived or is_local(derived[ref], rule, table, registry, allow_let=False)
    if kind.kind in ("aggregate", "exists", "not_exists"):
        return False
    return all(is_local(child.node, rule, table, registry, allow_let) for child in children(node, kind))


def is_joined(node: Any, rule: Rule, table: str, registry: Registry, allow_let: bool = True) -> bool:
    """True when the node reads only the judged row and the rows its to-one relations reach (a join each, never
    more than one row): no aggregate, and no exists over relations whose rows may be many."""
    kind = classify(node)
    if kind.kind == "column":
        ref = kind.args[0]
        if allow_let and ref in rule.let:
            return is_joined(rule.let[ref], rule, table, registry)
        try:
            resolved = registry.resolve(table, ref)
        except RuleFileError:
            return False
        if resolved.kind == "derived":
            return is_joined(resolved.table.derived[resolved.name], rule, resolved.table.name, registry, allow_let=False)
        return True
    if kind.kind in ("exists", "not_exists"):
        spec = kind.args[0]
        relation = registry.tables[table].relations.get(spec.get("relation", "")) if isinstance(spec, dict) else None
        return set(spec) == {"relation"} and relation is not None and relation.to_one
    if kind.kind == "aggregate":
        return False
    return all(is_joined(child.node, rule, table, registry, allow_let) for child in children(node, kind))


def local_conjuncts(node: Any, rule: Rule, table: str, registry: Registry) -> Any | None:
    """The top-level conjuncts of a condition that read only the row itself, as one condition, or None."""
    return _conjuncts(node, lambda c: is_local(c, rule, table, registry))


def joined_conjuncts(node: Any, rule: Rule, table: str, registry: Registry) -> Any | None:
    """The top-level conjuncts of a condition that read only the row and its to-one relations (is_joined), as one
    condition, or None."""
    return _conjuncts(node, lambda c: is_joined(c, rule, table, registry))


def _conjuncts(node: Any, keep: Callable[[Any], bool]) -> Any | None:
    kind = classify(node)
    conjuncts = kind.args if kind.kind == "all" else (node,)
    kept = [c for c in conjuncts if keep(c)]
    return {"all": list(kept)} if kept else None
