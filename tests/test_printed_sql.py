"""The SQL `backflush explain --sql` prints is meant to be pasted into a database's own console: every rule's
query, in every dialect, parses with sqlglot's parser for that dialect."""

from __future__ import annotations

import pytest
import sqlglot

from validator.explain import DIALECTS, TSQL_MEDIAN, sql_for
from validator.rules.loader import BUILTIN_RULES, load_rules
from validator.tables import builtin_registry

RULES = load_rules([BUILTIN_RULES], builtin_registry())
SQLGLOT = {"duckdb": "duckdb", "tsql": "tsql", "postgres": "postgres", "spark": "spark"}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.id)
def test_every_rules_sql_parses_in_its_dialect(rule, dialect, registry):
    printed = sql_for(rule, registry, dialect)
    assert printed, f"{rule.id} printed no SQL for {dialect}"
    for table, sql in printed:
        (statement,) = sqlglot.parse(sql, read=SQLGLOT[dialect])
        assert statement is not None and statement.find(sqlglot.exp.Select), f"{rule.id} on {table}"


def test_a_median_prints_as_sql_servers_group_aggregate(registry):
    (_, sql), *_ = sql_for(RULES["BFR009"], registry, "tsql")
    assert f"{TSQL_MEDIAN}(0.5) WITHIN GROUP" in sql


def test_a_column_only_exports_carry_is_read_as_blank_from_the_database(registry):
    """Kinetic's Erp.PartMtl has no BackFlush column: the printed query selects none from it."""
    (_, sql) = next((t, s) for t, s in sql_for(RULES["BFE001"], registry, "tsql") if t == "PartMtl")
    tree = sqlglot.parse_one(sql, read="tsql")
    reads = [select for select in tree.find_all(sqlglot.exp.Select)
             if any(table.name == "PartMtl" for table in select.find_all(sqlglot.exp.Table)
                    if table.find_ancestor(sqlglot.exp.Select) is select)]
    assert reads, "no select from Erp.PartMtl"
    for select in reads:
        assert "BackFlush" not in {c.name for c in select.find_all(sqlglot.exp.Column)
                                   if c.find_ancestor(sqlglot.exp.Select) is select}
        assert "CAST(NULL AS BIT) AS [BackFlush]" in select.sql(dialect="tsql")
