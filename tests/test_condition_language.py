"""The condition language's documented semantics, on small rules written the way users write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.commands.examples import finding_ids, run_example
from validator.errors import RuleFileError
from validator.rules.loader import load_rule_file

RULE = """id: SITE001
title: Job material issued from a warehouse other than the line's
severity: warning
tags: [site]
message: "Job {{JobNum}} material {{MtlSeq}} issues from {{WarehouseCode}}"
remediation: Set the warehouse.
rationale: Site policy.
source: site policy
checks:
  - table: JobMtl
    where: {where}
examples:
  - name: rows
    expect: fail
    tables:
      JobMtl:
        - {{JobNum: "001", AssemblySeq: 0, MtlSeq: 10, PartNum: A, WarehouseCode: MAIN}}
        - {{JobNum: "001", AssemblySeq: 0, MtlSeq: 20, PartNum: B, WarehouseCode: LINE1}}
        - {{JobNum: "001", AssemblySeq: 0, MtlSeq: 30, PartNum: C, WarehouseCode: ""}}
    findings: []
"""


def matched(tmp_path: Path, registry, where: str) -> set[int]:
    path = tmp_path / "SITE001.yaml"
    path.write_text(RULE.format(where=where), encoding="utf-8")
    rule = load_rule_file(path, registry)
    return {int(dict(key)["MtlSeq"]) for _, key, _ in finding_ids(run_example(rule, rule.examples[0], registry))}


def test_a_comparison_with_a_blank_value_is_false(tmp_path, registry):
    assert matched(tmp_path, registry, "{column: WarehouseCode, ne: MAIN}") == {20}


def test_is_blank_finds_the_blank_value(tmp_path, registry):
    assert matched(tmp_path, registry, "{column: WarehouseCode, is: blank}") == {30}


def test_text_comparisons_ignore_case(tmp_path, registry):
    assert matched(tmp_path, registry, "{column: WarehouseCode, eq: line1}") == {20}


def test_in_takes_a_single_value_as_a_one_item_list(tmp_path, registry):
    assert matched(tmp_path, registry, "{column: WarehouseCode, in: LINE1}") == {20}


def test_not_in_is_false_for_a_blank_value(tmp_path, registry):
    assert matched(tmp_path, registry, "{column: WarehouseCode, not_in: [MAIN]}") == {20}


def test_in_refuses_a_column_reference(tmp_path, registry):
    with pytest.raises(RuleFileError, match="'in' takes a list of values"):
        matched(tmp_path, registry, "{column: WarehouseCode, in: {column: PartNum}}")


def test_a_row_two_checks_of_one_rule_flag_is_one_finding_from_the_first_check(tmp_path, registry):
    text = RULE.format(where="{column: WarehouseCode, ne: MAIN}").replace(
        "checks:\n", "checks:\n  - table: JobMtl\n    where: {column: PartNum, in: [B, C]}\n    "
                     "message: \"Job {JobNum} material {MtlSeq}: part {PartNum}\"\n")
    path = tmp_path / "SITE001.yaml"
    path.write_text(text, encoding="utf-8")
    rule = load_rule_file(path, registry)
    findings = list(run_example(rule, rule.examples[0], registry))
    assert sorted(int(dict(f.key)["MtlSeq"]) for f in findings) == [20, 30]
    assert all("part" in f.message for f in findings)  # line 20 is flagged by both checks: the first one's message
