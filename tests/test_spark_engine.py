"""--engine spark: the same compiled rules through ibis' PySpark backend, Spark on this machine bound to 127.0.0.1;
findings and verdicts identical to the embedded engine's on the demo (CSV) and on a generated site (Parquet, read by
Spark itself), given as a folder or as a URI Spark reads (file:// here, s3a:// or abfss:// on a cluster)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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


@pytest.fixture
def parquet_site(tmp_path) -> Path:
    """A generated Parquet site whose JobMtl is a folder of parts, as Spark and Databricks write a table."""
    import pyarrow.parquet as pq

    from benchmarks.bench import generate

    site = tmp_path / "site"
    generate(site, 2_000, 20_000, 6_000)
    job_mtl = pq.read_table(site / "JobMtl.parquet")
    (site / "JobMtl.parquet").unlink()
    (site / "JobMtl.parquet").mkdir()
    pq.write_table(job_mtl.slice(0, 12_000), site / "JobMtl.parquet" / "part-00000.parquet")
    pq.write_table(job_mtl.slice(12_000), site / "JobMtl.parquet" / "part-00001.parquet")
    (site / "JobMtl.parquet" / "_SUCCESS").write_text("", encoding="utf-8")
    return site


def test_spark_reads_the_demo_at_a_uri_and_finds_what_the_embedded_engine_finds(tmp_path, demo_document, monkeypatch):
    pytest.importorskip("pyspark")
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))  # where the driver's copies of the exports go
    document = report(DEMO.resolve().as_uri(), tmp_path / "spark.json", "--engine", "spark", "--spark-master", "local[2]")
    same(document, demo_document)
    assert document["tool"]["site"] == DEMO.resolve().as_uri()
    assert list(staging.iterdir()) == []  # the copies are gone once the command is done


def test_spark_reads_a_parquet_site_at_a_uri_where_it_is_and_finds_the_same(tmp_path, parquet_site):
    pytest.importorskip("pyspark")
    embedded = report(parquet_site, tmp_path / "duckdb.json")
    assert embedded["findings"]
    uri = parquet_site.as_uri()
    spark = report(uri, tmp_path / "spark.json", "--engine", "spark", "--spark-master", "local[2]")
    for section in ("findings", "verdicts", "summary"):
        assert spark[section] == embedded[section], section
    # a rule skipped for want of an optional table or file says where it looked: at the URI
    reasons = {rule["rule_id"]: rule.pop("reason", None) for rule in spark["rules"]}
    assert spark["rules"] == [{k: v for k, v in rule.items() if k != "reason"} for rule in embedded["rules"]]
    assert reasons["BFR010"].endswith(f"no attestations.yaml in {uri} (put one there, or give --attestations FILE)")
    assert f"no export of LaborDtl in {uri} " in reasons["BFR002"]


def test_a_parquet_export_at_a_uri_is_read_by_spark_at_its_uri(parquet_site):
    pytest.importorskip("pyspark")
    from validator.engines.spark import SparkEngine

    uri = parquet_site.as_uri()
    source = SparkEngine(spark_master="local[1]").open_site(uri)
    try:
        exports = source.exports(["JobMtl", "Part"])
        assert exports["JobMtl"].parquet_locations() == [f"{uri}/JobMtl.parquet/part-00000.parquet",
                                                         f"{uri}/JobMtl.parquet/part-00001.parquet"]
        assert exports["Part"].parquet_locations() == [f"{uri}/Part.parquet"]
        assert exports["JobMtl"].where == f"{uri}/JobMtl.parquet"  # messages name the export where it is
        assert (exports["JobMtl"].path / "part-00001.parquet").is_file()  # the embedded engine's copy
    finally:
        source.close()
    assert not exports["JobMtl"].path.exists()


def test_a_uri_where_no_site_is_is_named(tmp_path, capsys):
    pytest.importorskip("pyspark")
    missing = (tmp_path / "no site here").as_uri()
    code = main(["check", missing, "--engine", "spark", "--spark-master", "local[1]"])
    assert code == 2
    assert f"{missing}: cannot list the site's exports" in capsys.readouterr().err


@pytest.fixture
def remote_folder(tmp_path):
    """The demo's folder, with Part exported under another name, as a site at a file:// URI."""
    pytest.importorskip("pyspark")
    from validator.engines.spark import SparkEngine

    site = tmp_path / "site"
    shutil.copytree(DEMO, site)
    (site / "Part.csv").rename(site / "Part_2026-11.csv")
    source = SparkEngine(spark_master="local[1]").open_site(site.as_uri())
    yield source
    source.close()


def test_a_file_the_config_names_is_fetched_from_the_uri(remote_folder):
    from validator.sources import Naming

    exports = remote_folder.exports(["Part", "PartPlant"], {"Part": Naming(file="Part_2026-11.csv")})
    assert exports["Part"].where == f"{remote_folder.uri}/Part_2026-11.csv"
    assert exports["Part"].path.is_file()
    assert exports["PartPlant"].where == f"{remote_folder.uri}/PartPlant.csv"


def test_a_file_the_config_names_that_is_not_at_the_uri_is_named(remote_folder):
    from validator.errors import DataError
    from validator.sources import Naming

    with pytest.raises(DataError, match=r"names file 'Part_2026-12.csv' for Part, which is not at file://"):
        remote_folder.exports(["Part"], {"Part": Naming(file="Part_2026-12.csv")})


def test_an_export_at_the_uri_under_another_name_is_pointed_at(remote_folder, registry):
    assert "Part" not in remote_folder.exports(["Part"])
    assert remote_folder.look_alike_hint("Part", list(registry.tables)) == (
        "; Part_2026-11.csv look(s) like Part's export: name the file after the table")
