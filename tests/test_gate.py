"""The CI gate: a baseline makes it fail on new findings only; waivers accept known exceptions until a date."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from tests.conftest import DEMO, connection_settings, duckdb_shows, export_rows, run_json
from tests.site_formats import to_parquet, to_workbook
from validator.tables import builtin_registry


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    from validator.cli import main

    path = tmp_path_factory.mktemp("baseline") / "baseline.json"
    assert main(["baseline", str(DEMO), "-o", str(path)]) == 0
    return path


def rewrite(path: Path, change) -> None:  # noqa: ANN001 - change(header, rows) edits the rows in place
    """Edit an export as a steward would in Excel, saving it in the encoding it came in (the demo has Windows-1252
    files, as Excel saves them)."""
    data = path.read_bytes()
    try:
        encoding, text = "utf-8-sig", data.decode("utf-8-sig")
    except UnicodeDecodeError:
        encoding, text = "cp1252", data.decode("cp1252")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    change(header, rows)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(out.getvalue().encode(encoding))


def test_the_demo_against_its_own_baseline_has_nothing_new_and_passes_the_gate(baseline, tmp_path):
    code, document = run_json(DEMO, tmp_path / "out.json", "--baseline", str(baseline), "--fail-on", "error")
    summary = document["summary"]
    judged = sum(1 for f in document["findings"] if f["outcome"] != "if_enabled")
    assert code == 0 and summary["baseline"]["new"] == 0 and summary["baseline"]["fixed"] == 0
    assert summary["baseline"]["persisting"] == judged and summary["by_severity"]["error"] > 0


def test_a_part_made_lot_tracked_after_the_baseline_is_new_and_fails_the_gate(baseline, site, tmp_path):
    plants = [r for r in export_rows(site / "PartPlant.csv") if r["PartNum"] == "SCR-0002" and r["BackFlush"] == "1"]
    assert plants  # backflushed at a site: lot tracking now makes it ineligible there
    rewrite(site / "Part.csv", lambda h, rows: [r.__setitem__(h.index("Part_TrackLots"), "True") for r in rows
                                                 if r[h.index("Part_PartNum")] == "SCR-0002"])
    code, document = run_json(site, tmp_path / "out.json", "--baseline", str(baseline), "--fail-on", "error")
    new = [f for f in document["findings"] if f.get("baseline") == "new"]
    assert code == 1
    assert {("BFE001", "PartPlant", p["Plant"]) for p in plants} <= {(f["rule_id"], f["table"], f["key"].get("Plant"))
                                                                     for f in new if f["key"].get("PartNum") == "SCR-0002"}
    assert document["summary"]["baseline"]["new"] == len(new)
    assert all(f.get("baseline") in ("new", "persisting") for f in document["findings"] if f["outcome"] != "if_enabled")


def test_a_defect_removed_after_the_baseline_counts_as_fixed(baseline, site, tmp_path):
    rows = [r for r in export_rows(site / "Part.csv") if r["TrackLots"] == "True"]
    assert rows
    rewrite(site / "Part.csv", lambda h, rs: [r.__setitem__(h.index("Part_TrackLots"), "False") for r in rs])
    _, document = run_json(site, tmp_path / "out.json", "--baseline", str(baseline))
    assert document["summary"]["baseline"]["fixed"] > 0 and document["summary"]["baseline"]["new"] == 0


@pytest.mark.parametrize("reexport", ["shuffled rows and an extra column", "parquet", "workbook"])
def test_fingerprints_do_not_change_with_row_order_added_columns_or_export_format(baseline, site, tmp_path, reexport):
    registry = builtin_registry()
    if reexport == "parquet":
        to_parquet(site, tmp_path / "parquet", registry)
        target = tmp_path / "parquet"
    elif reexport == "workbook":
        to_workbook(site, tmp_path / "book" / "site.xlsx", registry)
        target = tmp_path / "book" / "site.xlsx"
    else:
        for path in site.glob("*.csv"):
            def shuffle(header, rows):  # noqa: ANN001, ANN202
                random.Random(7).shuffle(rows)
                header.append("Exported_By")
                for row in rows:
                    row.append("BAQ")
            rewrite(path, shuffle)
        target = site
    code, document = run_json(target, tmp_path / "out.json", "--baseline", str(baseline), "--fail-on", "error")
    assert (document["summary"]["baseline"]["new"], document["summary"]["baseline"]["fixed"]) == (0, 0)
    assert code == 0


def test_a_file_that_is_not_a_baseline_stops_the_run_naming_it(tmp_path, cli):
    bad = tmp_path / "baseline.json"
    bad.write_text('{"findings": 3}', encoding="utf-8")
    code, _, err = cli("check", DEMO, "--baseline", bad)
    assert code == 2 and f"{bad}: is not a baseline" in err


@pytest.mark.parametrize("command, option", [(["check", DEMO], "--baseline"), (["check", DEMO], "--waivers"),
                                             (["diff", DEMO, DEMO], "--waivers")])
def test_a_broken_baseline_or_waivers_file_is_refused_before_any_site_is_read(tmp_path, cli, monkeypatch, command,
                                                                              option):
    """A gate's files are read before the run: a wrong one costs a CI job a second, not a whole check at scale."""
    from validator.engines.duckdb import DuckDBEngine

    read = []
    load = DuckDBEngine.load
    monkeypatch.setattr(DuckDBEngine, "load", lambda self, *a, **k: read.append(a) or load(self, *a, **k))
    bad = tmp_path / "gate.json"
    bad.write_text('{"findings": 3}', encoding="utf-8")
    code, _, err = cli(*command, option, bad)
    assert code == 2 and str(bad) in err and read == []


