"""Findings are made inside the engine: how values read in messages and JSON, and what a fingerprint is."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter

import duckdb
import pyarrow as pa
import pytest
import yaml

from tests.conftest import ROOT
from validator.cli import main
from validator.engines.duckdb.findings import json_of, text_of
from validator.findings import Findings


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        (2.0::DOUBLE, 0.30000000000000004::DOUBLE, TRUE, DATE '2026-01-02', 'MAIN', 10::BIGINT),
        ('NaN'::DOUBLE, NULL::DOUBLE, FALSE, NULL::DATE, NULL, NULL::BIGINT)) t(QtyPer, Rate, Flag, Day, Whse, Seq)""")
    return con


TYPES = {"QtyPer": "DOUBLE", "Rate": "DOUBLE", "Flag": "BOOLEAN", "Day": "DATE", "Whse": "VARCHAR", "Seq": "BIGINT"}


def _rendered(con, render) -> list[tuple]:
    select = ", ".join(render(c, t) for c, t in TYPES.items())
    return con.execute(f"SELECT {select} FROM v ORDER BY Seq NULLS LAST").fetchall()


def test_messages_show_whole_decimals_as_integers_booleans_as_words_and_dates_as_iso_text(con):
    assert _rendered(con, text_of)[0] == ("2", "0.3", "True", "2026-01-02", "MAIN", "10")


def test_messages_leave_nan_and_nulls_blank(con):
    assert _rendered(con, text_of)[1] == (None, None, "False", None, None, None)


def test_json_evidence_keeps_numbers_and_booleans_as_json_values(con):
    first = [json.loads(v) for v in _rendered(con, json_of)[0]]
    assert first == [2, 0.3, True, "2026-01-02", "MAIN", 10]
    assert isinstance(first[0], int)


def test_the_fingerprint_is_sha256_of_rule_table_and_the_key_as_sql_server_compares_it(demo_document):
    finding = next(f for f in demo_document["findings"] if f["rule_id"] == "BFE001" and f["table"] == "JobMtl")
    canonical = "\x1f".join(f"{c}\x1e{str(v).rstrip().upper()}" for c, v in finding["key"].items())
    text = f"BFE001\x1dJobMtl\x1d{canonical}"
    assert finding["fingerprint"] == hashlib.sha256(text.encode()).hexdigest()[:32]



def test_findings_are_counted_per_value_across_batches_and_blank_values(tmp_path):
    """Counted from an Arrow table in several batches, whose site columns are blank for findings about parts, and
    straight from the report document's findings: the same numbers."""
    out = tmp_path / "demo.json"
    assert main(["check", "fixtures/demo", "--format", "json", "--output", str(out), "--fail-on", "never", "--quiet"]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))["findings"]
    on_site = [f["table"] == "Attestation" for f in document]
    rows = [{"rule_id": f["rule_id"], "severity": f["severity"], "outcome": f["outcome"],
             "site_plant": f["key"]["Plant"] if site else None, "line": json.dumps(f)}
            for f, site in zip(document, on_site, strict=True)]
    schema = pa.schema([(name, pa.string()) for name in rows[0]])
    findings = Findings(pa.Table.from_batches([pa.RecordBatch.from_pylist(rows[i:i + 100], schema)
                                               for i in range(0, len(rows), 100)]))
    assert findings.per_rule() == {rule: dict(Counter(f["outcome"] for f in document if f["rule_id"] == rule))
                                   for rule in {f["rule_id"] for f in document}}
    assert findings.count_by("severity", "outcome") == Counter((f["severity"], f["outcome"]) for f in document)
    assert findings.count_by("site_plant") == Counter(r["site_plant"] for r in rows)
    assert None in findings.count_by("site_plant") and sum(on_site) > 0


