"""Exports -> engine tables: only the needed columns, with Epicor's names and types.

Column names may be bare (`PartNum`), BAQ style (`JobMtl_PartNum`) or dotted (`JobMtl.PartNum`),
in any case; other columns are ignored. Each table becomes a raw relation `raw_<Table>` (text as
exported, plus `__row`, the 1-based data row) and a typed view `<Table>` that the rules read:
booleans parsed from True/False, 1/0, Yes/No, Y/N; decimals and integers cast; blanks as null;
trailing spaces cut from text, as SQL Server ignores them when comparing.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from validator.engines.duckdb import decimals
from validator.engines.duckdb.date_order import FORMATS
from validator.engines.duckdb.date_order import evidence as date_evidence
from validator.engines.duckdb.sql_text import literal, quote
from validator.engines.duckdb.text_facts import scan_text
from validator.errors import DataError
from validator.site import NULL_WORDS, LoadedTable, Site, join_columns
from validator.sources import ROW, Export, Naming, Source, TextBatches
from validator.sources.headers import wanted_columns
from validator.tables import Registry, Table
from validator.told import AUTO, MIXED, MONTH_FIRST, POINT, decide, site_choice

TRUE_WORDS = ("TRUE", "T", "YES", "Y", "1", "-1")
FALSE_WORDS = ("FALSE", "F", "NO", "N", "0")


def _text_table(source: Export, table: Table, wanted: set[str]) -> tuple[TextBatches, list[str]]:
    """The export's wanted columns as text (a wanted column exported twice is an error, from the whole header),
    and the whole header."""
    header: list[str] = []

    def columns(headers: list[str]) -> list[str]:
        header.extend(h for h in headers if h != ROW)
        return list(wanted_columns(table, header, wanted, source).values())
    return source.text(columns), header


def is_text(raw_type: str) -> bool:
    """Whether an export holds a column as text (every CSV/XLSX column, a Parquet string column)."""
    return raw_type.upper() == "STRING" or raw_type.upper().startswith("VARCHAR")


_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")  # the numbers that may hold NaN
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                  "UHUGEINT"}
# Epicor type -> how an export may store it besides text (every column may be text)
READABLE = {"boolean": {"boolean", "integer", "decimal"}, "integer": {"integer", "decimal"},
            "decimal": {"integer", "decimal"}, "date": {"date"}}


def stored_as(raw_type: str) -> str:
    """The family of an export's column type: text, boolean, integer, decimal, date, or other (a list, a blob)."""
    upper = raw_type.upper()
    if is_text(upper):
        return "text"
    if upper in _INTEGER_TYPES:
        return "integer"
    if upper.startswith(("DECIMAL", *_FLOAT_TYPES)):
        return "decimal"
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "date"
    return "boolean" if upper == "BOOLEAN" else "other"


def readable(kind: str, raw_type: str) -> bool:
    """Whether a column stored as `raw_type` reads as the Epicor type `kind` (else the contract reports it)."""
    family = stored_as(raw_type)
    return family == "text" or kind == "string" or family in READABLE[kind]


def null_text(col: str) -> str:
    """SQL: whether the text of a boolean, number or date column reads as blank (blank, or one of NULL_WORDS)."""
    return f"UPPER(TRIM(CAST({col} AS VARCHAR))) IN ('', {', '.join(map(literal, NULL_WORDS))})"


