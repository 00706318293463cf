"""The Excel worklist, read back with openpyxl: a summary, a verdict per part, a sheet per failing rule with a row
per thing to fix; frozen headers, filters, widths; text never a formula."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from tests.conftest import DEMO, export_rows
from validator.cli import main


@pytest.fixture(scope="module")
def worklist(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("worklist")
    code = main(["check", str(DEMO), "--fail-on", "never", "--format", f"xlsx:{folder / 'w.xlsx'}",
                 "--format", f"json:{folder / 'r.json'}"])
    assert code == 0
    return folder / "w.xlsx", json.loads((folder / "r.json").read_text(encoding="utf-8"))


def rows(book: openpyxl.Workbook, name: str) -> list[tuple]:
    return list(book[name].iter_rows(values_only=True))



def describe_from(descriptions: pa.Table):  # noqa: ANN201 - (company, part) -> description, as the test reads them
    """A part's description read straight from the Part rows given, the last row listed first: the row of the same
    company and part (case aside); else a row of the part without a company; else, asked without a company, any
    row of the part; else ''."""
    rows = [(str(r["Company"] or "").upper(), str(r["PartNum"] or "").upper(), r["PartDescription"] or "")
            for r in reversed(descriptions.to_pylist())]

    def describe(company: str | None, part: str | None) -> str:
        asked, wanted = str(company or "").upper(), str(part or "").upper()
        for fits in (lambda c: c == asked, lambda c: c == "", lambda c: asked == ""):
            found = [text for c, p, text in rows if p == wanted and fits(c)]
            if found:
                return found[0]
        return ""
    return describe


def test_the_verdict_sheet_has_a_row_per_judged_part_with_its_description(worklist):
    path, document = worklist
    book = openpyxl.load_workbook(path)
    header, *data = rows(book, "Verdicts")
    assert header[:5] == ("Company", "Site", "Part", "Description", "Verdict") and len(data) == len(document["verdicts"])
    described = {r["PartNum"]: r["PartDescription"] for r in export_rows(DEMO / "Part.csv")}
    assert all(row[3] == described.get(row[2], "") for row in data)


def test_each_failing_rule_has_a_sheet_with_a_row_per_finding_to_fix(worklist):
    path, document = worklist
    book = openpyxl.load_workbook(path)
    expected = Counter(f["rule_id"] for f in document["findings"] if f["outcome"] != "if_enabled")
    assert {name for name in book.sheetnames if name not in ("Summary", "Verdicts")} == set(expected)
    for rule_id, n in expected.items():
        header, *data = rows(book, rule_id)
        assert len(data) == n and header[-2:] == ("Message", "Remediation")


def test_headers_are_frozen_filtered_and_columns_sized(worklist):
    book = openpyxl.load_workbook(worklist[0])
    for name in ("Verdicts", "BFE001"):
        sheet = book[name]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        assert all(sheet.column_dimensions[c].width for c in ("A", "B", "C"))


def test_a_value_that_looks_like_a_formula_is_written_as_text(tmp_path, demo_document):
    from validator.findings import Findings, Verdicts
    from validator.formats import xlsx
    from validator.report import Report

    finding = {**demo_document["findings"][0], "key": {"PartNum": "=HYPERLINK(\"http://x\")"}, "message": "+1-1",
               "evidence": {"Note": "@SUM(A1)", "Other": "-2+3"}}
    findings = Findings(pa.table({"rule_id": [finding["rule_id"]], "severity": [finding["severity"]],
                                  "outcome": ["fail"], "site_plant": pa.array([None], pa.string()),
                                  "component": ['{"PartNum": "=1+1"}'], "line": [json.dumps(finding)]}))
    verdicts = Verdicts(pa.table({"company": ["EPIC06"], "plant": ["MfgSys"], "part_num": ["=1+1"],
                                  "verdict": ["ready"], "rules": [["\tX"]], "backflushed": [False],
                                  "not_judged": pa.array([[]], pa.list_(pa.string())), "line": ["{}"]}))
    path = tmp_path / "w.xlsx"
    with path.open("wb") as out:
        xlsx.write(Report("site", {}, [], findings, verdicts), out)
    book = openpyxl.load_workbook(path)
    cells = [c for name in book.sheetnames for row in book[name].iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert "=HYPERLINK(\"http://x\")" in {c.value for c in cells} and "=1+1" in {c.value for c in cells}


def test_rows_past_a_sheets_limit_go_on_in_the_next_sheet(tmp_path, monkeypatch):
    """Excel holds 1,048,576 rows a sheet: with the limit at 40 rows, the demo's verdicts and its largest rule's
    findings each go on over several sheets, every row written once and in order."""
    from validator.formats import xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 40)
    path, out = tmp_path / "w.xlsx", tmp_path / "r.json"
    assert main(["check", str(DEMO), "--fail-on", "never", "--format", f"xlsx:{path}", "--format", f"json:{out}"]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(path)

    def continued(name: str) -> list[tuple]:
        names = [name, *(f"{name} ({n})" for n in range(2, 1000) if f"{name} ({n})" in book.sheetnames)]
        parts = [rows(book, n) for n in names]
        assert all(part[0] == parts[0][0] and 1 < len(part) <= 41 for part in parts)
        return [row for part in parts for row in part[1:]]

    verdicts = continued("Verdicts")
    assert len(document["verdicts"]) > 80
    assert [(r[0], r[1], r[2]) for r in verdicts] == [(v["company"], v["plant"], v["part_num"])
                                                      for v in document["verdicts"]]
    to_fix = Counter(f["rule_id"] for f in document["findings"] if f["outcome"] != "if_enabled")
    rule_id, n = to_fix.most_common(1)[0]
    assert n > 80 and len(continued(rule_id)) == n


def _sheet_xml(path: Path, name: str) -> bytes:
    import zipfile

    from validator.formats.sheet_rows import _sheet_parts

    with zipfile.ZipFile(path) as book:
        return book.read(_sheet_parts(book)[name])


def test_verdict_rows_are_written_as_xlsxwriter_writes_them_a_cell_at_a_time(tmp_path):
    """The verdict sheet's rows are made from the verdicts' columns a block at a time; xlsxwriter, given the same
    values a cell at a time, writes the same sheet byte for byte: entities, whitespace kept at either end (a tab, a
    no-break space), Excel's escapes of control characters and of a literal _xHHHH_, text past a cell's 32,767
    UTF-16 units (an emoji counts two), a blank company, a missing flag and an empty list (no cell)."""
    import xlsxwriter

    from validator.findings import Findings, Verdicts
    from validator.formats import xlsx
    from validator.report import Report

    long = "😀" * 16_000 + "x" * 1_000
    verdicts = Verdicts(pa.table({
        "company": ["EPIC06", None, "EPIC06", "EPIC06"],
        "plant": [" MfgSys", "MfgSys\t", "Plant2", "Plant\u00a0"],
        "part_num": ["A&B<C>", "CTL\x01X\x1f", "_x0041_ literal", "BRK-100"],
        "verdict": ["ready", "not eligible", "at risk", "unknown"],
        "rules": [[], ["BFE001", "BFC003"], ["BFE008"], []],
        "backflushed": pa.array([True, False, None, True]),
        "not_judged": pa.array([[], None, ["BFR001"], ["BFR002", "BFR003"]], pa.list_(pa.string())),
        "line": ["{}"] * 4}))
    descriptions = pa.table({"Company": ["EPIC06", "EPIC06", "EPIC06"], "PartNum": ["a&b<c>", "BRK-100", "CTL\x01X\x1f"],
                             "PartDescription": ["Resistor & cap <10k>", long, "  two spaces"]})
    no_findings = Findings(pa.table({c: pa.array([], pa.string()) for c in ("rule_id", "severity", "outcome",
                                                                           "site_plant", "component", "line")}))
    report = Report("site", {}, [], no_findings, verdicts,
                    descriptions=descriptions)
    written = tmp_path / "w.xlsx"
    with written.open("wb") as out:
        xlsx.write(report, out)

    describe = describe_from(descriptions)
    oracle = tmp_path / "oracle.xlsx"
    book = xlsxwriter.Workbook(str(oracle), {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False})
    book.add_worksheet("Summary")  # the first sheet is the one selected
    sheet = xlsx._Sheet(book, "Verdicts", xlsx.VERDICT_HEADER, {"header": book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "bottom": 1})})
    for v in verdicts.table.to_pylist():
        sheet.add([v["company"] or "", v["plant"], v["part_num"], describe(v["company"], v["part_num"]), v["verdict"],
                   v["backflushed"], " ".join(v["rules"]), " ".join(v["not_judged"] or ())])
    sheet.close()
    book.close()
    assert describe("EPIC06", "BRK-100") == long and b"_x005F_x0041_" in _sheet_xml(oracle, "Verdicts")
    assert _sheet_xml(written, "Verdicts") == _sheet_xml(oracle, "Verdicts")


def test_text_is_kept_as_written_at_a_cells_ends_where_python_sees_whitespace():
    """xlsxwriter keeps the whitespace at either end (xml:space) where Python's \\s matches; Arrow's RE2 sees the same
    characters as whitespace at either end, and no others."""
    import pyarrow.compute as pc

    from validator.formats.sheet_rows import PRESERVED

    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    others = [chr(c) for c in range(0x3100) if chr(c) not in spaces and not 0xD800 <= c < 0xE000]
    for texts, kept in (([f"x{c}" for c in spaces] + [f"{c}x" for c in spaces], True),
                        ([f"x{c}" for c in others] + [f"{c}x" for c in others], False)):
        assert set(pc.match_substring_regex(pa.array(texts), PRESERVED).to_pylist()) == {kept}


def test_finding_rows_are_written_as_xlsxwriter_writes_them_a_cell_at_a_time(tmp_path):
    """A rule sheet's rows are made by Arrow from the engine's JSON documents a block at a time; xlsxwriter, given
    each finding's values a cell at a time (its key, a value the key lacks from the evidence, the part and its
    description, the evidence, outcome, message), writes the same sheet byte for byte: text with escapes, quantities
    as numbers, flags, nulls, a key value that looks like a formula, a message with a quote."""
    import xlsxwriter

    from validator.findings import Findings, Verdicts
    from validator.formats import xlsx
    from validator.report import Report

    def finding(table, key, evidence, part, message, outcome="fail"):
        return {"rule_id": "BFE003", "severity": "error", "table": table, "key": key, "message": message,
                "evidence": evidence, "outcome": outcome, "fingerprint": "f" * 32, "component": part}

    documents = [
        finding("JobMtl", {"Company": "EPIC06", "JobNum": "005006", "MtlSeq": 10}, {"PartNum": "GLUE-0001", "QtyPer": 2.5},
                {"Company": "EPIC06", "PartNum": "GLUE-0001"}, "Non-stock & backflushed"),
        finding("JobMtl", {"Company": "EPIC06", "JobNum": "=1+1", "MtlSeq": 12345678901234567},
                {"PartNum": None, "QtyPer": 1e-05}, {"Company": "EPIC06", "PartNum": None}, ' says "lead"'),
        finding("PartPlant", {"Company": "EPIC06", "Plant": "Mfg\tSys", "PartNum": "GLUE-0002"},
                {"NonStock": True, "QtyPer": -3}, {"Company": "EPIC06", "PartNum": "GLUE-0002"}, "tail\t"),
        finding("PartPlant", {"Company": "EPIC06", "Plant": "MfgSys", "PartNum": "Ø-100"},
                {"NonStock": False, "QtyPer": 1234567.5}, {"Company": None, "PartNum": "Ø-100"}, "")]
    lines = [json.dumps({k: d[k] for k in ("rule_id", "severity", "table", "key", "message", "evidence", "outcome",
                                           "fingerprint")}, separators=(",", ":"), ensure_ascii=False) for d in documents]
    findings = Findings(pa.table({"rule_id": ["BFE003"] * 4, "severity": ["error"] * 4, "outcome": ["fail"] * 4,
                                  "site_plant": pa.array([None] * 4, pa.string()),
                                  "component": [json.dumps(d["component"], separators=(",", ":")) for d in documents],
                                  "line": lines}))
    verdicts = Verdicts(pa.table({"company": pa.array([], pa.string()), "plant": pa.array([], pa.string()),
                                  "part_num": pa.array([], pa.string()), "verdict": pa.array([], pa.string()),
                                  "rules": pa.array([], pa.list_(pa.string())), "backflushed": pa.array([], pa.bool_()),
                                  "not_judged": pa.array([], pa.list_(pa.string()))}))
    descriptions = pa.table({"Company": ["EPIC06", "EPIC06"], "PartNum": ["GLUE-0001", "ø-100"],
                             "PartDescription": ["Adhesive, <expense>", "Washer Ø100"]})
    report = Report("site", {}, [], findings, verdicts, descriptions=descriptions)
    written = tmp_path / "w.xlsx"
    with written.open("wb") as out:
        xlsx.write(report, out)

    keys = list(dict.fromkeys(c for d in documents for c in d["key"]))
    evidence = [c for c in dict.fromkeys(c for d in documents for c in d["evidence"]) if c not in keys]
    describe = describe_from(descriptions)
    oracle = tmp_path / "oracle.xlsx"
    book = xlsxwriter.Workbook(str(oracle), {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False})
    book.add_worksheet("Summary")  # the first sheet is the one selected
    sheet = xlsx._Sheet(book, "BFE003", ["Table", *keys, "Part", "Description", *evidence, "Outcome", "Message",
                                         "Remediation"], {"header": book.add_format(
                                             {"bold": True, "bg_color": "#DDEBF7", "bottom": 1})})
    for d in documents:
        part = d["component"]["PartNum"]
        sheet.add([d["table"], *(d["key"].get(c, d["evidence"].get(c)) for c in keys), part,
                   describe(d["component"]["Company"], part) if part else "",
                   *(d["evidence"].get(c) for c in evidence), d["outcome"], d["message"], ""])
    sheet.close()
    book.close()
    assert b"<v>1.234567890123457E+16</v>" in _sheet_xml(oracle, "BFE003")
    assert b"Washer" in _sheet_xml(oracle, "BFE003") and b"1E-05" in _sheet_xml(oracle, "BFE003")
    assert _sheet_xml(written, "BFE003") == _sheet_xml(oracle, "BFE003")


def test_every_key_and_evidence_value_of_a_finding_to_fix_has_its_column(tmp_path, monkeypatch):
    """A rule's sheet has a column for every key and evidence value of its findings, not only of the first rows
    measured for widths (a rule's job lines come first; its part site rows, keyed by Plant, after them): with widths
    measured on one row, each finding's row still holds its whole key and evidence, read from the JSON report."""
    from validator.formats import xlsx

    monkeypatch.setattr(xlsx, "WIDTH_SAMPLE", 1)
    path, out = tmp_path / "w.xlsx", tmp_path / "r.json"
    assert main(["check", str(DEMO), "--fail-on", "never", "--format", f"xlsx:{path}", "--format", f"json:{out}"]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(path)
    to_fix: dict[str, list[dict]] = {}
    for finding in document["findings"]:
        if finding["outcome"] != "if_enabled" and "waiver" not in finding:
            to_fix.setdefault(finding["rule_id"], []).append(finding)
    tables = 0
    for rule_id, findings in to_fix.items():
        header, *data = rows(book, rule_id)
        tables += len({f["table"] for f in findings}) > 1
        for finding, row in zip(findings, data, strict=True):
            cells = dict(zip(header, row, strict=True))
            for name, value in {**finding["evidence"], **finding["key"]}.items():
                assert cells[name] == ("" if value is None else str(value) if isinstance(value, bool) else value)
    assert tables  # some rule has findings on two tables


def test_a_part_is_described_by_its_own_companys_part_never_by_another_companys():
    """Keys compared case aside; a part of a company without that part gets no description, though another company
    has one; a Part row exported without a company describes the part for any company, and a part asked without a
    company (a job export without Company) takes any company's; the last row listed wins."""
    from validator.findings import Findings, Verdicts
    from validator.report import Report

    descriptions = pa.table({"Company": ["EPIC06", "EPIC07", None, "EPIC06"],
                             "PartNum": ["scr-0002", "GLUE-0001", "BRK-100", "SCR-0002"],
                             "PartDescription": ["Screw M3 (old)", "Glue, EPIC07's", "Bracket", "Screw M3"]})
    no_rows = pa.table({c: pa.array([], pa.string()) for c in ("rule_id", "severity", "outcome", "site_plant",
                                                                "component", "line", "company", "part_num")})
    report = Report("site", {}, [], Findings(no_rows), Verdicts(no_rows), descriptions=descriptions)
    asked = [("EPIC06", "SCR-0002"), ("epic06", "scr-0002"), ("EPIC06", "GLUE-0001"), ("EPIC07", "glue-0001"),
             ("EPIC06", "BRK-100"), (None, "GLUE-0001"), ("", "SCR-0002"), ("EPIC06", "NONE-1"), ("EPIC06", None)]
    described = report.described(pa.array([c for c, _ in asked], pa.string()), pa.array([p for _, p in asked], pa.string()))
    assert described.to_pylist() == ["Screw M3", "Screw M3", "", "Glue, EPIC07's", "Bracket", "Glue, EPIC07's",
                                     "Screw M3", "", ""]
