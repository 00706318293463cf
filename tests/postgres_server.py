"""A throwaway PostgreSQL server on 127.0.0.1 for the tests that run compiled rules inside PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from validator.rules.compile.database_fields import base_columns


def _initdb() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    return Path(found[-1]) if found[-1] else None


def server_installed() -> bool:
    return _initdb() is not None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server in a temporary folder (as user postgres when run as root) and yield its DSN. It listens on
    a Unix socket in that folder only, no TCP port, so no other process can take its address; `pg_ctl -w` returns
    once it accepts connections (or fails, with its log)."""
    initdb = _initdb()
    if initdb is None:
        raise RuntimeError("PostgreSQL server not installed (Debian package postgresql; .ci/run installs it)")
    data = Path(tempfile.mkdtemp(prefix="backflush-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    pg_ctl = [*run_as, str(initdb.parent / "pg_ctl"), "-D", str(data / "db")]
    subprocess.run([*run_as, str(initdb), "-D", str(data / "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    started = subprocess.run([*pg_ctl, "-w", "-t", "60", "-l", str(data / "server.log"), "-o",
                              f"-c listen_addresses='' -c unix_socket_directories={data}", "start"],
                             capture_output=True, text=True)
    try:
        if started.returncode != 0:
            log = (data / "server.log").read_text(encoding="utf-8", errors="replace") if (data / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()} {log[-2000:]}")
        yield f"host={data} user=postgres dbname=postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


PG_TYPES = {"string": "text", "boolean": "boolean", "integer": "bigint", "decimal": "numeric(22, 8)", "date": "date"}


def load_into(conn, site, columns: dict[str, set[str]]) -> None:  # noqa: ANN001 - a psycopg connection, a loaded site
    """Each table of a loaded site into schema Erp, as Epicor's database holds it: the `columns` given, typed."""
    conn.execute('CREATE SCHEMA IF NOT EXISTS "Erp"')
    for name, loaded in site.tables.items():
        if name not in columns:
            continue
        wanted = sorted(columns[name])  # a column the export lacks is a column of nulls, as the typed view reads it
        names = ", ".join(f'"{c}"' for c in wanted)
        typed = ", ".join(f'"{c}" {PG_TYPES[loaded.table.columns[c].type]}' for c in wanted)
        conn.execute(f'CREATE TABLE "Erp"."{name}" ({typed})')
        rows = site.con.execute(f'SELECT {names} FROM "{name}"').fetchall()
        with conn.cursor() as cursor, cursor.copy(f'COPY "Erp"."{name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def add_business_object_sources(conn, site) -> None:  # noqa: ANN001 - a psycopg connection, a loaded site
    """The database tables a business-object field of the exports comes from: each warehouse's site (Erp.Warehse,
    for PartWhse.Plant) and each operation's primary production detail (Erp.JobOpDtl, JobOper.PrimaryProdOpDtl, for
    JobOper.PrimaryResourceGrpID), filled with what the exports say."""
    warehouses = site.con.execute('SELECT DISTINCT "Company", "WarehouseCode", "Plant" FROM "PartWhse"').fetchall()
    assert len({(c, w) for c, w, _ in warehouses}) == len(warehouses), "a warehouse belongs to one site"
    conn.execute('CREATE TABLE "Erp"."Warehse" ("Company" text, "WarehouseCode" text, "Plant" text)')
    details = site.con.execute('SELECT "Company", "JobNum", "AssemblySeq", "OprSeq", 1, "PrimaryResourceGrpID" '
                               'FROM "JobOper"').fetchall()
    conn.execute('CREATE TABLE "Erp"."JobOpDtl" ("Company" text, "JobNum" text, "AssemblySeq" bigint, '
                 '"OprSeq" bigint, "OpDtlSeq" bigint, "ResourceGrpID" text)')
    conn.execute('ALTER TABLE "Erp"."JobOper" ADD COLUMN "PrimaryProdOpDtl" bigint DEFAULT 1')
    with conn.cursor() as cursor:
        cursor.executemany('INSERT INTO "Erp"."Warehse" VALUES (%s, %s, %s)', warehouses)
        cursor.executemany('INSERT INTO "Erp"."JobOpDtl" VALUES (%s, %s, %s, %s, %s, %s)', details)


def stored_columns(registry, read: dict[str, set[str]]) -> dict[str, set[str]]:  # noqa: ANN001 - the table registry
    """Per table, the columns read that Epicor's database stores and the exports carry: a business-object field is
    left out (add_business_object_sources adds what it is derived from, and the join columns no export carries)."""
    return {table: {c for c in base_columns(registry.tables[table], sorted(columns)) if c in registry.tables[table].columns}
            for table, columns in read.items()}
