"""Exports are read the way real sites write them: names, booleans, decimals, encodings, quoting, keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import load_site
from validator.engines.duckdb.contracts import check_site
from validator.errors import DataError
from validator.sources.csv_reader import csv_batches
from validator.sources.folder import look_alikes
from validator.sources.xlsx_reader import read_xlsx
from validator.tables import builtin_registry

REGISTRY = builtin_registry()


def load(folder: Path, table: str, columns: set[str]):
    site = load_site(folder, REGISTRY, {table: columns})
    return site.con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall(), site


def write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)


@pytest.mark.parametrize("header", ["PartNum,BackFlush,Plant", "PartPlant_PartNum,PartPlant_BackFlush,PartPlant_Plant",
                                    "PartPlant.PartNum,PartPlant.BackFlush,PartPlant.Plant", "PARTNUM,backflush,plant"])
def test_column_names_bare_baq_dotted_any_case(tmp_path, header):
    write(tmp_path, "PartPlant.csv", f"{header}\nSCR-1,True,MfgSys\n".encode())
    rows, _ = load(tmp_path, "PartPlant", {"PartNum", "BackFlush", "Plant"})
    assert rows == [(True, "SCR-1", "MfgSys")]


def test_a_column_prefixed_with_another_table_is_not_taken(tmp_path):
    write(tmp_path, "JobMtl.csv", b"JobMtl_JobNum,Part_PartNum,JobMtl_PartNum,JobMtl_AssemblySeq,JobMtl_MtlSeq\n"
                                  b"001,WRONG,RIGHT,0,10\n")
    rows, _ = load(tmp_path, "JobMtl", {"JobNum", "PartNum", "AssemblySeq", "MtlSeq"})
    assert rows == [(0, "001", 10, "RIGHT")]


@pytest.mark.parametrize(("text", "value"), [("True", True), ("false", False), ("TRUE", True), ("1", True), ("0", False),
                                             ("Yes", True), ("no", False), ("Y", True), ("N", False), ("", None)])
def test_booleans_in_every_spelling(tmp_path, text, value):
    write(tmp_path, "PartPlant.csv", f"Plant,PartNum,BackFlush\nMfgSys,SCR-1,{text}\n".encode())
    rows, _ = load(tmp_path, "PartPlant", {"Plant", "PartNum", "BackFlush"})
    assert rows[0][0] is value


def test_decimals_with_eight_places_and_integers_written_as_decimals(tmp_path):
    write(tmp_path, "JobMtl.csv", b"JobNum,AssemblySeq,MtlSeq,QtyPer\n001,0.00000000,10,2.50000000\n")
    rows, _ = load(tmp_path, "JobMtl", {"JobNum", "AssemblySeq", "MtlSeq", "QtyPer"})
    assert rows == [(0, "001", 10, 2.5)]


def test_utf8_with_bom(tmp_path):
    write(tmp_path, "Part.csv", "\ufeffPartNum,PartDescription\nC-1,Écrou\n".encode())
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("Écrou", "C-1")]


def test_windows_1252(tmp_path):
    write(tmp_path, "Part.csv", "PartNum,PartDescription\nC-1,Résine 2½ kg – “special”\n".encode("cp1252"))
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("Résine 2½ kg – “special”", "C-1")]


@pytest.mark.parametrize("tail", [b"", "é".encode("cp1252"), b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf"],
                         ids=["utf-8", "cp1252 last byte", "cut sequence", "surrogate", "overlong"])
def test_a_file_is_utf8_only_when_every_byte_decodes_as_python_decodes_it(tmp_path, tail):
    """Excel's Windows-1252 shows in a single byte, anywhere in the file, even in the last one."""
    from validator.sources.csv_reader import _encoding

    path = tmp_path / "Part.csv"
    path.write_bytes("PartNum,PartDescription\nC-1,Écrou\n".encode() * 50_000 + b"C-2,x" + tail)
    try:
        path.read_bytes().decode("utf-8")
        expected = "utf-8"
    except UnicodeDecodeError:
        expected = "cp1252"
    assert _encoding(path) == expected and (expected == "utf-8") == (tail == b"")


