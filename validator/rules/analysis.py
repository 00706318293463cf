"""Static analysis of a rule against the table registry, before any data is read.

It refuses unknown tables, columns, relations, operators and parameters, and says which tables and
columns a rule reads, so a run reads only those.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from validator.errors import RuleFileError
from validator.rules.grammar import ACROSS, AGGREGATES, RUN_PARAMS, children, classify
from validator.rules.model import Check, Rule
from validator.rules.what_if import indexed_checks
from validator.tables import COMPANY, Registry

# a message's placeholder: {Ref}, or {Ref:FORMAT} with FORMAT `percent` (a ratio as 12.5%), `decimals N` (a number
# rounded to N places) or `count NOUN` (the number with its noun in agreement: 1 job, 3 jobs; `count NOUN|PLURAL`
# for an irregular plural)
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?::[^{}]*)?\}")
FORMATTED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?::([^{}]*))?\}")
COUNT_FORMAT = re.compile(r"count ([^|{}]+?)(?:\|([^|{}]+))?$")
DECIMALS_FORMAT = re.compile(r"decimals ([0-9])$")


def message_format(text: str | None, where: str = "") -> tuple[str, str, str] | None:
    """A placeholder's format as (kind, singular, plural), or None for a plain value; an unknown one is refused."""
    if text is None:
        return None
    if text == "percent":
        return ("percent", "", "")
    decimals = DECIMALS_FORMAT.match(text)
    if decimals:
        return ("decimals", decimals.group(1), "")
    count = COUNT_FORMAT.match(text)
    if count:
        singular = count.group(1).strip()
        return ("count", singular, (count.group(2) or singular + "s").strip())
    raise RuleFileError(f"unknown message format {text!r}; formats: percent, decimals N, count NOUN, count NOUN|PLURAL",
                        location=where or None)


class Needs:
    """Columns per table that evaluating something requires (optional ones included)."""

    def __init__(self) -> None:
        self.columns: dict[str, set[str]] = defaultdict(set)
        self.params: set[str] = set()  # parameters read, the run parameters (snapshot date, window) included

    def add(self, table: str, column: str) -> None:
        self.columns[table].add(column)

    def merge(self, other: Needs) -> None:
        for table, cols in other.columns.items():
            self.columns[table] |= cols
        self.params |= other.params


