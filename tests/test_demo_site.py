"""The bundled demo site: every rule fires, and the findings do not depend on the export format."""

from __future__ import annotations

import csv
import io
import json
import random
import re

import jsonschema
import pytest

from tests.conftest import DEMO, finding_keys, run_json
from tests.site_formats import to_parquet, to_workbook, to_xlsx

CATALOGUE = [f"BFE00{i}" for i in range(1, 9)] + [f"BFC0{i:02d}" for i in range(1, 14)]


@pytest.mark.parametrize("rule_id", CATALOGUE)
def test_the_demo_shows_findings_for_every_eligibility_and_integrity_rule(demo_document, rule_id):
    assert any(f["rule_id"] == rule_id for f in demo_document["findings"])
    assert next(r for r in demo_document["rules"] if r["rule_id"] == rule_id)["status"] == "FAIL"


def test_the_json_document_has_the_published_shape(demo_document):
    shape = {
        "type": "object",
        "required": ["tool", "findings", "rules", "verdicts", "summary"],
        "properties": {
            "findings": {"type": "array", "items": {"type": "object", "required": [
                "rule_id", "severity", "table", "key", "message", "evidence", "fingerprint"]}},
            "rules": {"type": "array", "items": {
                "type": "object", "required": ["rule_id", "status", "checked", "failed", "reason"],
                "properties": {"status": {"enum": ["PASS", "FAIL", "INSUFFICIENT_HISTORY", "ERROR", "SKIPPED"]}}}},
        },
    }
    jsonschema.validate(demo_document, shape)


def test_finding_keys_use_epicor_primary_key_columns(demo_document):
    keys = {f["table"]: tuple(f["key"]) for f in demo_document["findings"]}
    assert keys["JobMtl"] == ("Company", "JobNum", "AssemblySeq", "MtlSeq")
    assert keys["PartMtl"] == ("Company", "PartNum", "RevisionNum", "AltMethod", "MtlSeq")
    assert keys["PartPlant"] == ("Company", "Plant", "PartNum")


def test_fingerprints_are_unique_per_finding(demo_document):
    prints = [f["fingerprint"] for f in demo_document["findings"]]
    assert len(prints) == len(set(prints))


def test_a_method_line_inherits_backflush_from_the_components_site_default(demo_document):
    # FG-0001 line 110 has no BackFlush of its own; RES-0001 is backflushed at MfgSys and lot tracked
    assert any(f["rule_id"] == "BFE001" and f["table"] == "PartMtl" and f["key"]["PartNum"] == "FG-0001"
               for f in demo_document["findings"])


def test_a_part_number_typed_in_another_case_with_trailing_spaces_is_the_same_part(demo_document):
    # a job line names 'lbl-0020  ' (on hold as LBL-0020): found by BFE008, not reported missing by BFE007
    lines = [f for f in demo_document["findings"] if f["table"] == "JobMtl" and "lbl-0020" in f["message"]]
    assert {f["rule_id"] for f in lines} >= {"BFE008"}
    assert "BFE007" not in {f["rule_id"] for f in lines}


def test_findings_are_identical_from_csv_parquet_and_xlsx(demo_document, tmp_path, registry):
    to_parquet(DEMO, tmp_path / "parquet", registry)
    to_xlsx(DEMO, tmp_path / "xlsx", registry)
    _, from_parquet = run_json(tmp_path / "parquet", tmp_path / "parquet.json")
    _, from_xlsx = run_json(tmp_path / "xlsx", tmp_path / "xlsx.json")
    expected = [(f["fingerprint"], f["message"]) for f in demo_document["findings"]]
    assert [(f["fingerprint"], f["message"]) for f in from_parquet["findings"]] == expected
    assert [(f["fingerprint"], f["message"]) for f in from_xlsx["findings"]] == expected


def test_a_site_whose_company_is_na_gets_the_demos_findings(demo_document, site, tmp_path):
    for path in site.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"EPIC06", b"NA"))
    code, renamed = run_json(site, tmp_path / "na.json")
    assert code == 0 and not renamed["contract_violations"]
    assert [(f["rule_id"], f["message"]) for f in renamed["findings"]] == \
        [(f["rule_id"], f["message"]) for f in demo_document["findings"]]


def _as_european_excel_writes(site) -> None:
    """Every export separated by semicolons, with decimal commas (2,50000000) and dates day first with dots
    (31.12.2025), as Excel writes in Germany."""
    for path in site.glob("*.csv"):
        encoding = "cp1252" if path.name == "Part.csv" else "utf-8"
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        german = [[re.sub(r"^(\d{1,2})/(\d{1,2})/(\d{4})", r"\2.\1.\3", re.sub(r"^(-?\d+)\.(\d+)$", r"\1,\2", v))
                   for v in row] for row in rows]
        writer.writerows(german)
        path.write_bytes(out.getvalue().encode(encoding))