@pytest.mark.parametrize("block", [1, 2, 3, 5, 8, 64])
def test_a_file_is_checked_as_utf8_a_block_at_a_time_wherever_a_character_is_cut(tmp_path, monkeypatch, block):
    """Characters of two, three and four bytes fall across every block boundary; a cp1252 byte, a cut sequence at
    the end or a lone continuation byte anywhere makes the file Windows-1252."""
    from validator.sources import csv_reader

    monkeypatch.setattr(csv_reader, "ENCODING_BLOCK", block)
    text = "PartNum,PartDescription\nC-1,Écrou – 2½ € 𝄞 kg\nC-2,Ω\n".encode()
    path = tmp_path / "Part.csv"
    for data, expected in [(text, "utf-8"), (text + "é".encode("cp1252"), "cp1252"), (text + "€".encode()[:2], "cp1252"),
                           (text[:30] + b"\x80" + text[30:], "cp1252"), (b"\x80\x80\x80\x80" + text, "cp1252")]:
        path.write_bytes(data)
        assert csv_reader._encoding(path) == expected, data


def test_quoted_fields_with_commas_quotes_and_newlines(tmp_path):
    write(tmp_path, "Part.csv", b'PartNum,PartDescription\nC-1,"Screw, M4 ""pan""\nzinc"\nC-2,plain\n')
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("Screw, M4 \"pan\"\nzinc", "C-1"), ("plain", "C-2")]


def test_trailing_spaces_are_cut_from_text_as_sql_server_compares(tmp_path):
    write(tmp_path, "Part.csv", b"PartNum,PartDescription\nc-0050   ,x\n")
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("x", "c-0050")]


def test_extra_columns_are_not_read(tmp_path):
    write(tmp_path, "Part.csv", b"PartNum,SysRowID,Calculated_OnHand,PartDescription\nC-1,abc,12,x\n")
    _, site = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert set(site.tables["Part"].columns) == {"PartNum", "PartDescription"}


def test_an_absent_optional_column_reads_as_blank(tmp_path):
    write(tmp_path, "PartMtl.csv", b"PartNum,RevisionNum,AltMethod,MtlSeq,MtlPartNum\nFG-1,A,,10,C-1\n")
    rows, site = load(tmp_path, "PartMtl", {"PartNum", "RevisionNum", "AltMethod", "MtlSeq", "MtlPartNum", "BackFlush"})
    assert site.tables["PartMtl"].absent_optional == ("BackFlush",)
    assert rows == [(None, None, "C-1", 10, "FG-1", "A")]


def test_a_table_file_may_carry_the_erp_schema_prefix_and_any_case(tmp_path):
    write(tmp_path, "erp.part.CSV", b"PartNum\nC-1\n")
    rows, _ = load(tmp_path, "Part", {"PartNum"})
    assert rows == [("C-1",)]


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "PartPlant.csv"), ("\t", "PartPlant.tsv"), ("\t", "PartPlant.txt"),
                                              (";", "PartPlant.csv"), ("|", "PartPlant.csv")])
def test_tab_semicolon_and_pipe_separated_exports(tmp_path, delimiter, name):
    lines = [["Plant", "PartNum", "BackFlush", "NonStock"], ["MfgSys", "SCR-1", "Yes", "0"], ["MfgSys", "C-0050", "No", "1"]]
    write(tmp_path, name, "\r\n".join(delimiter.join(line) for line in lines).encode() + b"\r\n")
    rows, _ = load(tmp_path, "PartPlant", {"Plant", "PartNum", "BackFlush", "NonStock"})
    assert rows == [(False, True, "C-0050", "MfgSys"), (True, False, "SCR-1", "MfgSys")]


def test_a_semicolon_export_keeps_commas_and_quoted_semicolons_inside_its_fields(tmp_path):
    write(tmp_path, "Part.csv", b'PartNum;PartDescription\nC-1;Screw, M4 zinc\nC-2;"Nut; M4"\n')
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("Nut; M4", "C-2"), ("Screw, M4 zinc", "C-1")]


def test_a_ragged_semicolon_export_names_its_line_and_separator(tmp_path):
    write(tmp_path, "Part.csv", b"PartNum;PartDescription\nC-1;Screw;zinc\n")
    with pytest.raises(DataError, match="semicolon-separated.*line 2 has 3 field"):
        load(tmp_path, "Part", {"PartNum", "PartDescription"})


