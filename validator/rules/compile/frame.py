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
import json
import operator
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import ibis
import ibis.expr.types as ir

from validator.errors import RuleFileError
from validator.rules.analysis import PLACEHOLDER
from validator.rules.grammar import COUNTS, FLAG_TESTS, RUN_PARAMS, Node, classify
from validator.rules.model import Rule
from validator.tables import COMPANY, Registry

Catalog = Callable[[str], ir.Table]
Rows = Callable[[ir.Table], int]  # the engine counts the rows of an expression (what a semi-join would save)
FEW = 10  # candidates under a tenth of the related rows: a semi-join before grouping pays
# (table, column) -> how far its text is already as SQL Server compares it: 0 not known, UPPER_CASE every value
# present is upper case (blanks may be null), CANONICAL upper case and never blank
Canonical = Callable[[str, str], int]
UPPER_CASE, CANONICAL = 1, 2


def never_canonical(table: str, column: str) -> int:
    return 0


def semi_join_pays(candidates: int, related: int) -> bool:
    """Whether an aggregate of a guarded pass should group only the related rows of its candidates."""
    return candidates * FEW <= related


MATCHED = "__matched"  # the column a to-one join adds: 1 where the related row was found


def _norm(value: ir.Value) -> ir.Value:
    """Keys as SQL Server compares them; a blank key (AltMethod '') matches a blank one."""
    return value.upper().fill_null("") if value.type().is_string() else value


