"""`backflush diff OLD NEW`: both exports checked with the same rules; the report is NEW's, its findings marked new
or persisting against OLD's (resolved ones counted), with the parts whose verdict changed. The gate fails only on
new findings at or above --fail-on: the CI job on a master-data change."""

from __future__ import annotations

import argparse
from dataclasses import replace

from validator.commands.check import gate_inputs, gated, run_check, write_reports
from validator.commands.setup import engine_for, progress_for, readiness_in_force, reading_options, setup, source_of
from validator.config.ruleset import select
from validator.engines.duckdb import DuckDBEngine
from validator.errors import EXIT_FINDINGS, EXIT_OK
from validator.findings import Verdicts
from validator.formats import outputs
from validator.gate import CHANGE_COLUMNS, baseline_of, verdict_changes
from validator.progress import Labelled


def main(args: argparse.Namespace) -> int:
    chosen = outputs(args.formats, args.output)
    registry, config, profile, rules = setup(args)
    selected = select(rules, args.ids, args.tags)
    options = {"keep_going": args.keep_going, "profile": profile, "attestations": args.attestations,
               "readiness_rules": readiness_in_force(rules), **reading_options(args, config, registry)}
    _, waivers = gate_inputs(None, args.waivers or config.waivers)
    memory_limit = getattr(args, "memory_limit", None)
    with progress_for(args) as progress:
        engine = engine_for(args)
        before = Labelled(progress, "OLD")
        with source_of(args.old, engine) as source:
            old = run_check(source, selected, registry, engine, progress=before, **options)
        # of OLD's report only its findings' names (in a temporary file) and its verdicts' keys are kept while NEW runs
        before.step("keeping its findings' names and its verdicts")
        baseline = baseline_of(old.findings, str(args.old))
        verdicts = Verdicts(old.verdicts.table.select(list(CHANGE_COLUMNS)))
        del old
        engine = engine_for(args)
        with source_of(args.new, engine) as source:
            shown = Labelled(progress, "NEW")
            report = run_check(source, selected, registry, engine, progress=shown, **options)
            shown.step("findings marked new or persisting against OLD's")
            report = gated(report, baseline, waivers, memory_limit)
            # DuckDB matches the two runs' parts within half of the run's memory limit, whichever engine judged them
            shown.step("parts whose verdict changed")
            changes = verdict_changes(verdicts, report.verdicts, DuckDBEngine(memory_limit).changed_verdicts)
            report = replace(report, triage=replace(report.triage, verdict_changes=changes))
            progress.step("writing the reports")
            write_reports(report, chosen, args.color)
    fail_on = args.fail_on or config.fail_on or "error"
    return EXIT_FINDINGS if report.worst_at_or_above(fail_on) else EXIT_OK