def test_findings_whose_short_columns_are_dictionaries_of_the_whole_run_count_and_split_as_plain_ones(tmp_path):
    """The engine holds rule, severity, outcome and site as one-byte codes into dictionaries of the run's values,
    sorted: a filtered part of them has entries it does not use, in another order. Counted, split and escaped, they
    give what plain columns give, the values in the order they first appear."""
    import pyarrow.compute as pc

    from validator.findings import json_strings

    out = tmp_path / "demo.json"
    assert main(["check", "fixtures/demo", "--format", "json", "--output", str(out), "--fail-on", "never", "--quiet"]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))["findings"]
    rows = [{"rule_id": f["rule_id"], "severity": f["severity"], "outcome": f["outcome"],
             "site_plant": f["key"]["Plant"] if f["table"] == "Attestation" else None, "line": json.dumps(f)}
            for f in document]
    plain = pa.Table.from_pylist(rows, pa.schema([(name, pa.string()) for name in rows[0]]))
    run_values = {name: pa.array(sorted({v for v in plain.column(name).to_pylist() if v is not None} | {"(unused)"}),
                                 pa.string()) for name in plain.column_names}

    def as_codes(column: pa.Array, name: str) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pc.index_in(column, value_set=run_values[name]).cast(pa.uint8()),
                                              run_values[name])

    batches = [pa.RecordBatch.from_arrays([c if n == "line" else as_codes(c, n) for n, c in
                                           zip(batch.schema.names, batch.columns, strict=True)], names=batch.schema.names)
               for batch in plain.to_batches(max_chunksize=97)]
    encoded = pa.Table.from_batches(batches)
    warnings = pc.equal(plain.column("severity"), "warning")
    for as_plain, as_dictionary in ((Findings(plain), Findings(encoded)),
                                    (Findings(plain.filter(warnings)), Findings(encoded.filter(warnings)))):
        assert pa.types.is_dictionary(as_dictionary.table.column("rule_id").type)
        for columns in (("rule_id",), ("severity", "outcome"), ("site_plant",)):
            assert list(as_dictionary.count_by(*columns).items()) == list(as_plain.count_by(*columns).items())
        assert ({k: len(v) for k, v in as_dictionary.split("rule_id").items()}
                == {k: len(v) for k, v in as_plain.split("rule_id").items()})
        assert (json_strings(as_dictionary.table.column("site_plant").combine_chunks()).to_pylist()
                == json_strings(as_plain.table.column("site_plant").combine_chunks()).to_pylist())


def _demo_findings(document: list[dict], waived: list[bool]) -> Findings:
    """The report document's findings as the engine's Arrow table holds them, in batches, with the gate's column of
    waived findings."""
    rows = [{"rule_id": f["rule_id"], "severity": f["severity"], "outcome": f["outcome"], "site_plant": None,
             "component": "{}", "line": json.dumps(f), "waived": w} for f, w in zip(document, waived, strict=True)]
    schema = pa.schema([*((name, pa.string()) for name in list(rows[0])[:-1]), ("waived", pa.bool_())])
    return Findings(pa.Table.from_batches([pa.RecordBatch.from_pylist(rows[i:i + 100], schema)
                                           for i in range(0, len(rows), 100)]))


def test_the_findings_a_report_lists_are_selected_as_their_outcomes_and_waivers_say(demo_document):
    document = demo_document["findings"]
    waived = [i % 7 == 3 and f["outcome"] != "if_enabled" for i, f in enumerate(document)]
    findings = _demo_findings(document, waived)

    def fingerprints(selected):
        return [json.loads(line)["fingerprint"] for line in selected.lines(selected.table).to_pylist()]

    as_is = [f["fingerprint"] for f in document if f["outcome"] != "if_enabled"]
    judged = [f["fingerprint"] for f, w in zip(document, waived, strict=True)
              if f["outcome"] not in ("if_enabled", "insufficient_history", "not_measurable") and not w]
    assert fingerprints(findings.selected()) == as_is
    assert fingerprints(findings.selected(not_judged=False, waived=False)) == judged
    assert fingerprints(findings.selected(what_if=True)) == [f["fingerprint"] for f in document
                                                              if f["outcome"] == "if_enabled"]
    assert len(judged) < len(as_is) and any(waived)


