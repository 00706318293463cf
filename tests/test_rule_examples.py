"""Every rule's own pass and fail examples, discovered from the rule files."""

from __future__ import annotations

import pytest

from validator.commands.examples import expected_ids, finding_ids, run_example
from validator.rules.loader import BUILTIN_RULES, load_rules
from validator.tables import builtin_registry

RULES = load_rules([BUILTIN_RULES], builtin_registry())
CASES = [pytest.param(rule, example, id=f"{rule.id}-{example.expect}-{i}")
         for rule in RULES.values() for i, example in enumerate(rule.examples)]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_rule_example(rule, example, registry):
    findings = run_example(rule, example, registry)
    if example.expect == "pass":
        assert finding_ids(findings) == set(), [f.message for f in findings]
    else:
        assert finding_ids(findings) == expected_ids(example), [f.message for f in findings]


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.id)
def test_every_rule_has_a_pass_and_a_fail_example(rule):
    kinds = {example.expect for example in rule.examples}
    assert kinds == {"pass", "fail"}, f"{rule.id} lacks a {'pass' if 'pass' not in kinds else 'fail'} example"


@pytest.mark.parametrize("rule", RULES.values(), ids=lambda r: r.id)
def test_every_fail_example_names_the_findings_it_expects(rule):
    for example in rule.examples:
        if example.expect == "fail":
            assert example.findings, f"{rule.id} example {example.name!r} names no findings"


READINESS_WITH_HISTORY = [r for r in RULES.values() if any(c.outcome == "insufficient_history" for c in r.checks)]


@pytest.mark.parametrize("rule", READINESS_WITH_HISTORY, ids=lambda r: r.id)
def test_every_too_little_history_check_has_an_example_that_expects_it(rule):
    outcomes = {outcome for example in rule.examples for _, _, outcome in example.findings}
    assert "insufficient_history" in outcomes, f"{rule.id} has no example of too little history"


def test_the_catalogue_ids_are_all_shipped():
    catalogue = ({f"BFE00{i}" for i in range(1, 9)} | {f"BFC0{i:02d}" for i in range(1, 14)}
                 | {f"BFR0{i:02d}" for i in range(1, 11)})
    assert catalogue <= set(RULES)


def test_readiness_rules_judge_the_part_at_its_site_or_the_site():
    for rule_id in (f"BFR0{i:02d}" for i in range(1, 11)):
        assert set(RULES[rule_id].tables) <= {"PartPlant", "Attestation"}, rule_id
