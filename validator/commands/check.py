"""`backflush check`: load what the rules need, keep the contracts, run every rule, collect findings."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from validator.commands.setup import (
    emit,
    engine_for,
    progress_for,
    readiness_in_force,
    reading_options,
    setup,
    source_of,
)
from validator.config.attestations import DEFAULT_NAME as ATTESTATIONS
from validator.config.attestations import read_attestations
from validator.config.profile import Profile
from validator.config.ruleset import select
from validator.config.waivers import Waiver, read_waivers
from validator.engines import VERDICT_COLUMNS, Engine
from validator.errors import EXIT_FINDINGS, EXIT_OK, ContractError, DataError
from validator.findings import (
    ERROR,
    IF_ENABLED_OUTCOME,
    INSUFFICIENT_HISTORY_OUTCOME,
    NOT_MEASURABLE_OUTCOME,
    SKIPPED,
    Findings,
    RuleResult,
    VerdictBasis,
    rule_status,
)
from validator.formats import Output, get_format, outputs
from validator.gate import Baseline, read_baseline, triage
from validator.progress import SILENT, Progress
from validator.report import Report
from validator.rules.analysis import check_needs
from validator.rules.model import Check, Rule
from validator.rules.what_if import OFFSET, indexed_checks
from validator.site import Site
from validator.sources import URI, Naming, Source
from validator.sources.headers import own_header
from validator.sources.memory import records
from validator.tables import Registry
from validator.told import AUTO, COMMA

READINESS, ELIGIBILITY = "readiness", "eligibility"  # the tags that place a rule's findings on the verdict scale
def _needs(rules: list[Rule], registry: Registry) -> dict[tuple[str, int], dict[str, set[str]]]:
    """(rule id, check index) -> the columns per table the check reads; what-if twins included (rules/what_if.py)."""
    return {(r.id, i): dict(check_needs(r, c, registry).columns) for r in rules for i, c in indexed_checks(r)}


def readiness_missing(results: list[RuleResult], in_force: Collection[str]) -> list[str]:
    """Why the run cannot call a part ready: each readiness rule in force that did not run, or not in full (a check
    SKIPPED or in ERROR: its reason says which); none in force at all is a reason too. Empty: readiness is assessed."""
    ran = {r.rule_id: r for r in results}
    wanted = sorted(in_force)
    if not wanted:
        return ["no readiness rule in force"]
    out = []
    for rule_id in wanted:
        result = ran.get(rule_id)
        if result is None:
            out.append(f"{rule_id} not run (not selected)")
        elif result.status in (ERROR, SKIPPED) or result.reason:  # the rules table says why
            out.append(f"{rule_id} {result.status if result.status in (ERROR, SKIPPED) else 'partly run'}")
    return out


def with_run_params(rules: list[Rule], params: dict[str, Any]) -> list[Rule]:
    """Every rule with the profile's run parameters (snapshot date, window); a rule's own values win."""
    return [replace(r, params={**params, **r.params}) for r in rules]


@dataclass
class Collected:
    """The rules' findings collected in the engine, not yet fetched: the rules as run (with the run's parameters),
    the checks run per table, and per rule why a check did not run (ERROR or SKIPPED) or ran without its twin."""

    rules: list[Rule]
    runnable: dict[str, list[tuple[Rule, Check]]]
    notes: dict[str, list[tuple[str, str]]]
    what_if_notes: dict[str, list[str]]


def collect_rules(site: Site, rules: list[Rule], registry: Registry, engine: Engine,
                  broken: dict[str, str] | None = None,
                  needs: dict[tuple[str, int], dict[str, set[str]]] | None = None,
                  run_params: dict[str, Any] | None = None,
                  progress: Progress = SILENT) -> Collected:
    """Run every check whose tables are there, all checks on one table in one engine pass. `run_params`
    (snapshot date, window) default to the default profile's on this site's history."""
    broken = broken or {}
    rules = with_run_params(rules, run_params or Profile().run_params(engine.latest_history_date(site, registry)))
    needs = needs or _needs(rules, registry)
    notes: dict[str, list[tuple[str, str]]] = {r.id: [] for r in rules}  # rule id -> (ERROR|SKIPPED, reason)
    what_if_notes: dict[str, list[str]] = {r.id: [] for r in rules}  # what-if twins that could not run: said, no status
    runnable: dict[str, list[tuple[Rule, Check]]] = {}
    for rule in rules:
        for index, check in indexed_checks(rule):
            tables = needs[(rule.id, index)]
            bad = sorted(t for t in tables if t in broken)
            absent = sorted(t for t in tables if t in site.absent)
            no_history = sorted(f"{t}.{c}" for t, columns in tables.items() if t in site.tables for c in columns
                                if c in site.tables[t].absent_optional and registry.tables[t].columns[c].history)
            if index >= OFFSET and (bad or absent or no_history):
                what_if_notes[rule.id].append(f"{check.table}: not judged as if enabled: "
                                              f"{', '.join(bad or absent or no_history)} not read")
            elif bad:
                notes[rule.id].append((ERROR, f"{check.table}: table {', '.join(bad)} broke its contract ({broken[bad[0]]})"))
            elif absent:
                notes[rule.id].append((SKIPPED, f"{check.table}: optional table {', '.join(absent)} not exported: "
                                                f"{site.absent[absent[0]]}"))
            elif no_history:
                notes[rule.id].append((SKIPPED, f"{check.table}: history column {', '.join(no_history)} not exported"))
            else:
                runnable.setdefault(check.table, []).append((rule, check))
    for number, (table, items) in enumerate(sorted(runnable.items()), 1):
        progress.step(f"rules on {table} ({number} of {len(runnable)}): compiling")
        for compiled in engine.passes(site, table, items, registry):
            progress.step(f"rules on {table} ({number} of {len(runnable)}): running")
            engine.collect(site, compiled)
    return Collected(rules, runnable, notes, what_if_notes)


def fetch_findings(site: Site, engine: Engine, progress: Progress = SILENT) -> Findings:
    progress.step("findings: sorting and writing")
    findings = engine.findings(site)
    progress.note(f"{len(findings):,} finding(s)")
    return findings


def rule_results(collected: Collected, site: Site, engine: Engine,
                 per_rule: Mapping[str, Mapping[str, int]]) -> list[RuleResult]:
    """Each rule's result: its status and counts from `per_rule` (rule id -> outcome -> findings); without them
    (empty), the statuses a check that did not run gives (ERROR, SKIPPED) and the reasons are already whole."""
    results = []
    for rule in collected.rules:
        runnable = collected.runnable
        checked = sum(engine.count(site, check.table) for check in rule.checks if (rule, check) in runnable.get(check.table, []))
        outcomes = per_rule.get(rule.id, {})
        insufficient, if_enabled = outcomes.get(INSUFFICIENT_HISTORY_OUTCOME, 0), outcomes.get(IF_ENABLED_OUTCOME, 0)
        not_measurable = outcomes.get(NOT_MEASURABLE_OUTCOME, 0)
        failed = sum(outcomes.values()) - if_enabled
        errors = [reason for kind, reason in collected.notes[rule.id] if kind == ERROR]
        skipped = [reason for kind, reason in collected.notes[rule.id] if kind == SKIPPED]
        if errors:
            status = ERROR
        elif len(skipped) == len(rule.checks):
            status = SKIPPED
        else:
            status = rule_status(failed, insufficient + not_measurable)
        reason = "; ".join(dict.fromkeys(errors + skipped + collected.what_if_notes[rule.id]))
        results.append(RuleResult(rule.id, rule.severity, rule.title, status, checked,
                                  failed - insufficient - not_measurable, reason, insufficient, if_enabled, not_measurable))
    return results


def run_rules(site: Site, rules: list[Rule], registry: Registry, engine: Engine,
              broken: dict[str, str] | None = None,
              needs: dict[tuple[str, int], dict[str, set[str]]] | None = None,
              run_params: dict[str, Any] | None = None,
              progress: Progress = SILENT) -> tuple[list[RuleResult], Findings]:
    """The rules run, their findings fetched, and each rule's result."""
    collected = collect_rules(site, rules, registry, engine, broken, needs, run_params, progress)
    findings = fetch_findings(site, engine, progress)
    return rule_results(collected, site, engine, findings.per_rule()), findings


