"""Broken exports get a clear message naming file, column and rows, exit code 2, and no partial output."""

from __future__ import annotations

import csv
import errno
import shutil
import tempfile
from pathlib import Path

from tests.conftest import CASES, DEMO, duckdb_shows, run_json


def rewrite(path: Path, old: str, new: str, count: int = 1, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding=encoding)
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding=encoding)


def check(cli, site: Path, *extra: str):
    return cli("check", site, *extra)


def test_a_path_that_does_not_exist_is_named(cli, tmp_path):
    code, _, err = check(cli, tmp_path / "EPIC06 exports.xlsx")
    assert code == 2
    assert "EPIC06 exports.xlsx: does not exist" in err


def test_a_site_at_a_uri_without_spark_says_to_run_it_through_spark(cli):
    code, _, err = check(cli, "s3a://acme-epicor/exports/2026-12")
    assert code == 2
    assert "s3a://acme-epicor/exports/2026-12: a site at a URI is read through Spark" in err
    assert "--engine spark" in err


def test_a_single_csv_file_as_path_is_neither_a_folder_nor_a_workbook(cli, site):
    code, _, err = check(cli, site / "Part.csv")
    assert code == 2
    assert "Part.csv: is neither a folder of Epicor table exports nor a workbook" in err


def test_a_missing_required_table_is_named_with_the_rules_that_need_it(cli, site):
    (site / "JobOper.csv").unlink()
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobOper" in err and "BFC007" in err
    assert "Traceback" not in err


def test_a_required_table_exported_under_another_name_is_pointed_at(cli, site):
    (site / "JobOper.csv").rename(site / "JobOper_export_2026-11-20.csv")
    (site / "PartPlant.csv").rename(site / "Erp_PartPlant (1).csv")
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobOper_export_2026-11-20.csv look(s) like JobOper's export" in err
    assert "Erp_PartPlant (1).csv look(s) like PartPlant's export" in err


def test_a_workbook_without_a_required_tables_sheet_says_which_sheet_it_expects(cli, tmp_path, registry):
    from tests.site_formats import to_workbook

    shutil.copytree(DEMO, tmp_path / "csv", ignore=shutil.ignore_patterns("JobOper.csv"))
    to_workbook(tmp_path / "csv", tmp_path / "site.xlsx", registry)
    code, _, err = check(cli, tmp_path / "site.xlsx")
    assert code == 2
    assert "no export of required table(s) JobOper" in err and "expected a sheet named JobOper in the workbook" in err


def test_a_contract_violation_in_a_workbook_names_the_sheet(cli, site, tmp_path, registry):
    from tests.site_formats import to_workbook

    rewrite(site / "JobMtl.csv", "EPIC06,005001,0,10,", "EPIC06,   ,0,10,")
    to_workbook(site, tmp_path / "site.xlsx", registry)
    code, _, err = check(cli, tmp_path / "site.xlsx")
    assert code == 2
    assert "site.xlsx (sheet JobMtl), column JobNum: key column is blank" in err


def test_a_missing_optional_table_skips_its_rule_with_the_reason(cli, site, tmp_path):
    (site / "Resource.csv").unlink()
    _, document = run_json(site, tmp_path / "out.json")
    result = next(r for r in document["rules"] if r["rule_id"] == "BFC010")
    assert result["status"] == "SKIPPED"
    assert "Resource" in result["reason"]


def test_a_missing_column_names_the_file_and_the_column(cli, site):
    rewrite(site / "JobMtl.csv", ",BackFlush,", ",BackFlushFlag,")
    code, _, err = check(cli, site)
    assert code == 2
    assert f"{site / 'JobMtl.csv'}: missing column(s) BackFlush needed by the selected rules" in err
    assert "'BackFlushFlag' looks like BackFlush" in err


