"""The same compiled rules, printed as PostgreSQL by `backflush explain --sql`, find inside a real
PostgreSQL server exactly what the embedded engine finds on the demo site; so does a pass as the engine
compiles it, where an aggregate may be a window."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CASES, DEMO, load_site, run_json
from tests.postgres_server import load_into, postgres_server, server_installed
from validator.commands.explain import sql_for
from validator.config.attestations import DEFAULT_NAME, read_attestations
from validator.config.profile import Profile
from validator.rules.analysis import rules_needs
from validator.rules.loader import load_rules


@pytest.fixture(scope="module")
def database_demo(tmp_path_factory) -> Path:
    """The demo as Epicor's database holds it: PartMtl without the BackFlush column some exports carry."""
    folder = tmp_path_factory.mktemp("database") / "site"
    shutil.copytree(DEMO, folder)
    with (folder / "PartMtl.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    drop = rows[0].index("PartMtl.BackFlush")
    with (folder / "PartMtl.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([row[:drop] + row[drop + 1:] for row in rows])
    return folder


@pytest.fixture(scope="module")
def database_document(database_demo, tmp_path_factory) -> dict:
    _, document = run_json(database_demo, tmp_path_factory.mktemp("database-findings") / "findings.json")
    return document


@pytest.fixture(scope="module")
def postgres_with_demo(registry, builtin_rules, database_demo):
    psycopg = pytest.importorskip("psycopg")
    needs = {name: {c for c in columns if not registry.tables[name].columns[c].export_only}
             for name, columns in rules_needs(list(builtin_rules.values()), registry).items()}
    answers = DEMO / DEFAULT_NAME  # the attestations are YAML beside the exports; a DBA loads them as a table
    site = load_site(database_demo, registry, needs, documents={"Attestation": (answers, read_attestations(answers))})
    if not server_installed() and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server here (Debian package postgresql); .ci/run installs it and runs this test")
    with postgres_server() as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        load_into(conn, site, needs)
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

    from validator.commands.explain import SQL_TYPES
    from validator.rules.compile import compile_batches

    needs = rules_needs(list(builtin_rules.values()), registry)

    def catalog(name: str) -> ibis.Table:
        columns = registry.tables[name].columns
        return ibis.table({c: SQL_TYPES[columns[c].type] for c in sorted(needs[name])}, name=name, database="Erp")

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