class Frame:
    """The judged table, widened with the related columns, derived values and aggregates it needs."""

    _counter = itertools.count()

    def __init__(self, registry: Registry, catalog: Catalog, rule: Rule, table: str,
                 canonical: Canonical = never_canonical, view: bool = True, one_company: bool = False) -> None:
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
        self.constants: dict[str, Any] = {}  # names of let/derived values that are literals (not stored)
        self.siblings: dict[str, list[tuple[str, Any]]] = {}  # aggregates computed together (sibling_aggregates)
        # the judged rows some check's join-free guard admits (a guarded pass), before any join: an aggregate
        # over a related table groups only the related rows that meet one of them
        self.candidates: ir.Table | None = None
        self.rows: Rows | None = None  # without it (SQL printed for a DBA) no related rows are left out
        self._candidate_rows: int | None = None
        # what the counts decided: (candidates, related table, semi-join or not); a compiled pass reused later
        # (validator/engines/duckdb/compile_cache.py) holds only while the counts decide the same
        self.decisions: list[tuple[ir.Table, str, bool]] = []
        # the conjuncts the judged rows were filtered by so far (canonical text -> node; None for one that reads a
        # rule's let), or None once a filter is not a list of conjuncts (an OR of several checks' guards)
        self.narrowed_by: dict[str, Any] | None = {}

    def narrow(self, node: Any) -> None:
        """Keep only the judged rows that meet `node`, and remember its conjuncts (`_windowed`)."""
        self.expr = self.expr.filter(self.cond(node))
        if self.narrowed_by is None:
            return
        kind = classify(node)
        for conjunct in kind.args if kind.kind == "all" else (node,):
            self.narrowed_by[_canonical(conjunct)] = None if _reads_let(conjunct, self.rule) else conjunct

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

    def _join_keys(self, relation_name: str, prefix: str, table: str,
                   target: ir.Table) -> list[tuple[str, ir.Value, bool]]:
        """(left column, right value, plain) per join column; plain: they compare as they are, without UPPER on
        every row: both sides upper case and the related table's column never blank (then a blank on the left,
        which an outer join before may also make, matches nothing either way)."""
        relation = self.registry.relation(table, relation_name)
        columns = [(self.ensure_ref(local, prefix, table), remote) for local, remote in relation.on]
        if not self.one_company and self._has(prefix + COMPANY) and COMPANY in target.columns:
            columns.append((self.names[prefix + COMPANY], COMPANY))
        out = []
        for name, remote in columns:
            origin = self.origin.get(name)
            plain = (origin is not None and self.canonical(*origin) >= UPPER_CASE
                     and self.canonical(relation.target, remote) == CANONICAL)
            out.append((name, target[remote], plain))
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
        missing = {f"__n_{name}": _norm(self.expr[name]) for name, _ in normalised if f"__n_{name}" not in self.expr.columns}
        if missing:
            self.expr = self.expr.mutate(**missing)
        left = self.expr
        predicates = [left[f"__n_{name}"] == _norm(value) if (name, value) in normalised else left[name] == value
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

    def ensure_related(self, kind: Node, prefix: str, table: str) -> None:
        """An aggregate (or exists) over the rows a relation, or a path of relations, leads to: one value per
        row of this frame, computed by grouping the related rows on the join keys and left-joining the result."""
        spec = kind.args[0]
        key = f"{prefix}<{kind.kind}:{id(spec)}>"
        if key in self.names:
            return
        relation = self.registry.relation(table, spec["relation"]) if "." not in spec["relation"] else None
        if kind.kind != "aggregate" and set(spec) == {"relation"} and relation is not None and relation.to_one:
            self.ensure_join(relation.name, prefix, table)  # at most one related row: the join tells
            self.names[key] = self.names[f"{prefix}{relation.name}.{MATCHED}"]
            return
        group = [(kind.kind, spec)]
        if not prefix and table == self.root:  # read at the root: computed with its siblings in one pass
            siblings = self.siblings.get(signature(self.rule, spec), [])
            group += [(k, s) for k, s in siblings if s is not spec and f"<{k}:{id(s)}>" not in self.names]
        hops = self.registry.path(table, spec["relation"])
        if self._windowed(group, spec, hops, prefix, table):
            return
        target = hops[-1].target
        inner = Frame(self.registry, self.catalog, self.rule, target, self.canonical, view=False,
                      one_company=self.one_company)
        inner.rule = replace(self.rule, let={})
        if "where" in spec:
            guard = local_conjuncts(spec["where"], inner.rule, target, self.registry)
            if guard is not None:  # drop the rows the join-free part rules out before any join
                inner.ensure(guard, allow_let=False)
                inner.expr = inner.expr.filter(inner.cond(guard, allow_let=False))
            inner.ensure(spec["where"], allow_let=False)
        refs = {}
        for index, (_, member) in enumerate(group):
            for part in ("column", "denominator"):
                if part in member:
                    refs[f"__v{index}_{part}"] = inner.ensure_ref(member[part], "", target)
        for part in ("per", "per_month"):  # the same for every sibling: part of their signature
            if part in spec:
                refs["__b"] = inner.ensure_ref(spec[part], "", target)
        filtered = inner.expr.filter(inner.cond(spec["where"])) if "where" in spec else inner.expr
        values = {name: inner.column(column, filtered) for name, column in refs.items()}
        if "per_month" in spec:
            values["__b"] = values["__b"].truncate("M")
        if len(hops) == 1:
            pairs = self._join_keys(hops[0].name, prefix, table, filtered)
            keys = {f"__g{i}": value if plain else _norm(value) for i, (_, value, plain) in enumerate(pairs)}
            rows = self._reduced(filtered, pairs, prefix, target).select(**keys, **values)
        else:
            rows, pairs = self._bridge(hops, prefix, table, filtered, values)
        keys = [f"__g{i}" for i in range(len(pairs))]
        names = [f"__agg{next(self._counter)}" for _ in group]
        grouped = _measure(rows, keys, [member for _, member in group], names, bucket="__b" if "__b" in values else None)
        stem = names[0]
        grouped = grouped.rename({f"{stem}{g}": g for g in keys})
        pairs = [(left, grouped[f"{stem}{g}"], plain) for (left, _, plain), g in zip(pairs, keys, strict=True)]
        self._attach(grouped, pairs, chain=True)
        for (member_kind, member), name in zip(group, names, strict=True):
            if member_kind != "aggregate" or member.get("across", member.get("fn", "count")) in COUNTS:
                self.zero_when_blank.add(name)  # no related rows: a count of 0, anything else blank
            self.names[f"{prefix}<{member_kind}:{id(member)}>"] = name

    def _windowed(self, group: list[tuple[str, Any]], spec: dict[str, Any], hops: list[Any], prefix: str,
                  table: str) -> bool:
        """An aggregate over the judged table's own rows, through a relation that meets the rows with the same
        values in the same columns (BFC012: the open demand of the materials of one part and warehouse), made as a
        window over the judged rows when they are the rows its where admits already: it then neither reads the
        table again nor joins its groups back. Besides
        the where's own conjuncts, the rows may have been filtered only by a blank test of a join column, which
        every row of a partition meets alike. Returns whether it did."""
        on = hops[0].on
        if (prefix or table != self.root or len(hops) != 1 or hops[0].target != self.root or self.narrowed_by is None
                or any(local != remote or "." in local for local, remote in on)
                or any(k != "aggregate" or m.get("fn") not in WINDOWED or {"per", "per_month"} & set(m) for k, m in group)):
            return False
        where = classify(spec["where"]) if "where" in spec else None
        wanted = {_canonical(c) for c in (where.args if where.kind == "all" else (spec["where"],))} if where else set()
        columns = {local for local, _ in on}
        if not all(key in self.narrowed_by and self.narrowed_by[key] is not None for key in wanted):
            return False
        if not all(node is not None and _blank_test(node, columns)
                   for key, node in self.narrowed_by.items() if key not in wanted):
            return False
        pairs = self._join_keys(hops[0].name, prefix, table, self.expr)
        refs = [self.ensure_ref(member["column"], "", table) for _, member in group]  # may widen self.expr
        normalised = {name: not plain and self.expr[name].type().is_string() for name, _, plain in pairs}
        as_is = [self.expr[name] for name, norm in normalised.items() if not norm]
        window = ibis.window(group_by=[_norm(self.expr[name]) if norm else self.expr[name] for name, norm in normalised.items()])
        values = {}
        for (kind, member), ref in zip(group, refs, strict=True):
            value = _over(self.expr[ref], member["fn"]).over(window)
            if as_is:  # a blank key compared as it is meets no row (a join's NULL = NULL), so its value is blank
                blank = functools.reduce(operator.or_, [key.isnull() for key in as_is])
                value = blank.ifelse(ibis.null(value.type()), value)
            name = f"__agg{next(self._counter)}"
            values[name] = value
            self.names[f"{prefix}<{kind}:{id(member)}>"] = name
        self.expr = self.expr.mutate(**values)
        return True

    def _reduced(self, related: ir.Table, pairs: list[tuple[str, ir.Value, bool]], prefix: str,
                 target: str) -> ir.Table:
        """The related rows that meet a candidate row of a guarded pass (a semi-join), when the candidates are
        few against the related table's rows: the JobOper pass then counts the backflushed materials of a few
        hundred operations, not of millions. Where the candidates are many (the backflushed PartPlant rows against
        PartWhse) the semi-join would only add a probe, and a self-relation always has as many (docs/performance.md)."""
        candidates = self.candidates
        if (candidates is None or self.rows is None or prefix or target == self.root
                or not all(name in candidates.columns for name, _, _ in pairs)):
            return related
        if self._candidate_rows is None:
            self._candidate_rows = self.rows(candidates)
        semi = semi_join_pays(self._candidate_rows, self.rows(self.catalog(target)))
        self.decisions.append((candidates, target, semi))
        if not semi:
            return related
        on = [value == candidates[name] if plain else _norm(value) == _norm(candidates[name]) for name, value, plain in pairs]
        return related.semi_join(candidates, on)

    def related_value(self, kind: Node, prefix: str) -> ir.Value:
        name = self.names[f"{prefix}<{kind.kind}:{id(kind.args[0])}>"]
        value = self.expr[name]
        if name.endswith(MATCHED):  # exists through a to-one join: whether it found its row
            return value.notnull() if kind.kind == "exists" else value.isnull()
        return value.fill_null(0) if name in self.zero_when_blank else value

    def _bridge(self, hops: list[Any], prefix: str, table: str, filtered: ir.Table,
                values: dict[str, ir.Value]) -> tuple[ir.Table, list[tuple[str, ir.Value, bool]]]:
        """The target rows of a relation path with the first hop's join keys (`__g0`...), a row reached
        through several paths counted once. Walking forward, each intermediate table keeps one row per
        distinct (first-hop keys, next join values): a target row has one value per join column, so it then
        meets each group once. The distinct runs on the small side (job materials), never on the target
        rows (labour), and a target row needs no key of its own."""
        first = self.catalog(hops[0].target)
        pairs = self._join_keys(hops[0].name, prefix, table, first)
        group = {f"__g{i}": value if plain else _norm(value) for i, (_, value, plain) in enumerate(pairs)}
        ahead = {f"__j{j}": _norm(first[local]) for j, (local, _) in enumerate(self._on(hops[1]))}
        current = first.select(**group, **ahead).distinct()
        for index in range(1, len(hops) - 1):  # tables between the first hop's and the target
            hop, following = hops[index], hops[index + 1]
            source = self.catalog(hop.target)
            on = [current[f"__j{j}"] == _norm(source[remote]) for j, (_, remote) in enumerate(self._on(hop))]
            ahead = {f"__j{j}": _norm(source[local]) for j, (local, _) in enumerate(self._on(following))}
            current = current.inner_join(source, on).select(*group, **ahead).distinct()
        last = self._on(hops[-1])
        on = [current[f"__j{j}"] == _norm(filtered[remote]) for j, (_, remote) in enumerate(last)]
        rows = current.inner_join(filtered, on).select(*group, **values)
        return rows, pairs

    # -- pass 2: the expression over the widened table ----------------------------------------
    # Conditions compile to two-valued predicates (never NULL) built from IS NULL, comparisons, AND, OR
    # and NOT only: valid as they stand in DuckDB, PostgreSQL, Spark and T-SQL, where a bit column or a
    # COALESCE over a comparison is not a predicate.
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
                    test = _is_false(self.build(left_node, prefix, table, allow_let))
            return ~test if kind.op == "is_not" else test
        left = self.build(left_node, prefix, table, allow_let)
        if kind.op in ("in", "not_in"):
            value = self._python_value(classify(right_node))
            options = [value] if isinstance(value, (str, int, float, bool)) or value is None else list(value)
            if left.type().is_string():
                options = [str(o).upper() for o in options]
            member = _norm(left).isin(options)
            return left.notnull() & (~member if kind.op == "not_in" else member)  # blank: false either way
        right = self.build(right_node, prefix, table, allow_let)
        if left.type().is_boolean() or right.type().is_boolean():
            a, b = self.cond(left_node, prefix, table, allow_let), self.cond(right_node, prefix, table, allow_let)
            same = (a & b) | (~a & ~b)
            if kind.op == "eq":
                return _all(_known(left), _known(right), same)
            if kind.op == "ne":
                return _all(_known(left), _known(right), ~same)
            raise RuleFileError(f"cannot order true/false values with {kind.op!r}; use eq or ne")
        known = _all(_known(left), _known(right))  # a comparison with a blank value is false
        if left.type().is_string():
            left, right = _norm(left), _norm(right.cast("string"))
        compare = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
                   "le": operator.le, "gt": operator.gt, "ge": operator.ge}[kind.op](left, right)
        return _all(known, compare)


