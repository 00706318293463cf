"""`backflush baseline`: the findings of a site as they are, recorded for a gate on new ones."""

from __future__ import annotations

import argparse
import json

from validator.commands.check import run_check
from validator.commands.setup import engine_for, readiness_in_force, reading_options, setup, source_of
from validator.config.ruleset import select
from validator.errors import EXIT_OK
from validator.gate import baseline_document
from validator.output import write_atomically


def main(args: argparse.Namespace) -> int:
    registry, config, profile, rules = setup(args)
    engine = engine_for(args)
    with source_of(args.path, engine) as source:
        report = run_check(source, select(rules, args.ids, args.tags), registry, engine,
                           keep_going=args.keep_going, profile=profile, attestations=args.attestations,
                           readiness_rules=readiness_in_force(rules), **reading_options(args, config, registry))
    document = baseline_document(report.findings, report.site)
    write_atomically(args.output, lambda out: out.write(json.dumps(document, indent=1, default=str) + "\n"))
    print(f"{len(document['findings'])} finding(s) recorded in {args.output}; 'backflush check {args.path} "
          f"--baseline {args.output}' now fails on new findings only")
    return EXIT_OK
