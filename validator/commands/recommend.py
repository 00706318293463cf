"""`backflush recommend`: the parts to switch backflush on and off, as an Epicor DMT Part Plant load.

It acts only on evidence (README "Verdicts"): switch on the components that are ready and not backflushed;
switch off the backflushed ones that are not eligible, misconfigured or at risk. A part whose verdict is
unknown (readiness not assessed, or too little history) needs review: it goes to the reasons file with what is
missing, never to the DMT file. The DMT file holds exactly the Part Plant columns (Company, Plant, PartNum,
BackFlush); the reasons file has one row per part named in either, with the action, the verdict, the rules
behind it and the first message of each.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TextIO

from validator.commands.setup import engine_for, progress_for, readiness_in_force, reading_options, setup, source_of
from validator.engines import Engine
from validator.errors import EXIT_OK, ConfigError
from validator.findings import AT_RISK, BLOCK, MISCONFIGURED, NOT_ELIGIBLE, READY, UNKNOWN, Verdict
from validator.report import Report
from validator.sources import Naming, Source
from validator.tables import Registry

DMT_COLUMNS = ["Company", "Plant", "PartNum", "BackFlush"]
REASON_COLUMNS = [*DMT_COLUMNS, "Action", "Verdict", "Rules", "Reason"]
SWITCH_ON, SWITCH_OFF, NEEDS_REVIEW = "switch on", "switch off", "needs review"
MAX_CELL = 500  # characters in one cell of the reasons file: a spreadsheet stays readable


@dataclass(frozen=True)
class Recommendation:
    company: str
    plant: str
    part: str
    action: str
    verdict: str
    rules: tuple[str, ...]
    reason: str
    backflushed_now: bool

    @property
    def in_dmt(self) -> bool:
        return self.action in (SWITCH_ON, SWITCH_OFF)

    @property
    def backflush(self) -> bool:
        """The BackFlush value of the row: what it becomes, or (needs review) what it is."""
        return self.action == SWITCH_ON or (self.action == NEEDS_REVIEW and self.backflushed_now)


def action(verdict: str, backflushed: bool | None) -> str | None:
    """What recommend does with a part of this verdict, backflushed at its site or not, or None (nothing to change:
    ready and on, or not ready and off)."""
    if verdict == UNKNOWN:
        return NEEDS_REVIEW
    if verdict == READY and not backflushed:
        return SWITCH_ON
    if backflushed and verdict in (NOT_ELIGIBLE, MISCONFIGURED, AT_RISK):
        return SWITCH_OFF
    return None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _reason(report: Report, verdict: Verdict, messages: dict[str, str]) -> str:
    """The rules behind the verdict with their first message; for an unknown verdict, what is missing. Info
    findings (BFR008, not a best fit) follow as notes: they do not change the verdict but may change the decision."""
    parts = []
    if verdict.verdict == READY:
        parts.append("every eligibility, integrity and readiness rule passed, with enough history")
    if verdict.verdict == UNKNOWN:
        missing = list(report.readiness_missing)
        if verdict.not_judged:
            missing.append(f"not judged by {', '.join(verdict.not_judged)} (too little history, or not measurable: "
                           "see their notes)")
        parts.append("readiness not assessed: " + "; ".join(missing))
    notes = [rule_id for rule_id in messages if rule_id not in verdict.rules]
    for rule_id in (*verdict.rules, *notes):
        rule = report.rules.get(rule_id)
        title = rule.title if rule else rule_id
        text = f"{rule_id} {title}: {messages[rule_id]}" if rule_id in messages else f"{rule_id} {title}"
        parts.append(f"note: {text}" if rule_id in notes else text)
    return _clip(" | ".join(parts))


def recommendations(report: Report, company: str | None = None) -> Iterator[Recommendation]:
    """The parts to switch on, switch off and review, company by company, site by site, part by part, made a block
    of parts at a time (at 10M job lines, 666,666 parts to switch off: held all at once, their reasons and messages
    were 1.6 GiB: docs/performance.md). `company` fills the company of parts whose PartPlant export has no Company
    column."""
    acted = report.verdicts.filtered(("verdict", "backflushed"), lambda *seen: action(*seen) is not None)
    first = report.findings.first_findings(acted.table)
    for start in range(0, len(acted), BLOCK):
        block = acted.block(start, BLOCK)
        for verdict, messages in zip(block, first.messages(start, start + len(block)), strict=True):
            owner = verdict.company or company
            if not owner:
                raise ConfigError(f"part {verdict.part} at {verdict.plant} has no Company in PartPlant and no --company "
                                  "was given; a DMT load needs the company of every row")
            yield Recommendation(owner, verdict.plant or "", verdict.part, action(verdict.verdict, verdict.backflushed) or "",
                                 verdict.verdict, verdict.rules, _reason(report, verdict, messages), verdict.backflushed)


def partplant_has_company(source: Source, registry: Registry, engine: Engine,
                          named: Mapping[str, Naming] | None = None) -> bool:
    """Whether the PartPlant export carries Company, read apart from the check, so that a DMT load that would lack
    the company of its rows is refused before the long run. `named`: backflush.yaml's `exports:`."""
    site = engine.load(source, registry, {"PartPlant": {"Company", "Plant", "PartNum"}}, named=named)
    try:
        site.require_columns()
        loaded = site.tables.get("PartPlant")
        return loaded is not None and "Company" in loaded.columns
    finally:
        engine.close(site)


