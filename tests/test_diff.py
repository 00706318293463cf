"""`backflush diff OLD NEW`: the CI job on a master-data change, gating on new findings only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DEMO, connection_settings, duckdb_shows, export_rows, python_peak
from tests.test_gate import rewrite
from validator.cli import main


def diff(old: Path, new: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = main(["diff", str(old), str(new), "--format", f"json:{out}", *extra])
    return code, json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lot_tracked(tmp_path_factory) -> Path:
    """The demo after a steward made SCR-0002 lot-tracked."""
    import shutil

    site = tmp_path_factory.mktemp("changed") / "site"
    shutil.copytree(DEMO, site)
    rewrite(site / "Part.csv", lambda h, rows: [r.__setitem__(h.index("Part_TrackLots"), "True") for r in rows
                                                 if r[h.index("Part_PartNum")] == "SCR-0002"])
    return site


def test_a_site_against_itself_has_nothing_new_nothing_resolved_and_passes(tmp_path):
    code, document = diff(DEMO, DEMO, tmp_path / "out.json", "--fail-on", "error")
    assert document["summary"]["by_severity"]["error"] > 0  # the demo has errors, all of them old
    assert code == 0 and document["summary"]["baseline"]["new"] == 0 and document["summary"]["baseline"]["fixed"] == 0
    assert document["summary"]["verdict_changes"] == []


def test_a_part_made_lot_tracked_is_new_and_its_verdict_falls_to_not_eligible(lot_tracked, tmp_path):
    backflushed = {r["Plant"] for r in export_rows(DEMO / "PartPlant.csv")
                   if r["PartNum"] == "SCR-0002" and r["BackFlush"] == "1"}
    code, document = diff(DEMO, lot_tracked, tmp_path / "out.json", "--fail-on", "error")
    new = {(f["rule_id"], f["table"], f["key"].get("Plant")) for f in document["findings"] if f.get("baseline") == "new"
           and f["key"].get("PartNum") == "SCR-0002"}
    assert code == 1 and {("BFE001", "PartPlant", plant) for plant in backflushed} <= new
    changes = {(c["plant"], c["part_num"]): c["after"] for c in document["summary"]["verdict_changes"]}
    assert all(changes.get((plant, "SCR-0002")) == "not eligible" for plant in backflushed)


def test_the_reverse_change_resolves_those_findings_and_passes(lot_tracked, tmp_path):
    _, forward = diff(DEMO, lot_tracked, tmp_path / "forward.json")
    code, backward = diff(lot_tracked, DEMO, tmp_path / "backward.json", "--fail-on", "error")
    assert code == 0 and backward["summary"]["baseline"]["new"] == 0
    assert backward["summary"]["baseline"]["fixed"] == forward["summary"]["baseline"]["new"] > 0


def test_two_sites_at_uris_are_each_opened_by_the_engine_that_judges_them(sites_at_uris, tmp_path):
    sites_at_uris.update({"s3a://acme/exports/2026-11": DEMO, "s3a://acme/exports/2026-12": DEMO})
    code, document = diff("s3a://acme/exports/2026-11", "s3a://acme/exports/2026-12", tmp_path / "out.json",
                          "--fail-on", "error")
    assert sites_at_uris["opened"] == ["s3a://acme/exports/2026-11", "s3a://acme/exports/2026-12"]
    assert code == 0 and document["summary"]["baseline"]["new"] == 0


def verdicts_of(*rows: tuple[str | None, str, str, str]):  # noqa: ANN201 - validator.findings.Verdicts
    import pyarrow as pa

    from validator.findings import Verdicts

    return Verdicts(pa.table({name: [row[i] for row in rows] for i, name in enumerate(("company", "plant", "part_num",
                                                                                       "verdict"))}))


def test_the_parts_whose_verdict_changed_are_listed_worst_new_verdict_first_and_unjudged_ones_last():
    """A part is the same in both runs by company, site and part; one without a company (an export without
    Company) is the same part in both; a part judged in one run only was not judged (None) in the other."""
    from validator.engines.duckdb import DuckDBEngine
    from validator.gate import verdict_changes

    old = verdicts_of(("EPIC06", "MfgSys", "SCR-0002", "ready"), ("EPIC06", "MfgSys", "GLUE-0001", "at risk"),
                      (None, "MfgSys", "SHT-0005", "ready"), ("EPIC06", "Lyon", "SCR-0002", "not eligible"))
    new = verdicts_of((None, "MfgSys", "SHT-0005", "ready"), ("EPIC06", "MfgSys", "SUB-009", "unknown"),
                      ("EPIC06", "MfgSys", "GLUE-0001", "at risk"), ("EPIC06", "MfgSys", "SCR-0002", "not eligible"))
    assert list(verdict_changes(old, new, DuckDBEngine().changed_verdicts)) == [
        {"company": "EPIC06", "plant": "MfgSys", "part_num": "SCR-0002", "before": "ready", "after": "not eligible"},
        {"company": "EPIC06", "plant": "MfgSys", "part_num": "SUB-009", "before": None, "after": "unknown"},
        {"company": "EPIC06", "plant": "Lyon", "part_num": "SCR-0002", "before": "not eligible", "after": None}]


def test_while_new_runs_the_names_of_old_findings_wait_in_a_temporary_file(tmp_path, monkeypatch):
    """Of OLD's report `diff` keeps only its verdicts and its findings' names, these on disk (at 50M job lines 16M
    names, which DuckDB reads back when it matches NEW's findings to them)."""
    from validator.commands import diff as diff_command

    kept = []
    baseline_of = diff_command.baseline_of
    monkeypatch.setattr(diff_command, "baseline_of", lambda findings, name: kept.append(baseline_of(findings, name))
                        or kept[-1])
    _, document = diff(DEMO, DEMO, tmp_path / "out.json")
    ((baseline,),) = [kept]
    assert baseline.names.on_disk
    assert sorted(name for chunk in baseline.names.chunks() for name in chunk.to_pylist()) == sorted(
        f"{f['rule_id']} {f['fingerprint']}" for f in document["findings"] if f["outcome"] != "if_enabled")


def test_an_export_without_company_judges_the_same_parts_in_both_runs():
    """Without a Company column every verdict's company is missing (a column of nulls): the parts are matched by
    site and part alone, and only the part whose verdict changed is listed."""
    from validator.engines.duckdb import DuckDBEngine
    from validator.gate import verdict_changes

    old = verdicts_of((None, "MfgSys", "SCR-0002", "ready"), (None, "MfgSys", "GLUE-0001", "at risk"))
    new = verdicts_of((None, "MfgSys", "GLUE-0001", "at risk"), (None, "MfgSys", "SCR-0002", "not eligible"))
    assert old.table.schema.field("company").type == "null"
    assert list(verdict_changes(old, new, DuckDBEngine().changed_verdicts)) == [
        {"company": None, "plant": "MfgSys", "part_num": "SCR-0002", "before": "ready", "after": "not eligible"}]


def test_the_two_runs_parts_are_matched_by_duckdb_within_half_the_memory_limit(tmp_path, lot_tracked, monkeypatch):
    """Python holds NEW's report beside it: DuckDB works within half of --memory-limit and spills into a folder of
    its own, removed after (at 50M job lines each run judges 5M parts)."""
    from validator.engines.duckdb import changed_verdicts as engine_changed

    seen = connection_settings(monkeypatch, engine_changed, "changed_verdicts")
    _, document = diff(DEMO, lot_tracked, tmp_path / "out.json", "--memory-limit", "3GB")
    ((limit, spill),) = seen
    assert limit == duckdb_shows("1500MB") and not spill.exists()
    assert {(c["plant"], c["part_num"]) for c in document["summary"]["verdict_changes"]} == {("MfgSys", "SCR-0002")}


def test_every_report_of_a_diff_names_the_parts_whose_verdict_changed(lot_tracked, tmp_path, capsys):
    """The JSON summary lists them, the SARIF log carries the same summary and stays valid against SARIF 2.1.0, the
    Markdown summary and the console show them."""
    import jsonschema

    from tests.test_report_formats import CONTRACTS

    sarif, markdown = tmp_path / "out.sarif", tmp_path / "out.md"
    _, document = diff(DEMO, lot_tracked, tmp_path / "out.json", "--format", f"sarif:{sarif}",
                       "--format", f"markdown:{markdown}", "--format", "console")
    backflushed = sorted({r["Plant"] for r in export_rows(DEMO / "PartPlant.csv")
                          if r["PartNum"] == "SCR-0002" and r["BackFlush"] == "1"})
    changes = document["summary"]["verdict_changes"]
    assert backflushed and [(c["plant"], c["part_num"], c["after"]) for c in changes] == [
        (plant, "SCR-0002", "not eligible") for plant in backflushed]
    log = json.loads(sarif.read_text(encoding="utf-8"))
    schema = json.loads((CONTRACTS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert log["runs"][0]["properties"]["summary"]["verdict_changes"] == changes
    printed = capsys.readouterr().out
    for change in changes:
        assert f"| {change['company']} | {change['plant']} | SCR-0002 | {change['before']} | not eligible |" in (
            markdown.read_text(encoding="utf-8"))
        assert f"{change['company']} {change['plant']} SCR-0002: {change['before']} -> not eligible" in printed


def test_a_change_to_every_part_is_written_without_a_python_object_per_part(tmp_path):
    """Switching backflush on across a site changes every part's verdict (5M parts at 50M job lines): the changes
    stay one Arrow table, written a block at a time, each part's text escaped as JSON (quotes, backslashes, accents)."""
    import pyarrow as pa

    from validator.engines.duckdb import DuckDBEngine
    from validator.findings import Verdicts
    from validator.formats.json import write_document
    from validator.gate import verdict_changes

    parts = [f"P{i:07d}" for i in range(200_000)] + ['BOLT "M8"', "C:\\BIN", "ÉCROU-ß"]
    old = Verdicts(pa.table({"company": ["EPIC06"] * len(parts), "plant": ["MfgSys"] * len(parts),
                             "part_num": parts, "verdict": ["not eligible"] * len(parts)}))
    new = Verdicts(old.table.set_column(3, "verdict", pa.array(["ready"] * len(parts))))
    out = tmp_path / "summary.json"
    def written_changes() -> None:
        changes = verdict_changes(old, new, DuckDBEngine().changed_verdicts)
        with out.open("w", encoding="utf-8") as sink:
            write_document({"summary": {"findings": 0, "verdict_changes": changes}}, sink)

    _, peak = python_peak(written_changes)
    written = json.loads(out.read_text(encoding="utf-8"))["summary"]["verdict_changes"]
    assert written == [{"company": "EPIC06", "plant": "MfgSys", "part_num": p, "before": "not eligible",
                        "after": "ready"} for p in sorted(parts)]
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB of Python objects"
