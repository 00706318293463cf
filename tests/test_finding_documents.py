"""The findings' JSON documents held apart from their other columns: in memory, or past a bound in a file read back
a chunk at a time, and every report written the same either way."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import DEMO
from validator.cli import main
from validator.finding_documents import DocumentSpool, int64s

# documents as the engine writes them, with the texts a file must keep byte for byte: accents, quotes, line breaks
DOCUMENTS = [json.dumps({"rule_id": "BFE003", "severity": "error", "table": "JobMtl",
                         "key": {"Company": "EPIC06", "JobNum": f"J{n:06d}", "AssemblySeq": 0, "MtlSeq": n % 50 * 10},
                         "message": f"Job J{n:06d} backflushes \"SHT-{n % 97:04d}\", which is lot tracked (Größe)\n",
                         "fingerprint": f"{n:032x}"}, ensure_ascii=False) for n in range(1_000)]


def spooled(held: int | None, chunk: int = 64):
    spool = DocumentSpool(held)
    for start in range(0, len(DOCUMENTS), chunk):
        spool.add(pa.array(DOCUMENTS[start:start + chunk], pa.string()))
    return spool.done()


def test_documents_within_the_bound_stay_in_memory():
    assert not spooled(held=10_000_000).on_disk


@pytest.mark.parametrize("held", [None, 5_000], ids=["in memory", "past the bound, in a file"])
@pytest.mark.parametrize("rows", [range(0, 1_000), range(10, 20), range(60, 70), range(63, 640), range(999, 1_000),
                                  range(0, 1_000, 7), [0, 64, 65, 500, 999], [5]],
                         ids=["all", "within a chunk", "across two chunks", "across many", "the last", "every seventh",
                              "scattered", "one"])
def test_documents_are_taken_at_their_positions_as_they_were_added(held, rows):
    documents = spooled(held)
    assert documents.on_disk == (held is not None)
    taken = documents.take(int64s(pa.array(list(rows), pa.int64()).to_numpy()))
    assert taken.to_pylist() == [DOCUMENTS[row] for row in rows]


def test_no_positions_take_no_documents():
    documents = spooled(held=5_000)
    assert documents.take(pa.array([], pa.int64())).to_pylist() == []


def test_a_position_past_the_documents_is_a_defect_not_a_silent_blank():
    with pytest.raises(IndexError, match="1000 of 1000"):
        spooled(held=5_000).take(pa.array([3, 1_000], pa.int64()))


def _reports(folder: Path, baseline: Path, waivers: Path) -> dict[str, bytes]:
    """Every report of the demo checked against a baseline and waivers, and its recommendation."""
    outputs = {name: folder / f"report.{name}" for name in ("json", "sarif", "junit", "markdown", "html")}
    code = main(["check", str(DEMO), "--memory-limit", "1GB", "--fail-on", "never", "--baseline", str(baseline),
                 "--waivers", str(waivers), *(a for name, path in outputs.items() for a in ("--format", f"{name}:{path}"))])
    assert code == 0
    assert main(["recommend", str(DEMO), "--memory-limit", "1GB", "--output", str(folder / "dmt.csv"), "--quiet"]) == 0
    assert main(["baseline", str(DEMO), "--memory-limit", "1GB", "--output", str(folder / "baseline.json")]) == 0
    # the JUnit report says when it ran: the one thing two runs write differently
    return {path.name: re.sub(rb'timestamp="[^"]*"', b'timestamp=""', path.read_bytes())
            for path in sorted(folder.iterdir())}


def test_reports_are_the_same_when_the_documents_are_read_back_from_a_file(tmp_path, monkeypatch):
    baseline = tmp_path / "old-baseline.json"
    assert main(["baseline", str(DEMO), "--rule", "BFE001", "--rule", "BFC003", "--output", str(baseline)]) == 0
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: BFC003\n    key: {Company: EPIC06}\n    reason: new BOM loading\n"
                       "    owner: Jane Doe\n    ticket: ERP-1234\n    expires: 2099-12-31\n", encoding="utf-8")
    (tmp_path / "held").mkdir()
    held = _reports(tmp_path / "held", baseline, waivers)

    spilled = []
    to_disk = DocumentSpool._to_disk
    monkeypatch.setattr(DocumentSpool, "_to_disk", lambda self: (spilled.append(self.held), to_disk(self))[1])
    monkeypatch.setattr("validator.engines.duckdb.DOCUMENTS_SHARE", 1_000_000)  # 1GB: 1,000 bytes held
    (tmp_path / "spilled").mkdir()
    read_back = _reports(tmp_path / "spilled", baseline, waivers)

    # the baseline's names (on disk while the site is checked: bound 0), the engine's documents and the gate's
    # marked ones (bound 1,000)
    assert spilled and set(spilled) == {0, 1_000}
    assert list(read_back) == list(held) and len(held) == 8
    for name, data in held.items():
        assert read_back[name] == data, name