def write_recommendations(items: Iterable[Recommendation], dmt: TextIO, reasons: TextIO) -> Counter[str]:
    """The DMT Part Plant load (Company, Plant, PartNum, BackFlush as True/False; switch-ons and switch-offs only)
    and its reasons (one row per part recommend names: its BackFlush after the load, as it is for a part to review,
    the action, the verdict, the rules and the reason), row by row; the parts per action."""
    load, why = csv.writer(dmt, lineterminator="\r\n"), csv.writer(reasons, lineterminator="\r\n")
    load.writerow(DMT_COLUMNS)
    why.writerow(REASON_COLUMNS)
    counts: Counter[str] = Counter()
    for item in items:
        counts[item.action] += 1
        backflush = "True" if item.backflush else "False"
        if item.in_dmt:
            load.writerow([item.company, item.plant, item.part, backflush])
        why.writerow([item.company, item.plant, item.part, backflush, item.action, item.verdict, " ".join(item.rules),
                      item.reason])
    return counts


def main(args: argparse.Namespace) -> int:
    from validator.commands.check import run_check
    from validator.config.ruleset import select
    from validator.errors import ConfigError
    from validator.output import write_atomically

    registry, config, profile, rules = setup(args)
    reading = reading_options(args, config, registry)
    engine = engine_for(args)
    with source_of(args.path, engine) as source, progress_for(args) as progress:
        if not args.company and not partplant_has_company(source, registry, engine, reading["named"]):
            # a DMT load needs the company of every row: say so before the run
            raise ConfigError("PartPlant has no Company column; give the company of the DMT rows with --company",
                              location=str(args.path))
        report = run_check(source, select(rules), registry, engine, keep_going=args.keep_going, profile=profile,
                           attestations=args.attestations, readiness_rules=readiness_in_force(rules),
                           progress=progress, **reading)
        progress.step("writing the DMT load and its reasons")
        reasons = args.output.with_name(args.output.stem + ".reasons.csv")
        counts: Counter[str] = Counter()

        def write(dmt: TextIO) -> None:  # both files at once, each renamed into place only once whole
            write_atomically(reasons, lambda why: counts.update(
                write_recommendations(recommendations(report, args.company), dmt, why)))

        write_atomically(args.output, write)
    on, off, review = (counts[a] for a in (SWITCH_ON, SWITCH_OFF, NEEDS_REVIEW))
    print(f"{on} part(s) to switch backflush on, {off} to switch off (DMT load {args.output}); {review} need review "
          f"(verdict unknown: {reasons} says what is missing)")
    if not report.readiness_assessed:
        print("readiness not assessed: " + "; ".join(report.readiness_missing) + ": no part is ready, none is switched on",
              file=sys.stderr)
    if report.summary()["partial"]:
        print("warning: some rules ended in ERROR (--keep-going): the lists are partial", file=sys.stderr)
    return EXIT_OK