def test_an_excel_separator_hint_line_names_the_separator_and_is_not_the_header(tmp_path):
    write(tmp_path, "Part.csv", "\ufeffsep=;\r\nPartNum;PartDescription\r\nC-1;Screw, M4\r\n".encode())
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("Screw, M4", "C-1")]


def test_a_ragged_line_after_a_separator_hint_is_named_by_its_line_in_the_file(tmp_path):
    write(tmp_path, "Part.csv", b"sep=,\nPartNum,PartDescription,ClassID\nC-1,x,RAW\nC-2,y,RAW,z\n")
    with pytest.raises(DataError, match=r"comma-separated\): line 4 has 4 field\(s\), the header has 3"):
        load(tmp_path, "Part", {"PartNum", "PartDescription"})


def part_lines(count: int) -> bytes:
    return b"".join(b"C-%07d,Screw M4 zinc plated,RAW\n" % i for i in range(count))


def test_a_ragged_line_far_into_a_large_export_is_named_by_its_line_while_the_export_is_stored(tmp_path):
    """The export is read a block at a time as it is stored: the line is met after many blocks, and the run stops
    with its number, not with the rows before it taken as the whole export."""
    write(tmp_path, "Part.csv", b"PartNum,PartDescription,ClassID\n" + part_lines(100_000) + b"C-X,y,RAW,z\n")
    with pytest.raises(DataError, match=r"Part.csv: cannot read as CSV .*line 100002 has 4 field\(s\), the header has 3"):
        load(tmp_path, "Part", {"PartNum", "PartDescription"})


