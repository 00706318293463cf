"""The console report leads to action: the blocked parts first, a defect copied onto jobs as one row, and the
commands to run next."""

from __future__ import annotations

import json

from tests.conftest import DEMO


def test_a_method_line_copied_onto_several_jobs_reads_as_one_row_naming_the_other_jobs(cli):
    code, out, _ = cli("check", DEMO, "--rule", "BFC003", "--format", "json")
    jobs = sorted(f["key"]["JobNum"] for f in json.loads(out)["findings"] if f["table"] == "JobMtl")
    assert len(jobs) > 1  # the demo copies the QtyPer 0 line onto several open jobs
    _, out, _ = cli("check", DEMO, "--rule", "BFC003")
    rows = [line for line in out.splitlines() if "│ BFC003 │" in line and "JobMtl" in line]
    assert len(rows) == 1 and f"and {len(jobs) - 1} job(s)" in " ".join(out.split())


def test_the_parts_not_eligible_or_misconfigured_come_before_the_findings(cli, demo_document):
    _, out, _ = cli("check", DEMO)
    blocked = [v for v in demo_document["verdicts"] if v["verdict"] in ("not eligible", "misconfigured")]
    assert f"Parts not eligible or misconfigured: first 25 of {len(blocked)}" in out
    assert out.index("Parts not eligible or misconfigured") < out.index("First 25 of")


def test_the_report_ends_with_the_commands_to_run_next(cli):
    _, out, _ = cli("check", DEMO)
    tail = out[out.index("Next:"):]
    assert "backflush explain BFE001" in tail and "--format xlsx:worklist.xlsx" in tail and "--format html:" in tail