def waivers(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


WAIVE_BFC003 = """waivers:
  - rule: BFC003
    key: {{Company: EPIC06}}
    reason: quantities per parent are being loaded from the new BOM
    owner: Jane Doe (engineering)
    ticket: ERP-1234
    expires: {expires}
"""


def test_waived_findings_are_marked_in_every_format_and_do_not_fail_the_gate(tmp_path):
    path = waivers(tmp_path, WAIVE_BFC003.format(expires="2099-12-31"))
    plain, before = run_json(DEMO, tmp_path / "plain.json", "--rule", "BFC003", "--fail-on", "error")
    code, document = run_json(DEMO, tmp_path / "out.json", "--rule", "BFC003", "--fail-on", "error",
                              "--waivers", str(path), "--format", f"sarif:{tmp_path / 'out.sarif'}")
    assert plain == 1 and before["findings"] and code == 0
    assert all(f["waiver"]["ticket"] == "ERP-1234" for f in document["findings"])
    assert document["summary"]["waived"] == len(before["findings"])
    results = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    assert all(r["suppressions"][0]["status"] == "accepted" for r in results)


def test_an_expired_waiver_waives_nothing_and_is_reported(tmp_path):
    path = waivers(tmp_path, WAIVE_BFC003.format(expires="2020-01-31"))
    code, document = run_json(DEMO, tmp_path / "out.json", "--rule", "BFC003", "--fail-on", "error", "--waivers", str(path))
    (expired,) = document["summary"]["waivers"]["expired"]
    assert code == 1 and not any("waiver" in f for f in document["findings"])
    assert expired["expires"] == "2020-01-31" and expired["findings"] == len(document["findings"])


def test_an_expired_waiver_alone_fails_a_gate_on_warnings(tmp_path):
    path = waivers(tmp_path, WAIVE_BFC003.format(expires="2020-01-31").replace("BFC003", "BFE004"))
    code, document = run_json(DEMO, tmp_path / "out.json", "--rule", "BFC003", "--fail-on", "warning",
                              "--waivers", str(path))
    assert document["summary"]["waivers"]["expired"] and code == 1


def test_a_waiver_that_matches_nothing_is_listed(tmp_path):
    path = waivers(tmp_path, WAIVE_BFC003.format(expires="2099-12-31").replace("EPIC06", "NO-SUCH-COMPANY"))
    _, document = run_json(DEMO, tmp_path / "out.json", "--rule", "BFC003", "--waivers", str(path))
    (unmatched,) = document["summary"]["waivers"]["unmatched"]
    assert unmatched["key"] == {"Company": "NO-SUCH-COMPANY"} and document["summary"]["waived"] == 0


def test_a_waiver_without_an_expiry_stops_the_run_naming_file_and_line(tmp_path, cli):
    path = waivers(tmp_path, WAIVE_BFC003.format(expires="2099-12-31").replace("    expires: 2099-12-31\n", ""))
    code, _, err = cli("check", DEMO, "--waivers", path)
    assert code == 2 and f"{path}:2" in err and "expires" in err


def test_waivers_named_in_backflush_yaml_apply(tmp_path):
    waivers(tmp_path, WAIVE_BFC003.format(expires="2099-12-31"))
    config = tmp_path / "backflush.yaml"
    config.write_text("waivers: waivers.yaml\n", encoding="utf-8")
    code, document = run_json(DEMO, tmp_path / "out.json", "--rule", "BFC003", "--fail-on", "error",
                              "--config", str(config))
    assert code == 0 and document["summary"]["waived"] > 0


def test_a_baseline_of_a_site_at_a_uri_is_taken_by_the_engine_that_opened_it(sites_at_uris, baseline, tmp_path):
    from validator.cli import main

    sites_at_uris["abfss://exports@acme.dfs.core.windows.net/epicor"] = DEMO
    path = tmp_path / "baseline.json"
    assert main(["baseline", "abfss://exports@acme.dfs.core.windows.net/epicor", "-o", str(path)]) == 0
    assert sites_at_uris["opened"] == ["abfss://exports@acme.dfs.core.windows.net/epicor"]
    taken, local = (json.loads(p.read_text(encoding="utf-8"))["findings"] for p in (path, baseline))
    assert taken == local


def test_the_baseline_records_rule_table_key_and_fingerprint_of_each_finding_of_the_site_as_it_is(baseline, tmp_path):
    _, document = run_json(DEMO, tmp_path / "out.json")
    recorded = json.loads(baseline.read_text(encoding="utf-8"))
    assert recorded["format"] == "backflush-baseline/1" and recorded["tool"]["name"] == "backflush-validator"
    assert recorded["findings"] == [{"rule_id": f["rule_id"], "table": f["table"], "key": f["key"],
                                     "fingerprint": f["fingerprint"]}
                                    for f in document["findings"] if f["outcome"] != "if_enabled"]
    assert any(f["outcome"] == "if_enabled" for f in document["findings"])


def test_keys_with_quotes_backslashes_line_breaks_and_accents_are_recorded_as_exported():
    """The entries are cut from the engine's documents, whose JSON escapes what a key holds."""
    import pyarrow as pa

    from validator.findings import Findings
    from validator.formats.json import SEPARATOR, write_document
    from validator.gate import baseline_sections

    keys = [{"Company": "EPIC06", "Plant": "MfgSys", "PartNum": 'BOLT "M8"'},
            {"Company": "EPIC06", "Plant": "C:\\Lyon", "PartNum": "Ø12 dowel €"},
            {"Company": None, "Plant": "MfgSys", "PartNum": "LINE\nBREAK\t}{"}]
    documents = [{"rule_id": "BFE007", "severity": "error", "table": "PartPlant", "key": key,
                  "message": 'not in the part master ("Part")', "evidence": {"Note": "{x}"}, "outcome": "fail",
                  "fingerprint": f"{index:032x}"} for index, key in enumerate(keys)]
    findings = Findings(pa.table({name: [d[name] for d in documents] for name in ("rule_id", "table", "fingerprint",
                                                                                  "outcome")}
                                 | {"line": [json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in documents]}))
    out = io.StringIO()
    write_document(baseline_sections(findings, "site", SEPARATOR), out)
    assert json.loads(out.getvalue())["findings"] == [{name: d[name] for name in ("rule_id", "table", "key", "fingerprint")}
                                                      for d in documents]


def test_a_baseline_written_in_any_json_layout_names_the_same_findings(baseline, tmp_path):
    """`backflush baseline` writes a finding per line, read by Arrow; the same document laid out otherwise (as this
    tool wrote it before, or as an editor saves it) is read as JSON, to the same names."""
    from validator.gate import read_baseline

    document = json.loads(baseline.read_text(encoding="utf-8"))
    indented = tmp_path / "indented.json"
    indented.write_text(json.dumps(document, indent=1), encoding="utf-8")
    expected = {f"{f['rule_id']} {f['fingerprint']}" for f in document["findings"]}
    for path in (baseline, indented):
        names = recorded_names(read_baseline(path))
        assert sorted(names) == sorted(expected) and len(names) == len(expected) > 1000


def recorded_names(baseline) -> list[str]:  # noqa: ANN001 - a validator.gate.Baseline
    return [name for chunk in baseline.names.chunks() for name in chunk.to_pylist()]


def test_a_baseline_is_read_a_block_of_lines_at_a_time_wherever_the_blocks_end(baseline, monkeypatch):
    """At 16M findings the file is 2.6 GB: read whole, its bytes and lines took 10 GB. Blocks that end inside a
    finding's line, or inside the lines around the list, read to the same names, still a line each (not by the
    JSON module, whose objects would take more still)."""
    from validator import gate

    document = json.loads(baseline.read_text(encoding="utf-8"))
    expected = sorted(f"{f['rule_id']} {f['fingerprint']}" for f in document["findings"])
    monkeypatch.setattr(gate.json, "loads", lambda text: pytest.fail("read by the JSON module") if len(text) > 10_000
                        else json.JSONDecoder().decode(text))
    for size in (7, 1000, 1 << 20):
        monkeypatch.setattr(gate, "READ_BYTES", size)
        assert sorted(recorded_names(gate.read_baseline(baseline))) == expected


def test_a_baseline_past_the_memory_it_may_take_is_held_in_a_temporary_file(baseline):
    from validator.gate import read_baseline

    document = json.loads(baseline.read_text(encoding="utf-8"))
    held, whole = read_baseline(baseline, held=4096), read_baseline(baseline)
    assert held.names.on_disk and not whole.names.on_disk
    assert recorded_names(held) == recorded_names(whole) and len(recorded_names(held)) == len(document["findings"])


def test_the_findings_are_matched_to_the_baseline_by_duckdb_within_half_the_memory_limit(baseline, cli, monkeypatch,
                                                                                         tmp_path):
    """Python holds the report beside it; DuckDB spills past half the limit into its own folder, removed after."""
    from validator.engines.duckdb import recorded as engine_recorded

    seen = connection_settings(monkeypatch, engine_recorded, "recorded")
    out = tmp_path / "out.json"
    code, _, _ = cli("check", DEMO, "--baseline", baseline, "--memory-limit", "3GB", "--format", "json", "--output", out)
    ((limit, spill),) = seen
    assert code == 0 and limit == duckdb_shows("1500MB") and not spill.exists()
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["baseline"]["new"] == 0


@pytest.mark.parametrize("edit", ["a comma dropped", "a line cut in two", "an entry outside the list"])
def test_a_baseline_whose_lines_were_edited_is_read_whole_or_refused_never_in_part(baseline, tmp_path, cli, edit):
    lines = baseline.read_text(encoding="utf-8").split("\n")
    entry = next(i for i, line in enumerate(lines) if line.startswith('    {"rule_id":')) + 3
    if edit == "a comma dropped":
        lines[entry] = lines[entry].rstrip(",")
    elif edit == "a line cut in two":
        lines[entry:entry + 1] = [lines[entry][:40], lines[entry][40:]]
    else:
        lines[1:1] = ['  "examples": [', '    {"rule_id":"BFE001","table":"Part","key":{},"fingerprint":"00"}', "  ],"]
    edited = tmp_path / "edited.json"
    edited.write_text("\n".join(lines), encoding="utf-8")
    code, _, err = cli("check", DEMO, "--baseline", edited, "--format", "json", "--output", tmp_path / "out.json")
    if edit == "a comma dropped":
        assert code == 2 and "is not JSON (line" in err
    else:  # still JSON: every finding is read (the one cut in two is whole in JSON's eyes too)
        assert code == 0, err
        summary = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["summary"]["baseline"]
        assert summary["new"] == 0 and summary["fixed"] == 0
