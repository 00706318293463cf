"""--engine sql: the compiled rules run inside PostgreSQL (the demo loaded under schema Erp as Epicor's database
holds it) and find exactly what the embedded engine finds in the exports; the session is read-only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import load_site, run_json
from tests.postgres_server import (
    add_business_object_sources,
    load_into,
    postgres_server,
    server_installed,
    stored_columns,
)
from tests.test_inside_postgresql import database_demo  # noqa: F401 - the fixture: PartMtl without BackFlush
from validator.cli import main
from validator.commands.check import read_columns
from validator.config.attestations import DEFAULT_NAME, read_attestations


@pytest.fixture(scope="module")
def database(registry, builtin_rules, database_demo):  # noqa: F811
    psycopg = pytest.importorskip("psycopg")
    if not server_installed() and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server here (Debian package postgresql); .ci/run installs it and runs this test")
    read = {t: cs for t, cs in read_columns(list(builtin_rules.values()), registry).items() if registry.tables[t].epicor}
    stored = stored_columns(registry, read)
    answers = database_demo / DEFAULT_NAME
    site = load_site(database_demo, registry, read, documents={"Attestation": (answers, read_attestations(answers))})
    with postgres_server() as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        load_into(conn, site, stored)  # as Epicor's database holds it: no business-object field
        add_business_object_sources(conn, site)
        host = dict(part.split("=", 1) for part in dsn.split())["host"]
        yield f"postgresql://postgres@/postgres?host={host}", conn


def test_the_rules_run_inside_postgresql_find_what_the_embedded_engine_finds(database, database_demo, tmp_path):  # noqa: F811
    url, _ = database
    _, files = run_json(database_demo, tmp_path / "files.json")
    code = main(["check", str(database_demo), "--engine", "sql", "--url", url, "--fail-on", "never",
                 "--format", f"json:{tmp_path / 'db.json'}"])
    inside = json.loads((tmp_path / "db.json").read_text(encoding="utf-8"))
    assert code == 0
    assert inside["findings"] == files["findings"]
    assert inside["verdicts"] == files["verdicts"] and inside["summary"] == files["summary"]


def test_the_session_is_read_only(database):
    from validator.engines.sql import SQLEngine

    url, _ = database
    backend = SQLEngine(url)._connect()
    with pytest.raises(Exception, match="read-only"):
        backend.raw_sql('CREATE TABLE "Erp"."Scratch" (x int)')
    backend.disconnect()


def test_a_database_that_cannot_be_reached_is_named_without_its_password(tmp_path, cli):
    code, _, err = cli("check", tmp_path, "--engine", "sql", "--url", "postgresql://me:s3cret-pw@127.0.0.1:1/erp")
    assert code == 2 and "cannot connect" in err and "s3cret-pw" not in err and "127.0.0.1" in err


def test_url_without_the_sql_engine_is_refused(tmp_path, cli):
    code, _, err = cli("check", tmp_path, "--url", "postgresql://127.0.0.1/erp")
    assert code == 2 and "--engine sql" in err


def test_sql_engine_without_url_is_refused(tmp_path, cli):
    code, _, err = cli("check", Path(tmp_path), "--engine", "sql")
    assert code == 2 and "--url" in err


def test_files_a_rest_pull_and_the_database_give_the_same_findings(database, database_demo, tmp_path, cli,  # noqa: F811
                                                                     monkeypatch):
    import shutil

    from tests.epicor_server import API_KEY, PASSWORD, USER, Site, load, serving
    from tests.test_rest_pull import config

    for name, value in (("EPICOR_USER", USER), ("EPICOR_PASSWORD", PASSWORD), ("EPICOR_API_KEY", API_KEY)):
        monkeypatch.setenv(name, value)
    url, _ = database
    with serving(Site(load(database_demo), page_cap=40)) as rest:
        code, _, err = cli("pull", tmp_path / "snapshot", "--config", config(tmp_path, rest), "--quiet")
    assert code == 0, err
    shutil.copy(database_demo / DEFAULT_NAME, tmp_path / "snapshot")
    _, files = run_json(database_demo, tmp_path / "files.json")
    _, pulled = run_json(tmp_path / "snapshot", tmp_path / "pulled.json")
    _, inside = run_json(database_demo, tmp_path / "db.json", "--engine", "sql", "--url", url)
    assert files["findings"] == pulled["findings"] == inside["findings"] != []
    assert files["verdicts"] == pulled["verdicts"] == inside["verdicts"]


def test_a_business_object_field_the_database_cannot_derive_names_where_it_comes_from(
        database, cli, database_demo):  # noqa: F811
    """PartWhse.Plant comes from Erp.Warehse; a database without that table cannot give it, and the run says so."""
    url, conn = database
    conn.execute('ALTER TABLE "Erp"."Warehse" RENAME TO "WarehseElsewhere"')
    try:
        code, out, err = cli("check", database_demo, "--engine", "sql", "--url", url, "--rule", "BFC011")
    finally:
        conn.execute('ALTER TABLE "Erp"."WarehseElsewhere" RENAME TO "Warehse"')
    assert code == 2 and "Traceback" not in err, err
    assert "PartWhse.Plant is filled in by Epicor's business object" in err
    assert "Erp.Warehse.Plant (on WarehouseCode = WarehouseCode)" in err


def test_recommend_inside_postgresql_writes_the_dmt_load_and_reasons_the_exports_give(database, database_demo, tmp_path):  # noqa: F811
    """recommend takes check's engine options: --engine sql with --url runs it inside the database."""
    url, _ = database
    assert main(["recommend", str(database_demo), "--output", str(tmp_path / "files.csv")]) == 0
    assert main(["recommend", str(database_demo), "--engine", "sql", "--url", url, "--output", str(tmp_path / "db.csv")]) == 0
    for written in ("{}.csv", "{}.reasons.csv"):
        files, inside = ((tmp_path / written.format(name)).read_text(encoding="utf-8") for name in ("files", "db"))
        assert inside == files and len(inside.splitlines()) > 50
