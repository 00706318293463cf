"""A relation may meet the related rows on a column they reach through a relation of their own
(PartPlant.SiteParentLines: the method lines whose revision is at the part's site). Where that cannot be
compiled, the table or rule file is refused with the relation named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from validator.errors import RuleFileError
from validator.rules.loader import load_rule_file
from validator.tables import SCHEMA_DIR, load_registry

RULE = """id: SITE005
title: Methods at the component's other sites
severity: info
tags: [site]
message: "{PartNum}"
remediation: none
rationale: a test of the relation grammar
source: test
checks:
  - table: PartMtl
    where:
      value: {aggregate: {relation: ComponentSites.SiteParentLines, fn: count}}
      gt: 0
examples:
  - name: a line
    expect: pass
    tables:
      PartMtl: [{PartNum: FG-100, RevisionNum: A, MtlSeq: 10, MtlPartNum: SCR-M3}]
"""


def test_a_to_one_relation_joining_on_a_reached_column_is_refused_at_load(tmp_path: Path):
    tables = tmp_path / "tables"
    shutil.copytree(SCHEMA_DIR / "tables", tables)
    spec = tables / "PartMtl.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        "  Component: {table: Part, join: {MtlPartNum: PartNum}}",
        "  Component: {table: Part, join: {MtlPartNum: PartNum}}\n"
        "  OwnRev: {table: PartRev, join: {PartNum: PartNum, RevisionNum: RevisionNum, AltMethod: AltMethod, "
        "Plant: Materials.Plant}}"), encoding="utf-8")
    with pytest.raises(RuleFileError, match="OwnRev") as refused:
        load_registry(tables)
    assert "PartMtl.OwnRev" in str(refused.value)


def test_a_reached_column_of_an_unknown_relation_is_refused_at_load(tmp_path: Path):
    tables = tmp_path / "tables"
    shutil.copytree(SCHEMA_DIR / "tables", tables)
    spec = tables / "PartPlant.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("Plant: Rev.Plant}", "Plant: Revision.Plant}"),
                    encoding="utf-8")
    with pytest.raises(RuleFileError, match="PartMtl has no to-one relation 'Revision'"):
        load_registry(tables)


def test_a_relation_joining_on_a_reached_column_is_refused_after_a_paths_first_hop(tmp_path: Path, registry):
    path = tmp_path / "SITE005.yaml"
    path.write_text(RULE, encoding="utf-8")
    with pytest.raises(RuleFileError, match="can only be a path's first hop"):
        load_rule_file(path, registry)
