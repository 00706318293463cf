"""One scan per export finds which text needs trimming and upper-casing; what it finds changes speed, never results."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import load_site
from validator.engines.duckdb.contracts import check_table
from validator.tables import builtin_registry

REGISTRY = builtin_registry()
JOB_MTL = {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum", "WarehouseCode", "EstScrapType"}


def job_mtl(folder: Path, *rows: str):
    folder.mkdir(exist_ok=True)
    header = "Company,JobNum,AssemblySeq,MtlSeq,PartNum,WarehouseCode,EstScrapType\n"
    (folder / "JobMtl.csv").write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    site = load_site(folder, REGISTRY, {"JobMtl": JOB_MTL})
    return site, site.tables["JobMtl"]


def test_text_without_blanks_or_trailing_spaces_is_clean_and_upper_case_keys_are_known(tmp_path):
    _, loaded = job_mtl(tmp_path, "EPIC06,005001,0,10,SCR-1,MAIN,%", "EPIC06,005001,0,20,SCR-2,MAIN,%")
    assert {"Company", "JobNum", "PartNum", "WarehouseCode", "EstScrapType"} <= loaded.facts.clean
    assert {"Company", "JobNum", "PartNum", "WarehouseCode"} <= loaded.facts.upper
    assert {"Company", "JobNum", "PartNum", "WarehouseCode"} <= loaded.facts.complete
    assert loaded.facts.company == "EPIC06"


def test_a_key_number_written_as_text_is_complete_without_blanks_or_null_words(tmp_path):
    _, loaded = job_mtl(tmp_path, "EPIC06,005001,0,10,SCR-1,MAIN,%", "EPIC06,005001,0,20,SCR-2,MAIN,%")
    assert {"AssemblySeq", "MtlSeq"} <= loaded.facts.complete  # the contract need not look for blank ones


@pytest.mark.parametrize("sequence", ["NULL", " nan", ""])
def test_a_key_number_written_as_a_null_word_or_blank_is_not_complete(tmp_path, sequence):
    site, loaded = job_mtl(tmp_path, "EPIC06,005001,0,10,SCR-1,MAIN,%", f"EPIC06,005001,0,{sequence},SCR-2,MAIN,%")
    assert "MtlSeq" not in loaded.facts.complete and "AssemblySeq" in loaded.facts.complete
    (violation,) = check_table(site, loaded)
    assert (violation.column, violation.problem, violation.rows) == ("MtlSeq", "key column is blank", (2,))


def test_a_trailing_space_makes_a_column_unclean_and_a_blank_key_incomplete(tmp_path):
    _, loaded = job_mtl(tmp_path, "EPIC06,005001,0,10,SCR-1 ,,%", "EPIC06,005001,0,20,SCR-2,MAIN,%")
    assert "PartNum" not in loaded.facts.clean
    assert "PartNum" in loaded.facts.complete  # a trailing space is cut, the value is still there
    assert "WarehouseCode" not in loaded.facts.complete
    assert "WarehouseCode" in loaded.facts.upper  # upper case wherever there is a value


def test_a_value_of_spaces_only_is_blank(tmp_path):
    site, loaded = job_mtl(tmp_path, "EPIC06,005001,0,10,SCR-1,   ,%")
    assert "WarehouseCode" not in loaded.facts.clean and "WarehouseCode" not in loaded.facts.complete
    assert site.con.execute('SELECT WarehouseCode FROM "JobMtl"').fetchall() == [(None,)]


def test_a_lower_case_key_is_not_upper_case_and_two_companies_are_no_one_company(tmp_path):
    _, loaded = job_mtl(tmp_path, "EPIC06,005001,0,10,scr-1,MAIN,%", "epic07,005001,0,20,SCR-2,MAIN,%")
    assert "PartNum" not in loaded.facts.upper
    assert loaded.facts.company is None


def test_unclean_text_is_still_trimmed_and_blank_text_read_as_null(tmp_path):
    site, _ = job_mtl(tmp_path, "EPIC06,005001,0,10,SCR-1   ,,%", "EPIC06,005001,0,20,SCR-2,MAIN,%")
    rows = site.con.execute('SELECT PartNum, WarehouseCode FROM "JobMtl" ORDER BY MtlSeq').fetchall()
    assert rows == [("SCR-1", None), ("SCR-2", "MAIN")]


def test_a_duplicate_key_differing_only_in_case_is_found_in_otherwise_clean_text(tmp_path):
    site, loaded = job_mtl(tmp_path, "EPIC06,J-5001,0,10,SCR-1,MAIN,%", "EPIC06,j-5001,0,10,SCR-1,MAIN,%")
    assert "JobNum" in loaded.facts.clean and "JobNum" not in loaded.facts.upper
    assert [v.problem for v in check_table(site, loaded)] == ["duplicate key (Company, JobNum, AssemblySeq, MtlSeq)"]


def test_a_duplicate_key_differing_only_in_a_trailing_space_is_found_in_upper_case_text(tmp_path):
    site, loaded = job_mtl(tmp_path, "EPIC06,J-5001,0,10,SCR-1,MAIN,%", "EPIC06,J-5001 ,0,10,SCR-1,MAIN,%")
    assert "JobNum" in loaded.facts.upper and "JobNum" not in loaded.facts.clean
    assert [v.problem for v in check_table(site, loaded)] == ["duplicate key (Company, JobNum, AssemblySeq, MtlSeq)"]


def test_a_key_exported_as_a_number_is_clean_text(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    duckdb.sql("SELECT 'EPIC06' AS Company, 5001 AS JobNum, 0 AS AssemblySeq, 10 AS MtlSeq, 'SCR-1' AS PartNum "
               "UNION ALL SELECT 'EPIC06', 5002, 0, 10, 'SCR-2'").write_parquet(str(tmp_path / "JobMtl.parquet"))
    site = load_site(tmp_path, REGISTRY, {"JobMtl": {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum"}})
    loaded = site.tables["JobMtl"]
    assert {"JobNum", "PartNum"} <= loaded.facts.upper & loaded.facts.complete
    assert site.con.execute('SELECT JobNum FROM "JobMtl" ORDER BY 1').fetchall() == [("5001",), ("5002",)]


def job_mtl_parquet(folder: Path, *rows: tuple[str, str, int, str]):
    """A Parquet JobMtl export of (JobNum, PartNum, MtlSeq, WarehouseCode): SQL Server writes a blank warehouse as ''."""
    values = " UNION ALL ".join(f"SELECT 'EPIC06' AS Company, '{job}' AS JobNum, 0 AS AssemblySeq, {seq} AS MtlSeq, "
                                f"'{part}' AS PartNum, '{whse}' AS WarehouseCode" for job, part, seq, whse in rows)
    duckdb.sql(values).write_parquet(str(folder / "JobMtl.parquet"))
    site = load_site(folder, REGISTRY, {"JobMtl": {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum", "WarehouseCode"}})
    return site, site.tables["JobMtl"]


def test_empty_text_without_trailing_spaces_is_trimmed_but_not_clean_and_reads_as_null(tmp_path):
    site, loaded = job_mtl_parquet(tmp_path, ("005001", "SCR-1", 10, ""), ("005001", "SCR-2", 20, "MAIN"))
    assert "WarehouseCode" in loaded.facts.trimmed and "WarehouseCode" not in loaded.facts.clean
    assert site.con.execute('SELECT WarehouseCode FROM "JobMtl" ORDER BY MtlSeq').fetchall() == [(None,), ("MAIN",)]


def test_a_trailing_space_makes_text_untrimmed_and_is_cut_when_read(tmp_path):
    site, loaded = job_mtl_parquet(tmp_path, ("005001", "SCR-1", 10, "MAIN  "), ("005001", "SCR-2", 20, ""))
    assert "WarehouseCode" not in loaded.facts.trimmed
    assert site.con.execute('SELECT WarehouseCode FROM "JobMtl" ORDER BY MtlSeq').fetchall() == [("MAIN",), (None,)]


def test_a_duplicate_key_in_trimmed_text_with_blanks_is_found(tmp_path):
    site, loaded = job_mtl_parquet(tmp_path, ("005001", "SCR-1", 10, ""), ("005001", "SCR-1", 10, "MAIN"))
    assert "JobNum" in loaded.facts.trimmed
    assert [v.problem for v in check_table(site, loaded)] == ["duplicate key (Company, JobNum, AssemblySeq, MtlSeq)"]


def test_a_duplicate_key_in_clean_upper_case_text_is_counted_by_the_scan_and_found(tmp_path):
    site, loaded = job_mtl_parquet(tmp_path, ("005001", "SCR-1", 10, "MAIN"), ("005001", "SCR-2", 10, "MAIN"))
    assert "JobNum" in loaded.facts.clean & loaded.facts.upper and not loaded.facts.unique_key
    (violation,) = check_table(site, loaded)
    assert (violation.problem, violation.rows) == ("duplicate key (Company, JobNum, AssemblySeq, MtlSeq)", (1, 2))


def test_a_typed_export_whose_scan_answers_every_check_keeps_its_contract_without_pandera(tmp_path, monkeypatch):
    site, loaded = job_mtl_parquet(tmp_path, ("005001", "SCR-1", 10, "MAIN"), ("005001", "SCR-2", 20, ""))
    assert loaded.facts.unique_key
    monkeypatch.setattr("validator.engines.duckdb.contracts._pandera", lambda: pytest.fail("pandera asked"))
    assert check_table(site, loaded) == []


def test_a_key_unique_as_exported_but_not_as_compared_is_checked_again(tmp_path):
    """J-5001 and j-5001 differ as exported (the scan counts two keys); SQL Server's comparison makes them one."""
    site, loaded = job_mtl_parquet(tmp_path, ("J-5001", "SCR-1", 10, "MAIN"), ("j-5001", "SCR-1", 10, "MAIN"))
    assert loaded.facts.unique_key and "JobNum" not in loaded.facts.upper
    assert [v.problem for v in check_table(site, loaded)] == ["duplicate key (Company, JobNum, AssemblySeq, MtlSeq)"]