def _over(values: ir.Value, fn: str) -> ir.Value:
    """One aggregate function of a column; cv is the sample standard deviation over the mean."""
    if fn == "count_distinct":
        return values.nunique()
    if fn == "stddev":
        return values.std()
    if fn == "cv":
        return values.std() / values.mean().nullif(0)
    return getattr(values, fn)()


def _measure(rows: ir.Table, group: list[str], specs: list[dict[str, Any]], names: list[str],
             bucket: str | None = None) -> ir.Table:
    """The aggregates of sibling specs (same rows, same buckets) per group of related rows, in one pass;
    with per / per_month, per bucket first, then across buckets."""
    def one(index: int, spec: dict[str, Any]) -> ir.Value:
        fn = spec.get("fn", "count")
        if fn == "count":
            return rows.count()
        column = rows[f"__v{index}_column"]
        if fn == "ratio":
            return column.sum() / rows[f"__v{index}_denominator"].sum().nullif(0)
        return _over(column, fn)
    if bucket is None:
        return rows.group_by(*group).aggregate(**{name: one(i, s) for i, (s, name) in enumerate(zip(specs, names, strict=True))})
    per_bucket = rows.group_by(*group, bucket).aggregate(**{f"__m{i}": one(i, s) for i, s in enumerate(specs)})
    measures = {}
    for i, (spec, name) in enumerate(zip(specs, names, strict=True)):
        values = per_bucket[f"__m{i}"]
        measures[name] = values.count() if spec["across"] == "count" else _over(values, spec["across"])
    return per_bucket.group_by(*group).aggregate(**measures)