def test_a_site_exported_by_a_european_excel_gets_the_demos_findings(demo_document, site, tmp_path):
    _as_european_excel_writes(site)
    code, european = run_json(site, tmp_path / "european.json")
    assert code == 0 and not european["contract_violations"]
    assert "JobMtl.QtyPer" in european["tool"]["decimal_commas"] and european["tool"]["date_orders"] == {}
    assert [(f["fingerprint"], f["message"]) for f in european["findings"]] == \
        [(f["fingerprint"], f["message"]) for f in demo_document["findings"]]
    assert european["verdicts"] == demo_document["verdicts"]


def test_the_report_of_a_site_of_decimal_points_names_no_decimal_comma(demo_document):
    assert demo_document["tool"]["decimal_commas"] == []


def test_findings_are_identical_from_one_workbook_with_a_sheet_per_table(demo_document, tmp_path, registry):
    to_workbook(DEMO, tmp_path / "site" / "EPIC06 exports.xlsx", registry, {"JobMtl": "Erp.JobMtl", "Part": "PART"})
    _, from_workbook = run_json(tmp_path / "site" / "EPIC06 exports.xlsx", tmp_path / "workbook.json")
    assert [(f["fingerprint"], f["message"]) for f in from_workbook["findings"]] == \
        [(f["fingerprint"], f["message"]) for f in demo_document["findings"]]
    assert from_workbook["rules"] == demo_document["rules"]  # BFR010 too: the attestations beside the workbook


def test_fingerprints_do_not_depend_on_row_order(demo_document, site, tmp_path):
    path = site / "JobMtl.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(7).shuffle(rows)
    path.write_text(header + "".join(rows), encoding="utf-8")
    _, shuffled = run_json(site, tmp_path / "shuffled.json")
    assert finding_keys(shuffled) == finding_keys(demo_document)
    assert sorted(f["fingerprint"] for f in shuffled["findings"]) == sorted(f["fingerprint"] for f in demo_document["findings"])


def test_every_part_at_a_site_gets_one_verdict(demo_document):
    verdicts = demo_document["verdicts"]
    pairs = [(v["plant"], v["part_num"].upper()) for v in verdicts]
    assert len(pairs) == len(set(pairs))
    lot_resin = next(v for v in verdicts if v["part_num"] == "RES-0001" and v["plant"] == "MfgSys")
    assert lot_resin["verdict"] == "not eligible"
    assert "BFE001" in lot_resin["rules"]


def _plant_rows(site) -> tuple[list[str], list[list[str]]]:
    path = site / "PartPlant.csv"
    header, *rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return header, rows


def _write_plant_rows(site, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    (site / "PartPlant.csv").write_text(out.getvalue(), encoding="utf-8")


def _verdict_pairs(document: dict) -> list[tuple[str, str, str]]:
    return [(v["company"], v["plant"].upper(), v["part_num"].upper()) for v in document["verdicts"]]


def test_a_part_at_a_site_of_a_company_whose_jobs_and_methods_do_not_use_it_gets_no_verdict(site, tmp_path):
    header, rows = _plant_rows(site)
    _write_plant_rows(site, header, rows + [["EPIC07", *row[1:]] for row in rows])
    _, document = run_json(site, tmp_path / "two.json", "--tag", "eligibility", "--tag", "integrity")
    pairs = _verdict_pairs(document)
    assert len(pairs) == len(set(pairs)) and ("EPIC06", "MFGSYS", "SCR-0001") in pairs
    assert not [p for p in pairs if p[0] != "EPIC06"]  # EPIC07 has the PartPlant rows but no job or method


def test_a_part_listed_twice_at_a_site_gets_one_verdict_when_the_run_keeps_going(site, tmp_path):
    header, rows = _plant_rows(site)
    twin = next(row for row in rows if row[1:3] == ["MfgSys", "SCR-0001"])
    _write_plant_rows(site, header, [*rows, [twin[0], twin[1], twin[2].lower(), *twin[3:]]])
    _, document = run_json(site, tmp_path / "twice.json", "--keep-going")
    (violation,) = document["contract_violations"]
    assert (violation["table"], violation["file"].endswith("PartPlant.csv")) == ("PartPlant", True)
    assert "duplicate key" in violation["problem"] and len(violation["rows"]) == 2
    pairs = _verdict_pairs(document)
    assert len(pairs) == len(set(pairs)) and ("EPIC06", "MFGSYS", "SCR-0001") in pairs
    assert not [p for p in pairs if p[0] != "EPIC06"]  # EPIC07 has the PartPlant rows but no job or method


def test_a_part_site_row_exported_twice_gets_one_verdict_when_the_run_keeps_going(site, tmp_path):
    header, rows = _plant_rows(site)
    twin = next(row for row in rows if row[1:3] == ["MfgSys", "SCR-0001"])
    _write_plant_rows(site, header, [*rows, twin])
    _, document = run_json(site, tmp_path / "again.json", "--keep-going")
    (violation,) = document["contract_violations"]
    assert "duplicate key" in violation["problem"] and len(violation["rows"]) == 2
    pairs = _verdict_pairs(document)
    assert len(pairs) == len(set(pairs)) and ("EPIC06", "MFGSYS", "SCR-0001") in pairs


def test_the_console_report_summarises_rules_verdicts_and_first_findings(cli):
    code, out, _ = cli("check", DEMO)
    assert code == 1
    assert "BFE001" in out and "FAIL" in out
    assert "Verdicts per company and site" in out
    assert "First 25 of" in out


def test_json_goes_to_stdout_without_output(cli):
    code, out, _ = cli("check", DEMO, "--format", "json", "--rule", "BFE004")
    document = json.loads(out)
    assert [f["rule_id"] for f in document["findings"]] == ["BFE004"]
    assert code == 1


def _add_second_company(site) -> None:
    """Every part again under company EPIC07, none of them lot or serial tracked (an export of two companies)."""
    path = site / "Part.csv"
    header, *rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline="")))
    flags = {header.index("Part_TrackLots"), header.index("Part_TrackSerialNum")}
    others = [["EPIC07", *(("False" if i in flags else v) for i, v in enumerate(row) if i)] for row in rows]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows, *others])
    path.write_bytes(out.getvalue().encode("cp1252"))