def run_needs(per_check: dict[tuple[str, int], dict[str, set[str]]], registry: Registry) -> dict[str, set[str]]:
    """Table -> every column a run reads: the checks', the verdicts' and the history dates (the default snapshot)."""
    needs: dict[str, set[str]] = {}
    for table_needs in per_check.values():
        for table, columns in table_needs.items():
            needs.setdefault(table, set()).update(columns)
    if "PartPlant" in needs:  # the verdicts: which parts are components at which site, of the tables the rules read
        for table, columns in VERDICT_COLUMNS.items():
            if table in needs:
                needs[table] |= {c for c in columns if c in registry.tables[table].columns}
    for table, columns in needs.items():  # the default snapshot date is the latest history date read
        history = registry.tables[table].history_date
        if history:
            columns.add(history)
    return needs


def read_columns(rules: list[Rule], registry: Registry) -> dict[str, set[str]]:
    """Table -> every column a check of `rules` reads (what to export, what to pull)."""
    return run_needs(_needs(rules, registry), registry)


def run_check(source: Source, rules: list[Rule], registry: Registry, engine: Engine, *,
              keep_going: bool = False, profile: Profile | None = None, attestations: Path | None = None,
              date_order: str = AUTO, decimal_separator: str = AUTO, empty_tables: frozenset[str] = frozenset(),
              named: Mapping[str, Naming] | None = None, jobs: str = "open",
              readiness_rules: Collection[str] | None = None, progress: Progress = SILENT,
              descriptions: bool = False) -> Report:
    """Check a source of exports; contract violations stop the run unless keep_going. `date_order`: of dates
    exported with slashes; `decimal_separator`: of numbers exported as text (validator/told.py); `empty_tables`:
    tables whose export may hold no rows (a site without jobs yet); `named`: what backflush.yaml's `exports:` says of
    some tables' files and headers; `jobs`: the jobs the eligibility and integrity rules judge (open or all);
    `readiness_rules`: the ids of every readiness rule in force, run or not (default: those among `rules`): a part
    is ready only when each of them ran in full. `descriptions`: read the parts' descriptions too (a format written
    shows them)."""
    per_check = _needs(rules, registry)
    needs = run_needs(per_check, registry)
    documents = {}
    if "Attestation" in needs:
        path = attestations or source.site_file(ATTESTATIONS)
        if path is not None:
            documents["Attestation"] = records("Attestation", path, read_attestations(path))
    progress.step(f"reading {len(needs)} table(s) from {source.location}")
    site = engine.load(source, registry, needs, documents=documents, date_order=date_order,
                       decimal_separator=decimal_separator, named=named)
    for name, loaded_table in sorted(site.tables.items()):
        progress.note(f"{name}: {loaded_table.rows:,} rows")
    with contextlib.ExitStack() as loaded:  # the engine's memory (and any spilled temp files) goes when the run ends
        loaded.callback(engine.close, site)
        if "Attestation" in site.absent:
            write = ("put one there" if URI.match(source.location)
                     else f"write one with 'backflush init {source.location}'")
            site.absent["Attestation"] = f"no {ATTESTATIONS} in {source.home_location} ({write}, or give --attestations FILE)"
        # a table only a what-if twin or the verdicts read may be absent: the twin is then said not to run
        wanted = {table for (_, index), tables in per_check.items() if index < OFFSET for table in tables}
        required = sorted(t for t in site.absent if not registry.tables[t].optional and t in wanted)
        if required and not keep_going:
            users = sorted({rule_id for (rule_id, index), tables in per_check.items()
                            if index < OFFSET and set(tables) & set(required)})
            hints = "".join(source.look_alike_hint(t, list(registry.tables)) for t in required)
            raise DataError(f"no export of required table(s) {', '.join(required)} (needed by {', '.join(users)}); "
                            f"expected {source.expected(required[0])}{hints}", location=source.location)
        progress.step("table contracts")
        violations = engine.contracts(site, empty_tables)
        flat = [v for vs in violations.values() for v in vs]
        if flat and not keep_going:
            raise ContractError(flat)
        engine.typed(site)
        broken = {t: str(vs[0]) for t, vs in violations.items()}
        broken.update({t: site.absent[t] for t in required})
        profile = profile or Profile()
        latest = engine.latest_history_date(site, registry)
        params = profile.run_params(latest, jobs)
        collected = collect_rules(site, rules, registry, engine, broken, per_check, params, progress)
        # whether readiness was assessed rests on which checks ran, not on what they found: the verdicts are made
        # before the findings are fetched, so the engine's memory for them is not held beside the report's rows
        missing = readiness_missing(rule_results(collected, site, engine, {}), readiness_rules
                                    if readiness_rules is not None else [r.id for r in rules if READINESS in r.tags])
        basis = VerdictBasis(frozenset(r.id for r in rules if ELIGIBILITY in r.tags),
                             frozenset(r.id for r in rules if READINESS in r.tags), not missing,
                             params["window_start"], params["snapshot_date"])
        progress.step("verdicts")
        judged = engine.verdicts(site, basis)
        findings = fetch_findings(site, engine, progress)
        results = rule_results(collected, site, engine, findings.per_rule())
        date_orders = {f"{name}.{column}": order for name, loaded_table in sorted(site.tables.items())
                       for column, order in sorted(loaded_table.date_orders.items())}
        decimal_commas = [f"{name}.{column}" for name, loaded_table in sorted(site.tables.items())
                          for column, separator in sorted(loaded_table.separators.items()) if separator == COMMA]
        column_headers = {f"{name}.{column}": header for name, loaded_table in sorted(site.tables.items())
                          for column, header in sorted(loaded_table.columns.items())
                          if not own_header(loaded_table.table, column, header)}
        inputs = {name: loaded_table.source.where for name, loaded_table in sorted(site.tables.items())}
        part = site.tables.get("Part")
        descriptions = (engine.arrow(site, "Part", ["Company", "PartNum", "PartDescription"])
                        if descriptions and part is not None and "PartDescription" in part.columns else None)
        return Report(source.location, {r.id: r for r in rules}, results, findings, judged, flat, missing, jobs,
                      engine.name, profile.to_dict(latest), date_orders, decimal_commas, column_headers, inputs,
                      input_files={name: [str(p) for p in (t.source.parquet_files() if t.source.format == "parquet"
                                                           else [t.source.path])] for name, t in site.tables.items()},
                      snapshot=source.snapshot(), descriptions=descriptions)


