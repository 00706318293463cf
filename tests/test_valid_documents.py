"""A YAML document found valid is remembered by its digest in the cache folder, so a later run checks against the
JSON Schemas only what changed; a changed document is checked again and its error named."""

from __future__ import annotations

import shutil

import pytest

import validator.schemas
from tests.conftest import CASES, DEMO


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BACKFLUSH_CACHE_DIR", str(folder))
    yield folder / "valid-documents"
    validator.schemas.remember_valid_documents(None)


def test_a_second_run_checks_no_unchanged_document_again(cli, cache, tmp_path, monkeypatch):
    code, _, err = cli("check", DEMO, "--rule", "BFE001", "--fail-on", "never", "--quiet", "--format", "json",
                       "--output", tmp_path / "first.json")
    assert code == 0, err
    assert len(list(cache.iterdir())) > 30  # the built-in rules and tables at least

    def no_schema_check(name):  # noqa: ANN001, ANN202
        raise AssertionError(f"{name} checked again")
    monkeypatch.setattr(validator.schemas, "validator_for", no_schema_check)
    code, _, err = cli("check", DEMO, "--rule", "BFE001", "--fail-on", "never", "--quiet", "--format", "json",
                       "--output", tmp_path / "second.json")
    assert code == 0, err
    assert (tmp_path / "first.json").read_text().split('"findings"')[1] == \
        (tmp_path / "second.json").read_text().split('"findings"')[1]


def test_a_rule_file_changed_after_a_valid_run_is_checked_again(cli, cache, tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(CASES / "rules" / "good_pack", pack)
    code, _, err = cli("check", DEMO, "--rules", pack, "--fail-on", "never", "--quiet", "--format", "json",
                       "--output", tmp_path / "first.json")
    assert code == 0, err
    rule = pack / "ACME001.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("severity: ", "severty: ", 1), encoding="utf-8")
    code, out, err = cli("check", DEMO, "--rules", pack, "--fail-on", "never", "--quiet")
    assert code == 2 and "ACME001.yaml" in err and "severty" in err, err


def test_a_run_keeps_only_the_newest_digests(tmp_path):
    import os

    folder = tmp_path / "valid-documents"
    folder.mkdir()
    for i in range(validator.schemas.KEPT_DIGESTS + 6):
        (folder / f"{i:064x}").touch()
        os.utime(folder / f"{i:064x}", (i, i))  # written one after the other
    try:
        validator.schemas.remember_valid_documents(folder)
    finally:
        validator.schemas.remember_valid_documents(None)
    kept = sorted(int(p.name, 16) for p in folder.iterdir())
    assert kept == list(range(6, validator.schemas.KEPT_DIGESTS + 6))
