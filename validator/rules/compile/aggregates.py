"""Aggregates and exists: the related rows of a relation grouped per judged row (or per bucket, then across),
as a grouping joined back, a window over the judged table, or a semi-join first when the counts say it pays."""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import replace
from typing import Any

import ibis
import ibis.expr.types as ir

from validator.rules.analysis import PLACEHOLDER
from validator.rules.compile.expressions import (
    MATCHED,
    as_compared,
    blank_test,
    canonical_text,
    local_conjuncts,
)
from validator.rules.grammar import COUNTS, RUN_PARAMS, Node, children, classify
from validator.rules.model import Rule
from validator.rules.passes import semi_join_pays
from validator.tables import Registry


class Aggregates:
    """The frame's aggregates over related rows (a mixin of Frame, which holds the state)."""

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
        family: list[tuple[str, Any]] = []
        if not prefix and table == self.root:  # read at the root: computed with its siblings in one pass
            family = [(k, s) for k, s in self.siblings.get(signature(self.rule, spec), [])
                      if s is not spec and f"<{k}:{id(s)}>" not in self.names]
            group += [(k, s) for k, s in family if _bucket(s) == _bucket(spec)]
        hops = self.registry.path(table, spec["relation"])
        if self._windowed(group, spec, hops, prefix, table):
            return
        group = _rolled_up_with(group, family)
        bucketed = next((member for _, member in group if _bucket(member)), None)
        target = hops[-1].target
        inner = type(self)(self.registry, self.catalog, self.rule, target, self.canonical, view=False,
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
        for part in ("per", "per_month"):  # the same for every bucketed member of the group
            if bucketed is not None and part in bucketed:
                refs["__b"] = inner.ensure_ref(bucketed[part], "", target)
        # a join column the related rows reach through a relation of their own (the analysis allows it on one hop)
        reached = {remote: inner.ensure_ref(remote, "", target) for _, remote in hops[0].on
                   if "." in remote and len(hops) == 1}  # a path's first hop: _bridge
        filtered = inner.expr.filter(inner.cond(spec["where"])) if "where" in spec else inner.expr
        values = {name: inner.column(column, filtered) for name, column in refs.items()}
        if bucketed is not None and "per_month" in bucketed:
            values["__b"] = values["__b"].truncate("M")
        if len(hops) == 1:
            pairs = self._join_keys(hops[0].name, prefix, table, filtered, reached)
            keys = {f"__g{i}": value if plain else as_compared(value) for i, (_, value, plain) in enumerate(pairs)}
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
            self.measures[name] = (member_kind, member)

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
        wanted = {canonical_text(c) for c in (where.args if where.kind == "all" else (spec["where"],))} if where else set()
        columns = {local for local, _ in on}
        if not all(key in self.narrowed_by and self.narrowed_by[key] is not None for key in wanted):
            return False
        if not all(node is not None and blank_test(node, columns)
                   for key, node in self.narrowed_by.items() if key not in wanted):
            return False
        pairs = self._join_keys(hops[0].name, prefix, table, self.expr)
        refs = [self.ensure_ref(member["column"], "", table) for _, member in group]  # may widen self.expr
        normalised = {name: not plain and self.expr[name].type().is_string() for name, _, plain in pairs}
        as_is = [self.expr[name] for name, norm in normalised.items() if not norm]
        window = ibis.window(group_by=[as_compared(self.expr[name]) if norm else self.expr[name]
                                       for name, norm in normalised.items()])
        values = {}
        for (kind, member), ref in zip(group, refs, strict=True):
            value = _over(self.expr[ref], member["fn"]).over(window)
            if as_is:  # a blank key compared as it is meets no row (a join's NULL = NULL), so its value is blank
                blank = functools.reduce(operator.or_, [key.isnull() for key in as_is])
                value = blank.ifelse(ibis.null(value.type()), value)
            name = f"__agg{next(self._counter)}"
            values[name] = value
            self.names[f"{prefix}<{kind}:{id(member)}>"] = name
            self.measures[name] = (kind, member)
        self.expr = self.expr.mutate(**values)
        return True

    def _reduced(self, related: ir.Table, pairs: list[tuple[str, ir.Value, bool]], prefix: str,
                 target: str) -> ir.Table:
        """The related rows that meet a candidate row of a guarded pass (a semi-join), when the candidates are
        few against the related table's rows: a guarded JobOper pass (fixtures/cases/rules/guarded_aggregate) then
        counts the materials of a few hundred operations, not of millions, and the PartPlant what-if pass the job
        lines of the parts that fail a rule. Where the candidates are many the semi-join would only add a probe, and
        a self-relation always has as many (docs/performance.md). The candidates are counted only when the judged
        table's own rows do not already decide, and never after joins (a joined guard): that count would cost the
        joins again on every run."""
        candidates = self.candidates
        if (candidates is None or self.rows is None or prefix or target == self.root
                or not all(name in candidates.columns for name, _, _ in pairs)):
            return related
        related_rows = self.rows(self.catalog(target))
        whole = self.catalog(self.root)
        if self._whole_rows is None:
            self._whole_rows = self.rows(whole)
        semi = semi_join_pays(self._whole_rows, related_rows)
        if semi or not self._countable:
            # were every judged row a candidate, they would be few (the candidates go uncounted); or counting them
            # would cost their joins on every run (a joined guard): the judged table's rows decide
            self.decisions.append((whole, target, semi))
        else:
            if self._candidate_rows is None:
                self._candidate_rows = self.rows(candidates)
            semi = semi_join_pays(self._candidate_rows, related_rows)
            self.decisions.append((candidates, target, semi))
        if not semi:
            return related
        on = [value == candidates[name] if plain else as_compared(value) == as_compared(candidates[name])
              for name, value, plain in pairs]
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
        reached: dict[str, str] = {}
        dotted = [remote for _, remote in hops[0].on if "." in remote]
        dotted += [local for local, _ in hops[1].on if local not in first.columns]
        if dotted:  # the first hop's rows reach a join column through a relation (PartMtl.Rev.Plant), or derive it
            rows = type(self)(self.registry, self.catalog, replace(self.rule, let={}), hops[0].target, self.canonical,
                              view=False, one_company=self.one_company)
            reached = {ref: rows.ensure_ref(ref, "", hops[0].target) for ref in dotted}
            first = rows.expr
        pairs = self._join_keys(hops[0].name, prefix, table, first, reached)
        group = {f"__g{i}": value if plain else as_compared(value) for i, (_, value, plain) in enumerate(pairs)}
        ahead = {f"__j{j}": as_compared(first[reached.get(local, local)]) for j, (local, _) in enumerate(self._on(hops[1]))}
        current = first.select(**group, **ahead).distinct()
        for index in range(1, len(hops) - 1):  # tables between the first hop's and the target
            hop, following = hops[index], hops[index + 1]
            source = self.catalog(hop.target)
            on = [current[f"__j{j}"] == as_compared(source[remote]) for j, (_, remote) in enumerate(self._on(hop))]
            ahead = {f"__j{j}": as_compared(source[local]) for j, (local, _) in enumerate(self._on(following))}
            current = current.inner_join(source, on).select(*group, **ahead).distinct()
        last = self._on(hops[-1])
        on = [current[f"__j{j}"] == as_compared(filtered[remote]) for j, (_, remote) in enumerate(last)]
        rows = current.inner_join(filtered, on).select(*group, **values)
        return rows, pairs

    # -- pass 2: the expression over the widened table ----------------------------------------
    # Conditions compile to two-valued predicates (never NULL) built from IS NULL, comparisons, AND, OR
    # and NOT only: valid as they stand in DuckDB, PostgreSQL, Spark and T-SQL, where a bit column or a
    # COALESCE over a comparison is not a predicate.


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
    """The aggregates of sibling specs (same rows) per group of related rows, in one pass. With a bucket (per /
    per_month), per group and bucket first, then across buckets; a sibling without buckets is then rolled up from
    its partial values per bucket (_rolled_up_with says which can be)."""
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
    partials: dict[str, ir.Value] = {}
    for i, spec in enumerate(specs):  # a rolled-up count, sum or bound keeps per bucket what it is over all rows
        if _bucket(spec) or spec.get("fn", "count") in ("count", "sum", "min", "max"):
            partials[f"__m{i}"] = one(i, spec)
        else:
            partials.update(_partials(rows, i, spec))
    per_bucket = rows.group_by(*group, bucket).aggregate(**partials)
    measures = {}
    for i, (spec, name) in enumerate(zip(specs, names, strict=True)):
        if not _bucket(spec):
            measures[name] = _roll_up(per_bucket, i, spec, bucket)
            continue
        values = per_bucket[f"__m{i}"]
        measures[name] = values.count() if spec["across"] == "count" else _over(values, spec["across"])
    return per_bucket.group_by(*group).aggregate(**measures)


def _bucket(spec: dict[str, Any]) -> str | None:
    """What an aggregate computes its values per before combining them across (per or per_month), as text."""
    return next((canonical_text({part: spec[part]}) for part in ("per", "per_month") if part in spec), None)


ROLLED_UP = ("count", "sum", "min", "max", "mean", "ratio", "count_distinct")  # made from their values per bucket


def _rolled_up_with(group: list[tuple[str, Any]], family: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The group to compute in one grouping: `group` (the aggregate asked for first, and its siblings in the same
    buckets) with the aggregates of the family (the same related rows) that a grouping per bucket makes too, from
    their values per bucket, instead of reading and grouping the rows once more: the sum, count, bounds, mean or
    ratio of the rows, and the count of distinct values of the bucket column itself (BFC012: the open demand and
    the number of jobs from the demand per job). Only buckets per a column: a month is not a value to count. An
    unbucketed sibling that does not fit the bucket chosen is left for a grouping of its own."""
    def rolls_up(spec: dict[str, Any], per: Any) -> bool:
        fn = spec.get("fn", "count")
        return fn in ROLLED_UP and (fn != "count_distinct" or canonical_text(spec["column"]) == canonical_text(per))
    first = group[0][1]
    if _bucket(first):  # the group has its buckets: the family's unbucketed aggregates that fit them
        if "per" not in first:
            return group
        return group + [(k, s) for k, s in family if not _bucket(s) and rolls_up(s, first["per"])]
    for _, candidate in family:  # the first bucket per a column that the aggregate asked for fits
        if "per" in candidate and rolls_up(first, candidate["per"]):
            return ([(k, s) for k, s in group if rolls_up(s, candidate["per"])]
                    + [(k, s) for k, s in family if _bucket(s) == _bucket(candidate)])
    return group


def _partials(rows: ir.Table, index: int, spec: dict[str, Any]) -> dict[str, ir.Value]:
    """What a rolled-up mean, ratio or count of the bucket column keeps per bucket."""
    fn, name = spec["fn"], f"__m{index}"
    if fn == "count_distinct":  # of the bucket column: the buckets themselves
        return {}
    column = rows[f"__v{index}_column"]
    if fn == "mean":
        return {f"{name}s": column.sum(), f"{name}c": column.count()}
    return {f"{name}n": column.sum(), f"{name}d": rows[f"__v{index}_denominator"].sum()}  # ratio


def _roll_up(per_bucket: ir.Table, index: int, spec: dict[str, Any], bucket: str) -> ir.Value:
    """A rolled-up aggregate across its partial values per bucket."""
    fn = spec.get("fn", "count")
    name = f"__m{index}"
    if fn == "count_distinct":
        return per_bucket[bucket].count()  # the distinct values that are not blank
    if fn == "mean":
        return per_bucket[f"{name}s"].sum() / per_bucket[f"{name}c"].sum().nullif(0)
    if fn == "ratio":
        return per_bucket[f"{name}n"].sum() / per_bucket[f"{name}d"].sum().nullif(0)
    return getattr(per_bucket[name], "sum" if fn == "count" else fn)()


def signature(rule: Rule, spec: dict[str, Any]) -> str:
    """Aggregates with the same signature read the same related rows: one grouping computes those in the same
    buckets, and those it can roll up (_rolled_up_with). A where that reads a rule's own parameter belongs to
    that rule alone."""
    text = canonical_text({k: spec.get(k) for k in ("relation", "where")})
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
        else:  # the operands read this row (an aggregate's where reads the related rows: not at the root)
            for child in children(node, kind):
                if not child.related:
                    walk(child.node, rule, allow_let)

    for rule, check in items:
        walk(check.where, rule, True)
        for ref in (*check.evidence, *PLACEHOLDER.findall(check.message)):
            walk({"column": ref}, rule, True)
    return groups


WINDOWED = ("sum", "min", "max", "mean")  # aggregates a window makes as a grouping does