def test_the_first_findings_of_each_rule_come_in_the_order_the_rules_first_appear(demo_document):
    document = demo_document["findings"]
    findings = _demo_findings(document, [False] * len(document))
    expected: dict[str, list[str]] = {}
    for f in document:
        shown = expected.setdefault(f["rule_id"], [])
        if len(shown) < 3:
            shown.append(f["fingerprint"])
    first = findings.first_per("rule_id", 3)
    assert [(rule, [f.fingerprint for f in listed]) for rule, listed in first.items()] == list(expected.items())
    assert list(findings.count_by("rule_id")) == list(expected)


def test_findings_come_worst_first_then_by_rule_id_and_table(demo_document):
    """The report's order, read from the findings' own fields: errors, then warnings, then info; within a severity by
    rule id, then by table, as text compares them."""
    rank = {"error": 0, "warning": 1, "info": 2}
    order = [(rank[f["severity"]], f["rule_id"], f["table"]) for f in demo_document["findings"]]
    assert order == sorted(order)
    assert len({rule for _, rule, _ in order}) > 20 and len({table for *_, table in order}) > 5


VERDICT_ROWS = {  # what an export may hold: quotes, backslashes, control characters, non-ASCII, blanks
    "company": ["EPIC06", None, 'EP"IC\\07', "EPIC08"],
    "plant": ["MfgSys", "Main\tPlant", "Lyon\x01\x1f", None],
    "part_num": ["SCR-M3", "Ø12 dowel €", "LINE\nBREAK\r\b\f", "BOLT/M8"],
    "verdict": ["ready", "not_eligible", "at_risk", "unknown"],
    "rules": [[], ["BFE001", "BFE003"], ['X"Y'], None],
    "backflushed": [True, False, None, True],
    "not_judged": [["BFR002"], [], None, ["BFR\\9"]],
}


@pytest.mark.parametrize("lists", ["some items", "every list empty or blank"])
def test_verdict_documents_are_the_json_the_engine_writes(con, lists):
    from validator.findings import VERDICT_FIELDS, Verdicts

    rows = VERDICT_ROWS if lists == "some items" else {**VERDICT_ROWS, "rules": [[], None, [], []],
                                                       "not_judged": [None, [], [], []]}
    table = pa.table(rows)
    written = b"".join(bytes(block) for block in Verdicts(table).json_blocks("\n")).decode().split("\n")
    con.register("verdicts", table)
    pairs = ", ".join(f"'{name}', {name}" for name in VERDICT_FIELDS)
    by_engine = [row[0] for row in con.execute(f"SELECT CAST(json_object({pairs}) AS VARCHAR) FROM verdicts").fetchall()]
    assert [json.loads(line) for line in written] == [dict(zip(rows, row, strict=True))
                                                      for row in zip(*rows.values(), strict=True)]
    assert written == by_engine


def test_verdicts_of_many_blocks_made_on_several_threads_are_written_once_each_in_their_order():
    """Blocks of verdict documents are made on threads while one is written: a site's million verdicts come out
    each once, in the verdicts' order (company, site, part), whichever block is made first."""
    from validator.findings import BLOCK, Verdicts

    rows = 5 * BLOCK + 7
    parts = [f"RM-{i:07d}" for i in range(rows)]
    table = pa.table({"company": ["EPIC06"] * rows, "plant": ["MfgSys"] * rows, "part_num": parts,
                      "verdict": ["ready" if i % 3 else "at_risk" for i in range(rows)], "rules": [[]] * rows,
                      "backflushed": [i % 2 == 0 for i in range(rows)], "not_judged": [[]] * rows})
    blocks = [bytes(block) for block in Verdicts(table).json_blocks("\n")]
    written = [json.loads(line) for line in b"\n".join(blocks).decode().split("\n")]
    assert len(blocks) == 6 and [v["part_num"] for v in written] == parts
    assert [v["verdict"] for v in written[BLOCK - 1:BLOCK + 2]] == ["ready", "ready", "at_risk"]