def gate_inputs(baseline: Path | None, waivers: Path | None) -> tuple[Baseline | None, list[Waiver] | None]:
    """The baseline and waivers a gate reads, read before the run: a wrong or broken file is refused at once, not
    after minutes of checking. The baseline's names wait in a temporary file while the site is checked (at 50M job
    lines 16M names): they take none of the run's memory."""
    return (read_baseline(baseline, held=0) if baseline else None), (read_waivers(waivers) if waivers else None)


def gated(report: Report, baseline: Baseline | None, waivers: list[Waiver] | None,
          memory_limit: str | None = None) -> Report:
    """The report with its findings marked against a baseline (a file's, or an earlier run's) and waivers
    (validator/gate.py); as it was without either. DuckDB matches the findings to the baseline, within half of
    `memory_limit` (the run's) beside the report, whichever engine made them."""
    if baseline is None and waivers is None:
        return report
    from validator.engines.duckdb import DuckDBEngine

    findings, result = triage(report.findings, baseline, waivers or [], dt.date.today(),
                              DuckDBEngine(memory_limit).recorded)
    return replace(report, findings=findings, triage=result)


def write_reports(report: Report, chosen: list[Output], color: bool) -> None:
    """Every report asked for: the files first, then the one for standard output (the last thing printed), and a
    line saying what was written where."""
    for output in sorted(chosen, key=lambda o: o.path is None):
        formatter = get_format(output.name)
        emit(lambda out, f=formatter, o=output: f.write(report, out, color=color and o.path is None), output.path,
             binary=formatter.BINARY)
    files = [str(o.path) for o in chosen if o.path is not None]
    if files:
        counts, what_if = report.counts(), sum(report.if_enabled_counts().values())
        print(f"{sum(counts.values())} finding(s) ({counts['error']} error, {counts['warning']} warning, "
              f"{counts['info']} info)" + (f" and {what_if} if backflush were switched on" if what_if else "")
              + f" written to {', '.join(files)}", file=sys.stderr if len(files) < len(chosen) else sys.stdout)


def main(args: argparse.Namespace) -> int:
    chosen = outputs(args.formats, args.output)
    registry, config, profile, rules = setup(args)
    baseline, waivers = gate_inputs(args.baseline, args.waivers or config.waivers)
    engine = engine_for(args)
    with source_of(args.path, engine) as source, progress_for(args) as progress:
        report = run_check(source, select(rules, args.ids, args.tags), registry, engine,
                           keep_going=args.keep_going, profile=profile, attestations=args.attestations,
                           readiness_rules=readiness_in_force(rules), progress=progress,
                           descriptions=any(get_format(o.name).DESCRIBES_PARTS for o in chosen),
                           **reading_options(args, config, registry))
        report = gated(report, baseline, waivers, getattr(args, "memory_limit", None))
        progress.step("writing the reports")
        write_reports(report, chosen, args.color)
    fail_on = args.fail_on or config.fail_on or "error"
    return EXIT_FINDINGS if report.worst_at_or_above(fail_on) else EXIT_OK
