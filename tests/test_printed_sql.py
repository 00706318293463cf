"""The SQL `backflush explain --sql` prints is meant to be pasted into a database's own console: every rule's
query, in every dialect, parses with sqlglot's parser for that dialect."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlglot

from validator.commands.explain import DIALECTS, TSQL_MEDIAN, sql_for
from validator.config.profile import Profile
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
        parsed = [s for s in sqlglot.parse(sql, read=SQLGLOT[dialect]) if not isinstance(s, sqlglot.exp.Semicolon)]
        *declarations, statement = parsed  # a comment after a declaration's semicolon parses as an empty statement
        assert all(isinstance(d, sqlglot.exp.Declare) for d in declarations) and (not declarations or dialect == "tsql")
        assert statement is not None and statement.find(sqlglot.exp.Select), f"{rule.id} on {table}"


def test_a_median_prints_as_sql_servers_group_aggregate(registry):
    (_, sql), *_ = sql_for(RULES["BFR009"], registry, "tsql")
    assert f"{TSQL_MEDIAN}(0.5) WITHIN GROUP" in sql


def test_a_column_only_exports_carry_is_read_as_blank_from_the_database(registry):
    """Kinetic's Erp.PartMtl has no BackFlush column: the printed query selects none from it."""
    (_, sql) = next((t, s) for t, s in sql_for(RULES["BFE001"], registry, "tsql") if t == "PartMtl")
    *_, tree = sqlglot.parse(sql, read="tsql")
    reads = [select for select in tree.find_all(sqlglot.exp.Select)
             if any(table.name == "PartMtl" for table in select.find_all(sqlglot.exp.Table)
                    if table.find_ancestor(sqlglot.exp.Select) is select)]
    assert reads, "no select from Erp.PartMtl"
    for select in reads:
        assert "BackFlush" not in {c.name for c in select.find_all(sqlglot.exp.Column)
                                   if c.find_ancestor(sqlglot.exp.Select) is select}
        assert "CAST(NULL AS BIT) AS [BackFlush]" in select.sql(dialect="tsql")


def test_the_snapshot_date_window_and_job_scope_are_declared_once_at_the_head_of_a_tsql_query(registry):
    (_, sql), *_ = sql_for(RULES["BFR008"], registry, "tsql", Profile(snapshot_date=dt.date(2026, 6, 30), window_days=180))
    head = sql.splitlines()[:2]
    assert head == ["DECLARE @SnapshotDate DATE = '2026-06-30';  -- the day the history is judged at",
                    "DECLARE @WindowStart DATE = DATEADD(DAY, -179, @SnapshotDate);  -- the first day of the history window"]
    assert "@SnapshotDate" in sql.split("\n", 2)[2] and "@WindowStart" in sql.split("\n", 2)[2]
    assert "DATEFROMPARTS(2026, 6, 30)" not in sql and "DATEFROMPARTS(1900" not in sql  # no literal left to edit by hand


def test_the_job_scope_is_a_parameter_of_the_other_dialects_params_cte(registry):
    printed = dict(sql_for(RULES["BFE004"], registry, "postgres"))
    sql = printed["JobMtl"]
    assert sql.startswith("WITH params AS (SELECT 'open' AS job_scope)")
    assert "(SELECT job_scope FROM params)" in sql and "job-scope-param" not in sql


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_no_printed_query_names_a_subquery_or_table_by_a_generated_t_number(dialect, registry):
    """A DBA follows the query by its names: every subquery is a CTE named after what it computes."""
    for rule in RULES.values():
        for table, sql in sql_for(rule, registry, dialect):
            *_, tree = [s for s in sqlglot.parse(sql, read=SQLGLOT[dialect]) if not isinstance(s, sqlglot.exp.Semicolon)]
            generated = sorted({i.name for i in tree.find_all(sqlglot.exp.Identifier) if re.fullmatch(r"t\d+", i.name)})
            assert not generated, f"{rule.id} on {table} ({dialect}) still names {generated}"
            assert not any(isinstance(s.parent, sqlglot.exp.From | sqlglot.exp.Join)
                           for s in tree.find_all(sqlglot.exp.Subquery)), f"{rule.id} on {table}: a nested subquery"


def test_a_readiness_query_names_its_steps_and_measure_after_the_rule(registry):
    (_, sql), = sql_for(RULES["BFR005"], registry, "tsql")
    *_, tree = [s for s in sqlglot.parse(sql, read="tsql") if not isinstance(s, sqlglot.exp.Semicolon)]
    ctes = [cte.alias for cte in tree.find_all(sqlglot.exp.CTE)]
    assert "Measured_grouped" in ctes and "PartRev_filtered" in ctes, ctes
    grouped = next(cte.this for cte in tree.find_all(sqlglot.exp.CTE) if cte.alias == "Measured_grouped")
    assert any(e.alias == "Measured" and e.find(sqlglot.exp.AggFunc) for e in grouped.expressions)


def test_no_printed_query_reads_a_business_object_field_from_the_database_table(registry):
    """PartWhse.Plant, JobOper.PrimaryResourceGrpID, JobOper.ActScrapQty and the FinalOpr flags are filled in by
    Epicor's business objects, not stored (SNO PartWhseRow: "not phiscally in database"): SQL Server would answer
    "Invalid column name". The printed query derives them (Erp.Warehse, Erp.JobOpDtl, Erp.LaborDtl) or reads blank."""
    not_stored = {(name, c) for name, spec in registry.tables.items() for c, col in spec.columns.items()
                  if col.database or col.export_only}
    assert {("PartWhse", "Plant"), ("JobOper", "PrimaryResourceGrpID"), ("JobOper", "FinalOpr")} <= not_stored
    read_from = set()
    for rule in RULES.values():
        for _, sql in sql_for(rule, registry, "tsql"):
            *_, tree = [s for s in sqlglot.parse(sql, read="tsql") if not isinstance(s, sqlglot.exp.Semicolon)]
            for table in tree.find_all(sqlglot.exp.Table):
                if table.db != "Erp":
                    continue
                select = table.find_ancestor(sqlglot.exp.Select)
                for column in select.find_all(sqlglot.exp.Column):
                    if column.table == table.alias_or_name and column.find_ancestor(sqlglot.exp.Select) is select:
                        read_from.add((table.name, column.name))
    assert not read_from & not_stored, sorted(read_from & not_stored)
    assert {("Warehse", "Plant"), ("JobOpDtl", "ResourceGrpID"), ("LaborDtl", "ScrapQty")} <= read_from
