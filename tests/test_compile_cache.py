"""Compiled passes are reused by a later run with the same rules, tables and site facts, and only then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import validator.rules.compile
from tests.conftest import CASES, DEMO, run_json


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BACKFLUSH_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def compiled(monkeypatch) -> list[str]:
    """The tables whose passes were compiled (not reused) during the test."""
    tables: list[str] = []
    compile_batches = validator.rules.compile.compile_batches

    def counting(table, *args, **kwargs):
        tables.append(table)
        return compile_batches(table, *args, **kwargs)
    monkeypatch.setattr(validator.rules.compile, "compile_batches", counting)
    return tables


def test_a_second_run_reuses_every_compiled_pass_and_finds_the_same(cache, compiled, demo_document, tmp_path):
    _, first = run_json(DEMO, tmp_path / "first.json")
    assert compiled and sorted(p.suffix for p in cache.glob("*.json")) == [".json"] * len(compiled)
    compiled.clear()
    _, second = run_json(DEMO, tmp_path / "second.json")
    assert compiled == []
    assert second == first == demo_document


def test_a_changed_rule_parameter_compiles_again(cache, compiled, tmp_path):
    run_json(DEMO, tmp_path / "first.json", "--tag", "integrity")
    compiled.clear()
    config = tmp_path / "backflush.yaml"
    config.write_text("rules:\n  BFC005: {params: {percent_types: [PCT]}}\n", encoding="utf-8")
    run_json(DEMO, tmp_path / "second.json", "--tag", "integrity", "--config", str(config))
    assert set(compiled) == {"JobMtl", "PartMtl"}  # the tables BFC005 judges; the others are reused


def test_other_site_facts_compile_again(cache, compiled, site, tmp_path):
    run_json(site, tmp_path / "first.json", "--tag", "integrity")
    compiled.clear()
    path = site / "JobOper.csv"  # a lower-case job number: JobOper's keys must now be compared in upper case
    path.write_text(path.read_text(encoding="utf-8").replace("EPIC06,005001,", "EPIC06,005001a,", 1), encoding="utf-8")
    run_json(site, tmp_path / "second.json", "--tag", "integrity")
    assert "JobMtl" in compiled  # it joins JobOper


def test_a_pass_whose_counts_now_decide_otherwise_is_compiled_again(cache, compiled, tmp_path):
    guarded = ("--rules", str(CASES / "rules" / "guarded_aggregate"), "--rule", "ACME020")  # a guarded pass's aggregate
    run_json(DEMO, tmp_path / "first.json", *guarded)
    decided = []
    for path in cache.glob("*.json"):
        entries = json.loads(path.read_text(encoding="utf-8"))
        for entry in entries:
            for decision in entry["decisions"]:
                decision[2] = not decision[2]  # as if the site's row counts had changed since
                decided.append(entry["table"])
        path.write_text(json.dumps(entries), encoding="utf-8")
    assert decided
    compiled.clear()
    _, second = run_json(DEMO, tmp_path / "second.json", *guarded)
    assert sorted(set(compiled)) == sorted(set(decided))


def test_an_unreadable_entry_is_compiled_again(cache, compiled, tmp_path):
    _, first = run_json(DEMO, tmp_path / "first.json", "--tag", "eligibility")
    for path in cache.glob("*.json"):
        path.write_text('[{"table": "JobMtl", "sql": ', encoding="utf-8")
    compiled.clear()
    _, second = run_json(DEMO, tmp_path / "second.json", "--tag", "eligibility")
    assert compiled and second == first


def test_the_cache_can_be_turned_off(monkeypatch, compiled, tmp_path):
    monkeypatch.setenv("BACKFLUSH_CACHE_DIR", "off")
    run_json(DEMO, tmp_path / "first.json", "--rule", "BFE004")
    run_json(DEMO, tmp_path / "second.json", "--rule", "BFE004")
    assert compiled == ["JobMtl", "JobMtl"]


def test_a_cache_folder_that_cannot_be_written_changes_nothing(monkeypatch, compiled, tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("BACKFLUSH_CACHE_DIR", str(blocked / "cache"))
    code, document = run_json(CASES.parent / "demo", tmp_path / "out.json", "--rule", "BFE004")
    assert code == 0 and document["findings"]


def _imported_in_two_runs(tmp_path: Path, commands: list[list[str]]) -> tuple[str, str]:
    """The exit codes of `commands` (SITE: the benchmark's generated site, typed Parquet whose values keep their
    contracts) and which of ibis, pandera and pandas they imported, in a first process and in a second one."""
    import subprocess
    import sys

    from benchmarks.bench import generate

    generate(tmp_path / "site", 2_000, 20_000, 6_000)
    calls = ", ".join(f"main({[str(tmp_path / 'site') if a == 'SITE' else a for a in c]!r})" for c in commands)
    run = ("import sys; from validator.cli import main; "
           f"codes = [{calls}]; print(codes, sorted(m for m in ('ibis', 'pandera', 'pandas') if m in sys.modules))")
    first, second = (subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, check=True)
                     .stdout.splitlines()[-1] for _ in range(2))
    return first, second


def test_a_run_on_typed_exports_reusing_its_passes_imports_neither_ibis_nor_pandera_nor_pandas(cache, tmp_path):
    """ibis compiles passes, pandera checks exported text, pyarrow imports pandas to convert values; a second run
    writing JSON from typed Parquet exports needs none of them, and their imports (~0.45 s) would be most of such a
    run's own cost (docs/performance.md)."""
    first, second = _imported_in_two_runs(tmp_path, [
        ["check", "SITE", "--tag", "eligibility", "--tag", "integrity", "--format", "json", "--output",
         str(tmp_path / "o.json"), "--fail-on", "never", "--quiet"]])
    assert first.startswith("[0] ['ibis'")  # compiled
    assert second == "[0] []"


def test_a_recommendation_and_a_baseline_reusing_their_passes_import_neither_ibis_nor_pandera_nor_pandas(cache, tmp_path):
    """recommend and baseline read the findings and verdicts as check's formats do, by Arrow: no pandas either."""
    first, second = _imported_in_two_runs(tmp_path, [
        ["recommend", "SITE", "--output", str(tmp_path / "dmt.csv"), "--quiet"],
        ["baseline", "SITE", "-o", str(tmp_path / "baseline.json"), "--quiet"]])
    assert first.startswith("[0, 0] ['ibis'")  # compiled
    assert second == "[0, 0] []"