def signature(rule: Rule, spec: dict[str, Any]) -> str:
    """Aggregates with the same signature read the same related rows in the same buckets: one pass computes
    them all. A where that reads a rule's own parameter belongs to that rule alone."""
    text = _canonical({k: spec.get(k) for k in ("relation", "where", "per", "per_month")})
    own = [name for name in _PARAM.findall(text) if name not in RUN_PARAMS]
    return f"{rule.id if own else ''}|{text}"


_PARAM = re.compile(r'"param": "([A-Za-z_][A-Za-z0-9_]*)"')


def sibling_aggregates(items: list[tuple[Rule, Any]], table: str, registry: Registry) -> dict[str, list[tuple[str, Any]]]:
    """The aggregates (and exists) read at the root of a frame, through the checks' conditions, evidence,
    messages, lets and derived values, grouped by signature."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    seen: set[int] = set()
    visiting: set[tuple[str, str]] = set()

    def walk(node: Any, rule: Rule, allow_let: bool) -> None:
        kind = classify(node)
        if kind.kind == "column":
            ref = kind.args[0]
            if "." in ref or (rule.id, ref) in visiting:
                return
            visiting.add((rule.id, ref))
            if allow_let and ref in rule.let:
                walk(rule.let[ref], rule, True)
            elif ref in registry.tables[table].derived:
                walk(registry.tables[table].derived[ref], rule, False)
            visiting.discard((rule.id, ref))
        elif kind.kind in ("aggregate", "exists", "not_exists"):
            spec = kind.args[0]
            if id(spec) not in seen:
                seen.add(id(spec))
                groups.setdefault(signature(rule, spec), []).append((kind.kind, spec))
        elif kind.kind in ("predicate", "function", "all", "any", "not"):
            for item in kind.args:
                walk(item, rule, allow_let)

    for rule, check in items:
        walk(check.where, rule, True)
        for ref in (*check.evidence, *PLACEHOLDER.findall(check.message)):
            walk({"column": ref}, rule, True)
    return groups


WINDOWED = ("sum", "min", "max", "mean")  # aggregates a window makes as a grouping does


def _canonical(node: Any) -> str:
    """A node as text, the same for equal nodes whatever the order of their keys."""
    return json.dumps(node, sort_keys=True, default=str)


def _reads_let(node: Any, rule: Rule) -> bool:
    """Whether a node reads one of the rule's let names anywhere (an aggregate's where never does: there the same
    name reads the table)."""
    if isinstance(node, dict):
        column = node.get("column")
        if isinstance(column, str) and column in rule.let:
            return True
        return any(_reads_let(value, rule) for value in node.values())
    if isinstance(node, list):
        return any(_reads_let(item, rule) for item in node)
    return False


def _blank_test(node: Any, columns: set[str]) -> bool:
    """Whether a condition only tests one of `columns` for blank (or not blank)."""
    kind = classify(node)
    if kind.kind != "predicate" or kind.op not in FLAG_TESTS or kind.args[1] not in (None, "blank"):
        return False
    subject = classify(kind.args[0])
    return subject.kind == "column" and subject.args[0] in columns


def _all(*parts: ir.BooleanValue) -> ir.BooleanValue:
    """AND of the parts, leaving out the ones that are literally true."""
    kept = [p for p in parts if not (isinstance(p.op(), ibis.expr.operations.Literal) and p.op().value is True)]
    return functools.reduce(operator.and_, kept) if kept else ibis.literal(True)


CONDITIONS = ("all", "any", "not", "exists", "not_exists", "predicate")


def stored(value: ir.Value) -> ir.Value:
    """A predicate kept as a column: CAST(CASE WHEN p THEN 1 ELSE 0 END AS BIT) is valid in every dialect."""
    if value.type().is_boolean() and not isinstance(value.op(), (ibis.expr.operations.Field, ibis.expr.operations.Literal)):
        return value.ifelse(1, 0).cast("boolean")
    return value


def _known(value: ir.Value) -> ir.BooleanValue:
    """IS NOT NULL, folded away for a literal."""
    if isinstance(value.op(), ibis.expr.operations.Literal):
        return ibis.literal(value.op().value is not None)
    return value.notnull()


def is_true(value: ir.Value) -> ir.BooleanValue:
    if isinstance(value.op(), ibis.expr.operations.Literal):
        return ibis.literal(bool(value.op().value))
    return value.notnull() & (value == True)  # noqa: E712 - an ibis expression: `= 1` in T-SQL


def _is_false(value: ir.Value) -> ir.BooleanValue:
    if isinstance(value.op(), ibis.expr.operations.Literal):
        return ibis.literal(value.op().value is False)
    return value.notnull() & (value == False)  # noqa: E712 - an ibis expression: `= 0` in T-SQL


def _is_local(node: Any, rule: Rule, table: str, registry: Registry, allow_let: bool = True) -> bool:
    """True when the node reads only the judged row itself: no relation, aggregate or related rows.
    Inside a derived value the rule's let names do not apply (as in `Frame.ensure_ref`)."""
    kind = classify(node)
    if kind.kind == "column":
        ref = kind.args[0]
        if "." in ref:
            return False
        if allow_let and ref in rule.let:
            return _is_local(rule.let[ref], rule, table, registry)
        derived = registry.tables[table].derived
        return ref not in derived or _is_local(derived[ref], rule, table, registry, allow_let=False)
    if kind.kind in ("aggregate", "exists", "not_exists"):
        return False
    if kind.kind in ("predicate", "function", "all", "any", "not"):
        return all(_is_local(item, rule, table, registry, allow_let) for item in kind.args)
    return True


def local_conjuncts(node: Any, rule: Rule, table: str, registry: Registry) -> Any | None:
    """The top-level conjuncts of a condition that read only the row itself, as one condition, or None."""
    kind = classify(node)
    conjuncts = kind.args if kind.kind == "all" else (node,)
    local = [c for c in conjuncts if _is_local(c, rule, table, registry)]
    return {"all": list(local)} if local else None
