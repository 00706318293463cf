"""`backflush baseline`: the findings of a site as they are, recorded for a gate on new ones."""

from __future__ import annotations

import argparse

from validator.commands.check import run_check
from validator.commands.setup import engine_for, progress_for, readiness_in_force, reading_options, setup, source_of
from validator.config.ruleset import select
from validator.errors import EXIT_OK
from validator.formats.json import SEPARATOR, write_document
from validator.gate import baseline_sections
from validator.output import write_atomically


def main(args: argparse.Namespace) -> int:
    registry, config, profile, rules = setup(args)
    engine = engine_for(args)
    with source_of(args.path, engine) as source, progress_for(args) as progress:
        report = run_check(source, select(rules, args.ids, args.tags), registry, engine,
                           keep_going=args.keep_going, profile=profile, attestations=args.attestations,
                           readiness_rules=readiness_in_force(rules), progress=progress,
                           **reading_options(args, config, registry))
        progress.step("writing the baseline")
        recorded = report.findings.selected()  # the site as it is: what-if findings are no defect of it
        write_atomically(args.output, lambda out: write_document(baseline_sections(recorded, report.site, SEPARATOR),
                                                                 out))
    print(f"{len(recorded)} finding(s) recorded in {args.output}; 'backflush check {args.path} "
          f"--baseline {args.output}' now fails on new findings only")
    return EXIT_OK