def _typed(column: str, kind: str, raw_type: str | None, clean: bool = False, order: str = MONTH_FIRST,
           separator: str = POINT, trimmed: bool = False) -> str:
    """SQL for one typed column of the view; invalid text becomes null (contracts report it first). A `clean`
    text column (never blank, no trailing space) is read as it is, a `trimmed` one (no trailing space) only
    has '' turned into null; `order`: of a date written with slashes; `separator`: the decimal separator of
    a number written as text."""
    if raw_type is None or not readable(kind, raw_type):  # absent, or stored as a type that does not read
        sql_type = {"string": "VARCHAR", "boolean": "BOOLEAN", "integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE"}
        return f"CAST(NULL AS {sql_type[kind]}) AS {quote(column)}"
    col = quote(column)
    text = is_text(raw_type)
    blank = f"CASE WHEN {null_text(col)} THEN NULL ELSE TRIM(CAST({col} AS VARCHAR)) END"
    number = col  # a number stored as a float: NaN is a blank (pandas writes a missing number so)
    if raw_type.upper().startswith(_FLOAT_TYPES):
        number = f"CASE WHEN isnan({col}) THEN NULL ELSE {col} END"
    if kind == "string":
        expr = f"NULLIF(RTRIM(CAST({col} AS VARCHAR)), '')"
        if text and trimmed:  # no trailing space to cut (a clean column is trimmed too, and holds no '')
            expr = col if clean else f"NULLIF({col}, '')"
    elif kind == "boolean":
        if raw_type.upper() == "BOOLEAN":
            expr = col
        elif not text:
            expr = f"({number} <> 0)"
        else:
            words = lambda ws: ", ".join(f"'{w}'" for w in ws)  # noqa: E731
            word = f"UPPER(TRIM(CAST({col} AS VARCHAR)))"  # a blank or a NULL word is neither: null
            expr = (f"CASE WHEN {word} IN ({words(TRUE_WORDS)}) THEN TRUE "
                    f"WHEN {word} IN ({words(FALSE_WORDS)}) THEN FALSE END")
    elif kind == "integer":
        # a fraction stored as a decimal is reported by the contract (whole_numbers) before any rule reads it
        # most whole numbers are written as such (10) and cast straight; 10.00000000 goes through a decimal, whose
        # parse costs far more than a BIGINT one
        written = decimals.as_point(blank, separator)
        expr = (f"COALESCE(TRY_CAST({written} AS BIGINT), TRY_CAST(TRY_CAST({written} AS DECIMAL(38, 10)) AS BIGINT))"
                if text else f"TRY_CAST({number} AS BIGINT)")
    elif kind == "decimal":
        expr = f"TRY_CAST({decimals.as_point(blank, separator)} AS DOUBLE)" if text else f"CAST({number} AS DOUBLE)"
    else:  # date
        formats = ", ".join(literal(f) for f in FORMATS[MONTH_FIRST if order == MIXED else order])
        expr = (f"COALESCE(TRY_CAST(TRY_CAST({blank} AS TIMESTAMP) AS DATE), "
                f"TRY_CAST(TRY_STRPTIME({blank}, [{formats}]) AS DATE))" if text else f"CAST({col} AS DATE)")
    return f"{expr} AS {col}"


@dataclass(kw_only=True)
class DuckDBSite(Site):
    """A site loaded into a DuckDB connection: `raw_<Table>` relations as exported, typed views `<Table>`."""

    con: duckdb.DuckDBPyConnection
    kept: frozenset[str] = frozenset()  # the tables whose contract was checked and kept (DuckDBEngine.contracts)
    _backend: Any = field(default=None, repr=False)

    def ibis(self) -> Any:
        """The ibis DuckDB backend over this site's connection, made once: a contract per table and the compiler's
        catalog share one."""
        if self._backend is None:
            import ibis

            self._backend = ibis.duckdb.from_connection(self.con)
        return self._backend


# what the contracts import to check exported text (pandera brings pandas along): imported in the background
CONTRACT_MODULES = ("pandera.ibis", "ibis.backends.duckdb")


def preload_contract_modules() -> None:
    """Import the contracts' modules in the background while the exports are read: reading is DuckDB's and
    pyarrow's work, which releases the GIL, so the imports cost the run little wall time. A failed import is left to
    the contract's own import, which reports it."""
    def load() -> None:
        try:
            for name in CONTRACT_MODULES:
                importlib.import_module(name)
        except ImportError:
            pass

    threading.Thread(target=load, name="preload-contract-modules").start()


def _file_list(parts: list[Path]) -> str:
    return f"[{', '.join(literal(str(p)) for p in parts)}]"


def _row_offsets(con: duckdb.DuckDBPyConnection, parts: list[Path]) -> str:
    """SQL: the rows of the files before a row's file (`__file`): a table's rows are numbered across its files in
    name order, so that a contract's "row N" names one row of a table Spark wrote as many files."""
    counts = dict(con.execute(f"SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, row_group_id, "
                              f"row_group_num_rows FROM parquet_metadata({_file_list(parts)})) GROUP BY file_name").fetchall())
    offsets, before = [], 0
    for path in parts:
        offsets.append(f"WHEN {literal(str(path))} THEN {before}")
        before += int(counts.get(str(path), 0))
    return f"CASE __file {' '.join(offsets)} END"


