"""`backflush columns`: what to export, per table. An export of exactly those columns passes the check."""

from __future__ import annotations

import csv
import io
import json
import shutil

from tests.conftest import DEMO, run_json


def test_the_demo_cut_down_to_the_listed_columns_gives_the_same_findings(cli, tmp_path, demo_document):
    code, out, _ = cli("columns", "--format", "json")
    listed = json.loads(out)
    assert code == 0 and "Attestation" not in listed and "BackFlush" not in listed["PartMtl"]  # export-only: no column
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(DEMO / "attestations.yaml", site)
    for table, columns in listed.items():
        source = DEMO / f"{table}.csv"
        if not source.exists():
            continue
        data = source.read_bytes()
        text = data.decode("utf-8-sig") if data[:3] == b"\xef\xbb\xbf" else data.decode("cp1252")
        header, *rows = list(csv.reader(io.StringIO(text, newline="")))
        bare = [h.replace(".", "_").split("_", 1)[-1] for h in header]
        keep = [i for i, name in enumerate(bare) if name in columns]
        assert {bare[i] for i in keep} == set(columns) & set(bare)
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerows([[r[i] for i in keep] for r in [header, *rows]])
        (site / f"{table}.csv").write_text(out.getvalue(), encoding="utf-8", newline="")
    if (DEMO / "PartMtl.csv").exists():  # the export-only column is kept: the database has none, an export may
        shutil.copy(DEMO / "PartMtl.csv", site / "PartMtl.csv")
    code, document = run_json(site, tmp_path / "out.json")
    assert code == 0 and document["findings"] == demo_document["findings"]


def test_the_baq_sql_and_rest_forms_name_the_same_columns(cli):
    _, out, _ = cli("columns", "--rule", "BFE001")
    for block in (b for b in out.split("\n\n") if b.strip()):
        title, baq, sql, rest = block.splitlines()
        table = title.split()[0]
        names = [field.split(".", 1)[1] for field in baq.split("BAQ fields:")[1].strip().split(", ")]
        assert sql.split("SQL:")[1].strip() == f"SELECT {', '.join(f't.{n}' for n in names)} FROM Erp.{table} t;"
        assert rest.strip() == f"REST $select={','.join(names)}"


def test_the_sql_form_derives_a_business_object_field_from_the_database(cli):
    """PartWhse.Plant is filled in by Epicor's business object; the database knows a warehouse's site in Warehse."""
    _, out, _ = cli("columns", "--rule", "BFC011")
    block = next(b for b in out.split("\n\n") if b.startswith("PartWhse "))
    sql = block.splitlines()[2].split("SQL:")[1].strip()
    assert "(SELECT x.Plant FROM Erp.Warehse x WHERE x.WarehouseCode = t.WarehouseCode AND x.Company = t.Company) AS Plant" in sql
    assert "PartWhse.Plant" in block.splitlines()[1]  # exports (REST, a BAQ) name the field as before
