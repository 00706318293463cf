"""Exports named otherwise than Epicor names them: column labels (`Part Num`), and backflush.yaml's `exports:`
naming a table's file, sheet and headers."""

from __future__ import annotations

import csv
import io
import re
import shutil

from tests.conftest import CASES, DEMO, run_json
from tests.site_formats import to_workbook
from validator.sources.headers import match_columns


def _headers(path, rename) -> None:
    """Rewrite the header line of a CSV export with `rename(header)`."""
    raw = path.read_bytes()
    encoding = "cp1252" if path.name == "Part.csv" else "utf-8"
    rows = list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))
    rows[0] = [rename(h) for h in rows[0]]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def _label(header: str) -> str:
    """`Part_PartNum` -> `Part Num`, `QtyPer` -> `Qty Per`, every other one in capitals with underscores (QTY_PER)."""
    bare = re.split(r"[_.]", header, maxsplit=1)[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", bare)
    return spaced.upper().replace(" ", "_") if len(bare) % 2 else spaced


def _same_findings(document: dict, demo_document: dict) -> bool:
    return [(f["fingerprint"], f["message"]) for f in document["findings"]] == \
        [(f["fingerprint"], f["message"]) for f in demo_document["findings"]]


def test_a_label_with_spaces_or_underscores_names_its_column(registry):
    found = match_columns(registry.tables["JobMtl"], ["Job Num", "QTY_PER", "Related Operation", "Calculated_Part"])
    assert found == {"JobNum": ["Job Num"], "QtyPer": ["QTY_PER"], "RelatedOperation": ["Related Operation"]}


def test_a_label_in_capitals_with_underscores_is_not_read_as_a_table_prefix(registry):
    assert match_columns(registry.tables["Part"], ["PART_NUM", "PART_TRACK_LOTS"]) == \
        {"PartNum": ["PART_NUM"], "TrackLots": ["PART_TRACK_LOTS"]}


def test_the_exact_name_wins_over_a_label(registry):
    found = match_columns(registry.tables["JobMtl"], ["Part Num", "PartNum", "JobMtl_QtyPer", "Qty Per"])
    assert found["PartNum"] == ["PartNum"] and found["QtyPer"] == ["JobMtl_QtyPer"]


def test_a_header_the_config_names_belongs_to_that_column_only(registry):
    # a method line export whose `PartNum` header holds the material: PartMtl's MtlPartNum
    found = match_columns(registry.tables["PartMtl"], ["Parent", "PartNum"], (("MtlPartNum", "partnum "), ("PartNum", "Parent")))
    assert found == {"MtlPartNum": ["PartNum"], "PartNum": ["Parent"]}


def test_a_site_exported_with_column_labels_gets_the_demos_findings(demo_document, site, tmp_path):
    for path in site.glob("*.csv"):
        _headers(path, _label)
    assert (site / "JobMtl.csv").read_text(encoding="utf-8").startswith("COMPANY,Job Num,ASSEMBLY_SEQ,Mtl Seq,PART_NUM,")
    code, labelled = run_json(site, tmp_path / "labels.json")
    assert code == 0 and not labelled["contract_violations"]
    assert _same_findings(labelled, demo_document)
    assert labelled["tool"]["column_headers"]["JobMtl.PartNum"] == "PART_NUM"  # the report says what it read


def test_the_report_names_no_header_when_every_column_is_read_by_its_own_name(demo_document):
    assert demo_document["tool"]["column_headers"] == {}  # bare, Part_PartNum and PartMtl.MtlSeq are own names


def test_the_console_says_which_columns_were_read_from_other_headers(site, cli, tmp_path):
    (site / "JobMtl.csv").rename(site / "BAQ JobMaterials 2026-11.csv")
    _headers(site / "BAQ JobMaterials 2026-11.csv", lambda h: {"PartNum": "Material", "QtyPer": "Qty Per"}.get(h, h))
    code, out, _ = cli("check", site, "--config", CASES / "configs" / "baq_names.yaml", "--fail-on", "never")
    assert code == 0
    assert "columns read from headers other than their names: JobMtl.PartNum from 'Material', JobMtl.QtyPer from " \
           "'Qty Per'" in out


def test_the_config_names_a_tables_file_and_a_header(demo_document, site, tmp_path):
    (site / "JobMtl.csv").rename(site / "BAQ JobMaterials 2026-11.csv")
    _headers(site / "BAQ JobMaterials 2026-11.csv", lambda h: "Material" if h == "PartNum" else h)
    code, named = run_json(site, tmp_path / "named.json", "--config", str(CASES / "configs" / "baq_names.yaml"))
    assert code == 0 and not named["contract_violations"]
    assert _same_findings(named, demo_document)


def test_the_config_names_the_sheet_of_a_table_in_the_sites_workbook(demo_document, tmp_path, registry):
    to_workbook(DEMO, tmp_path / "site" / "exports.xlsx", registry, {"JobMtl": "Job Materials"})
    config = tmp_path / "backflush.yaml"
    config.write_text("exports:\n  JobMtl:\n    sheet: job materials\n", encoding="utf-8")
    code, named = run_json(tmp_path / "site" / "exports.xlsx", tmp_path / "named.json", "--config", str(config))
    assert code == 0 and _same_findings(named, demo_document)


def test_a_config_naming_an_unknown_table_under_exports_is_rejected_with_its_line(cli, site):
    code, _, err = cli("check", site, "--config", CASES / "configs" / "bad_export_table.yaml")
    assert code == 2
    assert "bad_export_table.yaml:3" in err and "unknown table JobMaterials" in err


def test_a_config_naming_an_unknown_column_is_rejected_with_its_line(cli, site):
    code, _, err = cli("check", site, "--config", CASES / "configs" / "bad_export_column.yaml")
    assert code == 2
    assert "bad_export_column.yaml:5" in err and "JobMtl has no column MaterialPart" in err


def test_a_file_the_config_names_that_is_not_there_is_reported_at_its_line(cli, site):
    code, _, err = cli("check", site, "--config", CASES / "configs" / "missing_export_file.yaml")
    assert code == 2
    assert "missing_export_file.yaml:3" in err and "names file 'JobMaterials.csv' for JobMtl" in err


def test_a_header_the_config_names_that_the_export_lacks_is_reported_with_the_exports_headers(cli, site):
    (site / "JobMtl.csv").rename(site / "BAQ JobMaterials 2026-11.csv")
    code, _, err = cli("check", site, "--config", CASES / "configs" / "baq_names.yaml")
    assert code == 2
    assert "BAQ JobMaterials 2026-11.csv: backflush.yaml" in err
    assert "names header 'Material' for JobMtl.PartNum, which this export does not have" in err and "'PartNum'" in err


def test_a_missing_column_points_at_the_header_that_looks_like_it(cli, site):
    _headers(site / "JobMtl.csv", lambda h: "Part Number" if h == "PartNum" else h)
    code, _, err = cli("check", site)
    assert code == 2
    assert "missing column(s) PartNum" in err and "'Part Number' looks like PartNum" in err
    assert "exports: JobMtl: columns:" in err


def test_recommend_reads_the_partplant_export_the_config_names(site, tmp_path, cli):
    shutil.move(site / "PartPlant.csv", site / "site parts.csv")
    config = tmp_path / "backflush.yaml"
    config.write_text("exports:\n  PartPlant: {file: site parts.csv}\n", encoding="utf-8")
    code, out, err = cli("recommend", site, "--config", config, "--output", tmp_path / "dmt.csv")
    assert code == 0, err
    assert (tmp_path / "dmt.csv").read_text(encoding="utf-8").startswith("Company,Plant,PartNum,BackFlush")


def test_the_readmes_config_example_is_a_valid_config(tmp_path, registry):
    from validator.config.backflush_yaml import export_namings, load_config

    readme = (DEMO.parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Your own rules and overrides", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "backflush.yaml").write_text(example, encoding="utf-8")
    namings = export_namings(load_config(tmp_path / "backflush.yaml"), registry)
    assert namings["JobMtl"].headers == (("PartNum", "Material"), ("RelatedOperation", "Rel Op"))
    assert (namings["JobOper"].file, namings["JobOper"].sheet) == ("jobs.xlsx", "Operations")


def test_an_export_saved_without_its_header_row_is_named_as_such(cli, site):
    # SQL Server Management Studio's "Save Results As" leaves the header out unless told to keep it
    path = site / "JobMtl.csv"
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[1:]), encoding="utf-8")
    code, _, err = cli("check", site)
    assert code == 2
    assert "JobMtl.csv: the first row looks like data, not column names ('EPIC06', '005001', '0', '10', " in err
    assert "Include column headers when copying or saving the results" in err


def test_a_header_of_unknown_names_is_not_taken_for_data(cli, site):
    _headers(site / "JobMtl.csv", lambda h: f"Field {h}")
    code, _, err = cli("check", site)
    assert code == 2
    assert "missing column(s)" in err and "looks like data" not in err