def _register_raw(con: duckdb.DuckDBPyConnection, source: Export, table: Table,
                  wanted: set[str]) -> tuple[dict[str, str], int, list[str]]:
    """Register the export's wanted columns as `raw_<Table>`: Epicor column -> its header, the rows, the whole header."""
    raw = quote(f"raw_{table.name}")
    if source.format == "parquet":
        parts = source.parquet_files()
        files = literal(str(parts[0])) if len(parts) == 1 else f"{_file_list(parts)}, filename = '__file'"
        scan = f"read_parquet({files}, file_row_number = true)"
        try:
            headers = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
            row = "file_row_number + 1" + (f" + {_row_offsets(con, parts)}" if len(parts) > 1 else "")
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0]  # DuckDB adds the query it ran, which says nothing to a user
            raise DataError(f"cannot read as Parquet: {reason}", location=source.where) from None
        mapping = wanted_columns(table, headers, wanted, source)
        select = ", ".join(f"{quote(h)} AS {quote(c)}" for c, h in mapping.items())
        columns = ", ".join([f"{row} AS __row", *([select] if select else [])])
        con.execute(f"CREATE OR REPLACE VIEW {raw} AS SELECT {columns} FROM {scan}")
        rows = con.execute(f"SELECT COUNT(*) FROM {scan}").fetchone()[0]
        return mapping, rows, headers
    text, headers = _text_table(source, table, wanted)
    mapping = _store_text(con, table, text, wanted, source)
    return mapping, con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0], headers


def _store_text(con: duckdb.DuckDBPyConnection, table: Table, text: TextBatches, wanted: set[str],
                source: Export) -> dict[str, str]:
    """Store an export's text as the table `raw_<Table>` with Epicor's column names and `__row` (the export's data
    row), a batch at a time as it is read: DuckDB holds it within its memory limit, spilling past it, and the
    export is never whole in memory as Arrow. Its rows keep the export's order (the key's order is read from it:
    text_facts.in_key_order)."""
    mapping = wanted_columns(table, text.schema.names, wanted, source)
    raw, stream = quote(f"raw_{table.name}"), f"text_{table.name}"
    failed: list[BaseException] = []

    def batches() -> Iterator[pa.RecordBatch]:  # an error of the reader (a line that does not parse) kept for after
        try:
            yield from text.batches
        except BaseException as exc:  # noqa: BLE001 - raised again below, once DuckDB has stopped reading
            failed.append(exc)
    con.register(stream, pa.RecordBatchReader.from_batches(text.schema, batches()))
    columns = ", ".join([f"{quote(ROW)} AS __row", *(f"{quote(h)} AS {quote(c)}" for c, h in mapping.items())])
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT {columns} FROM {quote(stream)}")
    finally:
        con.execute("SET preserve_insertion_order = false")
        con.unregister(stream)
    if failed:
        raise failed[0]
    blank = list(text.blank_rows())
    if blank:  # rows blank in every column of the export: no data
        con.register("blank_rows", pa.table({"row": pa.array(blank, pa.int64())}))
        con.execute(f"DELETE FROM {raw} WHERE __row IN (SELECT row FROM blank_rows)")
        con.unregister("blank_rows")
    return mapping


def _raw_types(site: DuckDBSite, name: str) -> dict[str, str]:
    return {r[0]: r[1] for r in site.con.execute(f"DESCRIBE {quote('raw_' + name)}").fetchall()}


def _text_columns(table: Table, mapping: dict[str, str], raw_types: dict[str, str], *kinds: str) -> list[str]:
    return sorted(c for c in mapping if table.columns[c].type in kinds and is_text(raw_types[c]))


def _typed_view(site: DuckDBSite, table: Table, source: Export, columns: set[str], mapping: dict[str, str],
                rows: int, asked: set[str], raw_types: dict[str, str], date_orders: dict[str, str],
                separators: dict[str, str]) -> None:
    name = table.name
    missing = tuple(sorted(c for c in columns if c not in mapping and not table.columns[c].optional
                           and not table.columns[c].history))
    absent = tuple(sorted(c for c in columns if c not in mapping and c not in missing))
    text = {c: is_text(raw_types[c]) for c in sorted(mapping) if table.columns[c].type == "string"}
    # a key's number written as text (MtlSeq in a CSV): the scan tells whether the contract must look for blanks
    typed = frozenset(c for c in table.key if c in mapping and c not in text and is_text(raw_types[c]))
    key = table.key if all(c in mapping for c in table.key) else ()
    stored = {c: raw_types[c].upper().startswith(_FLOAT_TYPES) for c in table.key
              if c in mapping and c not in text and not is_text(raw_types[c])}
    codes = {c: table.columns[c].codes for c in sorted(mapping) if table.columns[c].codes and is_text(raw_types[c])}
    facts = scan_text(site.con, f"raw_{name}", {**text, **dict.fromkeys(typed, True)}, asked, typed, key, stored, codes)
    select = ", ".join(_typed(c, table.columns[c].type, raw_types.get(c), c in facts.clean,
                              date_orders.get(c, site.date_order), separators.get(c, site.decimal_separator),
                              c in facts.trimmed)
                       for c in sorted(columns))
    site.con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS SELECT {select} FROM {quote('raw_' + name)}")
    site.tables[name] = LoadedTable(table, source, mapping, absent, rows, raw_types, facts, date_orders, missing,
                                    separators)