def test_a_duplicate_key_differing_only_in_case_and_trailing_space_is_reported(cli, site):
    path = site / "Part.csv"
    text = path.read_text(encoding="cp1252")
    line = next(row for row in text.splitlines() if ",SCR-0001," in row)
    path.write_text(text + line.replace(",SCR-0001,", ",scr-0001 ,") + "\r\n", encoding="cp1252")
    code, _, err = check(cli, site)
    assert code == 2
    with path.open(encoding="cp1252", newline="") as handle:
        rows = list(csv.reader(handle))[1:]  # the data records (a quoted description may span lines)
    first, last = (number for number, row in enumerate(rows, 1) if row[1].strip().upper() == "SCR-0001")
    assert f"{site / 'Part.csv'}: duplicate key (Company, PartNum) (e.g. row {first}, row {last})" in err


def test_a_blank_key_column_is_named_with_its_row(cli, site):
    rewrite(site / "JobMtl.csv", "EPIC06,005001,0,10,", "EPIC06,   ,0,10,")
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobMtl.csv, column JobNum: key column is blank (e.g. row 1)" in err


def test_a_non_boolean_in_a_flag_column_names_row_and_value(cli, site):
    rewrite(site / "JobMtl.csv", ",Y,False,False,MAIN,", ",Maybe,False,False,MAIN,")
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobMtl.csv, column BackFlush: not a boolean (True/False, 1/0, Yes/No, Y/N) (e.g. row 1: 'Maybe')" in err


def test_text_in_a_numeric_column_names_row_and_value(cli, site):
    rewrite(site / "JobOper.csv", ",25.00000000,", ",twenty-five,")
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobOper.csv, column RunQty" in err and "'twenty-five'" in err


def test_every_column_with_unparsable_text_in_one_table_is_named(cli, site):
    rewrite(site / "JobMtl.csv", ",Y,False,False,MAIN,", ",Maybe,False,False,MAIN,")
    rewrite(site / "JobMtl.csv", "EPIC06,005001,0,10,", "EPIC06,005001,zero,10,")
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobMtl.csv, column BackFlush" in err and "'Maybe'" in err
    assert "JobMtl.csv, column AssemblySeq: not a whole number" in err and "'ZERO'" in err.upper()


def test_an_unknown_labour_entry_code_is_a_contract_violation(cli, site):
    rewrite(site / "PartOpr.csv", ",Q,False,False", ",Z,False,False")
    code, _, err = check(cli, site)
    assert code == 2
    assert "column LaborEntryMethod" in err and "T, Q, B, X" in err


def test_an_empty_file_is_named(cli, site):
    (site / "PartRev.csv").write_bytes(b"")
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartRev.csv" in err and "empty" in err


def test_a_file_with_only_a_header_is_named(cli, site):
    path = site / "PartOpr.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\r\n", encoding="utf-8")
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartOpr.csv" in err and "no data rows" in err


def header_only(site: Path, *tables: str) -> None:
    for table in tables:
        path = site / f"{table}.csv"
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\r\n", encoding="utf-8")


def test_a_header_only_export_says_how_to_declare_a_table_the_site_has_no_rows_in(cli, site):
    header_only(site, "JobMtl")
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobMtl.csv: the export has a header but no data rows" in err and "empty_tables" in err


def test_tables_the_config_declares_empty_may_be_exported_with_a_header_only(site, tmp_path):
    header_only(site, "JobHead", "JobAsmbl", "JobMtl", "JobOper", "LaborDtl", "PartTran")
    code, document = run_json(site, tmp_path / "out.json", "--config", str(CASES / "configs" / "no_jobs_yet.yaml"))
    assert code == 0 and not document["contract_violations"]
    results = {r["rule_id"]: r for r in document["rules"]}
    assert (results["BFE004"]["status"], results["BFE004"]["checked"]) == ("PASS", 0)
    assert results["BFE001"]["status"] == "FAIL"  # the method lines are still judged


def test_a_config_naming_an_unknown_empty_table_is_rejected_with_its_line(cli, site):
    code, _, err = check(cli, site, "--config", CASES / "configs" / "bad_empty_table.yaml")
    assert code == 2
    assert "bad_empty_table.yaml:4" in err and "JobMaterial" in err