def test_joins_keep_company_apart_when_an_export_holds_two_companies(demo_document, site, tmp_path):
    _add_second_company(site)
    _, both = run_json(site, tmp_path / "two-companies.json")
    epic06 = {k for k in finding_keys(both) if (dict(k[2]).get("Company") or "EPIC06") == "EPIC06"}  # site findings: ""
    assert epic06 == finding_keys(demo_document)  # EPIC07's untracked twins change nothing for EPIC06


def test_a_one_company_export_joins_without_company_and_a_two_company_one_with_it(site, registry):
    from tests.conftest import load_site
    from validator.site import join_keys

    needs = {"Part": {"Company", "PartNum"}, "JobMtl": {"Company", "JobNum", "PartNum"}}
    one = load_site(site, registry, needs)
    assert join_keys(one).one_company
    _add_second_company(site)
    two = load_site(site, registry, needs)
    assert not join_keys(two).one_company


def test_the_parts_judged_at_a_site_of_one_company_are_found_without_comparing_companies(site, registry):
    """Every export of the demo names EPIC06 alone: a use meets a site row on site and part (a join on one key
    fewer); once Part names a second company, the company is compared again."""
    import datetime as dt

    from tests.conftest import load_site
    from validator.engines.duckdb.verdicts import judged_sql
    from validator.findings import VerdictBasis

    needs = {"Part": {"Company", "PartNum"}, "PartPlant": {"Company", "Plant", "PartNum", "BackFlush"},
             "JobMtl": {"Company", "JobNum", "PartNum", "Plant"},
             "JobHead": {"Company", "JobNum", "JobComplete", "JobClosed", "JobCompletionDate"}}
    basis = VerdictBasis(frozenset(), frozenset(), False, dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    one = judged_sql(load_site(site, registry, needs), basis)
    assert "u.c" not in one and "j.Company" not in one
    _add_second_company(site)
    two = judged_sql(load_site(site, registry, needs), basis)
    assert "u.c = r.c" in two and "coalesce(j.Company, '') = coalesce(h.Company, '')" in two


def test_the_join_key_scan_tells_upper_case_keys_from_complete_ones(site, registry):
    from tests.conftest import load_site
    from validator.site import join_keys

    needs = {"PartRev": {"Company", "PartNum", "RevisionNum", "AltMethod", "Plant"}, "Part": {"Company", "PartNum"}}
    keys = join_keys(load_site(site, registry, needs))
    assert keys.level("Part", "PartNum") == 2  # upper case, never blank: joined as it is
    assert keys.level("PartRev", "AltMethod") == 1  # the blank main method: upper case where present
    assert keys.level("PartRev", "Plant") == 0  # 'MfgSys': compared with UPPER


def test_the_report_says_how_the_dates_written_with_slashes_were_read(demo_document):
    assert demo_document["tool"]["date_orders"] == {"JobHead.JobCompletionDate": "month-first",
                                                    "PartTran.SysDate": "month-first", "PartTran.TranDate": "month-first"}


def test_an_export_without_company_gives_keys_without_it(site, tmp_path):
    """rule-catalogue.md: Company may be absent from an export; then it is absent from the key."""
    path = site / "JobMtl.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "Company"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(row[1:] for row in rows)
    _, document = run_json(site, tmp_path / "f.json", "--rule", "BFE004")
    keys = [f["key"] for f in document["findings"]]
    assert keys and all(set(key) == {"JobNum", "AssemblySeq", "MtlSeq"} for key in keys)