# A user's rule with two checks on PartOpr: labour backflush (B), and a second condition that is either another
# column of the row (both checks then share one pass) or the method's last operation (an aggregate: the checks then
# run in passes of their own). A method operation both flag is one finding, with the message of the rule's first check.
BACKFLUSHED_LABOUR = {"column": "LaborEntryMethod", "in": ["B"]}
SECOND_CHECKS = {
    "one pass": {"column": "OpCode", "in": ["PACK"]},
    "two passes": {"column": "OprSeq", "eq": {"aggregate": {"fn": "max", "column": "OprSeq",
                                                            "relation": "MethodOperations"}}},
}


def _method_operations() -> list[dict[str, str]]:
    with (ROOT / "fixtures" / "demo" / "PartOpr.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _flagged_by_second(rows: list[dict[str, str]], second: str) -> set[tuple[str, str, str]]:
    if second == "one pass":
        return {(r["PartNum"], r["RevisionNum"], r["OprSeq"]) for r in rows if r["OpCode"] == "PACK"}
    last: dict[tuple[str, ...], int] = {}
    for r in rows:
        method = (r["Company"], r["PartNum"], r["RevisionNum"], r["AltMethod"])
        last[method] = max(last.get(method, -1), int(r["OprSeq"]))
    return {(r["PartNum"], r["RevisionNum"], r["OprSeq"]) for r in rows
            if int(r["OprSeq"]) == last[(r["Company"], r["PartNum"], r["RevisionNum"], r["AltMethod"])]}


def _two_check_findings(tmp_path, second: str, labour_first: bool) -> dict[tuple[str, str, str], str]:
    """The rule's findings on the demo, as (part, revision, operation) -> message."""
    checks = [{"table": "PartOpr", "where": BACKFLUSHED_LABOUR, "message": "labour: {PartNum} {OprSeq}"},
              {"table": "PartOpr", "where": SECOND_CHECKS[second], "message": "second: {PartNum} {OprSeq}"}]
    rule = {"id": "ACME410", "title": "Operations to review before labour backflush", "severity": "warning",
            "tags": ["site-acme"], "message": "Operation to review",
            "remediation": "Review the operation's labour entry.", "rationale": "The site reviews these operations.",
            "source": "site ACME review list", "examples": [],
            "checks": checks if labour_first else checks[::-1]}
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ACME410.yaml").write_text(yaml.safe_dump(rule, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["check", "fixtures/demo", "--rules", str(folder), "--rule", "ACME410", "--format", "json",
                 "--output", str(out), "--fail-on", "never", "--quiet"]) == 0
    found = json.loads(out.read_text(encoding="utf-8"))["findings"]
    keys = [(f["key"]["PartNum"], f["key"]["RevisionNum"], str(f["key"]["OprSeq"])) for f in found]
    assert len(keys) == len(set(keys))
    return dict(zip(keys, (f["message"] for f in found), strict=True))


@pytest.mark.parametrize("second", sorted(SECOND_CHECKS))
@pytest.mark.parametrize("labour_first", [True, False], ids=["labour check first", "labour check second"])
def test_a_key_two_checks_of_a_rule_flag_is_one_finding_of_the_first_check(tmp_path, second, labour_first):
    rows = _method_operations()
    labour = {(r["PartNum"], r["RevisionNum"], r["OprSeq"]) for r in rows if r["LaborEntryMethod"] == "B"}
    other = _flagged_by_second(rows, second)
    assert labour & other and labour - other  # the demo has keys both checks flag, and keys only one does
    found = _two_check_findings(tmp_path, second, labour_first)
    assert set(found) == labour | other
    winner = "labour" if labour_first else "second"
    assert {key: found[key].split(":")[0] for key in labour & other} == dict.fromkeys(labour & other, winner)
    assert {found[key].split(":")[0] for key in labour - other} == {"labour"}


def _finding_rows(rows: list[tuple[str, dict | None, str]]) -> Findings:
    """Findings in the engine's shape, in batches of two: (rule id, component or None for a site finding, message)."""
    table = [{"rule_id": rule, "component": None if part is None else json.dumps(part),
              "line": json.dumps({"rule_id": rule, "message": message})} for rule, part, message in rows]
    schema = pa.schema([(name, pa.string()) for name in table[0]])
    return Findings(pa.Table.from_batches([pa.RecordBatch.from_pylist(table[i:i + 2], schema)
                                           for i in range(0, len(table), 2)]))


