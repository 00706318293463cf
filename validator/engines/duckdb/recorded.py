"""Which of a run's findings a baseline records, matched by DuckDB: each finding's name ("RULE fingerprint") looked up
among the baseline's, both read a chunk at a time from Arrow. DuckDB's hash join spills past its memory limit, so a
gate holds neither side's names in Python: at 50M job lines each side has 16M names (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import duckdb
import numpy
import pyarrow as pa

from validator.finding_documents import int64s, positions

NAME = pa.schema([("name", pa.string())])
NUMBERED = pa.schema([("row", pa.int64()), ("name", pa.string())])


def _batches(schema: pa.Schema, rows: Iterator[list[pa.Array]]) -> pa.RecordBatchReader:
    """Columns a batch at a time (a large text as text), as a stream DuckDB scans once."""
    def batches() -> Iterator[pa.RecordBatch]:
        for columns in rows:
            yield pa.record_batch([column.cast(field.type) for column, field in zip(columns, schema, strict=True)],
                                  schema=schema)
    return pa.RecordBatchReader.from_batches(schema, batches())


def recorded(con: duckdb.DuckDBPyConnection, baseline: Iterable[pa.Array],
             names: Iterable[pa.Array]) -> tuple[numpy.ndarray, int]:
    """The positions, ascending, of the findings whose name (`names`: the findings' names in their order, a chunk at
    a time) is among the `baseline`'s (a chunk at a time), and how many distinct names the baseline holds."""
    con.register("baseline_names", _batches(NAME, ([chunk] for chunk in baseline)))
    con.execute("CREATE TEMP TABLE recorded AS SELECT DISTINCT name FROM baseline_names")
    (distinct,) = con.execute("SELECT count(*) FROM recorded").fetchone()  # type: ignore[misc]

    def numbered() -> Iterator[list[pa.Array]]:
        start = 0
        for chunk in names:
            yield [int64s(numpy.arange(start, start + len(chunk), dtype=numpy.int64)), chunk]
            start += len(chunk)

    con.register("finding_names", _batches(NUMBERED, numbered()))
    rows = con.execute("SELECT row FROM finding_names SEMI JOIN recorded USING (name) ORDER BY row").to_arrow_table()
    return positions(rows.column("row")), int(distinct)
