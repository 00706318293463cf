"""The Epicor table registry: columns, keys, relations and derived columns, read from schemas/tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from validator.errors import RuleFileError
from validator.schemas import SCHEMA_DIR, check_document
from validator.yamlsource import YamlDocument

COMPANY = "Company"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    optional: bool = False
    codes: tuple[str, ...] = ()
    blank_key: bool = False
    history: bool = False  # absent from an export: the checks reading it are SKIPPED, the run goes on
    export_only: bool = False  # not a column of Epicor's database: printed SQL reads it as blank
    # a business-object field: how SQL against the database derives it (`database:` in table.schema.json)
    database: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Relation:
    name: str
    source: str
    target: str
    on: tuple[tuple[str, str], ...]  # (ref on the source table, column of the target)
    to_one: bool


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: dict[str, Column]
    optional: bool = False
    relations: dict[str, Relation] = field(default_factory=dict)
    derived: dict[str, Any] = field(default_factory=dict)
    component: dict[str, str] = field(default_factory=dict)
    history_date: str | None = None  # its latest value in the data is the default snapshot date
    epicor: bool = True  # read from Epicor (an export, the database, the REST API); false: a file of the tool's own

    def column(self, name: str) -> Column | None:
        return self.columns.get(name)


@dataclass(frozen=True)
class Resolved:
    """What a dotted reference such as `RelatedOper.ResourceGroup.InputWhse` leads to."""

    hops: tuple[Relation, ...]
    table: Table
    name: str
    kind: str  # "column" or "derived"


class Registry:
    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = tables

    def table(self, name: str, where: str = "") -> Table:
        if name not in self.tables:
            raise RuleFileError(
                f"unknown table {name!r}; known tables: {', '.join(sorted(self.tables))}", location=where or None
            )
        return self.tables[name]

    def resolve(self, table: str, ref: str, where: str = "", extra: frozenset[str] = frozenset()) -> Resolved:
        """Follow the to-one relations of a dotted reference to its column; fail listing what is valid."""
        current = self.table(table, where)
        *path, last = ref.split(".")
        hops: list[Relation] = []
        for step in path:
            relation = current.relations.get(step)
            if relation is None or not relation.to_one:
                valid = sorted(r for r, rel in current.relations.items() if rel.to_one)
                raise RuleFileError(
                    f"{ref!r}: {current.name} has no to-one relation {step!r}; valid: {', '.join(valid) or 'none'}",
                    location=where or None,
                )
            hops.append(relation)
            current = self.tables[relation.target]
        if not hops and last in extra:
            return Resolved((), current, last, "let")
        if last in current.columns:
            return Resolved(tuple(hops), current, last, "column")
        if last in current.derived:
            return Resolved(tuple(hops), current, last, "derived")
        valid = sorted([*current.columns, *current.derived, *(extra if not hops else ())])
        raise RuleFileError(
            f"{ref!r}: {current.name} has no column {last!r}; valid: {', '.join(valid)}", location=where or None
        )

    def relation(self, table: str, name: str, where: str = "") -> Relation:
        relations = self.table(table, where).relations
        if name not in relations:
            raise RuleFileError(
                f"{table} has no relation {name!r}; valid: {', '.join(sorted(relations)) or 'none'}",
                location=where or None,
            )
        return relations[name]


    def path(self, table: str, dotted: str, where: str = "") -> list[Relation]:
        """The relations of a path such as `ComponentJobLines.RelatedLabour`, hop by hop."""
        hops, current = [], table
        for name in dotted.split("."):
            hop = self.relation(current, name, where)
            hops.append(hop)
            current = hop.target
        return hops


def _relation(source: str, name: str, spec: dict, tables: dict[str, dict]) -> Relation:
    target = tables[spec["table"]]
    target_key = {c for c in target["key"] if c != COMPANY and not target["columns"][c].get("optional")}
    joined = set(spec["join"].values())
    return Relation(name, source, spec["table"], tuple(spec["join"].items()), to_one=target_key <= joined)


def load_registry(directory: Path) -> Registry:
    docs = [YamlDocument.read(p, RuleFileError) for p in sorted(directory.glob("*.yaml"))]
    for doc in docs:
        check_document(doc, "table.schema.json", RuleFileError)
    raw = {doc.data["table"]: doc.data for doc in docs}
    tables: dict[str, Table] = {}
    for name, spec in raw.items():
        for rel_name, rel in spec.get("relations", {}).items():
            if rel["table"] not in raw:
                raise RuleFileError(f"relation {rel_name} names unknown table {rel['table']!r}", location=name)
        tables[name] = Table(
            name=name,
            key=tuple(spec["key"]),
            columns={c: Column(c, s["type"], s.get("optional", False), tuple(s.get("codes", ())), s.get("blank_key", False),
                            s.get("history", False), s.get("export_only", False), s.get("database"))
                     for c, s in spec["columns"].items()},
            optional=spec.get("optional", False),
            relations={r: _relation(name, r, s, raw) for r, s in spec.get("relations", {}).items()},
            derived=dict(spec.get("derived", {})),
            component=dict(spec.get("component", {})),
            history_date=spec.get("history_date"),
            epicor=spec.get("epicor", True),
        )
    registry = Registry(tables)
    for table in tables.values():
        for relation in table.relations.values():
            _check_reached_columns(registry, relation)
    return registry


def _check_reached_columns(registry: Registry, relation: Relation) -> None:
    """A relation may meet the related rows on a column they reach through their own to-one relation
    (PartPlant.SiteParentLines: the method lines whose revision, PartMtl.Rev, is at the part's site). Only an
    aggregate or exists reads such a relation, from the rows it leads to: it cannot be to-one, nor lead on."""
    reached = [remote for _, remote in relation.on if "." in remote]
    if not reached:
        return
    where = f"{relation.source}.{relation.name}"
    if relation.to_one:
        raise RuleFileError(f"relation {relation.name} joins on {reached[0]!r} of {relation.target}, a column its rows "
                            "reach through a relation: only a relation to many rows may", location=where)
    for remote in reached:
        registry.resolve(relation.target, remote, where)


@cache
def builtin_registry() -> Registry:
    return load_registry(SCHEMA_DIR / "tables")
