"""--engine spark: the same compiled rules through ibis' PySpark backend, Spark on this machine bound to 127.0.0.1;
findings and verdicts identical to the embedded engine's on the demo (CSV) and on a generated site (Parquet, read by
Spark itself)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO
from validator.cli import main

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("CI"),
                                 reason="no Java here (Debian's openjdk-17-jre-headless; .ci/run installs it)")]


@pytest.fixture(autouse=True)
def loopback(monkeypatch):
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")


def report(path: Path, out: Path, *engine: str) -> dict:
    code = main(["check", str(path), "--fail-on", "never", "--format", f"json:{out}", *engine])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def same(left: dict, right: dict) -> None:
    for section in ("findings", "verdicts", "rules", "summary"):
        assert left[section] == right[section], section


def test_spark_finds_on_the_demo_exactly_what_the_embedded_engine_finds(tmp_path, demo_document):
    pytest.importorskip("pyspark")
    same(report(DEMO, tmp_path / "spark.json", "--engine", "spark", "--spark-master", "local[2]"), demo_document)


def test_spark_reads_a_generated_parquet_site_itself_and_finds_the_same(tmp_path):
    pytest.importorskip("pyspark")
    from benchmarks.bench import generate

    generate(tmp_path / "site", 10_000, 100_000, 30_000)
    embedded = report(tmp_path / "site", tmp_path / "duckdb.json")
    assert embedded["findings"]
    same(report(tmp_path / "site", tmp_path / "spark.json", "--engine", "spark", "--spark-master", "local[2]"), embedded)
