"""Business-object fields read from Epicor's database: an export (or the REST API) carries a field the business
object fills in (PartWhse.Plant, JobOper.PrimaryResourceGrpID), which the database table has not; SQL against the
database derives it from the columns it has, as the table's schema says (`database:` of a column)."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from validator.tables import COMPANY, Table

SQL_TYPES = {"string": "string", "boolean": "boolean", "integer": "int64", "decimal": "decimal(22, 8)", "date": "date"}

# (database table, {column: type}) -> that table as the query reads it
Lookup = Callable[[str, dict[str, str]], ir.Table]


def derived_columns(spec: Table, wanted: list[str]) -> list[str]:
    """The wanted columns the database derives rather than holds."""
    return [c for c in wanted if spec.columns[c].database]


def _pairs(spec: Table, way: dict) -> list[tuple[str, str]]:
    """A derivation's join: (this table's column, the other's), Company as well where this table has one."""
    return [*way["join"].items(), *([(COMPANY, COMPANY)] if COMPANY in spec.columns else [])]


def _join_type(spec: Table, way: dict, local: str) -> str:
    """The type of a join column, as the table declares it or the derivation says (PrimaryProdOpDtl)."""
    return way.get("types", {}).get(local) or spec.columns[local].type


def base_columns(spec: Table, wanted: list[str]) -> dict[str, str]:
    """The database columns of the table itself a query reads for `wanted`: the stored ones, and the join columns
    of the derived ones (PrimaryProdOpDtl), with their types."""
    out = {c: spec.columns[c].type for c in wanted if not spec.columns[c].database and not spec.columns[c].export_only}
    for column in derived_columns(spec, wanted):
        way = spec.columns[column].database
        for local, _ in _pairs(spec, way):
            out.setdefault(local, _join_type(spec, way, local))
    return out


def with_derived(expr: ir.Table, spec: Table, wanted: list[str], lookup: Lookup) -> ir.Table:
    """`expr` (the database table) with each derived column of `wanted` added: the value of the one row of the
    other table that meets the join (a lookup on its key), or the sum over those rows (fn: sum)."""
    for column in derived_columns(spec, wanted):
        way = spec.columns[column].database
        pairs = _pairs(spec, way)
        types = {remote: _join_type(spec, way, local) for local, remote in pairs}
        types[way["column"]] = spec.columns[column].type
        other = lookup(way["table"], {c: SQL_TYPES[t] for c, t in types.items()})
        keys = [remote for _, remote in pairs]
        value, alias = other[way["column"]], f"{way['table']}_{way['column']}"
        other = (other.group_by(keys).aggregate(**{alias: value.sum()}) if way.get("fn") == "sum"
                 else other.select(*keys, **{alias: value}))
        joined = expr.left_join(other, [expr[local] == other[remote] for local, remote in pairs])
        expr = joined.select(*expr.columns, **{column: joined[alias]})
    return expr


def database_table(spec: Table, columns: list[str], schema: str = "Erp") -> ir.Table:
    """The table of Epicor's database as a query reads `columns` of it: a business-object field derived from the
    columns the database has (PartWhse.Plant from Erp.Warehse), one only exports carry (PartMtl.BackFlush) blank."""
    stored = base_columns(spec, columns)
    expr = ibis.table({c: SQL_TYPES[t] for c, t in stored.items()}, name=spec.name, database=schema)
    blank = {c: ibis.null(SQL_TYPES[spec.columns[c].type]) for c in columns if spec.columns[c].export_only}
    if not blank and not derived_columns(spec, columns):
        return expr  # the table as it is: the query names the columns it reads
    expr = with_derived(expr, spec, columns, lambda other, types: ibis.table(types, name=other, database=schema))
    return (expr.mutate(**blank) if blank else expr).select(*columns)


def select_text(spec: Table, columns: list[str], schema: str = "Erp") -> str:
    """One SELECT of `columns` a DBA runs against the database (SQL Server or PostgreSQL): a business-object field
    is a correlated subquery over the table it is derived from, one only exports carry is left out."""
    parts = []
    for column in columns:
        way = spec.columns[column].database
        if spec.columns[column].export_only:
            continue
        if not way:
            parts.append(f"t.{column}")
            continue
        pairs = _pairs(spec, way)
        value = f"SUM(x.{way['column']})" if way.get("fn") == "sum" else f"x.{way['column']}"
        where = " AND ".join(f"x.{remote} = t.{local}" for local, remote in pairs)
        parts.append(f"(SELECT {value} FROM {schema}.{way['table']} x WHERE {where}) AS {column}")
    return f"SELECT {', '.join(parts)} FROM {schema}.{spec.name} t;"