def test_the_first_message_of_each_rule_about_a_part_is_read_in_the_findings_order():
    """A part is its company, site and part as SQL Server compares them (case, trailing spaces); a finding about
    a site names none; a finding without a company is about the part at its site in every company, and the part's
    own finding of a rule wins over it; parts nobody asks about are not read."""
    screw = {"Company": "EPIC06", "Plant": "MfgSys", "PartNum": "SCR-0001"}
    rows = [("BFR006", {**screw, "PartNum": "scr-0001  "}, "not cycle counted"),
            ("BFE001", screw, "lot tracked on job 005001"),
            ("BFE001", screw, "lot tracked on job 005002"),
            ("BFR010", {"Company": "EPIC06", "Plant": "MfgSys"}, "the questionnaire is unanswered"),
            ("BFE003", {"Plant": "MfgSys", "PartNum": "PKG-0016"}, "non-stock, from a job export without Company"),
            ("BFE001", {**screw, "PartNum": "SHT-0005"}, "a part nobody asked about"),
            ("BFE003", {**screw, "Plant": "Plant2"}, "non-stock at another site"),
            ("BFR006", {**screw, "Plant": "Plant2"}, "not cycle counted at another site"),
            ("BFE003", {"Plant": "MfgSys", "PartNum": "SCR-0001"}, "non-stock, from a job export without Company"),
            ("BFE002", {"Plant": "MfgSys", "PartNum": "SCR-0001"}, "serial tracked, from a job export without Company")]
    asked = [("EPIC06", "MfgSys", "SCR-0001"), ("EPIC06", "MfgSys", "PKG-0016"), ("EPIC06", "Plant2", "SCR-0001"),
             ("EPIC06", "MfgSys", "NOPE-0001"), ("epic06", "MfgSys ", "scr-0001"), (None, "MfgSys", "PKG-0016")]

    def key(company, plant, part):
        return tuple(str(v or "").rstrip().upper() for v in (company, plant, part))

    def first_of(wanted):
        found: dict[str, str] = {}
        for rule, component, message in rows:
            if component is not None and component.get("PartNum") is not None and key(
                    component.get("Company"), component.get("Plant"), component["PartNum"]) == wanted:
                found.setdefault(rule, message)
        return found

    expected = [{**first_of(("", *key(*part)[1:])), **first_of(key(*part))} for part in asked]
    parts = pa.table({name: [part[i] for part in asked] for i, name in enumerate(("company", "plant", "part_num"))})
    first = _finding_rows(rows).first_findings(parts)
    read = first.messages(0, len(asked))
    assert [list(messages.items()) for messages in read] == [list(messages.items()) for messages in expected]
    assert read[0] == {"BFE003": "non-stock, from a job export without Company",
                       "BFE002": "serial tracked, from a job export without Company",
                       "BFR006": "not cycle counted", "BFE001": "lot tracked on job 005001"}
    assert read[3] == {} and read[4] == read[0] and read[5] == read[1]
    assert first.messages(2, 4) == read[2:4]


def test_rows_are_kept_by_a_test_of_their_values_made_once_per_distinct_combination(demo_document):
    from validator.findings import VERDICT_FIELDS, Verdicts

    verdicts = demo_document["verdicts"]
    table = pa.Table.from_pylist([{name: v[name] for name in VERDICT_FIELDS} for v in verdicts])
    asked: list[tuple] = []

    def acted(verdict: str, backflushed: bool) -> bool:
        asked.append((verdict, backflushed))
        return verdict == "unknown" or (backflushed and verdict != "ready")

    kept = Verdicts(table).filtered(("verdict", "backflushed"), acted)
    assert [v.part for v in kept] == [v["part_num"] for v in verdicts
                                      if v["verdict"] == "unknown" or (v["backflushed"] and v["verdict"] != "ready")]
    assert sorted(asked) == sorted({(v["verdict"], v["backflushed"]) for v in verdicts}) and len(kept) < len(verdicts)