def test_a_truncated_csv_line_names_the_line(cli, site):
    path = site / "JobHead.csv"
    data = path.read_bytes()
    path.write_bytes(data + b"EPIC06,009999,FG-0001,A")
    truncated_line = data.count(b"\r\n") + 1
    code, _, err = check(cli, site)
    assert code == 2
    assert "JobHead.csv" in err and f"line {truncated_line} " in err and "field" in err


def test_an_unreadable_xlsx_is_named(cli, site):
    (site / "PartBin.csv").unlink()
    (site / "PartBin.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartBin.xlsx" in err and "Excel" in err


def test_two_exports_of_one_table_are_refused(cli, site):
    (site / "Part.parquet").write_bytes(b"")
    code, _, err = check(cli, site)
    assert code == 2
    assert "two exports of table Part" in err


def test_no_partial_json_is_left_behind_on_bad_input(cli, site, tmp_path):
    rewrite(site / "JobMtl.csv", ",Y,False,False,MAIN,", ",Maybe,False,False,MAIN,")
    out = tmp_path / "findings.json"
    code, _, _ = check(cli, site, "--format", "json", "--output", out)
    assert code == 2
    assert not out.exists()
    assert list(tmp_path.glob(".findings.json*")) == []


def test_keep_going_ends_the_rules_that_need_the_broken_table_as_error(cli, site, tmp_path):
    rewrite(site / "JobOper.csv", ",25.00000000,", ",twenty-five,")
    out = tmp_path / "findings.json"
    code, document = run_json(site, out, "--keep-going")
    status = {r["rule_id"]: r for r in document["rules"]}
    assert status["BFC007"]["status"] == "ERROR" and "JobOper" in status["BFC007"]["reason"]
    assert status["BFE001"]["status"] == "FAIL"
    assert document["summary"]["partial"] is True
    (violation,) = document["contract_violations"]
    with (site / "JobOper.csv").open(encoding="utf-8", newline="") as handle:
        broken = [number for number, row in enumerate(list(csv.reader(handle))[1:], 1) if "twenty-five" in row]
    assert (violation["file"], violation["table"], violation["column"], violation["problem"]) == (
        str(site / "JobOper.csv"), "JobOper", "RunQty", "not a number")
    assert violation["rows"][0] == {"row": broken[0], "value": "twenty-five"}
    assert violation["text"].startswith(f"{site / 'JobOper.csv'}, column RunQty: not a number")


def test_debug_shows_the_traceback(cli, site, capsys):
    (site / "PartRev.csv").write_bytes(b"")
    code, _, err = check(cli, site, "--debug")
    assert code == 2
    assert "Traceback" in err


def test_a_date_column_mixing_day_first_and_month_first_dates_is_a_contract_violation(cli, site):
    rewrite(site / "PartTran.csv", ",04/06/2026,005003", ",31/12/2025,005003")
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartTran.csv, column TranDate: mixes dates written day first" in err and "'31/12/2025'" in err


def test_a_date_impossible_in_the_given_order_is_a_contract_violation_not_a_blank(cli, site):
    code, _, err = check(cli, site, "--date-order", "day-first")
    assert code == 2
    assert "PartTran.csv, column TranDate: not a date (YYYY-MM-DD, D.M.YYYY, or D/M/YYYY" in err


def test_the_date_order_may_be_set_in_the_config(cli, site):
    code, _, err = check(cli, site, "--config", CASES / "configs" / "day_first.yaml")
    assert code == 2
    assert "column TranDate: not a date (YYYY-MM-DD, D.M.YYYY, or D/M/YYYY" in err


def test_a_config_with_an_unknown_date_order_is_rejected(cli, site):
    code, _, err = check(cli, site, "--config", CASES / "configs" / "bad_date_order.yaml")
    assert code == 2
    assert "bad_date_order.yaml:2" in err and "day-first" in err


def test_the_decimal_separator_may_be_set_in_the_config(cli, site):
    code, _, err = check(cli, site, "--config", CASES / "configs" / "decimal_comma.yaml")
    assert code == 2
    assert "JobMtl.csv, column QtyPer: not a number written with a decimal comma (2,5)" in err


def test_an_iso_date_with_month_13_is_a_contract_violation_not_a_blank(cli, site):
    rewrite(site / "PartWhse.csv", ",2026-08-12", ",2026-13-12")
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartWhse.csv, column LastCCDate: not a date" in err and "'2026-13-12'" in err


def test_a_column_exported_twice_stops_the_run_with_exit_2(cli, site):
    rewrite(site / "PartPlant.csv", "BackFlush,NonStock,", "BackFlush,backflush,")
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartPlant.csv: column BackFlush is exported more than once ('BackFlush' in column 4, 'backflush' in column 5)" in err
    assert "Traceback" not in err


def store_count_dates_as_numbers(site: Path) -> None:
    """PartWhse as Parquet whose LastCCDate holds 20260812 (an integer), as some warehouse extracts write it."""
    import duckdb

    path = site / "PartWhse.csv"
    duckdb.sql(f"COPY (SELECT * REPLACE (CAST(strftime(CAST(LastCCDate AS DATE), '%Y%m%d') AS INTEGER) AS LastCCDate) "
               f"FROM read_csv('{path}')) TO '{site / 'PartWhse.parquet'}'")
    path.unlink()


def test_a_parquet_date_stored_as_a_number_is_a_contract_violation_not_a_crash(cli, site):
    store_count_dates_as_numbers(site)
    code, _, err = check(cli, site)
    assert code == 2
    assert "PartWhse.parquet, column LastCCDate: stored as INTEGER, which does not read as date" in err
    assert "Traceback" not in err


def test_a_broken_stored_type_with_keep_going_ends_the_rules_that_read_it_as_error(cli, site, tmp_path):
    store_count_dates_as_numbers(site)
    _, document = run_json(site, tmp_path / "out.json", "--keep-going")
    statuses = {r["rule_id"]: r["status"] for r in document["rules"]}
    assert statuses["BFR006"] == "ERROR" and statuses["BFC011"] == "ERROR"


def test_a_missing_column_with_keep_going_ends_the_rules_that_need_its_table_as_error(site, tmp_path):
    rewrite(site / "JobMtl.csv", ",BackFlush,", ",BackFlushFlag,")
    code, document = run_json(site, tmp_path / "out.json", "--keep-going")
    statuses = {r["rule_id"]: r for r in document["rules"]}
    assert statuses["BFC009"]["status"] == "ERROR" and "missing column(s) BackFlush" in statuses["BFC009"]["reason"]
    assert statuses["BFC007"]["status"] == "FAIL"  # JobOper and PartOpr only: it ran
    assert document["summary"]["partial"] is True


def test_init_names_a_missing_plant_column(cli, site, tmp_path):
    rewrite(site / "PartPlant.csv", "Company,Plant,PartNum", "Company,Site,PartNum")
    code, _, err = cli("init", site, "--output", tmp_path / "answers.yaml")
    assert code == 2
    assert "PartPlant.csv: missing column(s) Plant" in err and not (tmp_path / "answers.yaml").exists()


def _refused(cli, *args) -> str:
    """A run that must stop on bad input: exit 2, one message, no traceback; the message is returned."""
    code, out, err = cli(*args)
    assert code == 2 and out == "" and "Traceback" not in err and err.startswith("backflush: error: "), err
    return err


def test_a_zero_byte_parquet_export_is_named(cli, site):
    (site / "Part.csv").unlink()
    (site / "Part.parquet").write_bytes(b"")
    err = _refused(cli, "check", site, "--rule", "BFE001")
    assert f"{site / 'Part.parquet'}: cannot read as Parquet: " in err and "too small to be a Parquet file" in err
    assert "LINE 1" not in err  # DuckDB's echo of the query it ran says nothing to a user


def test_a_corrupt_parquet_export_is_named(cli, site):
    (site / "Part.csv").unlink()
    (site / "Part.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    err = _refused(cli, "check", site, "--rule", "BFE001")
    assert f"{site / 'Part.parquet'}: cannot read as Parquet: " in err


def test_an_empty_sheet_of_a_workbook_is_named(cli, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Part"
    book.active.append(["Company", "PartNum", "TrackLots"])
    book.create_sheet("PartPlant")
    book.save(tmp_path / "site.xlsx")
    err = _refused(cli, "check", tmp_path / "site.xlsx", "--rule", "BFE001")
    assert f"{tmp_path / 'site.xlsx'}: sheet 'PartPlant' is empty" in err


def test_a_header_only_sheet_of_a_workbook_is_named(cli, tmp_path):
    """The demo as a workbook, written from its CSV files by the csv module, with the PartRev sheet cut to its header."""
    import csv
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for path in sorted(DEMO.glob("*.csv")):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        sheet = book.create_sheet(path.stem)
        for row in rows[:1] if path.stem == "PartRev" else rows:
            sheet.append(row)
    book.save(tmp_path / "site.xlsx")
    err = _refused(cli, "check", tmp_path / "site.xlsx", "--rule", "BFC006")
    assert "sheet PartRev" in err and "the export has a header but no data rows" in err


def test_a_typo_in_a_check_names_the_line_and_the_allowed_keys(cli):
    err = _refused(cli, "check", DEMO, "--rules", CASES / "rules" / "typo_in_check")
    assert "typo_in_check/ACME001.yaml:11 (at /checks/0/wher): unknown key(s) 'wher'; allowed keys: " in err


def test_a_typo_in_an_example_names_the_line_and_the_allowed_keys(cli):
    err = _refused(cli, "check", DEMO, "--rules", CASES / "rules" / "typo_in_example")
    assert "typo_in_example/ACME001.yaml:14 (at /examples/0/expcet): unknown key(s) 'expcet'" in err


def test_a_yaml_syntax_error_in_a_rule_file_names_where_it_was_found_and_what_is_unclosed(cli):
    err = _refused(cli, "check", DEMO, "--rules", CASES / "rules" / "yaml_syntax_error")
    assert "yaml_syntax_error/ACME002.yaml:5: not valid YAML: " in err and "at line 4, column 7" in err


def test_a_yaml_syntax_error_in_the_config_names_its_line(cli):
    err = _refused(cli, "check", DEMO, "--config", CASES / "configs" / "yaml_syntax_error.yaml")
    assert "configs/yaml_syntax_error.yaml:4: not valid YAML: " in err and "at line 3, column 15" in err


def test_running_out_of_memory_under_the_limit_is_exit_code_3_with_advice(cli):
    code, _, err = cli("check", DEMO, "--memory-limit", "2MB", "--fail-on", "never", "--quiet")
    assert code == 3
    assert "the engine ran out of memory under the memory limit of 2MB" in err
    assert "larger --memory-limit" in err and "Traceback" not in err


def test_a_full_disk_under_the_temporary_folder_is_exit_code_4_with_advice(cli, monkeypatch):
    """The findings' documents past a quarter of the memory limit go to a file in TMPDIR; a disk too full to take
    it stops the run with its own exit code, not a traceback."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("validator.engines.duckdb.DOCUMENTS_SHARE", 1_000_000)  # 1GB: 1,000 bytes held
    monkeypatch.setattr("validator.finding_documents.tempfile.TemporaryFile", full)
    code, _, err = cli("check", DEMO, "--memory-limit", "1GB", "--fail-on", "never", "--quiet")
    assert code == 4
    assert "is full (" in err and "No space left on device" in err and "TMPDIR" in err and "Traceback" not in err


def test_a_report_that_fills_the_disk_is_exit_code_4_naming_the_file_and_leaves_no_partial_file(cli, monkeypatch,
                                                                                                 tmp_path):
    def full(report, out, color=False):
        out.write('{"tool": ')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("validator.formats.json.write", full)
    out = tmp_path / "findings.json"
    code, _, err = cli("check", DEMO, "--format", "json", "--output", out, "--fail-on", "never", "--quiet")
    assert code == 4
    assert f"{out}: cannot write: the disk is full" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_engine_spills_into_a_folder_of_its_own_in_tmpdir_removed_after_the_run(cli, monkeypatch, tmp_path):
    """Not DuckDB's default .tmp in the working folder (a CI checkout, the consultant's site folder)."""
    from validator.engines.duckdb import DuckDBEngine

    (tmp_path / "work").mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    folders = []
    connect = DuckDBEngine.connect

    def connected(self):
        con = connect(self)
        folders.append(Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]))
        return con

    monkeypatch.setattr(DuckDBEngine, "connect", connected)
    code, _, _ = cli("check", DEMO, "--memory-limit", "1GB", "--fail-on", "never", "--quiet")
    assert code == 0 and folders
    for folder in folders:
        assert folder.parent == tmp_path / "tmp" and folder.name.startswith("backflush-spill-")
        assert not folder.exists()
    assert list((tmp_path / "work").iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []


def test_while_the_findings_are_fetched_the_engine_works_within_half_its_memory_limit(cli, monkeypatch):
    """Python holds the fetched findings' columns and documents beside DuckDB's sorted result: DuckDB sorts within
    half the limit then, and has the whole limit again after."""

    from validator.engines.duckdb import DuckDBEngine
    from validator.engines.duckdb import findings as engine_findings

    seen = []
    unique_findings, close = engine_findings.unique_findings, DuckDBEngine.close

    def fetched(con, held=None):
        seen.append(("fetch", con.execute("SELECT current_setting('memory_limit')").fetchone()[0]))
        return unique_findings(con, held)

    def closed(self, site):
        seen.append(("after", site.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]))
        close(self, site)

    monkeypatch.setattr(engine_findings, "unique_findings", fetched)
    monkeypatch.setattr(DuckDBEngine, "close", closed)
    code, _, _ = cli("check", DEMO, "--memory-limit", "3GB", "--fail-on", "never", "--quiet")
    assert code == 0
    assert seen == [("fetch", duckdb_shows("1500MB")), ("after", duckdb_shows("3GB"))]


def test_the_same_typo_in_several_waivers_is_named_where_it_first_appears(cli, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    entry = ('  - rule: BFC003\n    key: {{JobNum: "{job}*"}}\n    reason: consumables issued by hand\n'
             '    approved_by: J. Smith\n    expires: 2027-06-30\n')
    waivers.write_text("waivers:\n" + "".join(entry.format(job=job) for job in ("0050", "0051", "0052")), encoding="utf-8")
    err = _refused(cli, "check", DEMO, "--waivers", waivers)
    assert "waivers.yaml:5 (at /waivers/0/approved_by): unknown key(s) 'approved_by'; allowed keys: " in err


def test_before_duckdb_connects_arrow_returns_the_memory_it_freed(monkeypatch):
    """Arrow's allocator keeps what Python's Arrow data freed (OLD's report while `diff` runs NEW, a fetch's batches
    while the gate matches), which DuckDB's allocator cannot reuse: each connection returns it first."""
    import pyarrow as pa

    from validator.engines.duckdb import DuckDBEngine

    pool, returned = pa.default_memory_pool(), []

    class Watched:
        def __getattr__(self, name):
            return getattr(pool, name)

        def release_unused(self):
            returned.append(pool.bytes_allocated())
            pool.release_unused()

    monkeypatch.setattr(pa, "default_memory_pool", lambda: Watched())
    engine = DuckDBEngine(memory_limit="1GB")
    con = engine.connect()
    engine.disconnect(con)
    assert len(returned) == 1


def test_a_run_told_to_stop_removes_its_spill_folder_and_says_it_was_terminated(tmp_path):
    """A cancelled CI job sends SIGTERM: the run stops as an interrupted one does, with exit code 143, and its
    spill folder (gigabytes at scale) does not stay behind in the temporary folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    temp = tmp_path / "tmp"
    temp.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "validator", "check", str(DEMO), "--memory-limit", "1GB", "--quiet",
                            "--format", "json", "--output", str(tmp_path / "out.json")],
                           env={**os.environ, "TMPDIR": str(temp), "BACKFLUSH_CACHE_DIR": str(tmp_path / "cache")},
                           stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 60
    while not list(temp.glob("backflush-spill-*")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert run.poll() is None, "the run ended before its spill folder was seen"
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143 and err.strip().endswith("backflush: terminated")
    assert not list(temp.glob("backflush-spill-*"))
