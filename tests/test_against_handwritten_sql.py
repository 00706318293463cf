"""On a generated site, the compiled rules find exactly what hand-written SQL for the same rules finds."""

from __future__ import annotations

import duckdb
import pytest

from benchmarks.bench import HANDWRITTEN, HANDWRITTEN_RULES, _views, generate
from tests.conftest import run_json

pytestmark = pytest.mark.slow  # a 40k-row generated site: `pytest -m slow` (.ci/run runs them after the default set)

SINGLE_TABLE = {  # hand-written query -> the rules and table whose findings it must equal, key for key
    "BFE004/005": (("BFE004", "BFE005"), "JobMtl"),
    "BFC006": (("BFC006",), "PartRev"),
    "BFC007 JobOper": (("BFC007",), "JobOper"),
    "BFC007 PartOpr": (("BFC007",), "PartOpr"),
    "BFC008": (("BFC008",), "JobOper"),
    "BFC009": (("BFC009",), "JobMtl"),
    "BFC010": (("BFC010",), "JobMtl"),
    "BFC011 PartWhse": (("BFC011",), "PartWhse"),
    "BFC011 PartBin": (("BFC011",), "PartBin"),
    "BFC012": (("BFC012",), "PartWhse"),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    generate(folder, parts=4000, job_mtl=40000, job_oper=12000)
    _, document = run_json(folder, folder / "findings.json")
    con = duckdb.connect()
    _views(con, folder)
    con.execute(HANDWRITTEN)
    return document, con


@pytest.mark.parametrize("query", sorted(SINGLE_TABLE))
def test_findings_equal_the_hand_written_query(generated, query):
    document, con = generated
    rules, table = SINGLE_TABLE[query]
    ours = {tuple(str(v) for v in f["key"].values()) for f in document["findings"]
            if f["rule_id"] in rules and f["table"] == table and f["outcome"] == "fail"}  # the configuration as it is
    width = len(next(iter(ours))) if ours else 0
    theirs = {tuple(str(v) for v in row[:width]) for row in con.execute(HANDWRITTEN_RULES[query]).fetchall()}
    assert ours, f"the generated site should make {query} fire"
    assert ours == theirs
