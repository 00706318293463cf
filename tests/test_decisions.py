"""What a consultant acts on: verdicts per company and site, the what-if of switching on, and `recommend`.

Expectations come from the fixtures' own files, read with the standard library's csv module, never through
the validator's readers: a misread export cannot make these tests agree with themselves.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.conftest import CASES, DEMO, ROOT, export_rows, run_json

TWO_COMPANIES = ROOT / "fixtures" / "two_companies"
TRUE = {"true", "1", "y", "yes"}
HISTORY = ("LaborDtl.csv", "PartTran.csv", "PartWhse.csv", "PartBin.csv")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE


def _recommend(cli, folder: Path, out: Path) -> tuple[list[list[str]], list[list[str]], str]:
    code, printed, _ = cli("recommend", folder, "--output", out)
    assert code == 0
    return (*_written(out), printed)


def _written(out: Path) -> tuple[list[list[str]], list[list[str]]]:
    """The DMT load and the reasons file beside it, read with csv."""
    with out.open(encoding="utf-8", newline="") as handle:
        dmt = list(csv.reader(handle))
    with out.with_name(out.stem + ".reasons.csv").open(encoding="utf-8", newline="") as handle:
        return dmt, list(csv.reader(handle))


@pytest.fixture(scope="module")
def demo_recommend(tmp_path_factory):
    from validator.cli import main
    out = tmp_path_factory.mktemp("recommend") / "dmt.csv"
    assert main(["recommend", str(DEMO), "--output", str(out)]) == 0
    return _written(out)


def test_every_part_switched_on_passes_every_eligibility_flag_read_from_the_fixture(demo_recommend):
    dmt, _ = demo_recommend
    parts = {(r["Company"], r["PartNum"]): r for r in export_rows(DEMO / "Part.csv")}
    sites = {(r["Company"], r["Plant"], r["PartNum"]): r for r in export_rows(DEMO / "PartPlant.csv")}
    switched_on = [row for row in dmt[1:] if row[3] == "True"]
    assert switched_on, "the demo has parts ready to switch on"
    for company, plant, part, _ in switched_on:
        master, site = parts[(company, part)], sites[(company, plant, part)]
        assert not _flag(site["BackFlush"]), f"{part} at {plant} is backflushed already"
        blockers = [flag for flag in ("TrackLots", "TrackSerialNum", "NonStock", "InActive", "OnHold") if _flag(master[flag])]
        blockers += ["QtyBearing false"] if not _flag(master["QtyBearing"]) else []
        blockers += ["PartPlant.NonStock"] if _flag(site["NonStock"]) else []
        assert not blockers, f"{part} at {plant} is proposed for switch on but {blockers}"


def test_the_lot_and_serial_tracked_parts_not_backflushed_are_not_eligible(demo_document):
    parts = {r["PartNum"]: r for r in export_rows(DEMO / "Part.csv")}
    tracked = {p for p, r in parts.items() if _flag(r["TrackLots"]) or _flag(r["TrackSerialNum"])}
    judged = [v for v in demo_document["verdicts"] if v["part_num"] in tracked and not v["backflushed"]]
    assert {"MOT-0002", "RES-0009"} <= {v["part_num"] for v in judged}
    assert all(v["verdict"] == "not eligible" for v in judged), [v for v in judged if v["verdict"] != "not eligible"]


def test_what_if_findings_carry_their_outcome_and_never_fail_the_gate(tmp_path):
    code, document = run_json(TWO_COMPANIES, tmp_path / "f.json", "--fail-on", "error")
    what_if = [f for f in document["findings"] if f["outcome"] == "if_enabled"]
    as_is = [f for f in document["findings"] if f["outcome"] != "if_enabled"]
    assert code == 1  # EPIC06's backflushed lot-tracked RES-100 is an error as it is
    assert all(f["message"].startswith("If backflush were switched on") for f in what_if)
    assert document["summary"]["by_severity"]["error"] == sum(f["severity"] == "error" for f in as_is)


def test_a_site_whose_only_errors_are_what_if_passes_the_gate(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(TWO_COMPANIES, site)
    rows = export_rows(site / "PartPlant.csv")
    with (site / "PartPlant.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "BackFlush": "0"} for r in rows)  # nothing backflushed at the site
    with (site / "JobMtl.csv").open(encoding="utf-8", newline="") as handle:
        jobs = list(csv.DictReader(handle))
    with (site / "JobMtl.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(jobs[0]))
        writer.writeheader()
        writer.writerows({**r, "BackFlush": "False"} for r in jobs)
    code, document = run_json(site, tmp_path / "f.json", "--fail-on", "error")
    assert code == 0
    assert {(f["rule_id"], f["key"]["Company"]) for f in document["findings"]
            if f["outcome"] == "if_enabled" and f["table"] == "PartPlant"} == {("BFE001", "EPIC06"), ("BFE002", "EPIC07")}
    verdicts = {(v["company"], v["part_num"]): v["verdict"] for v in document["verdicts"]}
    assert verdicts[("EPIC06", "RES-100")] == verdicts[("EPIC07", "SCR-100")] == "not eligible"


def test_two_companies_with_one_site_id_get_their_own_verdicts(tmp_path):
    _, document = run_json(TWO_COMPANIES, tmp_path / "f.json")
    parts = export_rows(TWO_COMPANIES / "Part.csv")
    tracked = {(r["Company"], r["PartNum"]) for r in parts if _flag(r["TrackLots"]) or _flag(r["TrackSerialNum"])}
    verdicts = {(v["company"], v["plant"], v["part_num"]): v for v in document["verdicts"]}
    for (company, _, part), verdict in verdicts.items():
        assert (verdict["verdict"] == "not eligible") == ((company, part) in tracked), verdict


def test_two_companies_get_their_own_dmt_rows(cli, tmp_path):
    dmt, reasons, _ = _recommend(cli, TWO_COMPANIES, tmp_path / "dmt.csv")
    sites = {(r["Company"], r["Plant"], r["PartNum"]): _flag(r["BackFlush"])
             for r in export_rows(TWO_COMPANIES / "PartPlant.csv")}
    tracked = {(r["Company"], r["PartNum"]) for r in export_rows(TWO_COMPANIES / "Part.csv")
               if _flag(r["TrackLots"]) or _flag(r["TrackSerialNum"])}
    expected_off = {(c, p, k) for (c, p, k), on in sites.items() if on and (c, k) in tracked}
    assert {tuple(r[:3]) for r in dmt[1:] if r[3] == "False"} == expected_off == {
        ("EPIC06", "MfgSys", "RES-100"), ("EPIC07", "MfgSys", "SCR-100")}
    assert [r for r in dmt[1:] if r[3] == "True"] == []
    assert {tuple(r[:3]) for r in reasons[1:] if r[4] == "needs review"} == {
        ("EPIC06", "MfgSys", "SCR-100"), ("EPIC06", "MfgSys", "WSH-100"),
        ("EPIC07", "MfgSys", "RES-100"), ("EPIC07", "MfgSys", "WSH-100"),
        ("EPIC06", "Plant2", "LBL-100"), ("EPIC07", "Plant2", "RES-100")}


def test_a_site_without_history_gives_unknown_for_every_part_and_switches_none_on(cli, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(DEMO, site, ignore=shutil.ignore_patterns(*HISTORY))
    _, document = run_json(site, tmp_path / "f.json")
    summary = document["summary"]
    assert summary["readiness_assessed"] is False and summary["readiness_missing"]
    assert all(s["readiness"] is None for s in summary["sites"])
    assert {v["verdict"] for v in document["verdicts"]} <= {"not eligible", "misconfigured", "at risk", "unknown"}
    assert not any(v["verdict"] == "ready" for v in document["verdicts"])
    dmt, _, printed = _recommend(cli, site, tmp_path / "dmt.csv")
    assert [r for r in dmt[1:] if r[3] == "True"] == [] and printed.startswith("0 part(s) to switch backflush on")


def test_without_readiness_rules_the_console_says_readiness_not_assessed(cli):
    code, out, _ = cli("check", DEMO, "--tag", "eligibility", "--fail-on", "never")
    assert code == 0 and "readiness not assessed" in out and "% of" not in out


def test_a_ready_part_has_no_readiness_finding_of_any_outcome(demo_document):
    readiness = {r["rule_id"] for r in demo_document["rules"] if r["rule_id"].startswith("BFR")}
    assert all(r["status"] in ("PASS", "FAIL") for r in demo_document["rules"] if r["rule_id"] in readiness)
    judged = {(f["key"].get("Company"), f["key"].get("Plant"), f["key"].get("PartNum"))
              for f in demo_document["findings"]
              if f["rule_id"] in readiness and f["severity"] != "info" and f["table"] == "PartPlant"}
    ready = [v for v in demo_document["verdicts"] if v["verdict"] == "ready"]
    assert ready
    for verdict in ready:
        assert (verdict["company"], verdict["plant"], verdict["part_num"]) not in judged
        assert verdict["not_judged"] == [] and verdict["rules"] == []


def test_too_little_history_alone_makes_a_part_unknown_not_at_risk(demo_document):
    thin = [v for v in demo_document["verdicts"] if v["not_judged"] and not v["rules"]]
    assert thin and all(v["verdict"] == "unknown" for v in thin)


def test_findings_on_closed_jobs_are_absent_by_default_and_present_with_jobs_all(tmp_path):
    heads = export_rows(TWO_COMPANIES / "JobHead.csv")
    closed = {(r["Company"], r["JobNum"]) for r in heads if _flag(r["JobComplete"]) or _flag(r["JobClosed"])}
    assert closed
    _, document = run_json(TWO_COMPANIES, tmp_path / "open.json")
    on_closed = [f for f in document["findings"] if (f["key"].get("Company"), f["key"].get("JobNum")) in closed]
    assert on_closed == []
    config = tmp_path / "backflush.yaml"
    config.write_text("jobs: all\n", encoding="utf-8")
    _, document = run_json(TWO_COMPANIES, tmp_path / "all.json", "--config", str(config))
    on_closed = {(f["rule_id"], f["key"]["JobNum"], f["key"]["MtlSeq"]) for f in document["findings"]
                 if (f["key"].get("Company"), f["key"].get("JobNum")) in closed}
    assert ("BFC003", "006002", 20) in on_closed and document["tool"]["jobs"] == "all"


def _components(folder: Path, document: dict) -> set[tuple[str | None, str, str]]:
    """The part sites (company, site, part) that a job of the site that is open or completed in the window, or a
    method line of a parent made there, uses, read from the fixture's files: a job line or a site row without a
    company (no Company column, or a blank one) meets every company."""
    snapshot = document["tool"]["profile"]["snapshot_date"]
    start = document["tool"]["profile"]["window_start"]

    def iso(text: str) -> str:
        month, day, year = text.split("/") if "/" in text else (None, None, None)
        return f"{year}-{month}-{day}" if month else text[:10]

    def counts(head: dict[str, str]) -> bool:
        done = _flag(head["JobComplete"]) or _flag(head["JobClosed"])
        return not done or (head["JobCompletionDate"] != "" and start <= iso(head["JobCompletionDate"]) <= snapshot)

    heads = export_rows(folder / "JobHead.csv")

    def line_counts(line: dict[str, str]) -> bool:  # a line without a company is on every job of its number
        jobs = [h for h in heads if h["JobNum"] == line["JobNum"] and line.get("Company", h["Company"]) == h["Company"]]
        return not jobs or any(counts(h) for h in jobs)

    used = {(line.get("Company") or None, line["Plant"], line["PartNum"])
            for line in export_rows(folder / "JobMtl.csv") if line_counts(line)}
    revisions = {(r["Company"], r["PartNum"], r["RevisionNum"], r["AltMethod"]): r["Plant"]
                 for r in export_rows(folder / "PartRev.csv")}
    rows = {(r["Company"] or None, r["Plant"], r["PartNum"]) for r in export_rows(folder / "PartPlant.csv")}
    for line in export_rows(folder / "PartMtl.csv"):
        if line["AltMethod"]:
            plant = revisions.get((line["Company"], line["PartNum"], line["RevisionNum"], line["AltMethod"]))
            used |= {(line["Company"], plant, line["MtlPartNum"])} if plant else set()
        else:
            used |= {(line["Company"], plant, line["MtlPartNum"]) for company, plant, part in rows
                     if part == line["PartNum"] and company in (line["Company"], None)}
    return {row for row in rows if any(use[1:] == row[1:] and None in (use[0], row[0]) or use == row for use in used)}


def test_verdicts_exist_only_for_components_at_their_site(demo_document):
    """Plant2's verdicts are the parts that Plant2's open or recent jobs, or Plant2's methods, use."""
    expected = _components(DEMO, demo_document)
    assert {(v["company"], v["plant"], v["part_num"]) for v in demo_document["verdicts"]} == expected


