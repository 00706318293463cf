"""Every readiness number a finding reports, recomputed by hand (plain Python arithmetic over the same
rows) on the small hand-made histories of fixtures/readiness/cases.yaml."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
import yaml

from tests.conftest import ROOT
from validator.commands.examples import run_example
from validator.rules.model import Example

CASES = yaml.safe_load((ROOT / "fixtures" / "readiness" / "cases.yaml").read_text(encoding="utf-8"))
SNAPSHOT: dt.date = CASES["snapshot_date"]
WINDOW_START = SNAPSHOT - dt.timedelta(days=364)  # the default profile: 365 days, both ends included


def in_window(day: dt.date | None) -> bool:
    return day is not None and WINDOW_START <= day <= SNAPSHOT


def evidence_of(rule_id: str, builtin_rules, registry, **params) -> dict:
    rows = CASES["cases"][rule_id]
    example = Example("hand-made case", "fail", rows, params={"snapshot_date": SNAPSHOT, **params})
    findings = [f for f in run_example(builtin_rules[rule_id], example, registry) if f.outcome == "fail"]
    assert len(findings) == 1, [f.message for f in findings]
    return dict(findings[0].evidence)


def completed_jobs(rows: dict) -> set[str]:
    return {j["JobNum"] for j in rows["JobHead"]
            if (j.get("JobComplete") or j.get("JobClosed")) and in_window(j.get("JobCompletionDate"))}


def consuming_labour(rows: dict) -> list[dict]:
    """LaborDtl rows of the operations the part's job lines relate to, each row once."""
    ops = {(m["JobNum"], m["AssemblySeq"], m["RelatedOperation"]) for m in rows["JobMtl"]}
    return [r for r in rows["LaborDtl"] if (r["JobNum"], r["AssemblySeq"], r["OprSeq"]) in ops
            and in_window(r["ClockInDate"])]


def test_bom_accuracy_is_the_line_by_line_deviation_from_what_the_completed_production_required(builtin_rules, registry):
    rows = CASES["cases"]["BFR001"]
    done = completed_jobs(rows)
    heads = {h["JobNum"]: h for h in rows["JobHead"]}
    lines = [m for m in rows["JobMtl"] if m["JobNum"] in done and not m.get("BackFlush")]  # issued by hand

    def required(line: dict) -> float:  # RequiredQty scaled by the share of the job's quantity completed
        head = heads[line["JobNum"]]
        share = head["QtyCompleted"] / head["ProdQty"] if head.get("QtyCompleted") and head.get("ProdQty") else 1
        return line["RequiredQty"] * share

    deviation = sum(abs(m["IssuedQty"] - required(m)) for m in lines)
    evidence = evidence_of("BFR001", builtin_rules, registry)
    assert evidence["Measured"] == pytest.approx(deviation / sum(required(m) for m in lines)) == pytest.approx(33 / 800)
    assert evidence["Observations"] == len({m["JobNum"] for m in lines}) == 4
    assert (evidence["WindowStart"], evidence["Snapshot"]) == (WINDOW_START.isoformat(), SNAPSHOT.isoformat())  # as JSON has them


def test_scrap_rate_counts_each_labour_row_of_a_consuming_operation_once(builtin_rules, registry):
    labour = consuming_labour(CASES["cases"]["BFR002"])
    scrap, reported = sum(r["ScrapQty"] for r in labour), sum(r["LaborQty"] + r["ScrapQty"] for r in labour)
    evidence = evidence_of("BFR002", builtin_rules, registry)
    assert evidence["Measured"] == pytest.approx(scrap / reported)  # 17 / 352
    assert evidence["Observations"] == len(labour) == 3


def test_scrap_stability_is_the_sample_cv_of_the_monthly_scrap_rate(builtin_rules, registry):
    months: dict[tuple[int, int], list[float]] = {}
    for r in consuming_labour(CASES["cases"]["BFR003"]):
        totals = months.setdefault((r["ClockInDate"].year, r["ClockInDate"].month), [0.0, 0.0])
        totals[0] += r["ScrapQty"]
        totals[1] += r["LaborQty"] + r["ScrapQty"]
    rates = [scrap / reported for scrap, reported in months.values()]
    evidence = evidence_of("BFR003", builtin_rules, registry)
    assert evidence["Measured"] == pytest.approx(statistics.stdev(rates) / statistics.mean(rates))
    assert evidence["Observations"] == len(months) == 3


