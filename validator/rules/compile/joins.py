"""Joins: a frame widened with the columns of a to-one relation (a LEFT JOIN per relation path)."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from validator.rules.compile.expressions import (
    CANONICAL,
    MATCHED,
    UPPER_CASE,
    as_compared,
)
from validator.tables import COMPANY


class Joins:
    """The frame's joins along to-one relations (a mixin of Frame, which holds the state)."""

    def _join_keys(self, relation_name: str, prefix: str, table: str, target: ir.Table,
                   reached: dict[str, str] | None = None) -> list[tuple[str, ir.Value, bool]]:
        """(left column, right value, plain) per join column; plain: they compare as they are, without UPPER on
        every row: both sides upper case and the related table's column never blank (then a blank on the left,
        which an outer join before may also make, matches nothing either way). `reached`: the column of `target`
        that holds each related column reached through a relation of its own (`Rev.Plant`)."""
        relation = self.registry.relation(table, relation_name)
        columns = [(self.ensure_ref(local, prefix, table), remote) for local, remote in relation.on]
        if not self.one_company and self._has(prefix + COMPANY) and COMPANY in target.columns:
            columns.append((self.names[prefix + COMPANY], COMPANY))
        out = []
        for name, remote in columns:
            origin = self.origin.get(name)
            plain = (origin is not None and "." not in remote and self.canonical(*origin) >= UPPER_CASE
                     and self.canonical(relation.target, remote) == CANONICAL)
            out.append((name, target[(reached or {}).get(remote, remote)], plain))
        return out

    def _on(self, relation: Any) -> list[tuple[str, str]]:
        """A relation's join columns, with Company when both of its tables have one (and the site has several)."""
        on = list(relation.on)
        if not self.one_company and all(COMPANY in self.catalog(t).columns for t in (relation.source, relation.target)):
            on.append((COMPANY, COMPANY))
        return on

    def _has(self, full: str) -> bool:
        return full in self.names

    def _attach(self, right: ir.Table, pairs: list[tuple[str, ir.Value, bool]], chain: bool = False) -> None:
        """Left-join `right`; text keys of the left side are normalised once per frame, not once per join."""
        normalised = [(name, value) for name, value, plain in pairs if not plain and self.expr[name].type().is_string()]
        missing = {f"__n_{name}": as_compared(self.expr[name]) for name, _ in normalised
                   if f"__n_{name}" not in self.expr.columns}
        if missing:
            self.expr = self.expr.mutate(**missing)
        left = self.expr
        predicates = [left[f"__n_{name}"] == as_compared(value) if (name, value) in normalised else left[name] == value
                      for name, value, _ in pairs]
        joined = left.left_join(right, predicates)
        # Aggregates (`chain`) join without a projection: a frame with many of them (the readiness pass) stays
        # one join chain, which ibis compiles in far less time. Relations keep it: on the join-heavy eligibility
        # pass DuckDB then needs less memory (docs/performance.md).
        self.expr = joined if chain else joined.select(*left.columns, *(c for c in right.columns if c not in left.columns))

    def ensure_join(self, relation_name: str, prefix: str, table: str) -> None:
        path = prefix + relation_name
        if path in self.joined:
            return
        relation = self.registry.relation(table, relation_name)
        target_table = relation.target
        target = self.catalog(target_table).view()
        pairs = self._join_keys(relation_name, prefix, table, target)
        stem = path.replace(".", "__")
        renamed = target.rename({f"{stem}__{c}": c for c in target.columns})
        if relation.to_one:  # 1 on a row that found its related row: `exists` reads it instead of counting again
            renamed = renamed.mutate(**{f"{stem}{MATCHED}": ibis.literal(1)})
            self.names[f"{path}.{MATCHED}"] = f"{stem}{MATCHED}"
        pairs = [(name, renamed[f"{stem}__{value.get_name()}"], plain) for name, value, plain in pairs]
        self._attach(renamed, pairs)
        for column in target.columns:
            self.names[f"{path}.{column}"] = f"{stem}__{column}"
            self.origin[f"{stem}__{column}"] = (target_table, column)
        self.joined.add(path)
