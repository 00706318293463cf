"""In a guarded pass, an aggregate over a related table groups only the related rows its candidates meet,
when the candidates are few against the related rows; the findings are the same either way."""

from __future__ import annotations

import ibis
import pytest

import validator.rules.passes
from tests.conftest import DEMO, load_site, run_json
from validator.commands.check import with_run_params
from validator.config.profile import Profile
from validator.engines.duckdb import DuckDBEngine
from validator.rules.analysis import rules_needs
from validator.rules.compile import compile_batches, joined_guard
from validator.rules.passes import counted_catalog
from validator.rules.what_if import indexed_checks


@pytest.fixture(scope="module")
def bfc008(registry, builtin_rules):
    """BFC008 on the demo's operations: RunQty 0 or blank (the guard) and a backflushed material related."""
    (rule,) = with_run_params([builtin_rules["BFC008"]], Profile().run_params(None))  # its job scope: open jobs
    site = load_site(DEMO, registry, rules_needs([rule], registry))
    return rule, DuckDBEngine().catalog(site)


def job_oper_sql(registry, bfc008, rows) -> str:
    rule, catalog = bfc008
    (compiled,) = compile_batches("JobOper", [(rule, rule.checks[0])], registry, catalog, rows=rows)
    return str(ibis.to_sql(compiled.query, dialect="duckdb"))


def counted(catalog, candidates: int):
    """Row counts as the engine would give them: 100,000 job materials, `candidates` operations."""
    return lambda expr: 100_000 if expr is catalog("JobMtl") else candidates


def test_few_candidates_group_only_the_related_rows_they_meet(registry, bfc008):
    assert "SEMI JOIN" in job_oper_sql(registry, bfc008, counted(bfc008[1], 50))


def test_many_candidates_group_every_related_row(registry, bfc008):
    assert "SEMI JOIN" not in job_oper_sql(registry, bfc008, counted(bfc008[1], 50_000))


def test_sql_compiled_without_row_counts_leaves_no_related_row_out(registry, bfc008):
    assert "SEMI JOIN" not in job_oper_sql(registry, bfc008, None)


def test_the_findings_are_the_same_whether_related_rows_are_left_out_or_not(monkeypatch, tmp_path):
    monkeypatch.setattr(validator.rules.passes, "FEW", 0)  # every guarded aggregate over another table is reduced
    _, reduced = run_json(DEMO, tmp_path / "reduced.json")
    monkeypatch.setattr(validator.rules.passes, "FEW", 10**12)  # none is
    _, whole = run_json(DEMO, tmp_path / "whole.json")
    assert reduced["findings"] == whole["findings"] and reduced["rules"] == whole["rules"]
    assert reduced["verdicts"] == whole["verdicts"]


@pytest.fixture(scope="module")
def bfe001(registry, builtin_rules):
    """BFE001 on the demo's part sites: backflushed (or, its what-if twin, used by an open job or a method) and
    lot tracked."""
    (rule,) = with_run_params([builtin_rules["BFE001"]], Profile().run_params(None))
    site = load_site(DEMO, registry, rules_needs([rule], registry))
    return rule, DuckDBEngine().catalog(site)


def part_plant_items(rule):
    return [(rule, check) for _, check in indexed_checks(rule) if check.table == "PartPlant"]


def test_a_what_if_twin_is_guarded_by_what_its_to_one_joins_read(registry, bfe001):
    rule, _ = bfe001
    check, twin = [check for _, check in part_plant_items(rule)]
    assert joined_guard(rule, twin, registry) == {"all": [{"column": "Part.TrackLots", "is": True}]}
    assert joined_guard(rule, check, registry) == {"all": [{"column": "Backflushed", "is": True},
                                                           {"column": "Part.TrackLots", "is": True}]}


def test_the_part_sites_what_if_groups_only_the_job_lines_of_the_parts_that_fail(registry, bfe001):
    rule, catalog = bfe001
    counts = {catalog("JobMtl"): 100_000, catalog("PartMtl"): 100, catalog("PartPlant"): 5_000}
    asked = []

    def rows(expr):
        asked.append(expr)
        return counts[expr]  # a table's rows only: the candidates, which need Part's join, are never counted

    (compiled,) = compile_batches("PartPlant", part_plant_items(rule), registry, catalog, rows=rows)
    sql = str(ibis.to_sql(compiled.query, dialect="duckdb"))
    assert sql.count("SEMI JOIN") == 1  # the job lines (a hundred thousand against 5,000 sites), not the 100 method lines
    assert all(any(expr is table for table in counts) for expr in asked)


def test_a_joined_guard_with_many_part_sites_groups_every_job_line(registry, bfe001):
    rule, catalog = bfe001
    counts = {catalog("JobMtl"): 100_000, catalog("PartMtl"): 100, catalog("PartPlant"): 50_000}
    (compiled,) = compile_batches("PartPlant", part_plant_items(rule), registry, catalog, rows=counts.__getitem__)
    assert "SEMI JOIN" not in str(ibis.to_sql(compiled.query, dialect="duckdb"))


def test_a_table_counts_as_its_load_counted_it_and_any_other_expression_by_a_query():
    queried = []
    catalog, rows = counted_catalog(lambda name: object(), {"JobMtl": 2_000_000}.__getitem__,
                                    lambda expr: queried.append(expr) or 7)
    job_lines = catalog("JobMtl")
    assert catalog("JobMtl") is job_lines and rows(job_lines) == 2_000_000 and not queried
    candidates = object()
    assert rows(candidates) == 7 and queried == [candidates]
