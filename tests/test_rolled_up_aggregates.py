"""Aggregates over the same related rows, one computed per bucket (BFC012's largest job demand: the open demand per
job, then the largest) and others over all the rows (the open demand, the number of jobs), come from one grouping:
the demand per job rolled up. The related table is read and grouped once, not once per aggregate, and the values
are those of grouping the rows for each aggregate alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import ibis
import pytest
import yaml

import validator.rules.compile.aggregates
from tests.conftest import DEMO, ROOT, load_site, run_json
from validator.engines.duckdb import DuckDBEngine
from validator.rules.analysis import rules_needs
from validator.rules.compile import compile_batches
from validator.rules.loader import load_rules
from validator.rules.model import Rule

OPEN_DEMAND = ROOT / "fixtures" / "open_demand"  # two companies, lower case and blank keys, closed and unreleased jobs
BUILT_IN = ROOT / "rules"


def part_whse_sql(rule: Rule, registry) -> str:
    site = load_site(DEMO, registry, rules_needs([rule], registry))
    checks = [(rule, check) for check in rule.checks if check.table == "PartWhse"]
    (compiled,) = compile_batches("PartWhse", checks, registry, DuckDBEngine().catalog(site))
    return str(ibis.to_sql(compiled.query, dialect="duckdb"))


def demand_rule(tmp_path: Path, **lets: dict) -> tuple[str, ...]:
    """A user's rule on PartWhse with BFC012's open demand and the given aggregates over the same job lines, each in
    the evidence; every part and warehouse with open demand is a finding."""
    rule = yaml.safe_load((BUILT_IN / "BFC012.yaml").read_text(encoding="utf-8"))
    where = rule["let"]["OpenDemand"]["aggregate"]["where"]
    for name, aggregate in lets.items():
        rule["let"][name] = {"aggregate": {"relation": "JobLines", "where": where, **aggregate}}
    rule.update(id="ACME930", title="The open demand of each part and warehouse", tags=["site-acme"], examples=[])
    rule["checks"] = [{"table": "PartWhse", "message": "Part {PartNum} in warehouse {WarehouseCode}",
                       "where": {"column": "Jobs", "gt": 0},
                       "evidence": ["OpenDemand", "Jobs", "LargestJobDemand", *lets]}]
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "ACME930.yaml").write_text(yaml.safe_dump(rule, sort_keys=False), encoding="utf-8")
    return ("--rules", str(folder), "--rule", "ACME930")


def evidence_by_key(document: dict) -> dict[tuple[str, str, str], dict]:
    return {(f["key"]["Company"], f["key"]["PartNum"], f["key"]["WarehouseCode"]): f["evidence"]
            for f in document["findings"]}


def test_bfc012_reads_and_groups_the_job_materials_once(registry):
    sql = part_whse_sql(load_rules([BUILT_IN], registry)["BFC012"], registry)
    assert sql.count('FROM "JobMtl"') == 1
    assert "COUNT(DISTINCT" not in sql  # the jobs are the buckets of the demand per job


def test_bfc012_demand_jobs_and_largest_job_are_those_of_the_fixture(tmp_path):
    _, document = run_json(OPEN_DEMAND, tmp_path / "findings.json", "--rule", "BFC012")
    on_part_whse = [f for f in document["findings"] if f["table"] == "PartWhse"]
    # EPIC06 SCR-M3 in MAIN: jobs 017001 (300 - 50) and 017002 ('scr-m3 ' in 'main': 250 - 0) on released open jobs;
    # the closed 017003, the unreleased 017004, the line not backflushed and the blank warehouse do not count
    assert [(f["key"], {k: f["evidence"][k] for k in ("OpenDemand", "Jobs", "LargestJobDemand", "OnHand")})
            for f in on_part_whse] == [
        ({"Company": "EPIC06", "PartNum": "SCR-M3", "WarehouseCode": "MAIN"},
         {"OpenDemand": 500, "Jobs": 2, "LargestJobDemand": 250, "OnHand": 300}),
    ]


def test_every_aggregate_that_rolls_up_is_the_same_as_grouped_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKFLUSH_CACHE_DIR", "off")
    rule = demand_rule(tmp_path, Lines={"fn": "count"}, Smallest={"fn": "min", "column": "OpenQty"},
                       Largest={"fn": "max", "column": "OpenQty"}, Average={"fn": "mean", "column": "OpenQty"},
                       Issued={"fn": "ratio", "column": "IssuedQty", "denominator": "RequiredQty"})
    _, rolled = run_json(OPEN_DEMAND, tmp_path / "rolled.json", *rule)
    monkeypatch.setattr(validator.rules.compile.aggregates, "ROLLED_UP", ())  # each grouped on its own
    _, alone = run_json(OPEN_DEMAND, tmp_path / "alone.json", *rule)
    assert rolled["findings"] == alone["findings"]
    # EPIC06 WSH-M3 in MAIN: only 017001's line (200 - 0) is open on an open job: 017002's lines are issued
    assert evidence_by_key(rolled)[("EPIC06", "WSH-M3", "MAIN")] == {
        "OpenDemand": 200, "Jobs": 1, "LargestJobDemand": 200, "Lines": 1, "Smallest": 200, "Largest": 200,
        "Average": 200, "Issued": 0}
    assert evidence_by_key(rolled)[("EPIC06", "SCR-M3", "MAIN")] == {
        "OpenDemand": 500, "Jobs": 2, "LargestJobDemand": 250, "Lines": 2, "Smallest": 250, "Largest": 250,
        "Average": 250, "Issued": round(50 / 550, 10)}  # evidence is rounded to 10 places


def test_aggregates_that_roll_up_share_the_grouping_of_the_demand_per_job(monkeypatch, tmp_path, registry):
    rule = demand_rule(tmp_path, Lines={"fn": "count"}, Average={"fn": "mean", "column": "OpenQty"})
    sql = part_whse_sql(load_rules([Path(rule[1])], registry)["ACME930"], registry)
    assert sql.count('FROM "JobMtl"') == 1


@pytest.mark.parametrize("aggregate", [{"fn": "count_distinct", "column": "AssemblySeq"},
                                       {"fn": "median", "column": "OpenQty"}], ids=["distinct other", "median"])
def test_an_aggregate_that_does_not_roll_up_groups_the_rows_again(tmp_path, registry, aggregate):
    rule = demand_rule(tmp_path, Other=aggregate)
    sql = part_whse_sql(load_rules([Path(rule[1])], registry)["ACME930"], registry)
    assert sql.count('FROM "JobMtl"') == 2


def test_aggregates_over_two_buckets_make_two_groupings(tmp_path, registry):
    # the demand, lines and jobs with the demand per job; the operations with the demand per operation
    rule = demand_rule(tmp_path, Lines={"fn": "count"},
                       Operations={"fn": "count_distinct", "column": "RelatedOperation"},
                       LargestOperationDemand={"fn": "sum", "column": "OpenQty", "per": "RelatedOperation",
                                               "across": "max"})
    sql = part_whse_sql(load_rules([Path(rule[1])], registry)["ACME930"], registry)
    assert sql.count('FROM "JobMtl"') == 2
    assert "COUNT(DISTINCT" not in sql


def test_a_blank_bucket_counts_in_the_sums_and_not_among_the_distinct_values(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKFLUSH_CACHE_DIR", "off")
    site = tmp_path / "site"
    shutil.copytree(OPEN_DEMAND, site)
    lines = (site / "JobMtl.csv").read_text(encoding="utf-8").splitlines()
    # SCR-M3's two open lines in MAIN: 017001/10 on operation 20, 017002/10 on no operation (blank)
    lines = [line.replace("EPIC06,017001,0,10,SCR-M3,MfgSys,3.00000000,False,300.00000000,50.00000000,False,10,",
                          "EPIC06,017001,0,10,SCR-M3,MfgSys,3.00000000,False,300.00000000,50.00000000,False,20,")
                 .replace("EPIC06,017002,0,10,scr-m3 ,MfgSys,5.00000000,False,250.00000000,0.00000000,False,10,",
                          "EPIC06,017002,0,10,scr-m3 ,MfgSys,5.00000000,False,250.00000000,0.00000000,False,,")
             for line in lines]
    (site / "JobMtl.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rule = demand_rule(tmp_path, Operations={"fn": "count_distinct", "column": "RelatedOperation"},
                       LargestOperationDemand={"fn": "sum", "column": "OpenQty", "per": "RelatedOperation",
                                               "across": "max"},
                       Lines={"fn": "count"})
    _, rolled = run_json(site, tmp_path / "rolled.json", *rule)
    monkeypatch.setattr(validator.rules.compile.aggregates, "ROLLED_UP", ())
    _, alone = run_json(site, tmp_path / "alone.json", *rule)
    assert rolled["findings"] == alone["findings"]
    assert evidence_by_key(rolled)[("EPIC06", "SCR-M3", "MAIN")] == {
        "OpenDemand": 500, "Jobs": 2, "LargestJobDemand": 250, "Operations": 1, "LargestOperationDemand": 250,
        "Lines": 2}
