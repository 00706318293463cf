"""The benchmark command: phases in their own processes, figures and ratios, medians over repeated runs."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from benchmarks.bench import BLANK_KEYS, REPORT_KEYS, _contract_scan, _views, generate, main, same_findings
from validator.tables import builtin_registry

pytestmark = pytest.mark.slow  # benchmark runs: `pytest -m slow` (.ci/run runs them after the default set)


def test_the_benchmark_reports_each_phase_with_every_run_and_the_median(tmp_path, capsys):
    figures = tmp_path / "figures.json"
    assert main(["--parts", "2000", "--job-mtl", "20000", "--job-oper", "6000", "--repeat", "2",
                 "--dir", str(tmp_path / "site"), "--json", str(figures)]) == 0
    result = json.loads(figures.read_text(encoding="utf-8"))
    for phase in ("read", "handwritten", "check", "check-reused"):
        runs = result["figures"][phase]["runs"]
        assert len(runs) == 2 and result["figures"][phase]["seconds"] == pytest.approx(sum(runs) / 2)
    assert result["findings"] > 0
    assert result["ratios"]["check/handwritten"] > 0
    assert result["figures"]["check"]["cpu_seconds"] > 0  # the child's own CPU time, not this process's
    assert result["ratios"]["check/handwritten (CPU)"] == pytest.approx(
        result["figures"]["check"]["cpu_seconds"] / result["figures"]["handwritten"]["cpu_seconds"], abs=0.01)
    assert "(runs: " in capsys.readouterr().out


def test_the_benchmark_times_check_compiling_and_check_reusing_what_it_compiled(tmp_path):
    figures = tmp_path / "figures.json"
    site = tmp_path / "site"
    assert main(["--parts", "2000", "--job-mtl", "20000", "--job-oper", "6000", "--dir", str(site),
                 "--json", str(figures)]) == 0
    ratios = json.loads(figures.read_text(encoding="utf-8"))["ratios"]
    assert {"check/handwritten", "check-reused/handwritten"} <= set(ratios)
    assert list((site / ".compile-cache").glob("*.json"))  # the check phase's own cache, not the user's


def test_the_benchmark_can_write_the_site_as_csv_and_finds_the_same(tmp_path):
    sizes = ["--parts", "2000", "--job-mtl", "20000", "--job-oper", "6000"]
    for export in ("parquet", "csv"):
        assert main([*sizes, "--export", export, "--dir", str(tmp_path / "site"),
                     "--json", str(tmp_path / f"{export}.json")]) == 0
    assert sorted(p.suffix for p in (tmp_path / "site").glob("JobMtl.*")) == [".csv"]
    parquet, csv = (json.loads((tmp_path / f"{e}.json").read_text(encoding="utf-8")) for e in ("parquet", "csv"))
    assert csv["findings"] == parquet["findings"] > 0
    assert csv["figures"]["handwritten"]["output"] == parquet["figures"]["handwritten"]["output"]


def test_repeat_must_be_at_least_one(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--repeat", "0"])
    assert stopped.value.code == 2
    assert "--repeat must be 1 or more" in capsys.readouterr().err


def test_the_like_for_like_baseline_writes_the_findings_check_writes_for_its_eight_rules(tmp_path, capsys):
    figures = tmp_path / "figures.json"
    assert main(["--parts", "2000", "--job-mtl", "20000", "--job-oper", "6000", "--dir", str(tmp_path / "site"),
                 "--json", str(figures)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("eight rules:"))
    found, what_if = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line)]
    assert found > what_if > 0  # findings on the configuration as it is, and as if switched on
    ratios = json.loads(figures.read_text(encoding="utf-8"))["ratios"]
    assert ratios["check-8-rules/like-for-like"] > 0 and ratios["check-8-rules/like-for-like-keys"] > 0
    assert ratios["check-8-rules-compiling/like-for-like"] > 0


def test_the_like_for_like_report_writes_the_verdicts_check_writes_beside_the_findings(tmp_path, capsys):
    figures = tmp_path / "figures.json"
    assert main(["--parts", "2000", "--job-mtl", "20000", "--job-oper", "6000", "--dir", str(tmp_path / "site"),
                 "--json", str(figures)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "wrote the same" in line and "verdicts" in line)
    judged, flagged = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line)]
    assert judged > flagged > 0  # parts judged at their site, some of them not eligible or misconfigured
    result = json.loads(figures.read_text(encoding="utf-8"))
    assert result["ratios"]["check-8-rules/like-for-like-report"] > 0
    contracts = json.loads(result["figures"]["like-for-like-report"]["output"])["contracts"]
    assert set(contracts) == set(REPORT_KEYS)
    assert all(scan == {"blank_key": 0, "key_twice": 0} for scan in contracts.values())  # the generated site is clean


def test_the_report_baseline_checks_the_keys_the_registry_declares():
    tables = builtin_registry().tables
    assert {name: tables[name].key for name in REPORT_KEYS} == REPORT_KEYS
    assert {c for name in REPORT_KEYS for c in tables[name].key if tables[name].columns[c].blank_key} == BLANK_KEYS


@pytest.mark.parametrize("order", ["Company, JobNum, AssemblySeq, MtlSeq", "PartNum DESC"],
                         ids=["in key order", "in another order"])
def test_the_report_baseline_counts_a_job_line_exported_twice(tmp_path, order):
    generate(tmp_path, 1000, 10_000, 3000)
    con = duckdb.connect()
    _views(con, tmp_path)
    con.execute(f"""CREATE OR REPLACE VIEW JobMtl AS SELECT * FROM (SELECT * FROM read_parquet('{tmp_path / "JobMtl.parquet"}')
        UNION ALL (SELECT * FROM read_parquet('{tmp_path / "JobMtl.parquet"}') LIMIT 1)) ORDER BY {order}""")
    scanned = _contract_scan(con)
    assert scanned["JobMtl"] == {"blank_key": 0, "key_twice": 1}
    assert all(counts == {"blank_key": 0, "key_twice": 0} for name, counts in scanned.items() if name != "JobMtl")


FINDING = {"rule_id": "BFC003", "severity": "error", "table": "PartMtl",
           "key": {"Company": "EPIC06", "PartNum": "P0002520", "RevisionNum": "A", "AltMethod": "", "MtlSeq": 20},
           "message": "Method P0002520 rev A line 20 (P0190271) is backflushed with QtyPer 0",
           "evidence": {"MtlPartNum": "P0190271", "QtyPer": 0}, "outcome": "fail",
           "fingerprint": "13e3e2beacf50f39d4c7ffc180e1f616"}


def test_a_baseline_that_writes_a_number_otherwise_is_not_like_for_like():
    other = {**FINDING, "evidence": {"MtlPartNum": "P0190271", "QtyPer": 0.0}}
    with pytest.raises(SystemExit, match="differs from check at finding 2"):
        same_findings([FINDING, FINDING], [FINDING, other])


def test_a_baseline_that_misses_a_finding_is_not_like_for_like():
    with pytest.raises(SystemExit, match="check wrote 2 findings for the eight rules, the like-for-like baseline 1"):
        same_findings([FINDING, FINDING], [FINDING])


def test_a_baseline_that_judges_a_part_otherwise_is_not_like_for_like():
    verdict = {"company": "EPIC06", "plant": "MfgSys", "part_num": "P0000000", "verdict": "not eligible",
               "rules": ["BFE001"], "backflushed": False, "not_judged": []}
    with pytest.raises(SystemExit, match="differs from check at verdict 1"):
        same_findings([verdict], [{**verdict, "verdict": "misconfigured"}], "verdict")


def test_the_same_findings_in_another_key_order_are_the_same():
    assert same_findings([FINDING], [dict(reversed(FINDING.items()))]) == [FINDING]


def test_the_scaling_curve_writes_a_table_a_sentence_and_a_plot(tmp_path):
    from benchmarks.curve import main as curve

    assert curve(["--sizes", "10000,20000", "--engines", "duckdb", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "scaling.md").read_text(encoding="utf-8")
    assert "| 10,000 |" in text and "| 20,000 |" in text and "per million JobMtl rows" in text
    assert "| like-for-like-report |" in text and "| check-8-rules duckdb |" in text  # the report's two sides
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
