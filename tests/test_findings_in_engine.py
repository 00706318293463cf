"""Findings are made inside the engine: how values read in messages and JSON, and what a fingerprint is."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from validator.engines.duckdb_findings import json_of, text_of


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        (2.0::DOUBLE, 0.30000000000000004::DOUBLE, TRUE, DATE '2026-01-02', 'MAIN', 10::BIGINT),
        ('NaN'::DOUBLE, NULL::DOUBLE, FALSE, NULL::DATE, NULL, NULL::BIGINT)) t(QtyPer, Rate, Flag, Day, Whse, Seq)""")
    return con


TYPES = {"QtyPer": "DOUBLE", "Rate": "DOUBLE", "Flag": "BOOLEAN", "Day": "DATE", "Whse": "VARCHAR", "Seq": "BIGINT"}


def _rendered(con, render) -> list[tuple]:
    select = ", ".join(render(c, t) for c, t in TYPES.items())
    return con.execute(f"SELECT {select} FROM v ORDER BY Seq NULLS LAST").fetchall()


def test_messages_show_whole_decimals_as_integers_booleans_as_words_and_dates_as_iso_text(con):
    assert _rendered(con, text_of)[0] == ("2", "0.3", "True", "2026-01-02", "MAIN", "10")


def test_messages_leave_nan_and_nulls_blank(con):
    assert _rendered(con, text_of)[1] == (None, None, "False", None, None, None)


def test_json_evidence_keeps_numbers_and_booleans_as_json_values(con):
    first = [json.loads(v) for v in _rendered(con, json_of)[0]]
    assert first == [2, 0.3, True, "2026-01-02", "MAIN", 10]
    assert isinstance(first[0], int)


def test_the_fingerprint_is_sha256_of_rule_table_and_the_key_as_sql_server_compares_it(demo_document):
    finding = next(f for f in demo_document["findings"] if f["rule_id"] == "BFE001" and f["table"] == "JobMtl")
    canonical = "\x1f".join(f"{c}\x1e{str(v).rstrip().upper()}" for c, v in finding["key"].items())
    text = f"BFE001\x1dJobMtl\x1d{canonical}"
    assert finding["fingerprint"] == hashlib.sha256(text.encode()).hexdigest()[:32]



def test_verdicts_made_meanwhile_are_waited_for_and_their_error_raised_when_read(tmp_path):
    from validator.check import _verdicts_meanwhile
    from validator.readers import Site

    class FailingEngine:
        def verdicts(self, site, judged_sql):
            raise RuntimeError("the engine failed on the verdicts")

    con = duckdb.connect()
    verdicts = _verdicts_meanwhile(FailingEngine(), Site(con, tmp_path), None)
    with pytest.raises(RuntimeError, match="failed on the verdicts"):
        len(verdicts)
    with pytest.raises(duckdb.ConnectionException):  # the run's connection is closed once the verdicts are made
        con.execute("SELECT 1")


def test_the_json_report_writes_the_findings_while_the_verdicts_are_still_being_made(demo_document):
    import io
    import threading
    from concurrent.futures import Future

    import orjson
    import pyarrow as pa

    from validator.check import Report
    from validator.findings import Findings, Verdicts
    from validator.formats import json as json_format

    lines = [orjson.dumps(f).decode() for f in demo_document["findings"][:3]]
    findings = Findings(pa.table({"rule_id": [f["rule_id"] for f in demo_document["findings"][:3]],
                                  "severity": [f["severity"] for f in demo_document["findings"][:3]],
                                  "outcome": ["fail"] * 3, "site_plant": pa.array([None] * 3, pa.string()),
                                  "component": ['{"Plant": "MfgSys", "PartNum": "SCR-0006"}'] * 3, "line": lines}))
    pending: Future[pa.Table] = Future()
    report = Report("demo", {}, [], findings, Verdicts(pending))
    written = threading.Event()

    class Watched(io.StringIO):  # says when the last finding has been written
        def write(self, text: str) -> int:
            count = super().write(text)
            if lines[-1] in self.getvalue():
                written.set()
            return count

    out = Watched()
    writer = threading.Thread(target=json_format.write, args=(report, out), daemon=True)
    writer.start()
    try:
        assert written.wait(timeout=60)  # the findings are written ...
        assert writer.is_alive() and not pending.done()  # ... while the report still waits for the verdicts
    finally:
        if not pending.done():
            pending.set_result(Verdicts.empty().table)  # whatever failed above, the writer is let go
        writer.join(timeout=60)
    assert not writer.is_alive()
    document = json.loads(out.getvalue())
    assert len(document["findings"]) == 3 and document["verdicts"] == [] and document["summary"]["findings"] == 3