def test_an_export_without_a_key_column_counts_no_key(tmp_path):
    duckdb.sql("SELECT 'EPIC06' AS Company, '005001' AS JobNum, 10 AS MtlSeq, 'SCR-1' AS PartNum "
               "UNION ALL SELECT 'EPIC06', '005001', 10, 'SCR-2'").write_parquet(str(tmp_path / "JobMtl.parquet"))
    site = load_site(tmp_path, REGISTRY, {"JobMtl": {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum"}})
    loaded = site.tables["JobMtl"]
    assert not loaded.facts.unique_key  # AssemblySeq is missing: the rows may belong to two assemblies
    (violation,) = check_table(site, loaded)  # no duplicate key: only the missing column
    assert violation.problem.startswith("missing column(s) AssemblySeq")


@pytest.mark.parametrize(("mtl_seq", "stored"), [("NULL", "INTEGER"), ("'NaN'", "DOUBLE")])
def test_a_typed_key_number_left_null_or_nan_is_a_blank_key(tmp_path, mtl_seq, stored):
    """pandas writes a missing sequence number as NaN in a float column; SQL Server's export as null."""
    duckdb.sql(f"SELECT 'EPIC06' AS Company, '005001' AS JobNum, 0 AS AssemblySeq, CAST(10 AS {stored}) AS MtlSeq, "
               f"'SCR-1' AS PartNum UNION ALL SELECT 'EPIC06', '005001', 0, CAST({mtl_seq} AS {stored}), 'SCR-2'"
               ).write_parquet(str(tmp_path / "JobMtl.parquet"))
    site = load_site(tmp_path, REGISTRY, {"JobMtl": {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum"}})
    loaded = site.tables["JobMtl"]
    assert "MtlSeq" not in loaded.facts.complete and "AssemblySeq" in loaded.facts.complete
    (violation,) = check_table(site, loaded)
    assert (violation.column, violation.problem, violation.rows) == ("MtlSeq", "key column is blank", (2,))


def test_a_blank_alternate_method_written_as_null_and_as_empty_text_is_one_key(tmp_path):
    """PartRev's AltMethod is blank for the standard method; SQL Server exports it as '', a hand-made file as null:
    two rows that differ only so are one method revision twice."""
    duckdb.sql("SELECT 'EPIC06' AS Company, 'FG-100' AS PartNum, 'A' AS RevisionNum, '' AS AltMethod "
               "UNION ALL SELECT 'EPIC06', 'FG-100', 'A', NULL").write_parquet(str(tmp_path / "PartRev.parquet"))
    site = load_site(tmp_path, REGISTRY, {"PartRev": {"Company", "PartNum", "RevisionNum", "AltMethod"}})
    loaded = site.tables["PartRev"]
    assert loaded.facts.unique_key  # as exported, '' and null differ
    (violation,) = check_table(site, loaded)
    assert (violation.problem, violation.rows) == ("duplicate key (Company, PartNum, RevisionNum, AltMethod)", (1, 2))


def job_oper(folder: Path, *methods: str):
    """A Parquet JobOper export (typed numbers) of one job's operations with these labour entry methods."""
    values = " UNION ALL ".join(f"SELECT 'EPIC06' AS Company, '005001' AS JobNum, 0 AS AssemblySeq, {10 * (i + 1)} AS OprSeq, "
                                f"'{method}' AS LaborEntryMethod" for i, method in enumerate(methods))
    duckdb.sql(values).write_parquet(str(folder / "JobOper.parquet"))
    site = load_site(folder, REGISTRY, {"JobOper": {"Company", "JobNum", "AssemblySeq", "OprSeq", "LaborEntryMethod"}})
    return site, site.tables["JobOper"]


def test_codes_in_any_case_with_spaces_or_blank_are_known_from_the_scan(tmp_path, monkeypatch):
    site, loaded = job_oper(tmp_path, "T", " b ", "q", "", "X")
    assert "LaborEntryMethod" in loaded.facts.coded
    monkeypatch.setattr("validator.engines.duckdb.contracts._pandera", lambda: pytest.fail("pandera asked"))
    assert check_table(site, loaded) == []


def test_a_value_outside_the_codes_is_named_with_its_row(tmp_path):
    site, loaded = job_oper(tmp_path, "T", "B", "Backflush", "Z")
    assert "LaborEntryMethod" not in loaded.facts.coded
    (violation,) = check_table(site, loaded)
    assert (violation.column, violation.rows, violation.values) == ("LaborEntryMethod", (3, 4), ("Backflush", "Z"))
    assert violation.problem.startswith("not one of the codes T, Q, B, X")


def job_mtl_lines(folder: Path, *keys: tuple[str, str, int]):
    """A Parquet JobMtl export of (Company, JobNum, MtlSeq) keys, in the order given (a table read whole from SQL
    Server usually comes in its clustered key's order; a file sorted otherwise, or appended to, is in another)."""
    values = ", ".join(f"({n}, '{company}', '{job}', {seq})" for n, (company, job, seq) in enumerate(keys))
    duckdb.sql(f"SELECT Company, JobNum, 0 AS AssemblySeq, MtlSeq, 'SCR-1' AS PartNum FROM (VALUES {values}) "
               "t(n, Company, JobNum, MtlSeq) ORDER BY n").write_parquet(str(folder / "JobMtl.parquet"))
    site = load_site(folder, REGISTRY, {"JobMtl": {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum"}})
    return site, site.tables["JobMtl"]


def _no_distinct_count(monkeypatch):
    monkeypatch.setattr("validator.engines.duckdb.text_facts.unique_sql", lambda values: pytest.fail("counted"))


def test_a_key_exported_in_key_order_is_unique_without_a_distinct_count(tmp_path, monkeypatch):
    _no_distinct_count(monkeypatch)
    _, loaded = job_mtl_lines(tmp_path, ("EPIC06", "005001", 10), ("EPIC06", "005001", 20), ("EPIC06", "005002", 10))
    assert loaded.facts.unique_key


def test_two_companies_in_key_order_are_unique_without_a_distinct_count(tmp_path, monkeypatch):
    _no_distinct_count(monkeypatch)
    _, loaded = job_mtl_lines(tmp_path, ("EPIC06", "005001", 10), ("EPIC07", "005001", 10))
    assert loaded.facts.unique_key


def test_a_key_twice_in_key_order_is_a_duplicate(tmp_path):
    site, loaded = job_mtl_lines(tmp_path, ("EPIC06", "005001", 10), ("EPIC06", "005001", 10), ("EPIC06", "005002", 10))
    assert not loaded.facts.unique_key
    (violation,) = check_table(site, loaded)
    assert (violation.problem, violation.rows) == ("duplicate key (Company, JobNum, AssemblySeq, MtlSeq)", (1, 2))


def test_a_unique_key_out_of_order_is_counted_unique(tmp_path):
    site, loaded = job_mtl_lines(tmp_path, ("EPIC06", "005002", 10), ("EPIC06", "005001", 20), ("EPIC06", "005001", 10))
    assert loaded.facts.unique_key and check_table(site, loaded) == []


def test_a_key_left_null_twice_in_a_row_is_not_unique(tmp_path):
    """Nulls compare as neither greater nor equal: the order cannot vouch for them; counted, they are one key."""
    duckdb.sql("SELECT 'EPIC06' AS Company, '005001' AS JobNum, 0 AS AssemblySeq, NULL::INTEGER AS MtlSeq, 'SCR-1' AS PartNum "
               "FROM range(2)").write_parquet(str(tmp_path / "JobMtl.parquet"))
    site = load_site(tmp_path, REGISTRY, {"JobMtl": {"Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum"}})
    assert not site.tables["JobMtl"].facts.unique_key


def test_a_key_twice_after_the_first_rows_in_key_order_is_a_duplicate(tmp_path, monkeypatch):
    """The first rows in key order (PROBE_ROWS of them) do not stand for the rest: the whole export is read."""
    monkeypatch.setattr("validator.engines.duckdb.text_facts.PROBE_ROWS", 3)
    keys = [("EPIC06", f"00500{n}", 10) for n in range(1, 6)]
    site, loaded = job_mtl_lines(tmp_path, *keys, keys[1])
    assert not loaded.facts.unique_key
    (violation,) = check_table(site, loaded)
    assert (violation.problem, violation.rows) == ("duplicate key (Company, JobNum, AssemblySeq, MtlSeq)", (2, 6))


def test_one_company_in_two_cases_leaves_its_key_to_the_comparison_sql_server_makes(tmp_path):
    """EPIC06 and epic06 are one company: the order of the rest of the key decides, and 005001 line 10 is there
    twice; as exported the two keys differ, and compared as SQL Server compares them they are one."""
    site, loaded = job_mtl_lines(tmp_path, ("EPIC06", "005001", 10), ("epic06", "005001", 10))
    assert loaded.facts.company == "EPIC06" and loaded.facts.unique_key
    assert [v.problem for v in check_table(site, loaded)] == ["duplicate key (Company, JobNum, AssemblySeq, MtlSeq)"]
