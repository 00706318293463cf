"""Which checks share an engine pass: a check and its what-if twin are judged in one pass, each with its flag,
even where the check alone has a join-free guard (docs/performance.md: one scan and join chain, not two)."""

from __future__ import annotations

from validator.commands.check import with_run_params
from validator.config.profile import Profile
from validator.rules.analysis import rules_needs
from validator.rules.compile import compile_batches, local_guard
from validator.rules.compile.database_fields import database_table
from validator.rules.what_if import IF_ENABLED, indexed_checks


def _batches(rules, table, registry):
    rules = with_run_params(rules, Profile().run_params(None))
    needs = rules_needs(rules, registry)
    items = [(rule, check) for rule in rules for _, check in indexed_checks(rule) if check.table == table]
    return items, compile_batches(table, items, registry, lambda name: database_table(registry.tables[name],
                                                                                        sorted(needs[name])))


def test_a_check_and_its_what_if_twin_are_one_pass(builtin_rules, registry):
    rule = builtin_rules["BFE001"]
    items, batches = _batches([rule], "JobMtl", registry)
    (check, guard), (twin, _) = [(c, local_guard(rule, c, registry)) for _, c in items]
    assert guard is not None and twin.outcome == IF_ENABLED  # alone, the check would have a guarded pass
    assert len(batches) == 1
    assert [c.check for c in batches[0].checks] == [check, twin]


def test_a_guarded_check_without_a_twin_keeps_its_own_guarded_pass(builtin_rules, registry):
    """BFC007 reads no backflush flag (the final operation's LaborEntryMethod): it has no twin, and its guard still
    drops the other operations before any join; BFC008 and its twin are judged in a pass of their own."""
    rules = [builtin_rules["BFC007"], builtin_rules["BFC008"]]
    items, batches = _batches(rules, "JobOper", registry)
    (final_operation,) = [c for r, c in items if r.id == "BFC007"]
    assert local_guard(builtin_rules["BFC007"], final_operation, registry) is not None
    (alone,) = [b for b in batches if any(c.rule.id == "BFC007" for c in b.checks)]
    assert [c.rule.id for c in alone.checks] == ["BFC007"]
    (paired,) = [b for b in batches if b is not alone]
    assert sorted(c.check.outcome for c in paired.checks) == ["fail", IF_ENABLED]
