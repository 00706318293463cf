"""Predicates and values: a condition node made into a two-valued ibis expression over the widened frame."""

from __future__ import annotations

import functools
import operator
from typing import Any

import ibis
import ibis.expr.types as ir

from validator.errors import RuleFileError
from validator.rules.compile.expressions import (
    CONDITIONS,
    all_of,
    as_compared,
    is_false,
    is_true,
    known,
)
from validator.rules.grammar import Node, classify


class Predicates:
    """The frame's conditions and values (a mixin of Frame, which holds the state)."""

    def cond(self, node: Any, prefix: str = "", table: str | None = None, allow_let: bool = True) -> ir.BooleanValue:
        table = table or self.root
        kind = classify(node)
        match kind.kind:
            case "literal" | "param":
                return ibis.literal(bool(self._python_value(kind)))
            case "all" | "any":
                parts = [self.cond(a, prefix, table, allow_let) for a in kind.args]
                return functools.reduce(operator.and_ if kind.kind == "all" else operator.or_, parts)
            case "not":
                return ~self.cond(kind.args[0], prefix, table, allow_let)
            case "exists" | "not_exists":
                self.ensure_related(kind, prefix, table)
                count = self.related_value(kind, prefix)
                if count.type().is_boolean():  # found through a to-one join
                    return count
                return count > 0 if kind.kind == "exists" else count == 0
            case "predicate":
                return self._predicate(kind, prefix, table, allow_let)
            case "function" if kind.op == "coalesce":
                return self._coalesce_true(kind.args, prefix, table, allow_let)
        return is_true(self.build(node, prefix, table, allow_let))

    def _python_value(self, kind: Node) -> Any:
        return self.rule.params[kind.args[0]] if kind.kind == "param" else kind.args[0]

    def _coalesce_true(self, items: tuple[Any, ...], prefix: str, table: str, allow_let: bool) -> ir.BooleanValue:
        """COALESCE(a, b, ...) IS TRUE, as a predicate: the first operand that is not null decides."""
        first, rest = items[0], items[1:]
        kind = classify(first)
        if kind.kind in ("literal", "param") or kind.kind in CONDITIONS or not rest:
            return self.cond(first, prefix, table, allow_let)
        value = self.build(first, prefix, table, allow_let)
        tail = self._coalesce_true(rest, prefix, table, allow_let)
        if isinstance(tail.op(), ibis.expr.operations.Literal) and tail.op().value is False:
            return is_true(value)
        return is_true(value) | (value.isnull() & tail)

    def build(self, node: Any, prefix: str = "", table: str | None = None, allow_let: bool = True) -> ir.Value:
        table = table or self.root
        kind = classify(node)
        if kind.kind in CONDITIONS:
            return self.cond(node, prefix, table, allow_let)
        match kind.kind:
            case "literal" | "param":
                value = self._python_value(kind)
                return ibis.literal(list(value)) if isinstance(value, (tuple, list)) else ibis.literal(value)
            case "column":
                return self.column(self.ensure_ref(kind.args[0], prefix, table, allow_let))
            case "function":
                values = [self.build(a, prefix, table, allow_let) for a in kind.args]
                if kind.op == "coalesce":
                    if any(v.type().is_boolean() for v in values):
                        return self._coalesce_true(kind.args, prefix, table, allow_let)
                    return ibis.coalesce(*values)
                if kind.op == "abs":
                    return values[0].abs()
                if kind.op == "days_between":
                    return values[1].delta(values[0], unit="day")
                ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                       "div": lambda a, b: a / b.nullif(0)}  # x / 0 is blank, as valid T-SQL (no divide error)
                return functools.reduce(ops[kind.op], values)
            case "aggregate":
                self.ensure_related(kind, prefix, table)
                return self.related_value(kind, prefix)
        raise AssertionError(kind)

    def _predicate(self, kind: Node, prefix: str, table: str, allow_let: bool) -> ir.BooleanValue:
        left_node, right_node = kind.args
        if kind.op in ("is", "is_not"):
            if right_node is None or right_node == "blank":
                left = self.build(left_node, prefix, table, allow_let)
                test = left.isnull()
                if left.type().is_string():
                    test = test | (left == "")
            elif right_node is True:
                test = self.cond(left_node, prefix, table, allow_let)
            else:
                left_kind = classify(left_node)
                if left_kind.kind in CONDITIONS or (left_kind.kind == "function" and left_kind.op == "coalesce"):
                    test = ~self.cond(left_node, prefix, table, allow_let)
                else:
                    test = is_false(self.build(left_node, prefix, table, allow_let))
            return ~test if kind.op == "is_not" else test
        left = self.build(left_node, prefix, table, allow_let)
        if kind.op == "like_any":  # any case, as SQL Server's collation compares; blank matches nothing
            value = self._python_value(classify(right_node))
            patterns = [value] if isinstance(value, str) else [p for p in (value or []) if p is not None]
            if not patterns:
                return ibis.literal(False)
            text = left.cast("string").upper()
            return left.notnull() & functools.reduce(operator.or_, [text.like(str(p).upper()) for p in patterns])
        if kind.op in ("in", "not_in"):
            value = self._python_value(classify(right_node))
            options = [value] if isinstance(value, (str, int, float, bool)) or value is None else list(value)
            if left.type().is_string():
                options = [str(o).upper() for o in options]
            member = as_compared(left).isin(options)
            return left.notnull() & (~member if kind.op == "not_in" else member)  # blank: false either way
        right = self.build(right_node, prefix, table, allow_let)
        if left.type().is_boolean() or right.type().is_boolean():
            a, b = self.cond(left_node, prefix, table, allow_let), self.cond(right_node, prefix, table, allow_let)
            same = (a & b) | (~a & ~b)
            if kind.op == "eq":
                return all_of(known(left), known(right), same)
            if kind.op == "ne":
                return all_of(known(left), known(right), ~same)
            raise RuleFileError(f"cannot order true/false values with {kind.op!r}; use eq or ne")
        both_known = all_of(known(left), known(right))  # a comparison with a blank value is false
        if left.type().is_string():
            left, right = as_compared(left), as_compared(right.cast("string"))
        compare = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
                   "le": operator.le, "gt": operator.gt, "ge": operator.ge}[kind.op](left, right)
        return all_of(both_known, compare)
