"""The same compiled rules, printed as PostgreSQL by `backflush explain --sql`, find inside a real
PostgreSQL server exactly what the embedded engine finds on the demo site; so does a pass as the engine
compiles it, where an aggregate may be a window."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import CASES, DEMO, export_rows, load_site, run_json
from tests.postgres_server import (
    add_business_object_sources,
    load_into,
    postgres_server,
    server_installed,
    stored_columns,
)
from validator.commands.explain import sql_for
from validator.config.attestations import DEFAULT_NAME, read_attestations
from validator.config.profile import Profile
from validator.rules.analysis import rules_needs
from validator.rules.compile.database_fields import database_table
from validator.rules.loader import load_rules


@pytest.fixture(scope="module")
def database_demo(tmp_path_factory) -> Path:
    """The demo as Epicor's database holds it: PartMtl without the BackFlush column some exports carry, and
    JobOper with the scrap its labour reported (ActScrapQty, the business object's sum of LaborDtl.ScrapQty)."""
    folder = tmp_path_factory.mktemp("database") / "site"
    shutil.copytree(DEMO, folder)
    with (folder / "PartMtl.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    drop = rows[0].index("PartMtl.BackFlush")
    with (folder / "PartMtl.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([row[:drop] + row[drop + 1:] for row in rows])
    scrap: dict[tuple[str, ...], Decimal] = {}
    for row in export_rows(folder / "LaborDtl.csv"):
        op = (row["Company"], row["JobNum"], row["AssemblySeq"], row["OprSeq"])
        scrap[op] = scrap.get(op, Decimal(0)) + Decimal(row["ScrapQty"] or 0)
    operations = export_rows(folder / "JobOper.csv")
    with (folder / "JobOper.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [*operations[0], "ActScrapQty"])
        writer.writeheader()
        for row in operations:
            op = (row["Company"], row["JobNum"], row["AssemblySeq"], row["OprSeq"])
            writer.writerow({**row, "ActScrapQty": scrap.get(op, "")})
    assert any(scrap.values()), "the demo's labour reports some scrap"
    return folder


@pytest.fixture(scope="module")
def database_document(database_demo, tmp_path_factory) -> dict:
    _, document = run_json(database_demo, tmp_path_factory.mktemp("database-findings") / "findings.json")
    return document


@pytest.fixture(scope="module")
def postgres_with_demo(registry, builtin_rules, database_demo):
    psycopg = pytest.importorskip("psycopg")
    wanted = rules_needs(list(builtin_rules.values()), registry)
    needs = stored_columns(registry, wanted)
    answers = DEMO / DEFAULT_NAME  # the attestations are YAML beside the exports; a DBA loads them as a table
    site = load_site(database_demo, registry, wanted, documents={"Attestation": (answers, read_attestations(answers))})
    if not server_installed() and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server here (Debian package postgresql); .ci/run installs it and runs this test")
    with postgres_server() as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        load_into(conn, site, needs)
        add_business_object_sources(conn, site)
        yield conn


def _key(values) -> tuple[str, ...]:
    return tuple("" if v is None else str(v).rstrip().upper() for v in values)


def _without_blank_company(columns, values) -> tuple[str, ...]:
    """A key as the report writes it: without Company where the export has none (the attestations file here)."""
    return _key(v for c, v in zip(columns, values, strict=True) if not (c == "Company" and v in (None, "")))


def test_every_rule_finds_the_same_rows_inside_postgresql(postgres_with_demo, database_document, registry, builtin_rules):
    profile = Profile(snapshot_date=dt.date.fromisoformat(database_document["tool"]["profile"]["snapshot_date"]))
    expected = {(f["rule_id"], f["table"], _key(f["key"].values())) for f in database_document["findings"]
                if f["outcome"] != "if_enabled"}  # explain prints the rules as they judge the configuration as it is
    assert any(f["table"] == "Attestation" and "Company" not in f["key"] for f in database_document["findings"])
    found = set()
    for rule in builtin_rules.values():
        for table, sql in sql_for(rule, registry, "postgres", profile):
            key = registry.tables[table].key
            for row in postgres_with_demo.execute(sql).fetchall():
                found.add((rule.id, table, _without_blank_company(key, row[:len(key)])))
    assert found == expected


def test_an_engine_pass_with_a_window_finds_the_same_rows_inside_postgresql(postgres_with_demo, database_demo, registry,
                                                                          builtin_rules, tmp_path):
    import ibis

    from validator.rules.compile import compile_batches

    needs = rules_needs(list(builtin_rules.values()), registry)

    def catalog(name: str) -> ibis.Table:
        return database_table(registry.tables[name], sorted(needs[name]))

    pack = CASES / "rules" / "open_demand_per_line"  # the per-line open demand: a window over the rows it keeps
    rule = load_rules([pack], registry)["ACME012"]
    (compiled,) = compile_batches("JobMtl", [(rule, rule.checks[0])], registry, catalog)
    sql = ibis.to_sql(compiled.rows, dialect="postgres")
    assert " OVER (" in sql
    width = len(registry.tables["JobMtl"].key)
    found = {_key(row[:width]) for row in postgres_with_demo.execute(sql).fetchall()}
    _, document = run_json(database_demo, tmp_path / "per-line.json", "--rules", str(pack), "--rule", "ACME012")
    expected = {_key(f["key"].values()) for f in document["findings"]}
    assert found == expected and expected


def test_the_select_backflush_columns_prints_runs_inside_the_database(postgres_with_demo, registry, builtin_rules):
    """`backflush columns` prints one SELECT per table for a DBA; a business-object field in it is derived (PartWhse.Plant
    from Erp.Warehse), so each runs against a database without those fields and reads every row of its table."""
    import sqlglot

    from validator.commands.columns import needed_columns
    from validator.rules.compile.database_fields import select_text

    def quoted(sql: str) -> str:  # this server's tables have Epicor's mixed-case names, which SQL Server matches as they are
        return sqlglot.transpile(sql, read="tsql", write="postgres", identify=True)[0]

    columns = needed_columns(list(builtin_rules.values()), registry)
    assert "Plant" in columns["PartWhse"] and "PrimaryResourceGrpID" in columns["JobOper"]
    for table, names in columns.items():
        if not registry.tables[table].epicor or table == "Attestation":
            continue
        spec = registry.tables[table]
        stored = {r[0] for r in postgres_with_demo.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'Erp' AND table_name = %s",
            (table,)).fetchall()}
        names = [c for c in names if c in stored or spec.columns[c].database]  # this copy holds what rules read
        sql = quoted(select_text(spec, names))
        rows = postgres_with_demo.execute(sql).fetchall()
        (count,), = postgres_with_demo.execute(f'SELECT COUNT(*) FROM "Erp"."{table}"').fetchall()
        assert len(rows) == count, table
    plants = dict(postgres_with_demo.execute(quoted(select_text(registry.tables["PartWhse"], ["WarehouseCode", "Plant"])))
                  .fetchall())
    assert plants and None not in plants.values()
