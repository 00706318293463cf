"""Rule fidelity on small sites written the way exports look: each folder of fixtures/cases/sites replaces some
exports of `_base` and says in expected.yaml which rules it runs and exactly which findings they give."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import CASES, run_json

SITES = CASES / "sites"
CASE_DIRS = sorted(p for p in SITES.iterdir() if p.is_dir() and not p.name.startswith("_"))


def _site(case: Path, target: Path) -> Path:
    shutil.copytree(SITES / "_base", target)
    for path in case.iterdir():
        if path.name not in ("expected.yaml", "backflush.yaml"):
            shutil.copy(path, target / path.name)
    return target


def _key(key: dict) -> tuple:
    return tuple(sorted((column, str(value)) for column, value in key.items() if column != "Company"))


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name)
def test_the_case_gives_exactly_its_expected_findings(case: Path, tmp_path: Path):
    expected = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    rules = expected["rules"]
    config = ["--config", str(case / "backflush.yaml")] if (case / "backflush.yaml").is_file() else []
    _, document = run_json(_site(case, tmp_path / "site"), tmp_path / "f.json",
                           *[arg for rule in rules for arg in ("--rule", rule)], *config)
    assert document, f"{case.name}: the check did not run"
    wanted = {(f["rule"], f["table"], _key(f["key"]), f.get("outcome", "fail")) for f in expected["findings"] or []}
    what_if = any(outcome == "if_enabled" for *_, outcome in wanted)  # else the configuration as it is
    found = {(f["rule_id"], f["table"], _key(f["key"]), f["outcome"]) for f in document["findings"]
             if what_if or f["outcome"] != "if_enabled"}
    assert found == wanted


def test_every_case_names_its_rules_and_why(tmp_path):
    assert CASE_DIRS
    for case in CASE_DIRS:
        expected = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
        assert expected["rules"] and expected["why"], case.name