def test_scrap_discipline_sums_the_scrap_reported_on_operations_that_plan_some(builtin_rules, registry):
    rows = CASES["cases"]["BFR004"]
    planned = {(o["JobNum"], o["AssemblySeq"], o["OprSeq"]) for o in rows["JobOper"] if o["EstScrap"] > 0}
    labour = [r for r in consuming_labour(rows) if (r["JobNum"], r["AssemblySeq"], r["OprSeq"]) in planned]
    evidence = evidence_of("BFR004", builtin_rules, registry)
    assert evidence["Measured"] == sum(r["ScrapQty"] for r in labour) == 0
    assert evidence["Observations"] == len(labour) == 3
    assert evidence["PlannedOperations"] == len(planned) == 1


def test_engineering_changes_are_the_most_revisions_of_one_parent_in_the_window(builtin_rules, registry):
    rows = CASES["cases"]["BFR005"]
    site = rows["PartPlant"][0]["Plant"]
    rev_site = {(r["PartNum"], r["RevisionNum"], r.get("AltMethod", "")): r["Plant"] for r in rows["PartRev"]}
    parents = {m["PartNum"] for m in rows["PartMtl"]
               if rev_site.get((m["PartNum"], m["RevisionNum"], m.get("AltMethod", ""))) == site}
    # a revision is its RevisionNum: FG-0100's D and its FAST alternate are one change; FG-0200's revisions for
    # the East site are not changes at the component's site
    per_parent = {p: len({r["RevisionNum"] for r in rows["PartRev"]
                          if r["PartNum"] == p and r["Plant"] == site and in_window(r["EffectiveDate"])})
                  for p in parents}
    evidence = evidence_of("BFR005", builtin_rules, registry)
    assert evidence["Measured"] == max(per_parent.values()) == 3
    assert evidence["Observations"] == len(parents)


def test_cycle_count_age_is_days_since_the_oldest_count_of_the_issuing_warehouses(builtin_rules, registry):
    rows = CASES["cases"]["BFR006"]
    issuing = {rows["PartPlant"][0]["PrimWhse"]} | {line["WarehouseCode"] for line in rows["JobMtl"]}
    counted = [w["LastCCDate"] for w in rows["PartWhse"] if w["Plant"] == "MfgSys" and w["WarehouseCode"] in issuing]
    evidence = evidence_of("BFR006", builtin_rules, registry)
    assert evidence["LastCounted"] == min(counted).isoformat()
    assert evidence["Measured"] == (SNAPSHOT - min(counted)).days == 240
    assert evidence["Observations"] == len(counted) == 2


def test_adjustments_per_year_scale_the_window_count_to_365_days(builtin_rules, registry):
    rows = CASES["cases"]["BFR007"]
    days = 320  # a window shorter than a year, so the scaling shows
    start = SNAPSHOT - dt.timedelta(days=days - 1)
    in_range = [t for t in rows["PartTran"] if start <= t["TranDate"] <= SNAPSHOT]
    adjustments = [t for t in in_range if t["TranType"] == "ADJ-QTY"]
    evidence = evidence_of("BFR007", builtin_rules, registry, window_days=days)
    assert evidence["Adjustments"] == len(adjustments) == 4
    assert evidence["Measured"] == pytest.approx(len(adjustments) * 365 / days) == pytest.approx(4.5625)
    assert evidence["Observations"] == len(in_range)


def test_best_fit_counts_distinct_completed_jobs_using_the_part(builtin_rules, registry):
    evidence = evidence_of("BFR008", builtin_rules, registry)
    assert evidence["Measured"] == len(completed_jobs(CASES["cases"]["BFR008"])) == 3


def test_entry_delay_is_the_median_of_entry_time_minus_end_of_work(builtin_rules, registry):
    delays = [(r["CreateDate"] - r["ClockInDate"]).days * 24 + r["CreateTime"] / 3600 - r["ClockOutTime"]
              for r in consuming_labour(CASES["cases"]["BFR009"])]
    evidence = evidence_of("BFR009", builtin_rules, registry)
    assert evidence["MedianDelayHours"] == pytest.approx(statistics.median(delays))  # (24 + 52) / 2
    assert evidence["LabourEntries"] == len(delays) == 4
