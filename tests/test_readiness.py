"""Readiness on the demo site and through the command: every readiness rule fires and passes, the
profile moves the thresholds and the window, too little history is never a pass, the questionnaire,
and the list of parts to switch on and off."""

from __future__ import annotations

import csv

import pytest
import yaml

from tests.conftest import DEMO, export_rows, run_json
from validator.commands.recommend import DMT_COLUMNS, REASON_COLUMNS
from validator.config.attestations import questions

READINESS = [f"BFR0{i:02d}" for i in range(1, 11)]
PER_PART = READINESS[:-1]


def _repetitive_components() -> set[str]:
    """Components of the demo's high-volume products (FG-0020..FG-0027), which have a year of history."""
    with (DEMO / "PartMtl.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["PartMtl.MtlPartNum"] for r in rows if "FG-0020" <= r["PartMtl.PartNum"] <= "FG-0027"}


@pytest.mark.parametrize("rule_id", READINESS)
def test_the_demo_shows_findings_for_every_readiness_rule(demo_document, rule_id):
    assert any(f["rule_id"] == rule_id and f["outcome"] == "fail" for f in demo_document["findings"])


@pytest.mark.parametrize("rule_id", PER_PART)
def test_every_readiness_rule_passes_some_demo_parts_with_history(demo_document, rule_id):
    named = {f["key"]["PartNum"] for f in demo_document["findings"]
             if f["rule_id"] == rule_id and f["key"].get("Plant") == "MfgSys"}
    assert _repetitive_components() - named


def test_the_demo_has_parts_with_too_little_history(demo_document):
    thin = [f for f in demo_document["findings"] if f["outcome"] == "insufficient_history"]
    assert {f["rule_id"] for f in thin} >= {"BFR001", "BFR002", "BFR003", "BFR007"}
    assert all("too little history" in f["message"] for f in thin)


EVIDENCE = {rule_id: {"Measured", "Threshold", "Observations", "Snapshot"} for rule_id in PER_PART[:-1]}
EVIDENCE["BFR009"] = {"MedianDelayHours", "MaxDelayHours", "LabourEntries", "WindowStart", "Snapshot"}


@pytest.mark.parametrize("rule_id", PER_PART)
def test_a_readiness_finding_carries_value_threshold_window_and_observations(demo_document, rule_id):
    failed = [f for f in demo_document["findings"] if f["rule_id"] == rule_id and f["outcome"] == "fail"]
    assert failed and all(EVIDENCE[rule_id] <= set(f["evidence"]) for f in failed)


def test_a_costing_finding_judges_an_actual_costed_part_only(demo_document):
    parts = {(r["Company"], r["PartNum"]): r for r in export_rows(DEMO / "Part.csv")}
    sites = {(r["Company"], r["Plant"], r["PartNum"]): r for r in export_rows(DEMO / "PartPlant.csv")}
    costing = [f for f in demo_document["findings"] if f["rule_id"] == "BFR009" and f["outcome"] == "fail"]
    assert costing
    for finding in costing:
        key = finding["key"]
        method = sites[(key["Company"], key["Plant"], key["PartNum"])]["CostMethod"] or \
            parts[(key["Company"], key["PartNum"])]["CostMethod"]
        assert method in ("A", "L", "T"), finding["message"]  # standard cost is BFR001's


def test_the_snapshot_defaults_to_the_latest_history_date(demo_document):
    profile = demo_document["tool"]["profile"]
    assert (profile["snapshot_date"], profile["window_start"], profile["snapshot_from"]) == ("2026-10-31", "2025-11-01", "data")


def test_a_part_with_too_little_history_is_never_ready(demo_document):
    thin = {(f["key"]["Company"], f["key"]["Plant"], f["key"]["PartNum"]) for f in demo_document["findings"]
            if f["outcome"] == "insufficient_history"}
    verdicts = {(v["company"], v["plant"], v["part_num"]): v["verdict"] for v in demo_document["verdicts"]}
    judged = [verdicts[part] for part in thin if part in verdicts]
    assert judged and "ready" not in judged


def test_rules_whose_only_findings_are_too_little_history_are_not_a_pass(cli, tmp_path):
    code, document = run_json(DEMO, tmp_path / "r.json", "--rule", "BFR001", "--config", str(_config(tmp_path, """
rules:
  BFR001: {params: {tolerance: 1.0}}
""")))
    result = document["rules"][0]
    assert (result["status"], result["failed"]) == ("INSUFFICIENT_HISTORY", 0) and result["insufficient_history"] > 0


def _config(tmp_path, text: str):
    path = tmp_path / "backflush.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _fails(document: dict, rule_id: str) -> int:
    return sum(f["rule_id"] == rule_id and f["outcome"] == "fail" for f in document["findings"])


def test_the_strict_preset_tightens_the_thresholds(tmp_path):
    _, default = run_json(DEMO, tmp_path / "d.json", "--tag", "readiness")
    _, strict = run_json(DEMO, tmp_path / "s.json", "--tag", "readiness", "--profile", "strict")
    assert strict["tool"]["profile"]["name"] == "strict"
    assert _fails(strict, "BFR006") > _fails(default, "BFR006")


def test_a_profile_in_the_config_sets_the_snapshot_and_the_window(tmp_path):
    config = _config(tmp_path, """
profile:
  extends: default
  snapshot_date: 2026-06-30
  window_days: 90
""")
    _, document = run_json(DEMO, tmp_path / "p.json", "--tag", "readiness", "--config", str(config))
    profile = document["tool"]["profile"]
    assert (profile["snapshot_date"], profile["window_start"]) == ("2026-06-30", "2026-04-02")
    assert profile["snapshot_from"] == "profile"
    assert {f["evidence"]["WindowStart"] for f in document["findings"] if f["rule_id"] == "BFR002"} == {"2026-04-02"}


def test_config_overrides_win_over_the_profile(tmp_path):
    config = _config(tmp_path, "profile: strict\nrules:\n  BFR006: {params: {max_days: 90}}\n")
    _, strict = run_json(DEMO, tmp_path / "s.json", "--rule", "BFR006", "--profile", "strict")
    _, overridden = run_json(DEMO, tmp_path / "o.json", "--rule", "BFR006", "--config", str(config))
    assert _fails(overridden, "BFR006") < _fails(strict, "BFR006")


def test_an_unknown_profile_is_bad_input(cli):
    code, _, err = cli("check", DEMO, "--profile", "lenient")
    assert code == 2 and "lenient" in err and "default, strict" in err


def test_a_profile_threshold_for_an_unknown_parameter_names_it(cli, tmp_path):
    config = _config(tmp_path, "profile:\n  rules:\n    BFR002: {max_scrap: 0.05}\n")
    code, _, err = cli("check", DEMO, "--config", config)
    assert code == 2 and "max_scrap" in err and "max_scrap_rate" in err


def test_a_snapshot_date_that_is_not_a_date_names_the_line(cli, tmp_path):
    config = _config(tmp_path, "profile:\n  snapshot_date: end of June\n")
    code, _, err = cli("check", DEMO, "--config", config)
    assert code == 2 and "backflush.yaml:2" in err and "YYYY-MM-DD" in err


def test_a_missing_history_column_skips_the_rules_that_read_it(site, tmp_path):
    path = site / "JobHead.csv"
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    drop = rows[0].index("JobHead_JobCompletionDate")
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([r[:drop] + r[drop + 1:] for r in rows])
    code, document = run_json(site, tmp_path / "h.json")
    status = {r["rule_id"]: r for r in document["rules"]}
    assert code == 0
    assert status["BFR008"]["status"] == "SKIPPED" and "JobHead.JobCompletionDate" in status["BFR008"]["reason"]
    assert status["BFR002"]["status"] == "FAIL" and status["BFE001"]["status"] == "FAIL"
    assert "BFR008 SKIPPED" in document["summary"]["readiness_missing"]  # so no part can be ready
    assert "ready" not in {v["verdict"] for v in document["verdicts"]}


def test_init_writes_every_question_for_every_site(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # init writes the project's backflush.yaml and waivers.yaml here
    target = tmp_path / "answers.yaml"
    code, out, _ = cli("init", DEMO, "--output", target)
    text = target.read_text(encoding="utf-8")
    assert code == 0 and "EPIC06 MfgSys, EPIC06 Plant2" in out
    assert questions() and all(text.count(f"{q.id}:") == 2 for q in questions())


def test_init_on_a_workbook_writes_the_questionnaire_beside_it(cli, tmp_path, monkeypatch, registry):
    monkeypatch.chdir(tmp_path)  # init writes the project's backflush.yaml and waivers.yaml here
    from tests.site_formats import to_workbook

    to_workbook(DEMO, tmp_path / "site" / "exports.xlsx", registry)
    (tmp_path / "site" / "attestations.yaml").unlink()
    code, out, _ = cli("init", tmp_path / "site" / "exports.xlsx")
    assert code == 0 and "EPIC06 MfgSys, EPIC06 Plant2" in out
    written = yaml.safe_load((tmp_path / "site" / "attestations.yaml").read_text(encoding="utf-8"))
    assert set(written["companies"]["EPIC06"]["sites"]) == {"MfgSys", "Plant2"}
    assert set(written["companies"]["EPIC06"]["sites"]["MfgSys"]) == {q.id for q in questions()}


def test_a_blank_questionnaire_makes_every_question_a_finding(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # init writes the project's backflush.yaml and waivers.yaml here
    target = tmp_path / "answers.yaml"
    cli("init", DEMO, "--output", target, "--plant", "MfgSys")
    code, document = run_json(DEMO, tmp_path / "a.json", "--rule", "BFR010", "--attestations", str(target))
    assert {f["key"]["Question"] for f in document["findings"]} == {q.id for q in questions()} != set()
    assert all(f["message"].startswith("Site MfgSys: unanswered") for f in document["findings"])


def test_init_does_not_overwrite_answers(cli, site):
    code, _, err = cli("init", site)
    assert code == 2 and "already exists" in err


def test_an_answer_that_is_not_yes_or_no_names_the_line(cli, site):
    path = site / "attestations.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("boms_maintained: {answer: yes",
                                                             "boms_maintained: {answer: mostly"), encoding="utf-8")
    code, _, err = cli("check", site)
    assert code == 2 and "attestations.yaml:" in err and "mostly" in err


def test_without_attestations_the_questionnaire_rule_is_skipped_with_the_way_out(cli, site, tmp_path):
    (site / "attestations.yaml").unlink()
    _, document = run_json(site, tmp_path / "n.json", "--rule", "BFR010")
    result = document["rules"][0]
    assert result["status"] == "SKIPPED" and "backflush init" in result["reason"]


def test_the_site_readiness_share_counts_assessed_parts_and_site_findings(demo_document):
    (mfg,) = [s for s in demo_document["summary"]["sites"] if (s["company"], s["plant"]) == ("EPIC06", "MfgSys")]
    judged = [v for v in demo_document["verdicts"] if (v["company"], v["plant"]) == ("EPIC06", "MfgSys")]
    assessed = [v for v in judged if v["verdict"] != "unknown"]
    assert mfg["parts"] == len(judged) and mfg["assessed"] == len(assessed) and mfg["unknown"] == len(judged) - len(assessed)
    assert 0 < mfg["ready"] < len(assessed)
    assert mfg["readiness"] == round(mfg["ready"] / len(assessed), 4)
    assert mfg["backflushed"]["parts"] == sum(v["backflushed"] for v in judged) < mfg["parts"]
    assert mfg["site_findings"] == sum(f["rule_id"] == "BFR010" and f["key"]["Plant"] == "MfgSys"
                                       for f in demo_document["findings"]) > 0


def _read(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_recommend_writes_the_dmt_load_and_the_reasons(cli, tmp_path, demo_document):
    target = tmp_path / "dmt.csv"
    code, out, _ = cli("recommend", DEMO, "--output", target)
    dmt, reasons = _read(target), _read(tmp_path / "dmt.reasons.csv")
    assert code == 0 and dmt[0] == DMT_COLUMNS and reasons[0] == REASON_COLUMNS
    assert [r[:4] for r in reasons[1:] if r[4] != "needs review"] == dmt[1:]
    verdicts = {(v["company"], v["plant"], v["part_num"]): v for v in demo_document["verdicts"]}
    on = {tuple(r[:3]) for r in dmt[1:] if r[3] == "True"}
    off = {tuple(r[:3]) for r in dmt[1:] if r[3] == "False"}
    review = {tuple(r[:3]) for r in reasons[1:] if r[4] == "needs review"}
    assert on == {k for k, v in verdicts.items() if v["verdict"] == "ready" and not v["backflushed"]} and on
    assert off == {k for k, v in verdicts.items() if v["verdict"] in ("not eligible", "misconfigured", "at risk")
                   and v["backflushed"]} and off
    assert review == {k for k, v in verdicts.items() if v["verdict"] == "unknown"} and review
    assert ("EPIC06", "MfgSys", "RES-0001") in off                       # lot tracked and backflushed: not eligible
    assert all(r[0] == "EPIC06" for r in dmt[1:])
    assert f"{len(on)} part(s) to switch backflush on, {len(off)} to switch off" in out and f"{len(review)} need review" in out


def test_each_switch_off_reason_names_its_rules_and_their_messages(cli, tmp_path, builtin_rules):
    title = builtin_rules["BFE001"].title
    target = tmp_path / "dmt.csv"
    cli("recommend", DEMO, "--output", target)
    row = next(r for r in _read(tmp_path / "dmt.reasons.csv") if r[2] == "RES-0001" and r[1] == "MfgSys")
    assert row[4:6] == ["switch off", "not eligible"] and "BFE001" in row[6].split()
    assert f"BFE001 {title}: " in row[7]


def test_recommend_needs_a_company_when_the_export_has_none(cli, site, tmp_path):
    path = site / "PartPlant.csv"
    rows = _read(path)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([r[1:] for r in rows])  # drop the Company column
    code, _, err = cli("recommend", site, "--output", tmp_path / "x.csv")
    assert code == 2 and "--company" in err
    code, _, _ = cli("recommend", site, "--output", tmp_path / "x.csv", "--company", "EPIC06")
    assert code == 0 and _read(tmp_path / "x.csv")[1][0] == "EPIC06"


def test_the_json_document_lists_verdicts_with_company_and_backflush_state(demo_document):
    verdict = demo_document["verdicts"][0]
    assert set(verdict) == {"company", "plant", "part_num", "verdict", "rules", "backflushed", "not_judged"}


def test_without_readiness_rules_the_same_parts_are_judged_and_none_is_ready(tmp_path, demo_document):
    _, document = run_json(DEMO, tmp_path / "core.json", "--tag", "eligibility", "--tag", "integrity")
    judged = [(v["company"], v["plant"], v["part_num"]) for v in document["verdicts"]]
    assert judged == [(v["company"], v["plant"], v["part_num"]) for v in demo_document["verdicts"]]
    assert {v["verdict"] for v in document["verdicts"]} == {"not eligible", "misconfigured", "at risk", "unknown"}
    assert document["summary"]["readiness_missing"] == [f"BFR0{i:02d} not run (not selected)" for i in range(1, 11)]


def test_a_switch_on_reason_notes_info_findings_such_as_low_volume(cli, tmp_path, demo_document):
    low_volume = {(f["key"]["Plant"], f["key"]["PartNum"]) for f in demo_document["findings"] if f["rule_id"] == "BFR008"}
    cli("recommend", DEMO, "--output", tmp_path / "dmt.csv")
    switch_on = [r for r in _read(tmp_path / "dmt.reasons.csv")[1:] if r[4] == "switch on"]
    noted = [r for r in switch_on if (r[1], r[2]) in low_volume]
    assert noted and all("note: BFR008" in r[7] for r in noted)
    assert switch_on and all(r[7].startswith("every eligibility, integrity and readiness rule passed") for r in switch_on)


def test_the_demo_questionnaire_both_passes_and_fails_questions(demo_document):
    failing = {(f["key"]["Plant"], f["key"]["Question"]) for f in demo_document["findings"] if f["rule_id"] == "BFR010"}
    every = {(plant, q.id) for plant in ("MfgSys", "Plant2") for q in questions()}
    assert failing and every - failing


def test_init_starts_the_project_with_a_commented_config_and_an_empty_waivers_file_both_valid(cli, tmp_path,
                                                                                              monkeypatch):
    from validator.config.backflush_yaml import load_config
    from validator.config.waivers import read_waivers

    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("init", DEMO, "--output", tmp_path / "answers.yaml")
    config = load_config(tmp_path / "backflush.yaml")
    assert code == 0 and config.waivers == tmp_path / "waivers.yaml" and read_waivers(config.waivers) == []
    assert config.fail_on == "error" and "#" in (tmp_path / "backflush.yaml").read_text(encoding="utf-8")
    (tmp_path / "backflush.yaml").write_text("jobs: all\n", encoding="utf-8")
    code, out, _ = cli("init", DEMO, "--output", tmp_path / "answers.yaml", "--force")
    assert "kept backflush.yaml" in out and (tmp_path / "backflush.yaml").read_text(encoding="utf-8") == "jobs: all\n"
