"""`check exports.zip`: a ZIP of exports reads like the folder it was made from, and messages name the member."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.conftest import DEMO, run_json
from tests.site_formats import to_parquet
from validator.sources import open_source
from validator.sources.zip_archive import ZipSource
from validator.tables import builtin_registry


def zip_of(folder: Path, target: Path, inside: str = "", skip: tuple[str, ...] = ("attestations.yaml",)) -> Path:
    """The files of `folder` (and its Parquet folders) zipped under `inside`, as a consultant zips an export."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name not in skip:
                archive.write(path, f"{inside}{path.relative_to(folder).as_posix()}")
    return target


def without_tool(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "tool"}


@pytest.fixture
def demo_zip(tmp_path) -> Path:
    target = zip_of(DEMO, tmp_path / "exports.zip")
    (tmp_path / "attestations.yaml").write_bytes((DEMO / "attestations.yaml").read_bytes())  # beside the ZIP
    return target


def test_a_zip_of_the_demo_gives_the_folders_findings_verdicts_and_summary(demo_zip, demo_document, tmp_path):
    code, document = run_json(demo_zip, tmp_path / "zip.json")
    assert code == 0 and without_tool(document) == without_tool(demo_document)
    assert document["tool"]["site"] == str(demo_zip)


def test_a_zip_made_of_a_folder_reads_the_files_of_that_folder(demo_document, tmp_path):
    target = zip_of(DEMO, tmp_path / "exports.zip", inside="site-export-2026-12/")
    (tmp_path / "attestations.yaml").write_bytes((DEMO / "attestations.yaml").read_bytes())
    code, document = run_json(target, tmp_path / "zip.json")
    assert code == 0 and document["findings"] == demo_document["findings"]


def test_a_zip_holding_a_table_as_spark_writes_it_reads_its_parquet_files(tmp_path, demo_document):
    parquet = tmp_path / "parquet"
    to_parquet(DEMO, parquet, builtin_registry())
    jobmtl = parquet / "JobMtl.parquet"
    spark = parquet / "JobMtl"  # a folder of part files, with Spark's marker
    spark.mkdir()
    jobmtl.rename(spark / "part-00000.parquet")
    (spark / "_SUCCESS").write_bytes(b"")
    target = zip_of(parquet, tmp_path / "exports.zip")
    (tmp_path / "attestations.yaml").write_bytes((DEMO / "attestations.yaml").read_bytes())
    code, document = run_json(target, tmp_path / "zip.json")
    assert code == 0 and document["findings"] == demo_document["findings"]


def test_a_value_that_breaks_a_contract_is_named_by_its_member_and_row(site, tmp_path, cli):
    rows = (site / "PartPlant.csv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    cells = rows[2].split(",")
    cells[header.index("BackFlush")] = "perhaps"
    rows[2] = ",".join(cells)
    (site / "PartPlant.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    target = zip_of(site, tmp_path / "broken.zip")
    code, _, err = cli("check", target)
    assert code == 2
    assert f"{target}/PartPlant.csv, column BackFlush" in err and "row 2: 'perhaps'" in err


def test_a_csv_that_does_not_parse_is_named_by_its_member(site, tmp_path, cli):
    (site / "Part.csv").write_bytes(b"")  # an export saved empty
    target = zip_of(site, tmp_path / "broken.zip")
    code, _, err = cli("check", target)
    assert code == 2 and f"{target}/Part.csv: the file is empty" in err
    assert "backflush-zip-" not in err  # never the temporary copy


def test_a_missing_table_says_what_the_zip_should_hold(site, tmp_path, cli):
    (site / "Part.csv").unlink()
    code, _, err = cli("check", zip_of(site, tmp_path / "partial.zip"))
    assert code == 2 and "no export of required table(s) Part" in err and "a file such as Part.csv in the ZIP" in err


def test_a_file_that_is_not_a_zip_is_refused_with_its_name(tmp_path, cli):
    target = tmp_path / "exports.zip"
    target.write_bytes(b"PartNum\nC-1\n")
    code, _, err = cli("check", target)
    assert code == 2 and f"{target}: cannot open as a ZIP archive" in err


def test_attestations_inside_the_zip_are_named_not_passed_over(tmp_path, cli):
    target = zip_of(DEMO, tmp_path / "exports.zip", skip=())
    code, _, err = cli("check", target)
    assert code == 2 and "attestations.yaml" in err and "beside the ZIP" in err


def test_a_member_that_would_land_outside_the_extraction_folder_is_never_read(tmp_path):
    target = tmp_path / "evil.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("../Part.csv", "PartNum\nC-1\n")
        archive.writestr("/tmp/PartPlant.csv", "PartNum\nC-1\n")
        archive.writestr("JobMtl.csv", "PartNum\nC-1\n")
    source = open_source(target)
    assert isinstance(source, ZipSource)
    assert set(source.exports(["Part", "PartPlant", "JobMtl"])) == {"JobMtl"}
    source.close()
    assert not (tmp_path / "Part.csv").exists()


def test_the_extracted_members_are_removed_when_the_source_closes(demo_zip):
    source = open_source(demo_zip)
    export = source.exports(["Part"])["Part"]
    assert export.path.is_file() and export.where == f"{demo_zip}/Part.csv"
    source.close()
    assert not export.path.exists()


def test_an_export_named_otherwise_in_the_zip_is_read_as_backflush_yaml_names_it(site, tmp_path, monkeypatch,
                                                                                  demo_document):
    (site / "JobMtl.csv").rename(site / "BAQ JobMaterials 2026-11.csv")
    target = zip_of(site, tmp_path / "exports.zip")
    (tmp_path / "attestations.yaml").write_bytes((DEMO / "attestations.yaml").read_bytes())
    config = tmp_path / "backflush.yaml"
    config.write_text("exports:\n  JobMtl:\n    file: BAQ JobMaterials 2026-11.csv\n", encoding="utf-8")
    code, document = run_json(target, tmp_path / "zip.json", "--config", str(config))
    assert code == 0 and document["findings"] == demo_document["findings"]


def test_a_file_backflush_yaml_names_that_the_zip_lacks_is_named(tmp_path, cli):
    target = zip_of(DEMO, tmp_path / "exports.zip")
    config = tmp_path / "backflush.yaml"
    config.write_text("exports:\n  JobMtl:\n    file: nope.csv\n", encoding="utf-8")
    code, _, err = cli("check", target, "--config", config)
    assert code == 2 and "names file 'nope.csv' for JobMtl, which is not in" in err and str(target) in err
