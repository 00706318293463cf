"""Running a rule's pass and fail examples, the data each rule file carries for its tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa

from validator.commands.check import run_rules
from validator.config.profile import RUN_PARAMS, Profile
from validator.engines import get_engine
from validator.findings import Finding
from validator.rules.analysis import rule_needs
from validator.rules.model import Example, Rule
from validator.rules.what_if import IF_ENABLED
from validator.sources.memory import MemorySource
from validator.sources.xlsx_reader import cell_text
from validator.tables import Registry

DEFAULTS = {"boolean": False, "integer": 0, "decimal": 0, "string": None, "date": None}


def _records(rule: Rule, example: Example, registry: Registry) -> tuple[dict[str, pa.Table], dict[str, set[str]]]:
    """Every table the rule reads, with the example's rows; unnamed columns take a plain default."""
    needs = {t: set(c) for t, c in rule_needs(rule, registry).columns.items()}
    tables = {}
    for name, columns in needs.items():
        rows: list[dict[str, Any]] = example.tables.get(name, [])
        spec = registry.tables[name].columns
        given = {c for row in rows for c in row}
        names = sorted({c for c in columns if not spec[c].optional} | given)
        data = {c: [cell_text(row.get(c, DEFAULTS[spec[c].type] if c in spec else None)) for row in rows] for c in names}
        tables[name] = pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})
    return tables, needs


def run_example(rule: Rule, example: Example, registry: Registry) -> list[Finding]:
    """The findings of one rule on one example's data (the what-if ones only when the example expects some); a
    contract violation in the example raises."""
    run = {k: v for k, v in example.params.items() if k in RUN_PARAMS}
    if "window_start" in run:
        raise AssertionError(f"{rule.id} example {example.name!r}: set snapshot_date and window_days, not window_start")
    profile = Profile(**run)
    rule = replace(rule, params={**rule.params, **{k: v for k, v in example.params.items() if k not in RUN_PARAMS}})
    tables, needs = _records(rule, example, registry)
    engine = get_engine("duckdb")
    site = engine.load(MemorySource(f"<{rule.id} example>", tables), registry, needs)
    try:
        empty = frozenset(name for name, loaded in site.tables.items() if not loaded.rows)
        violations = [v for vs in engine.contracts(site, empty).values() for v in vs]
        if violations:
            raise AssertionError(f"{rule.id} example {example.name!r} breaks a contract: {violations}")
        run_params = profile.run_params(engine.latest_history_date(site, registry))
        results, findings = run_rules(site, [rule], registry, engine, run_params=run_params)
    finally:
        engine.close(site)
    # an example judges the configuration as it is, unless it names what-if findings itself
    what_if = any(outcome == IF_ENABLED for _, _, outcome in example.findings)
    return [f for f in findings if what_if or f.outcome != IF_ENABLED]


FindingId = tuple[str, tuple[tuple[str, str], ...], str]


def _given(value: Any) -> bool:
    """A Company an example gives (a blank one is an export without the column): then it is part of the key."""
    return value is not None and str(value).strip() != ""


def finding_ids(findings: list[Finding]) -> set[FindingId]:
    """(table, key, outcome) with keys as Epicor compares them, for asserting on findings without message text."""
    return {(f.table, tuple(sorted((c, str(v).rstrip().upper()) for c, v in f.key if c != "Company" or _given(v))), f.outcome)
            for f in findings}


def expected_ids(example: Example) -> set[FindingId]:
    return {(table, tuple(sorted((c, str(v).rstrip().upper()) for c, v in key if c != "Company" or _given(v))), outcome)
            for table, key, outcome in example.findings}