def test_a_verdict_names_the_same_rules_however_the_engine_groups_the_rule_ids(tmp_path, monkeypatch, demo_document):
    """The engine gathers a part's rules as one bit per rule id, 64 ids to a number; with three to a number, a
    part whose rules are four or more spans several numbers, and every verdict still names the same rules."""
    import validator.engines.duckdb.verdicts as engine_verdicts

    monkeypatch.setattr(engine_verdicts, "MASK_BITS", 3)
    code, document = run_json(DEMO, tmp_path / "findings.json")
    assert code == 0
    assert document["verdicts"] == demo_document["verdicts"]
    assert any(len(v["rules"]) > 3 for v in document["verdicts"]), "some verdict names rules of several numbers"
    assert any(len(v["not_judged"]) > 3 for v in document["verdicts"])


def _rewritten(source: Path, site: Path, table: str, change) -> Path:
    """A copy of a fixture with one export's rows changed (`change` takes and returns the rows), written with csv."""
    shutil.copytree(source, site)
    rows = export_rows(source / f"{table}.csv")
    rows = change(rows)
    with (site / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return site


def test_job_lines_exported_without_company_make_their_part_a_component_in_every_company(tmp_path):
    def unnamed(rows):  # and open job 006001 uses LBL-100 at MfgSys, where no method line uses it
        return [{k: v for k, v in row.items() if k != "Company"}
                | ({"PartNum": "LBL-100"} if (row["JobNum"], row["MtlSeq"]) == ("006001", "20") else {}) for row in rows]

    site = _rewritten(TWO_COMPANIES, tmp_path / "site", "JobMtl", unnamed)
    _, document = run_json(site, tmp_path / "f.json")
    judged = {(v["company"], v["plant"], v["part_num"]) for v in document["verdicts"]}
    assert judged == _components(site, document)
    assert ("EPIC06", "MfgSys", "LBL-100") in judged  # EPIC06's site row, met by a job line of no company


def test_a_site_row_without_company_is_judged_where_any_company_uses_its_part(tmp_path):
    def blank(rows):
        return [{**row, "Company": ""} if (row["Company"], row["PartNum"]) == ("EPIC07", "WSH-100") else row
                for row in rows]

    site = _rewritten(TWO_COMPANIES, tmp_path / "site", "PartPlant", blank)
    code, document = run_json(site, tmp_path / "f.json", "--keep-going")  # a blank key breaks PartPlant's contract
    assert code == 0
    judged = {(v["company"], v["plant"], v["part_num"]) for v in document["verdicts"]}
    assert judged == _components(site, document)
    assert (None, "MfgSys", "WSH-100") in judged


def test_the_reasons_file_has_one_row_per_part_and_no_cell_over_500_characters(demo_recommend):
    _, reasons = demo_recommend
    parts = [tuple(row[:3]) for row in reasons[1:]]
    assert parts and len(parts) == len(set(parts))
    assert max(len(cell) for row in reasons for cell in row) <= 500


def test_a_part_is_judged_where_an_open_or_recent_job_or_a_method_of_a_parent_made_there_uses_it(tmp_path):
    _, document = run_json(TWO_COMPANIES, tmp_path / "f.json")
    judged = {(v["company"], v["plant"], v["part_num"]) for v in document["verdicts"]}
    assert judged == {  # fixtures/two_companies/README.md says why each is or is not a component where
        ("EPIC06", "MfgSys", "RES-100"), ("EPIC06", "MfgSys", "SCR-100"), ("EPIC06", "MfgSys", "WSH-100"),
        ("EPIC06", "Plant2", "LBL-100"),
        ("EPIC07", "MfgSys", "RES-100"), ("EPIC07", "MfgSys", "SCR-100"), ("EPIC07", "MfgSys", "WSH-100"),
        ("EPIC07", "Plant2", "RES-100")}


def test_the_site_summary_of_two_companies_is_counted_per_company_and_site(tmp_path):
    _, document = run_json(TWO_COMPANIES, tmp_path / "f.json")
    counts = {(s["company"], s["plant"]): (s["not eligible"], s["misconfigured"], s["at risk"], s["unknown"], s["ready"],
                                           s["parts"], s["assessed"], s["readiness"], s["backflushed"]["parts"])
              for s in document["summary"]["sites"]}
    # typed in from fixtures/two_companies/README.md: no history, so nothing is ready and readiness is not assessed
    assert counts == {("EPIC06", "MfgSys"): (1, 0, 0, 2, 0, 3, 1, None, 2),
                      ("EPIC06", "Plant2"): (0, 0, 0, 1, 0, 1, 0, None, 0),
                      ("EPIC07", "MfgSys"): (1, 0, 0, 2, 0, 3, 1, None, 1),
                      ("EPIC07", "Plant2"): (0, 0, 0, 1, 0, 1, 0, None, 0)}


def test_a_part_judged_where_one_table_writes_its_keys_in_upper_case_and_another_does_not(tmp_path):
    """The job lines name SCR-200 at MfgSys in upper case throughout (compared as they are); the site row writes
    'scr-200' at 'mfgsys': SQL Server compares them equal, so the part is judged there, as in the base site."""
    base = CASES / "sites" / "_base"
    _, expected = run_json(base, tmp_path / "base.json")
    site = tmp_path / "site"
    shutil.copytree(base, site)
    plant = site / "PartPlant.csv"
    plant.write_text(plant.read_text(encoding="utf-8").replace("EPIC06,MfgSys,SCR-200,", "EPIC06,mfgsys,scr-200,"),
                     encoding="utf-8")
    _, document = run_json(site, tmp_path / "site.json")
    (before,) = [v for v in expected["verdicts"] if v["part_num"] == "SCR-200"]
    (after,) = [v for v in document["verdicts"] if v["part_num"].upper() == "SCR-200"]
    assert (after["plant"], after["part_num"]) == ("mfgsys", "scr-200")
    assert after["verdict"] == before["verdict"] and after["rules"] == before["rules"]
