"""Several formats in one run, each checked by an outside reader against its published schema (tests/contracts:
the OASIS SARIF 2.1.0 JSON Schema, the Apache Ant JUnit XSD) and against the JSON report of the same run."""

from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import DEMO
from validator.cli import main
from validator.findings import FINDING_FIELDS

CONTRACTS = Path(__file__).resolve().parent / "contracts"
FORMATS = ("json", "sarif", "junit", "markdown", "xlsx", "html")  # every format, in one run


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    paths = {name: folder / f"report.{name}" for name in FORMATS}
    code = main(["check", str(DEMO), "--fail-on", "never", *[f"--format={n}:{p}" for n, p in paths.items()]])
    assert code == 0
    return paths


@pytest.fixture(scope="module")
def document(reports) -> dict:
    return json.loads(reports["json"].read_text(encoding="utf-8"))


def test_one_run_writes_every_format_asked_for_and_the_json_is_the_usual_report(reports, document, demo_document):
    import openpyxl

    assert all(path.is_file() and path.stat().st_size for path in reports.values())
    assert "Verdicts" in openpyxl.load_workbook(reports["xlsx"], read_only=True).sheetnames
    assert reports["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert {k: v for k, v in document.items() if k != "tool"} == {k: v for k, v in demo_document.items() if k != "tool"}


def test_report_files_are_readable_as_any_file_the_user_writes(reports):
    assert all(path.stat().st_mode & stat.S_IRGRP for path in reports.values())


def test_the_sarif_log_is_valid_against_the_sarif_2_1_0_schema(reports):
    import jsonschema

    schema = json.loads((CONTRACTS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads(reports["sarif"].read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, errors[0].message


def test_a_sarif_client_reads_every_finding_with_its_rule_and_fingerprint(reports, document):
    from sarif import loader

    sarif = loader.load_sarif_file(str(reports["sarif"]))
    results = sarif.runs[0].get_results()
    assert sarif.get_result_count() == len(document["findings"])
    assert Counter((r["ruleId"], r["partialFingerprints"]["backflushKey/v1"]) for r in results) == \
        Counter((f["rule_id"], f["fingerprint"]) for f in document["findings"])
    rules = {r["id"] for r in json.loads(reports["sarif"].read_text())["runs"][0]["tool"]["driver"]["rules"]}
    assert rules == {r["rule_id"] for r in document["rules"]}


def test_sarif_levels_follow_severity_and_what_if_findings_are_informational(reports, document):
    results = json.loads(reports["sarif"].read_text())["runs"][0]["results"]
    by_fingerprint = {(f["rule_id"], f["fingerprint"]): f for f in document["findings"]}
    for result in results:
        finding = by_fingerprint[(result["ruleId"], result["partialFingerprints"]["backflushKey/v1"])]
        if finding["outcome"] == "if_enabled":
            assert (result["kind"], result["level"]) == ("informational", "note")
        elif finding["outcome"] == "fail":
            assert (result["kind"], result["level"]) == ("fail", {"error": "error", "warning": "warning",
                                                                  "info": "note"}[finding["severity"]])
        assert result["locations"][0]["logicalLocations"][0]["name"] == finding["table"]


def test_the_junit_report_is_valid_against_the_ant_junit_schema(reports):
    import xmlschema

    xmlschema.XMLSchema(CONTRACTS / "junit.xsd").validate(reports["junit"])


def test_junit_fails_exactly_the_rules_with_findings_and_counts_them_all(reports, document):
    import xml.etree.ElementTree as ET

    suite = ET.parse(reports["junit"]).getroot().find("testsuite")
    failed: Counter[str] = Counter()
    for case in suite.iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            failed[case.get("name").split()[0]] += int(failure.get("message").split()[0])
    expected = Counter(f["rule_id"] for f in document["findings"] if f["outcome"] == "fail")
    assert failed == expected
    skipped = {case.get("name").split()[0] for case in suite.iter("testcase") if case.find("skipped") is not None}
    assert skipped == {r["rule_id"] for r in document["rules"] if r["status"] in ("SKIPPED", "INSUFFICIENT_HISTORY")}


def test_the_markdown_summary_states_the_whole_counts(reports, document):
    text = reports["markdown"].read_text(encoding="utf-8")
    fails = sum(1 for f in document["findings"] if f["outcome"] != "if_enabled")
    assert f"**{fails} finding(s)**" in text
    for rule in document["rules"]:
        if rule["status"] == "FAIL":
            assert f"| {rule['rule_id']} | {rule['severity']} | FAIL | {rule['failed']} |" in text


def test_the_markdown_summary_stays_under_60_kb_with_a_hundred_thousand_findings(demo_document):
    import io

    from validator.findings import Findings, Verdicts
    from validator.formats import markdown
    from validator.report import Report

    line = json.dumps({**demo_document["findings"][0], "message": "x" * 400})
    n = 100_000
    findings = Findings(pa.table({"rule_id": ["BFE001"] * n, "severity": ["error"] * n, "outcome": ["fail"] * n,
                                  "site_plant": pa.array([None] * n, pa.string()),
                                  "component": ['{"Plant": "MfgSys"}'] * n, "line": [line] * n}))
    verdicts = Verdicts(pa.table({"company": pa.array([], pa.string()), "plant": pa.array([], pa.string()),
                                  "verdict": pa.array([], pa.string()), "backflushed": pa.array([], pa.bool_())}))
    out = io.StringIO()
    markdown.write(Report("big", {}, [], findings, verdicts), out)
    assert len(out.getvalue().encode()) < 60_000
    assert f"**{n} finding(s)**" in out.getvalue() and "more finding(s) not listed" in out.getvalue()


@pytest.mark.parametrize(("args", "says"), [
    (["--format", "json", "--format", "sarif"], "2 formats would go to standard output"),
    (["--format", "json", "--format", "sarif", "--output", "x.json"], "--output names the file of one format"),
    (["--format", "pdf:x.pdf"], "unknown format 'pdf'"),
    (["--format", "json:same.out", "--format", "sarif:same.out"], "two formats would be written to same.out"),
])
def test_format_choices_that_cannot_be_met_stop_before_the_run(cli, args, says):
    code, _, err = cli("check", DEMO, *args)
    assert code == 2 and says in err


def test_every_sarif_result_is_the_one_made_finding_by_finding(demo_document, builtin_rules):
    """Plain findings' results are made by Arrow from the engine's JSON, the others (a key with a quote, a
    backslash, a control character or a decimal, a message with a \\u escape, a waived finding) one by one: each
    result is byte for byte what the finding-by-finding writer makes of it, in the findings' order, with the
    baseline's states and a table read from no file."""
    import io

    import orjson

    from validator.findings import Finding, Findings, Verdicts
    from validator.formats import sarif
    from validator.report import Report

    plain = demo_document["findings"][:40]
    odd = [{**plain[0], "key": {"PartNum": 'A"B'}}, {**plain[1], "key": {"PartNum": "C:\\x"}},
           {**plain[2], "key": {"PartNum": "L\x01X", "Seq": None, "Flag": True}},
           {**plain[3], "key": {"QtyPer": 2.5}}, {**plain[4], "message": "bell \x07 rang"},
           {**plain[5], "table": "Attestation"},
           {**plain[6], "waiver": {"reason": "r", "owner": "o", "ticket": None, "expires": "2099-12-31"}},
           {**plain[7], "key": {"PartNum": "P, 1", "Seq": None, "Flag": False, "On": True, "N": -3}}]  # plain
    documents = plain + odd
    states = [None if f["outcome"] == "if_enabled" else ("new" if i % 3 else "persisting")
              for i, f in enumerate(documents)]
    def line(finding: dict, state: str | None) -> str:  # as the engine writes it, and the gate marks it
        document = {k: finding[k] for k in FINDING_FIELDS} | ({"baseline": state} if state else {})
        return json.dumps(document | ({"waiver": finding["waiver"]} if "waiver" in finding else {}),
                          separators=(",", ":"), ensure_ascii=False)

    lines = [line(f, s) for f, s in zip(documents, states, strict=True)]
    table = pa.table({"rule_id": [f["rule_id"] for f in documents], "severity": [f["severity"] for f in documents],
                      "outcome": [f["outcome"] for f in documents], "table": [f["table"] for f in documents],
                      "fingerprint": [f["fingerprint"] for f in documents],
                      "site_plant": pa.array([None] * len(documents), pa.string()),
                      "component": ['{"Company":"EPIC06","Plant":"MfgSys"}'] * len(documents), "line": lines,
                      "baseline": pa.array(states, pa.string()), "waived": ["waiver" in f for f in documents]})
    rules = dict(builtin_rules)  # rule id -> rule
    inputs = {"JobMtl": "exports/JobMtl.csv", "PartPlant": "exports/PartPlant.csv", "Part": "exports/Part.csv"}
    verdicts = Verdicts(pa.table({"company": pa.array([], pa.string()), "plant": pa.array([], pa.string()),
                                  "verdict": pa.array([], pa.string()), "backflushed": pa.array([], pa.bool_())}))
    out = io.StringIO()
    sarif.write(Report("site", rules, [], Findings(table), verdicts, inputs=inputs), out)
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    expected = [orjson.dumps(sarif._result(Finding.from_json(line, '{"Company":"EPIC06","Plant":"MfgSys"}'), index,
                                           inputs)).decode() for line in lines]
    written = out.getvalue().split('"results":[\n', 1)[1].rsplit("\n]}]}", 1)[0].split(",\n")
    assert written == expected
    assert sum(pa.compute.is_valid(pa.compute.extract_regex(pa.array(lines), sarif.LINE)).to_pylist()) >= 41
