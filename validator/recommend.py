"""`backflush recommend`: the parts to switch backflush on and off, as an Epicor DMT Part Plant load.

Switch on: components whose verdict is ready (no error or warning, too little history included) and whose
PartPlant.BackFlush is off. Switch off: backflushed parts whose verdict is not eligible or at risk. The DMT
file holds exactly the Part Plant columns (Company, Plant, PartNum, BackFlush); the reasons file repeats
them with the action, the verdict, the rules behind it and their first messages.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from validator.check import Report
from validator.errors import ConfigError
from validator.findings import AT_RISK, NOT_ELIGIBLE, READY, component_key
from validator.readers import load_site, require_columns
from validator.sources import Naming
from validator.tables import Registry

DMT_COLUMNS = ["Company", "Plant", "PartNum", "BackFlush"]
REASON_COLUMNS = [*DMT_COLUMNS, "Action", "Verdict", "Rules", "Reason"]
SWITCH_ON, SWITCH_OFF = "switch on", "switch off"


@dataclass(frozen=True)
class Recommendation:
    company: str
    plant: str
    part: str
    action: str
    verdict: str
    rules: tuple[str, ...]
    reason: str

    @property
    def backflush(self) -> bool:
        return self.action == SWITCH_ON


def _reason(report: Report, rules: tuple[str, ...], messages: dict[str, str]) -> str:
    """The rules behind the verdict with their first message; info findings (BFR008, not a best fit) follow
    as notes, since they do not change the verdict but may change the decision."""
    notes = [rule_id for rule_id in messages if rule_id not in rules]
    parts = [] if rules else ["no error or warning from any rule: eligible, configured and ready by the readiness checks"]
    for rule_id in (*rules, *notes):
        rule = report.rules.get(rule_id)
        title = rule.title if rule else rule_id
        text = f"{rule_id} {title}: {messages[rule_id]}" if rule_id in messages else f"{rule_id} {title}"
        parts.append(f"note: {text}" if rule_id in notes else text)
    return " | ".join(parts)


def recommendations(report: Report, companies: dict[tuple[str, str], str | None],
                    company: str | None = None) -> list[Recommendation]:
    """Switch-on and switch-off candidates, site by site and part by part. `companies` maps (PLANT, PART) to
    PartPlant.Company; `company` fills the rows it leaves blank."""
    first: dict[tuple[str, str], dict[str, str]] = {}  # (PLANT, PART) -> rule id -> its first message
    for finding in report.findings:
        key = component_key(finding)
        if key is not None:
            first.setdefault(key, {}).setdefault(finding.rule_id, finding.message)
    out = []
    for verdict in report.verdicts:
        if verdict.verdict == READY and not verdict.backflushed:
            action = SWITCH_ON
        elif verdict.backflushed and verdict.verdict in (NOT_ELIGIBLE, AT_RISK):
            action = SWITCH_OFF
        else:
            continue
        key = ((verdict.plant or "").upper(), verdict.part.upper())
        owner = companies.get(key) or company
        if not owner:
            raise ConfigError(f"part {verdict.part} at {verdict.plant} has no Company in PartPlant and no --company "
                              "was given; a DMT load needs the company of every row")
        reason = _reason(report, verdict.rules, first.get(key, {}))
        out.append(Recommendation(owner, verdict.plant or "", verdict.part, action, verdict.verdict, verdict.rules, reason))
    return out


def part_companies(folder: Path, registry: Registry,
                   named: Mapping[str, Naming] | None = None) -> dict[tuple[str, str], str | None]:
    """(PLANT, PART) -> PartPlant.Company, read apart from the check: only the DMT load needs it.
    A PartPlant export without the Company column is refused here, before the long run. `named`: backflush.yaml's
    `exports:` (sources.Naming)."""
    site = load_site(folder, registry, {"PartPlant": {"Company", "Plant", "PartNum"}}, named=named)
    require_columns(site)
    loaded = site.tables.get("PartPlant")
    if loaded is None or "Company" in loaded.absent_optional:
        return {}
    rows = site.con.execute('SELECT upper(coalesce(Plant, \'\')), upper(PartNum), Company FROM "PartPlant" '
                            'WHERE PartNum IS NOT NULL').fetchall()
    return {(plant, part): company for plant, part, company in rows}


def write_dmt(items: list[Recommendation], out: TextIO) -> None:
    """The DMT Part Plant load: Company, Plant, PartNum, BackFlush (True/False)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DMT_COLUMNS)
    for item in items:
        writer.writerow([item.company, item.plant, item.part, "True" if item.backflush else "False"])


def write_reasons(items: list[Recommendation], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REASON_COLUMNS)
    for item in items:
        writer.writerow([item.company, item.plant, item.part, "True" if item.backflush else "False", item.action,
                         item.verdict, " ".join(item.rules), item.reason])
