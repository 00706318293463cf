"""The checks on a table are split into passes by the related tables they read: checks that share none are
compiled apart, so that no pass carries joins its checks do not need; the findings are the same either way."""

from __future__ import annotations

from validator.rules.compile import joined_apart


def _ids(groups) -> list[list[str]]:
    return [[rule.id for rule, _ in group] for group in groups]


def _items(builtin_rules, table: str, *rule_ids: str):
    return [(builtin_rules[r], next(c for c in builtin_rules[r].checks if c.table == table)) for r in rule_ids]


def test_checks_reading_no_related_table_in_common_go_to_separate_passes(registry, builtin_rules):
    # on PartPlant, BFE001 and BFE003 read Part; BFR007 reads the part's transactions
    items = _items(builtin_rules, "PartPlant", "BFE001", "BFR007", "BFE003")
    assert _ids(joined_apart("PartPlant", items, registry)) == [["BFE001", "BFE003"], ["BFR007"]]


def test_checks_sharing_a_related_table_share_a_pass_in_their_order(registry, builtin_rules):
    # every job check reads JobHead (its open-job scope, Job.JobComplete): they share one pass, in their order
    items = _items(builtin_rules, "JobMtl", "BFE001", "BFE006", "BFC009", "BFE003")
    assert _ids(joined_apart("JobMtl", items, registry)) == [["BFE001", "BFE006", "BFC009", "BFE003"]]


def test_checks_of_the_row_alone_are_one_pass(registry, builtin_rules):
    items = _items(builtin_rules, "JobMtl", "BFE004", "BFE005", "BFC002")
    assert _ids(joined_apart("JobMtl", items, registry)) == [["BFE004", "BFE005", "BFC002"]]


def test_method_lines_stay_one_pass_as_every_check_reads_the_components_site(registry, builtin_rules):
    items = _items(builtin_rules, "PartMtl", "BFE001", "BFE006", "BFC002")  # Backflushed reads PartRev, PartPlant
    assert len(joined_apart("PartMtl", items, registry)) == 1