def test_a_large_export_is_never_whole_in_memory_as_arrow(tmp_path):
    """A CSV export goes into DuckDB a block of rows at a time: while a 140 MB export is loaded, Arrow's peak stays a
    fraction of what the export takes as one Arrow table (pyarrow's reader works in a few dozen blocks whatever the
    size). Counted in a memory pool of its own."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    write(tmp_path, "Part.csv", b"PartNum,PartDescription,ClassID\n" + part_lines(3_200_000))
    whole = pacsv.read_csv(tmp_path / "Part.csv").nbytes
    pool, default = pa.proxy_memory_pool(pa.default_memory_pool()), pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        site = load_site(tmp_path, REGISTRY, {"Part": {"PartNum", "PartDescription"}})
    finally:
        pa.set_memory_pool(default)
    assert site.tables["Part"].rows == 3_200_000
    assert pool.max_memory() < whole / 2  # the reader's own blocks: 17-50 MB seen, where the old read took 178 MB


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_as_excel_saves_unicode_text(tmp_path, encoding):
    text = "PartNum\tPartDescription\r\nC-1\tÉcrou 2½\r\n"
    data = text.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
    write(tmp_path, "Part.txt", data)
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("Écrou 2½", "C-1")]


def quantities(folder: Path, *rows: str, **options) -> tuple[list, dict]:
    """PartWhse rows of OnHandQty;CountFreq (a decimal and a whole number) written as a European Excel does."""
    lines = [f"C-{i};MAIN;{row}" for i, row in enumerate(rows, 1)]
    write(folder, "PartWhse.csv", ("PartNum;WarehouseCode;OnHandQty;CountFreq\n" + "\n".join(lines) + "\n").encode())
    site = load_site(folder, REGISTRY, {"PartWhse": {"PartNum", "WarehouseCode", "OnHandQty", "CountFreq"}}, **options)
    read = site.con.execute('SELECT OnHandQty, CountFreq FROM "PartWhse" ORDER BY PartNum').fetchall()
    return read, check_site(site)


def test_numbers_written_with_a_decimal_comma_are_read_when_a_value_says_so(tmp_path):
    read, violations = quantities(tmp_path, "2,5;30,00000000", "1250;7")
    assert (read, violations) == ([(2.5, 30), (1250.0, 7)], {})


def test_a_column_whose_numbers_do_not_tell_takes_the_separator_the_sites_other_numbers_tell(tmp_path):
    read, violations = quantities(tmp_path, "1,250;30,00000000")
    assert (read, violations) == ([(1.25, 30)], {})


def test_a_number_that_does_not_tell_on_a_site_of_decimal_points_is_not_a_number(tmp_path):
    read, violations = quantities(tmp_path, "1,250;30")
    (violation,) = violations["PartWhse"]
    assert (violation.column, violation.problem, violation.values) == ("OnHandQty", "not a number", ("1,250",))


def test_a_given_decimal_separator_is_used_for_every_column(tmp_path):
    read, violations = quantities(tmp_path, "1,250;30", decimal_separator="comma")
    assert (read, violations) == ([(1.25, 30)], {})


def test_a_column_mixing_decimal_points_and_commas_breaks_the_contract(tmp_path):
    _, violations = quantities(tmp_path, "2,5;1", "2.5;1")
    (violation,) = violations["PartWhse"]
    assert violation.column == "OnHandQty" and violation.problem.startswith("mixes decimal points (2.5) and decimal commas")


def test_thousands_separators_break_the_contract_rather_than_being_guessed(tmp_path):
    _, violations = quantities(tmp_path, '"1,234.50";1')
    (violation,) = violations["PartWhse"]
    assert violation.column == "OnHandQty" and "thousands separators" in violation.problem


def test_a_point_number_on_a_site_read_with_decimal_commas_says_how_to_change_it(tmp_path):
    _, violations = quantities(tmp_path, "2.5;1", decimal_separator="comma")
    (violation,) = violations["PartWhse"]
    assert "decimal comma" in violation.problem and "--decimal-separator point" in violation.problem


def spark_parts(folder: Path, *parts: tuple[str, list[dict]]) -> None:
    """A table as Spark writes it: a folder of part files (perhaps in partition folders), _SUCCESS and .crc files."""
    for name, rows in parts:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / name)
        (folder / name).with_name(f".{(folder / name).name}.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").touch()


def test_a_table_spark_wrote_as_a_folder_of_partitioned_part_files_is_read(tmp_path):
    spark_parts(tmp_path / "JobMtl", ("Plant=MfgSys/part-00000.snappy.parquet", [{"JobNum": "001", "MtlSeq": 10}]),
                ("Plant=Plant2/part-00000.snappy.parquet", [{"JobNum": "002", "MtlSeq": 10}]))
    rows, _ = load(tmp_path, "JobMtl", {"JobNum", "MtlSeq", "Plant"})
    assert rows == [("001", 10, "MfgSys"), ("002", 10, "Plant2")]


def test_rows_of_a_table_written_as_several_files_are_numbered_across_the_files_in_name_order(tmp_path):
    key = {"Company": "EPIC06", "JobNum": "001", "AssemblySeq": 0}
    spark_parts(tmp_path / "JobMtl.parquet", ("part-00000.parquet", [{**key, "MtlSeq": 10}, {**key, "MtlSeq": 20}]),
                ("part-00001.parquet", [{**key, "MtlSeq": 30}, {**key, "MtlSeq": 10}]))
    _, site = load(tmp_path, "JobMtl", {"Company", "JobNum", "AssemblySeq", "MtlSeq"})
    (violation,) = check_site(site)["JobMtl"]
    assert (violation.problem, violation.rows) == ("duplicate key (Company, JobNum, AssemblySeq, MtlSeq)", (1, 4))


def test_a_delta_table_folder_is_refused_as_it_holds_old_versions_too(tmp_path):
    spark_parts(tmp_path / "Part", ("part-00000.parquet", [{"PartNum": "C-1"}]))
    (tmp_path / "Part" / "_delta_log").mkdir()
    with pytest.raises(DataError, match="is a Delta table"):
        load(tmp_path, "Part", {"PartNum"})


def test_a_company_or_part_called_na_null_or_nan_is_text_not_blank(tmp_path):
    write(tmp_path, "Part.csv", b"Company,PartNum,PartDescription\nNA,N/A,nan\nNA,NULL,#N/A\n")
    rows, site = load(tmp_path, "Part", {"Company", "PartNum", "PartDescription"})
    assert rows == [("NA", "#N/A", "NULL"), ("NA", "nan", "N/A")]
    assert check_site(site) == {}


@pytest.mark.parametrize("word", ["NULL", "null", " NaN ", "nan"])
def test_a_boolean_number_or_date_written_as_null_or_nan_is_blank(tmp_path, word):
    write(tmp_path, "PartWhse.csv", f"PartNum,WarehouseCode,OnHandQty,CountFreq,LastCCDate\n"
                                    f"C-1,MAIN,{word},{word},{word}\n".encode())
    rows, site = load(tmp_path, "PartWhse", {"PartNum", "WarehouseCode", "OnHandQty", "CountFreq", "LastCCDate"})
    assert rows == [(None, None, None, "C-1", "MAIN")]
    assert check_site(site) == {}


def test_a_number_key_written_as_null_is_a_blank_key(tmp_path):
    write(tmp_path, "JobMtl.csv", b"JobNum,AssemblySeq,MtlSeq,PartNum\n001,0,10,C-1\n001,NULL,20,C-2\n")
    _, site = load(tmp_path, "JobMtl", {"JobNum", "AssemblySeq", "MtlSeq", "PartNum"})
    (violation,) = check_site(site)["JobMtl"]
    assert (violation.column, violation.problem, violation.rows) == ("AssemblySeq", "key column is blank", (2,))


def test_an_excel_error_in_a_number_column_breaks_the_contract_with_its_value(tmp_path):
    write(tmp_path, "PartWhse.csv", b"PartNum,WarehouseCode,OnHandQty\nC-1,MAIN,5\nC-2,MAIN,#N/A\n")
    _, site = load(tmp_path, "PartWhse", {"PartNum", "WarehouseCode", "OnHandQty"})
    (violation,) = check_site(site)["PartWhse"]
    assert (violation.column, violation.problem, violation.values) == ("OnHandQty", "not a number", ("#N/A",))


def test_a_file_holding_a_longer_table_name_does_not_look_like_the_shorter_tables_export(tmp_path):
    for name in ("PartPlant_export.csv", "Part_export.xlsx", "Part.csv", "notes.txt.bak"):
        write(tmp_path, name, b"PartNum\nC-1\n")
    tables = list(REGISTRY.tables)
    assert (look_alikes(tmp_path, "Part", tables), look_alikes(tmp_path, "PartPlant", tables)) == \
        (["Part_export.xlsx"], ["PartPlant_export.csv"])


def write_counts(folder: Path, *dates: str) -> None:
    lines = [f"EPIC06,C-{i},MAIN,MfgSys,{date}" for i, date in enumerate(dates, 1)]
    write(folder, "PartWhse.csv", ("Company,PartNum,WarehouseCode,Plant,LastCCDate\n" + "\n".join(lines) + "\n").encode())


PART_WHSE = {"Company", "PartNum", "WarehouseCode", "Plant", "LastCCDate"}


def counted(folder: Path, **options) -> list:
    site = load_site(folder, REGISTRY, {"PartWhse": PART_WHSE}, **options)
    return [r[0] for r in site.con.execute('SELECT LastCCDate FROM "PartWhse" ORDER BY PartNum').fetchall()]


def test_dates_written_day_first_are_read_day_first_when_a_value_says_so(tmp_path):
    write_counts(tmp_path, "31/12/2025", "05/01/2026", "2026-02-03")
    assert counted(tmp_path) == [dt.date(2025, 12, 31), dt.date(2026, 1, 5), dt.date(2026, 2, 3)]


def test_dates_written_month_first_are_read_month_first(tmp_path):
    write_counts(tmp_path, "12/31/2025", "01/05/2026 10:30 PM")
    assert counted(tmp_path) == [dt.date(2025, 12, 31), dt.date(2026, 1, 5)]


def test_a_date_column_that_does_not_tell_takes_the_order_the_sites_other_dates_tell(tmp_path):
    write_counts(tmp_path, "05/01/2026")
    write(tmp_path, "PartRev.csv", b"PartNum,RevisionNum,AltMethod,EffectiveDate\nFG-1,A,,28/02/2025\n")
    site = load_site(tmp_path, REGISTRY, {"PartWhse": PART_WHSE, "PartRev": {"PartNum", "RevisionNum", "AltMethod",
                                                                             "EffectiveDate"}})
    assert site.con.execute('SELECT LastCCDate FROM "PartWhse"').fetchall() == [(dt.date(2026, 1, 5),)]


def test_a_site_whose_dates_never_tell_reads_them_month_first(tmp_path):
    write_counts(tmp_path, "05/01/2026", "12/12/2025")
    assert counted(tmp_path) == [dt.date(2026, 5, 1), dt.date(2025, 12, 12)]


def test_a_given_date_order_is_used_for_every_column(tmp_path):
    write_counts(tmp_path, "05/01/2026")
    assert counted(tmp_path, date_order="day-first") == [dt.date(2026, 1, 5)]


@pytest.mark.parametrize("order", ["month-first", "day-first"])
@pytest.mark.parametrize("written", ["{m}/{d}/2026", "{m:02}/{d:02}/2026 22:30", "{m}/{d}/2026 22:30:15", "{m}/{d}/2026 10:30 PM",
                                     "{m}/{d}/2026 10:30:15 pm", "{m}/{d}/2026 10:30PM", "2026-01-05", "2026-01-05T22:30:00",
                                     "2026-01-05 22:30:15.123", "2026-01-05T22:30:00Z", "2026-01-05T22:30:00+01:00",
                                     "2026-01-05T23:30:00-0500"])
def test_every_date_form_the_contract_accepts_is_read(tmp_path, order, written):
    month, day = (1, 5) if order == "month-first" else (5, 1)  # 5 January either way
    write_counts(tmp_path, written.format(m=month, d=day))
    site = load_site(tmp_path, REGISTRY, {"PartWhse": PART_WHSE}, date_order=order)
    assert check_site(site) == {}
    assert site.con.execute('SELECT LastCCDate FROM "PartWhse"').fetchall() == [(dt.date(2026, 1, 5),)]


@pytest.mark.parametrize("order", ["month-first", "day-first"])
@pytest.mark.parametrize("written", ["5.1.2026", "05.01.2026", "05.01.2026 22:30", "05.01.2026 22:30:15", "05-01-2026",
                                     "5-1-2026 10:30 PM"])
def test_dates_written_with_dots_or_dashes_before_the_year_are_day_first_in_either_order(tmp_path, order, written):
    write_counts(tmp_path, written)
    site = load_site(tmp_path, REGISTRY, {"PartWhse": PART_WHSE}, date_order=order)
    assert check_site(site) == {}
    assert site.con.execute('SELECT LastCCDate FROM "PartWhse"').fetchall() == [(dt.date(2026, 1, 5),)]


@pytest.mark.parametrize("written", ["13.13.2026", "05.01-2026", "32-01-2026"])
def test_an_impossible_or_half_dotted_date_breaks_the_contract(tmp_path, written):
    write_counts(tmp_path, written)
    site = load_site(tmp_path, REGISTRY, {"PartWhse": PART_WHSE})
    (violation,) = check_site(site)["PartWhse"]
    assert (violation.column, violation.values) == ("LastCCDate", (written,))


def test_a_column_exported_twice_is_an_error_naming_both_places(tmp_path):
    write(tmp_path, "Part.csv", b"Part_Company,Part_PartNum,Part_PartNum,Part_PartDescription\nEPIC06,C-1,C-1,x\n")
    with pytest.raises(DataError, match=r"column PartNum is exported more than once \('Part_PartNum' in column 2, "
                                        r"'Part_PartNum' in column 3\)"):
        load(tmp_path, "Part", {"PartNum", "PartDescription"})


def test_a_column_exported_in_two_cases_is_an_error(tmp_path):
    write(tmp_path, "Part.csv", b"PartNum,partnum,PartDescription\nC-1,C-2,x\n")
    with pytest.raises(DataError, match="column PartNum is exported more than once"):
        load(tmp_path, "Part", {"PartNum", "PartDescription"})


def test_a_column_exported_twice_in_a_workbook_is_an_error(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["PartNum", "PartDescription", "PartNum"])
    book.active.append(["C-1", "x", "C-2"])
    book.save(tmp_path / "Part.xlsx")
    with pytest.raises(DataError, match="column PartNum is exported more than once"):
        load(tmp_path, "Part", {"PartNum", "PartDescription"})


def workbook(folder: Path, name: str, *rows: list) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = name
    for row in rows:
        book.active.append(row)
    book.save(folder / f"{name}.xlsx")


COUNTS = ["PartNum", "WarehouseCode", "OnHandQty", "LastCCDate"]


def test_a_workbook_keeps_numbers_and_dates_skips_blank_rows_and_reads_empty_cells_as_blank(tmp_path):
    workbook(tmp_path, "PartWhse", COUNTS, ["C-1", "MAIN", 2.5, dt.datetime(2026, 8, 12)], [None, None, None, None],
             ["C-2", "MAIN", None, dt.date(2026, 8, 13)])
    rows, site = load(tmp_path, "PartWhse", set(COUNTS))
    assert rows == [(dt.date(2026, 8, 12), 2.5, "C-1", "MAIN"), (dt.date(2026, 8, 13), None, "C-2", "MAIN")]
    assert check_site(site) == {}


def test_a_row_blank_in_every_column_is_no_data_and_later_rows_keep_their_numbers_in_the_file(tmp_path):
    write(tmp_path, "PartPlant.csv", b"Company,Plant,PartNum,SourceType\nEPIC06,MfgSys,C-1,P\n,,,\n , , ,\n"
                                     b",,,M\nEPIC06,MfgSys,C-2,P\n,,,\n")
    _, site = load(tmp_path, "PartPlant", {"Company", "Plant", "PartNum"})
    assert site.tables["PartPlant"].rows == 3  # the row with only a SourceType is data: its keys are blank
    assert {(v.column, v.rows) for v in check_site(site)["PartPlant"]} == {("Company", (4,)), ("Plant", (4,)), ("PartNum", (4,))}


def test_a_blank_row_in_a_workbook_is_no_data_and_later_rows_keep_their_numbers_in_the_sheet(tmp_path):
    workbook(tmp_path, "PartWhse", COUNTS, ["C-1", "MAIN", 2.5, None], [None, " ", None, None], ["C-2", "MAIN", "lots", None])
    _, site = load(tmp_path, "PartWhse", set(COUNTS))
    (violation,) = check_site(site)["PartWhse"]
    assert (site.tables["PartWhse"].rows, violation.column, violation.rows) == (2, "OnHandQty", (3,))


def test_an_excel_error_cell_breaks_the_contract_with_its_text_rather_than_reading_as_blank(tmp_path):
    workbook(tmp_path, "PartWhse", COUNTS, ["C-1", "MAIN", 2.5, None], ["C-2", "MAIN", "#N/A", None])
    _, site = load(tmp_path, "PartWhse", set(COUNTS))
    (violation,) = check_site(site)["PartWhse"]
    assert (violation.column, violation.rows, violation.values) == ("OnHandQty", (2,), ("#N/A",))


@pytest.mark.parametrize("name", ["Part.csv", "Part.xlsx"])
def test_only_the_columns_asked_for_are_read_from_a_wide_export(tmp_path, name):
    header, row = ["PartNum", *(f"UD{i:03d}_c" for i in range(200)), "TrackLots"], ["C-1", *("x" * 200), "True"]
    if name.endswith(".csv"):
        write(tmp_path, name, (",".join(header) + "\n" + ",".join(row) + "\n").encode())
        text = csv_batches(tmp_path / name, lambda headers: ["TrackLots", "PartNum"])
        data = pa.Table.from_batches(list(text.batches), text.schema)
    else:
        workbook(tmp_path, "Part", header, row)
        data = read_xlsx(tmp_path / name, "Part", lambda headers: ["TrackLots", "PartNum"])
    assert data.to_pylist() == [{"PartNum": "C-1", "TrackLots": "True", "__row": 1}]


def test_a_workbook_without_any_needed_column_reports_them_missing_not_an_empty_export(tmp_path):
    workbook(tmp_path, "Part", ["Foo", "Bar"], [1, 2])
    _, site = load(tmp_path, "Part", {"PartNum", "TrackLots"})
    (violation,) = check_site(site)["Part"]
    assert violation.problem.startswith("missing column(s) PartNum, TrackLots")


def test_a_column_the_rules_do_not_read_may_be_exported_twice(tmp_path):
    write(tmp_path, "Part.csv", b"PartNum,SysRowID,SysRowID,PartDescription\nC-1,a,a,x\n")
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("x", "C-1")]


def test_a_header_prefixed_with_the_table_wins_over_the_bare_one(tmp_path):
    write(tmp_path, "Part.csv", b"PartNum,Part_PartNum,PartDescription\nWRONG,RIGHT,x\n")
    rows, _ = load(tmp_path, "Part", {"PartNum", "PartDescription"})
    assert rows == [("x", "RIGHT")]


def write_parquet(folder: Path, name: str, columns: dict[str, list]) -> None:
    folder.mkdir(exist_ok=True)
    pq.write_table(pa.table(columns), folder / f"{name}.parquet")


def test_a_float_nan_reads_as_blank_as_pandas_writes_a_missing_number(tmp_path):
    write_parquet(tmp_path, "JobMtl", {"JobNum": ["001", "001"], "AssemblySeq": [0.0, 0.0], "MtlSeq": [10.0, 20.0],
                                       "QtyPer": [float("nan"), 2.5], "BackFlush": [1.0, float("nan")]})
    rows, site = load(tmp_path, "JobMtl", {"JobNum", "AssemblySeq", "MtlSeq", "QtyPer", "BackFlush"})
    assert rows == [(0, True, "001", 10, None), (0, None, "001", 20, 2.5)]
    assert check_site(site) == {}


def test_a_whole_number_stored_as_a_float_with_a_fraction_breaks_the_contract(tmp_path):
    write_parquet(tmp_path, "JobMtl", {"JobNum": ["001", "001"], "AssemblySeq": [0, 0], "MtlSeq": [10.0, 20.5]})
    _, site = load(tmp_path, "JobMtl", {"JobNum", "AssemblySeq", "MtlSeq"})
    assert [str(v) for v in check_site(site)["JobMtl"]] == [
        f"{tmp_path / 'JobMtl.parquet'}, column MtlSeq: not a whole number (e.g. row 2: '20.5')"]


def test_a_timestamp_with_a_zone_reads_as_its_date_in_utc_whatever_the_machines_zone(tmp_path):
    import duckdb

    counted = dt.datetime(2026, 1, 5, 0, 30, tzinfo=dt.UTC)  # Spark writes the instant in UTC
    write_parquet(tmp_path, "PartWhse", {"PartNum": ["C-1"], "WarehouseCode": ["MAIN"],
                                         "LastCCDate": pa.array([counted], pa.timestamp("us", tz="UTC"))})
    chicago = duckdb.connect()
    chicago.execute("SET TimeZone = 'America/Chicago'")  # a consultant's laptop: 2026-01-04 18:30 there
    site = load_site(tmp_path, REGISTRY, {"PartWhse": {"PartNum", "WarehouseCode", "LastCCDate"}}, chicago)
    assert site.con.execute('SELECT LastCCDate FROM "PartWhse"').fetchall() == [(dt.date(2026, 1, 5),)]


def test_a_column_stored_as_a_type_that_does_not_read_breaks_the_contract_and_reads_as_blank(tmp_path):
    write_parquet(tmp_path, "PartWhse", {"PartNum": ["C-1"], "WarehouseCode": ["MAIN"], "LastCCDate": [20260812]})
    rows, site = load(tmp_path, "PartWhse", {"PartNum", "WarehouseCode", "LastCCDate"})
    assert rows == [(None, "C-1", "MAIN")]
    assert [v.problem for v in check_site(site)["PartWhse"]] == [
        "stored as BIGINT, which does not read as date: expected a date, a timestamp or text (such as 2025-12-31)"]


def test_a_column_of_iso_dates_only_has_no_date_order(tmp_path):
    write_counts(tmp_path, "2026-01-05", "31/12/2025")
    write(tmp_path, "PartRev.csv", b"PartNum,RevisionNum,AltMethod,EffectiveDate\nFG-1,A,,2025-02-28\n")
    site = load_site(tmp_path, REGISTRY, {"PartWhse": PART_WHSE, "PartRev": {"PartNum", "RevisionNum", "AltMethod",
                                                                             "EffectiveDate"}})
    assert (site.tables["PartWhse"].date_orders, site.tables["PartRev"].date_orders) == ({"LastCCDate": "day-first"}, {})
