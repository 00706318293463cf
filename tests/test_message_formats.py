"""Messages show ratios as percentages and counts in agreement with their noun; a format the grammar lacks is
refused when the rule is loaded."""

from __future__ import annotations

import re

from tests.conftest import CASES, DEMO


def _findings(document: dict, rule_id: str) -> list[dict]:
    return [f for f in document["findings"] if f["rule_id"] == rule_id and f["outcome"] == "fail"]


def test_a_bom_variance_prints_as_a_percentage_with_one_decimal(demo_document):
    findings = _findings(demo_document, "BFR001")
    assert findings
    for finding in findings:
        measured, tolerance = finding["evidence"]["Measured"], finding["evidence"]["Threshold"]
        assert f": {measured * 100:.1f}% off the standard (tolerance {tolerance * 100:.1f}%)" in finding["message"]


def test_a_count_agrees_with_its_noun(demo_document):
    findings = _findings(demo_document, "BFR008")
    counts = {f["evidence"]["Measured"] for f in findings}
    assert {1} < counts, "the demo has parts with one completed job and parts with more"
    for finding in findings:
        jobs = finding["evidence"]["Measured"]
        noun = "job" if jobs == 1 else "jobs"
        assert re.search(rf"only {jobs} {noun} consuming it completed", finding["message"]), finding["message"]


def test_an_unknown_message_format_is_refused_naming_the_file(cli):
    code, _, err = cli("check", DEMO, "--rules", CASES / "rules" / "unknown_message_format")
    assert code == 2
    assert "unknown_message_format/ACME001.yaml" in err and "unknown message format 'upper'" in err
    assert "Traceback" not in err