def materialize_text_tables(site: DuckDBSite) -> None:
    """Each table exported as text (CSV, XLSX) becomes a typed table once its contract is checked: the passes then
    read native values instead of casting the text again in every scan. Parquet is typed already and stays a
    view."""
    for name, loaded in site.tables.items():
        if loaded.source.format == "parquet":
            continue
        typed = quote(f"typed_{name}")
        site.con.execute(f"CREATE OR REPLACE TEMP TABLE {typed} AS SELECT * FROM {quote(name)}")
        site.con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS SELECT * FROM {typed}")
        site.con.execute(f"DROP TABLE {quote('raw_' + name)}")  # the text is read no more: its memory goes


def load_site(source: Source, registry: Registry, needs: dict[str, set[str]], con: duckdb.DuckDBPyConnection,
              documents: Mapping[str, Export] | None = None, date_order: str = AUTO, decimal_separator: str = AUTO,
              named: Mapping[str, Naming] | None = None) -> DuckDBSite:
    """Load the needed columns of the needed tables; a needed column an export lacks reads as blank and is kept in
    its LoadedTable.missing (the contract reports it; Site.require_columns makes it an error).
    `documents`: tables read from other files (the site's attestations), as RECORDS exports. `date_order`: of dates
    written with slashes (date_order.py), `decimal_separator`: of numbers written as text (decimals.py), each found
    from the values unless given; `named`: what backflush.yaml's `exports:` says of some tables' files and headers."""
    site = DuckDBSite(source, con=con)
    # a timestamp with a zone (Parquet from Spark or pandas) is read as its date in UTC, whatever the machine's zone:
    # the same export gives the same findings on every machine
    site.con.execute("SET TimeZone = 'UTC'")
    exports = source.exports([n for n in needs if n not in (documents or {})], named)
    exports.update(documents or {})
    if any(export.format != "parquet" for export in exports.values()):
        preload_contract_modules()  # text exports: pandera checks their values parse (Parquet's types need no check)
    registered = {}
    for name, columns in sorted(needs.items()):
        table = registry.tables[name]
        export = exports.get(name)
        if export is None:
            hint = source.look_alike_hint(name, list(registry.tables))
            site.absent[name] = f"no export of {name} in {source.location} (looked for {source.looked_for(name)}{hint})"
            continue
        mapping, rows, headers = _register_raw(site.con, export, table, columns)
        registered[name] = (table, export, columns, mapping, rows, _raw_types(site, name), tuple(headers))
    told_dates, told_numbers = {}, {}
    for name, (table, _, _, mapping, _, raw_types, _) in registered.items():
        dates = date_evidence(site.con, f"raw_{name}", _text_columns(table, mapping, raw_types, "date"))
        numbers = decimals.evidence(site.con, f"raw_{name}", _text_columns(table, mapping, raw_types, "integer", "decimal"))
        told_dates.update({(name, column): told for column, told in dates.items()})
        told_numbers.update({(name, column): told for column, told in numbers.items()})
    orders = decide(told_dates, date_order, MONTH_FIRST)
    site.date_order = site_choice(told_dates, date_order, MONTH_FIRST)
    separators = decide(told_numbers, decimal_separator, POINT)
    site.decimal_separator = site_choice(told_numbers, decimal_separator, POINT)
    asked = join_columns(registry)
    for name, (table, export, columns, mapping, rows, raw_types, headers) in registered.items():
        date_orders = {column: order for (owner, column), order in orders.items() if owner == name}
        numbers = {column: separator for (owner, column), separator in separators.items() if owner == name}
        _typed_view(site, table, export, columns, mapping, rows, asked.get(name, set()) | set(table.key), raw_types,
                    date_orders, numbers)
        site.tables[name].headers = headers
    return site
