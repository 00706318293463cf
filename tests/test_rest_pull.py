"""`backflush pull`: a site read from Epicor's REST API (an Epicor-shaped server on 127.0.0.1) into a snapshot that
checks exactly like the exports it was served from; every fault ends in a retry that succeeds or a clear error,
never a short table, and no secret is written anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO, export_rows, python_peak, run_json
from tests.epicor_server import API_KEY, BAQ_PREFIX, BO_SETS, PASSWORD, USER, Site, load, serving
from validator.cli import main

SERVED = load(DEMO)


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("EPICOR_USER", USER)
    monkeypatch.setenv("EPICOR_PASSWORD", PASSWORD)
    monkeypatch.setenv("EPICOR_API_KEY", API_KEY)


def config(tmp_path: Path, url: str, **extra: object) -> Path:
    on_bo = set(BO_SETS.values())
    tables = {t: {"baq": f"{BAQ_PREFIX}{t}"} for t in SERVED if t not in on_bo}
    tables["PartMtl"] = {"service": "Erp.BO.PartSvc", "set": "PartMtls"}  # a business object: BackFlush comes too
    epicor = {"base_url": url, "company": "EPIC06", "page_size": 50, "timeout": 1.5, "retries": 3, "max_wait": 20,
              "tables": tables, **extra}
    path = tmp_path / "backflush.yaml"
    path.write_text(yaml.safe_dump({"sources": {"epicor": epicor}}), encoding="utf-8")
    return path


def pull(tmp_path: Path, site: Site, cli, **extra: object) -> tuple[int, str, str, Path]:  # noqa: ANN001
    target = tmp_path / "snapshot"
    with serving(site) as url:
        code, out, err = cli("pull", target, "--config", config(tmp_path, url, **extra), "--quiet")
    return code, out, err, target


def fresh(**options: object) -> Site:
    return Site({table: list(rows) for table, rows in SERVED.items()}, **options)


def leftovers(tmp_path: Path) -> list[str]:
    return [p.name for p in tmp_path.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_a_pulled_snapshot_checks_exactly_like_the_exports_it_was_served_from(tmp_path, cli, secrets, demo_document):
    code, out, err, target = pull(tmp_path, fresh(page_cap=37), cli)  # pages capped below the $top asked for
    assert code == 0, err
    shutil.copy(DEMO / "attestations.yaml", target)
    code, document = run_json(target, tmp_path / "out.json")
    assert document["findings"] == demo_document["findings"] and document["verdicts"] == demo_document["verdicts"]
    assert document["summary"] == demo_document["summary"]
    assert document["tool"]["snapshot"]["company"] == "EPIC06"  # every report carries the manifest


def test_the_manifest_counts_every_row_and_hashes_every_file(tmp_path, cli, secrets):
    import hashlib

    code, _, err, target = pull(tmp_path, fresh(next_links=True), cli)
    manifest = json.loads((target / "manifest.json").read_text())
    assert code == 0, err
    for table, entry in manifest["tables"].items():
        assert entry["rows"] == len(export_rows(DEMO / f"{table}.csv"))
        assert entry["sha256"] == hashlib.sha256((target / entry["file"]).read_bytes()).hexdigest()
    assert manifest["source"].endswith("/EpicorTest") and "@" not in manifest["source"]


@pytest.mark.parametrize("fault", ["429", "500", "slow", "drop"])
def test_a_passing_fault_is_retried_and_the_table_is_whole(tmp_path, cli, secrets, fault):
    site = fresh(faults=[("BF_JobMtl", "ok") for _ in range(2)] + [("BF_JobMtl", fault)])
    code, _, err, target = pull(tmp_path, site, cli)
    manifest = json.loads((target / "manifest.json").read_text())
    assert code == 0, err
    assert manifest["tables"]["JobMtl"]["rows"] == len(export_rows(DEMO / "JobMtl.csv"))
    assert "retrying" in err


@pytest.mark.parametrize(("fault", "says"), [
    ("401", "EPICOR_API_KEY"), ("403", "access scope"), ("404", "no such service, entity set or BAQ"),
    ("malformed", "not JSON"),
])
def test_a_fault_that_cannot_pass_stops_at_once_with_what_to_fix_and_leaves_no_snapshot(tmp_path, cli, secrets, fault,
                                                                                       says):
    site = fresh(faults=[("BF_JobMtl", fault)])
    code, _, err, target = pull(tmp_path, site, cli)
    assert code == 2 and says in err and "JobMtl" in err
    assert sum("BF_JobMtl" in call for call in site.calls) == 1  # not retried
    assert not target.exists() and not leftovers(tmp_path)


def test_a_server_that_keeps_failing_is_given_up_on_after_the_retries(tmp_path, cli, secrets):
    site = fresh(faults=[("BF_JobMtl", "500")] * 10)
    code, _, err, target = pull(tmp_path, site, cli)
    assert code == 2 and "still after 3 retries" in err
    assert sum("BF_JobMtl" in call for call in site.calls) == 4 and not target.exists() and not leftovers(tmp_path)


def test_no_secret_appears_in_any_output_manifest_or_report(tmp_path, cli, secrets):
    site = fresh(faults=[("BF_JobMtl", "429"), ("PartMtls", "malformed")])
    code, out, err, target = pull(tmp_path, site, cli)
    assert code == 2
    code, out2, err2, target = pull(tmp_path, fresh(), cli)
    shutil.copy(DEMO / "attestations.yaml", target)
    run_json(target, tmp_path / "out.json")
    main(["check", str(target), "--fail-on", "never", "--format", f"html:{tmp_path / 'r.html'}",
          "--format", f"sarif:{tmp_path / 'r.sarif'}"])
    written = [out, err, out2, err2] + [p.read_text(errors="replace") for p in tmp_path.rglob("*")
                                        if p.is_file() and p.suffix in (".json", ".html", ".sarif", ".yaml")]
    for secret in (PASSWORD, API_KEY):
        assert not [text for text in written if secret in text]


def test_a_secret_written_in_backflush_yaml_is_refused(tmp_path, cli, secrets):
    with serving(fresh()) as url:
        path = config(tmp_path, url, api_key=API_KEY)
        code, _, err = cli("pull", tmp_path / "snapshot", "--config", path, "--quiet")
    assert code == 2 and "api_key" in err and API_KEY not in err


def test_a_missing_secret_names_its_environment_variable(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("EPICOR_API_KEY", raising=False)
    monkeypatch.setenv("EPICOR_USER", USER)
    monkeypatch.setenv("EPICOR_PASSWORD", PASSWORD)
    code, _, err, _ = pull(tmp_path, fresh(), cli)
    assert code == 2 and "EPICOR_API_KEY" in err


def test_an_existing_snapshot_is_replaced_only_with_force_and_only_once_whole(tmp_path, cli, secrets):
    code, *_ , target = pull(tmp_path, fresh(), cli)
    assert code == 0
    code, _, err, _ = pull(tmp_path, fresh(), cli)
    assert code == 2 and "already exists" in err
    with serving(fresh(faults=[("BF_JobMtl", "404")])) as url:
        code, _, err = cli("pull", target, "--config", config(tmp_path, url), "--quiet", "--force")
    assert code == 2 and (target / "manifest.json").is_file() and not leftovers(tmp_path)  # the old one stays


def test_a_plant_filter_reads_only_those_sites_rows(tmp_path, cli, secrets):
    import pyarrow.parquet as pq

    code, _, err, target = pull(tmp_path, fresh(), cli, plants=["Plant2"])
    plants = set(pq.read_table(target / "PartPlant.parquet").column("Plant").to_pylist())
    served = {r["Plant"] for r in export_rows(DEMO / "PartPlant.csv")}
    assert code == 0, err
    assert plants == {"Plant2"} and len(served) > 1
    assert json.loads((target / "manifest.json").read_text())["plants"] == ["Plant2"]


def test_a_table_of_many_pages_is_written_as_it_comes_not_held_as_python_values(tmp_path, monkeypatch):
    """A large site's JobMtl is millions of rows over thousands of pages: each page goes to the snapshot's Parquet
    file as it arrives (Python holds about a page, not the table), every value as the text an export holds."""
    import pyarrow.parquet as pq

    from validator.sources import epicor_rest

    columns = ["Company", "JobNum", "AssemblySeq", "MtlSeq", "PartNum", "QtyPer", "BackFlush", "Plant"]
    rows, page_size = 250_000, 1000

    def pages(self, table, names, key, filters):  # noqa: ANN001, ANN202 - Client.pages, as a BAQ's pages come
        for start in range(0, self.rows, page_size):
            yield [{"JobMtl_Company": "EPIC06", "JobMtl_JobNum": f"J{i // 10:06d}", "JobMtl_AssemblySeq": 0,
                    "JobMtl_MtlSeq": (i % 10 + 1) * 10, "JobMtl_PartNum": f"RM-{i % 4999:04d}",
                    "JobMtl_QtyPer": 2.5 if i % 7 else 3.0, "JobMtl_BackFlush": i % 3 == 0, "JobMtl_Plant": "MfgSys"}
                   for i in range(start, min(start + page_size, self.rows))]

    def pull_rows(count: int, target: Path) -> dict:
        monkeypatch.setattr(epicor_rest.Client, "rows", count, raising=False)
        return epicor_rest.pull(settings, epicor_rest.Credentials(USER, PASSWORD, API_KEY), {"JobMtl": columns},
                                {"JobMtl": ["JobNum"]}, {"JobMtl": True}, target)

    monkeypatch.setattr(epicor_rest.Client, "pages", pages)
    settings = epicor_rest.RestSettings("http://127.0.0.1:9/EpicorTest", "EPIC06", page_size=page_size,
                                        tables={"JobMtl": {"baq": "BF_JobMtl"}})
    pull_rows(page_size, tmp_path / "first")  # what a pull imports (HTTP, retries, Parquet) is not its rows
    manifest, peak = python_peak(lambda: pull_rows(rows, tmp_path / "snap"))
    written = pq.read_table(tmp_path / "snap" / "JobMtl.parquet")
    assert manifest["tables"]["JobMtl"]["rows"] == written.num_rows == rows
    assert manifest["tables"]["JobMtl"]["pages"] == rows // page_size
    assert written.slice(123_457, 1).to_pylist() == [{
        "JobMtl_Company": "EPIC06", "JobMtl_JobNum": "J012345", "JobMtl_AssemblySeq": "0", "JobMtl_MtlSeq": "80",
        "JobMtl_PartNum": "RM-3481", "JobMtl_QtyPer": "2.5", "JobMtl_BackFlush": "False", "JobMtl_Plant": "MfgSys"}]
    assert written.slice(123_452, 1).column("JobMtl_QtyPer").to_pylist() == ["3"]  # a whole number without '.0'
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB of Python values"