class _Walker:
    def __init__(self, registry: Registry, rule: Rule, where: str) -> None:
        self.registry = registry
        self.rule = rule
        self.where = where
        self.needs = Needs()
        self._seen_derived: set[tuple[str, str]] = set()

    def ref(self, table: str, ref: str, allow_let: bool) -> None:
        extra = frozenset(self.rule.let) if allow_let else frozenset()
        resolved = self.registry.resolve(table, ref, self.where, extra)
        current = table
        for hop in resolved.hops:
            self.relation_keys(current, hop.name)
            current = hop.target
        if resolved.kind == "column":
            self.needs.add(current, resolved.name)
        elif resolved.kind == "derived":
            if (current, resolved.name) not in self._seen_derived:
                self._seen_derived.add((current, resolved.name))
                self.value(current, resolved.table.derived[resolved.name], allow_let=False)
        else:
            self.value(table, self.rule.let[resolved.name], allow_let=True)

    def relation_keys(self, table: str, name: str) -> None:
        relation = self.registry.relation(table, name, self.where)
        for local, remote in relation.on:
            self.ref(table, local, allow_let=False)
            self.ref(relation.target, remote, allow_let=False)  # a related column, or one its rows reach
        for side in (table, relation.target):
            if COMPANY in self.registry.tables[side].columns:
                self.needs.add(side, COMPANY)

    def related(self, table: str, spec: dict[str, Any]) -> str:
        """The table a relation path leads to; the keys of every hop are needed. The first hop's rows may reach a
        join column of the second through a to-one relation; after that the join columns must be plain columns
        (the intermediate rows are only a bridge)."""
        hops = self.registry.path(table, spec["relation"], self.where)
        if any("." in remote for hop in hops[1:] for _, remote in hop.on):
            raise RuleFileError(f"relation path {spec['relation']!r}: a relation that joins on a column its rows "
                                "reach through a relation (dotted) can only be a path's first hop", location=self.where)
        for hop in hops[2:]:
            plain = self.registry.tables[hop.source].columns
            for local, _ in hop.on:
                if local not in plain:
                    raise RuleFileError(f"relation path {spec['relation']!r}: {hop.source}.{hop.name} joins on {local!r}, "
                                        "which is not a plain column; only the first two hops may join on derived "
                                        "or related values",
                                        location=self.where)
        for hop in hops:
            self.relation_keys(hop.source, hop.name)
        target = hops[-1].target
        if "where" in spec:
            self.value(target, spec["where"], allow_let=False)
        return target

    def aggregate(self, table: str, spec: dict[str, Any]) -> None:
        fn = spec["fn"]
        if fn not in AGGREGATES:
            raise RuleFileError(f"unknown aggregate {fn!r}; valid: {', '.join(AGGREGATES)}", location=self.where)
        if fn != "count" and "column" not in spec:
            raise RuleFileError(f"aggregate {fn} needs a 'column'", location=self.where)
        if (fn == "ratio") != ("denominator" in spec):
            raise RuleFileError("'denominator' goes with fn ratio, and ratio needs one", location=self.where)
        grouped = [k for k in ("per", "per_month") if k in spec]
        if len(grouped) > 1 or bool(grouped) != ("across" in spec):
            raise RuleFileError("an aggregate has 'across' exactly when it has one of 'per' or 'per_month'", location=self.where)
        if "across" in spec and spec["across"] not in ACROSS:
            raise RuleFileError(f"unknown 'across' {spec['across']!r}; valid: {', '.join(ACROSS)}", location=self.where)
        target = self.related(table, spec)
        for key in ("column", "denominator", "per", "per_month"):
            if key in spec:
                self.ref(target, spec[key], allow_let=False)

    def value(self, table: str, node: Any, allow_let: bool) -> None:
        kind = classify(node, self.where)
        if kind.kind == "column":
            self.ref(table, kind.args[0], allow_let)
        elif kind.kind == "param":
            self.needs.params.add(kind.args[0])
            if kind.args[0] not in self.rule.params and kind.args[0] not in RUN_PARAMS:
                raise RuleFileError(
                    f"unknown parameter {kind.args[0]!r}; declared: {', '.join(self.rule.params) or 'none'}; "
                    f"every rule may also read {', '.join(RUN_PARAMS)}",
                    location=self.where,
                )
        elif kind.kind == "aggregate":
            self.aggregate(table, kind.args[0])
        elif kind.kind in ("exists", "not_exists"):
            self.related(table, kind.args[0])
        else:  # the rest read this row: their operands are read here too
            if kind.kind == "predicate" and kind.op in ("in", "not_in", "like_any") \
                    and classify(kind.args[1]).kind not in ("literal", "param"):
                raise RuleFileError(f"'{kind.op}' takes a list of values or a {{param: NAME}}, not {kind.args[1]!r}",
                                    location=self.where)
            arity = {"abs": 1, "days_between": 2}.get(kind.op) if kind.kind == "function" else None
            if arity and len(kind.args) != arity:
                raise RuleFileError(f"{kind.op} takes {arity} operand(s), got {len(kind.args)}", location=self.where)
            for child in children(node, kind):
                self.value(table, child.node, allow_let)


def check_needs(rule: Rule, check: Check, registry: Registry, where: str = "") -> Needs:
    """Validate one check of a rule and return the columns it reads."""
    walker = _Walker(registry, rule, where)
    table = registry.table(check.table, where)
    walker.value(check.table, check.where, allow_let=True)
    for ref in (*check.evidence, *PLACEHOLDER.findall(check.message)):
        walker.ref(check.table, ref, allow_let=True)
    for _, text in FORMATTED.findall(check.message):
        message_format(text or None, where)
    for ref in table.component.values():
        walker.ref(check.table, ref, allow_let=False)
    for name in list(walker.needs.columns):  # keys too, so every table read can be checked for duplicates
        for column in registry.tables[name].key:
            walker.needs.add(name, column)
    return walker.needs


def check_rule(rule: Rule, check: Check, registry: Registry, where: str) -> None:
    check_needs(rule, check, registry, where)


def rule_needs(rule: Rule, registry: Registry) -> Needs:
    """What a rule reads: its checks and their what-if twins (rules/what_if.py)."""
    needs = Needs()
    for _, check in indexed_checks(rule):
        needs.merge(check_needs(rule, check, registry))
    return needs


def rules_needs(rules: list[Rule], registry: Registry) -> dict[str, set[str]]:
    """The columns per table that a run of these rules reads."""
    needs = Needs()
    for rule in rules:
        needs.merge(rule_needs(rule, registry))
    return dict(needs.columns)
