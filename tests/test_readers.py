"""Exports are read the way real sites write them: names, booleans, decimals, encodings, quoting, keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.errors import DataError
from validator.readers import load_site
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


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_tab_semicolon_and_pipe_separated_exports(tmp_path, delimiter):
    lines = [["Plant", "PartNum", "BackFlush", "NonStock"], ["MfgSys", "SCR-1", "Yes", "0"], ["MfgSys", "C-0050", "No", "1"]]
    write(tmp_path, "PartPlant.csv", "\r\n".join(delimiter.join(line) for line in lines).encode() + b"\r\n")
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
