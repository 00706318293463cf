"""`backflush explain`: what a rule judges, why, what it reads, and the SQL a DBA can run."""

from __future__ import annotations

import ibis

from validator.docs import reads
from validator.errors import ConfigError
from validator.rules.compiler import compile_check, never_canonical
from validator.rules.model import Rule
from validator.tables import Registry

DIALECTS = {"duckdb": "duckdb", "tsql": "mssql", "postgres": "postgres", "spark": "pyspark"}
SQL_TYPES = {"string": "string", "boolean": "boolean", "integer": "int64", "decimal": "decimal(22, 8)", "date": "date"}


def sql_for(rule: Rule, registry: Registry, dialect: str) -> list[tuple[str, str]]:
    """(table, SQL) per check, against the Erp schema of an Epicor database."""
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}; available: {', '.join(DIALECTS)}")
    needed = reads(rule, registry)

    def catalog(name: str) -> ibis.Table:
        table = registry.tables[name]
        columns = needed.get(name) or list(table.key)
        return ibis.table({c: SQL_TYPES[table.columns[c].type] for c in columns}, name=name, database="Erp")

    out = []
    for check in rule.checks:
        # SQL Server's default collation already compares keys case-insensitively, ignoring trailing
        # spaces: its query joins keys as they are. Other databases get UPPER(...) on both sides.
        canonical = (lambda table, column: True) if dialect == "tsql" else never_canonical
        compiled = compile_check(rule, check, registry, catalog, canonical)
        query = compiled.query.drop(compiled.checks[0].hit)
        out.append((check.table, ibis.to_sql(query, dialect=DIALECTS[dialect])))
    return out


def explain_text(rule: Rule, registry: Registry, dialect: str) -> str:
    parts = [f"{rule.id}: {rule.title}", f"severity: {rule.severity}   tags: {', '.join(rule.tags)}", "",
             f"Why: {rule.rationale}", f"Evidence: {rule.source}", f"Remediation: {rule.remediation}", "",
             "Reads:"]
    parts += [f"  {table}: {', '.join(columns)}" for table, columns in reads(rule, registry).items()]
    if rule.params:
        parts += ["", "Parameters:"] + [f"  {k} = {v!r}: {rule.param_docs.get(k, '')}" for k, v in rule.params.items()]
    for table, sql in sql_for(rule, registry, dialect):
        parts += ["", f"-- {rule.id} on {table} ({dialect}): one row per finding", sql.strip() + ";"]
    return "\n".join(parts)
